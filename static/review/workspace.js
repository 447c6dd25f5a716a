// The review workspace: keyboard, evidence focus, lease timer, heartbeats and active time.
// Everything reads its state from the #workspace element, which htmx replaces after each
// decision; listeners live on document so they survive the swap.
(function () {
  "use strict";

  const HEARTBEAT_MS = 15000;
  const IDLE_AFTER_MS = 60000; // no input for this long: time stops counting as active
  const WARN_SECONDS = 60;

  const ws = () => document.getElementById("workspace");
  const fields = () => Array.from(document.querySelectorAll("#workspace li.field"));
  const current = () => document.querySelector("#workspace li.field.current");

  // --- Active time ------------------------------------------------------------------------
  let lastInput = Date.now();
  let activeSinceBeat = 0; // seconds, since the last heartbeat or decision
  ["keydown", "mousedown", "mousemove", "wheel", "touchstart", "input"].forEach((type) =>
    document.addEventListener(type, () => { lastInput = Date.now(); }, { passive: true }));
  setInterval(() => {
    if (ws() && document.visibilityState === "visible" && Date.now() - lastInput < IDLE_AFTER_MS) {
      activeSinceBeat += 1;
    }
    tickLease();
  }, 1000);

  // --- Lease: timer, heartbeat, loss ------------------------------------------------------
  function tickLease() {
    const root = ws();
    if (!root || !root.dataset.expiresAt) return;
    const left = Math.round((Date.parse(root.dataset.expiresAt) - Date.now()) / 1000);
    const out = root.querySelector(".lease-left");
    const box = root.querySelector(".lease");
    if (!out) return;
    if (left <= 0) {
      leaseLost("Your lease on this item ran out; it may now be with someone else. Nothing you decide here will be recorded.");
      return;
    }
    out.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    box.classList.toggle("warn", left <= WARN_SECONDS);
    if (left <= WARN_SECONDS && !box.dataset.warned) {
      box.dataset.warned = "1";
      box.setAttribute("aria-live", "assertive");
      out.insertAdjacentText("afterend", " (press any key to keep it)");
    }
  }

  function leaseLost(message) {
    const root = ws();
    if (!root || root.dataset.lost) return;
    root.dataset.lost = "1";
    const banner = root.querySelector(".lease-lost");
    banner.hidden = false;
    banner.textContent = message + " ";
    const back = document.createElement("a");
    back.href = "/";
    back.textContent = "Back to the queues";
    banner.appendChild(back);
    root.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
    root.querySelector(".lease").textContent = "Lease lost";
  }

  async function heartbeat() {
    const root = ws();
    if (!root || !root.dataset.lease || root.dataset.lost) return;
    const body = new URLSearchParams({ lease: root.dataset.lease, active_seconds: String(activeSinceBeat) });
    const sent = activeSinceBeat;
    try {
      const response = await fetch(root.dataset.heartbeatUrl, {
        method: "POST",
        body,
        headers: { "X-CSRFToken": csrfToken() },
        credentials: "same-origin",
      });
      if (response.status === 409) {
        leaseLost((await response.json()).detail);
        return;
      }
      if (response.ok) {
        activeSinceBeat = Math.max(0, activeSinceBeat - sent);
        const data = await response.json();
        root.dataset.expiresAt = data.expires_at;
        const box = root.querySelector(".lease");
        delete box.dataset.warned;
        box.setAttribute("aria-live", "off");
        const hint = box.querySelector(".lease-left");
        if (hint && hint.nextSibling) hint.nextSibling.textContent = " left";
      }
    } catch (_) {
      // Offline for a moment: the next beat tries again; the timer keeps telling the truth.
    }
  }
  setInterval(heartbeat, HEARTBEAT_MS);
  // Any key after the warning: beat at once rather than waiting for the next interval.
  document.addEventListener("keydown", () => {
    const box = document.querySelector("#workspace .lease.warn");
    if (box) heartbeat();
  });

  function csrfToken() {
    const input = document.querySelector("#decision-form input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // The decision carries the active time since the last beat.
  document.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt && event.detail.elt.id === "decision-form") {
      event.detail.parameters.active_seconds = String(activeSinceBeat);
    }
  });
  document.addEventListener("htmx:afterSwap", (event) => {
    const from = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (from && from.classList.contains("doc-poll")) {
      documentArrived();
      return;
    }
    if (event.detail.target && event.detail.target.id === "workspace" || document.getElementById("workspace")) {
      if (event.detail.xhr && event.detail.xhr.status === 200) activeSinceBeat = 0;
      start();
    }
  });

  // --- Fields and evidence ----------------------------------------------------------------
  function focusField(li) {
    if (!li) return;
    fields().forEach((f) => f.classList.remove("current"));
    li.classList.add("current");
    li.focus({ preventScroll: true });
    scrollWithin(li.closest(".output"), li, false);
    showEvidence(li.dataset.field);
  }

  // Emphasise every mark (text) and box (page image) of the field's evidence and bring the
  // first into view: its tab, its page, centred. scroll false only re-applies the emphasis.
  function showEvidence(name, scroll = true) {
    document.querySelectorAll("#workspace [data-fields].active").forEach((m) => m.classList.remove("active"));
    const hits = Array.from(document.querySelectorAll("#workspace [data-fields]")).filter((m) =>
      m.dataset.fields.split(" ").includes(name));
    hits.forEach((m) => m.classList.add("active"));
    if (!hits.length || !scroll) return;
    const panel = hits[0].closest(".document");
    if (panel && panel.hidden) selectTab(panel.id);
    scrollWithin(hits[0].closest(".doc-scroll"), hits[0], true);
  }

  // Scroll only the column itself: scrollIntoView would also nudge the page under the top bar.
  function scrollWithin(container, el, center) {
    if (!container) return;
    const box = container.getBoundingClientRect();
    const rect = el.getBoundingClientRect();
    if (center) {
      container.scrollTop += rect.top - box.top - (box.height - rect.height) / 2;
      if (rect.left < box.left || rect.right > box.right) { // zoomed-in pages scroll sideways too
        container.scrollLeft += rect.left - box.left - (box.width - rect.width) / 2;
      }
    } else if (rect.top < box.top) {
      container.scrollTop -= box.top - rect.top + 8;
    } else if (rect.bottom > box.bottom - 70) { // keep clear of the sticky action bar
      container.scrollTop += rect.bottom - box.bottom + 78;
    }
  }

  function move(step) {
    const all = fields();
    const index = all.indexOf(current());
    focusField(all[Math.min(all.length - 1, Math.max(0, index + step))] || all[0]);
  }

  function nextUndecided() {
    const all = fields();
    const from = all.indexOf(current());
    const rest = all.slice(from + 1).concat(all.slice(0, from + 1));
    const open = rest.find((li) => !li.querySelector("input[type=radio]:checked"));
    if (open) focusField(open);
    else document.querySelector("#workspace [data-testid=approve]").focus();
  }

  function setVerdict(li, verdict) {
    const radio = li.querySelector(`input[type=radio][value=${verdict}]`);
    radio.checked = true;
    syncCorrection(li);
  }

  function syncCorrection(li) {
    const corrected = li.querySelector("input[type=radio][value=corrected]").checked;
    li.querySelector(".correction").hidden = !corrected;
    li.classList.toggle("decided", !!li.querySelector("input[type=radio]:checked"));
  }

  function startCorrection(li, value) {
    setVerdict(li, "corrected");
    const input = li.querySelector(".correction [name$=-value]");
    if (value !== undefined) {
      input.value = value;
      li.querySelector(".correction select[name$=-reason]").focus();
    } else {
      // Start from the agent's value: most corrections fix a character or two.
      if (!input.value && input.tagName === "INPUT") input.value = li.dataset.agentValue;
      input.focus();
      if (input.select) input.select();
    }
  }

  // A document finished processing and was swapped in: keep the reviewer's tab and place.
  function documentArrived() {
    const tab = document.querySelector("#workspace [role=tab][aria-selected=true]");
    if (tab) selectTab(tab.getAttribute("aria-controls"));
    const li = current();
    if (li) showEvidence(li.dataset.field, false);
  }

  // --- Panels (reject, escalate, skip) and help ---------------------------------------------
  function openPanel(action) {
    document.querySelectorAll("#workspace .panel").forEach((panel) => {
      const open = panel.dataset.panelFor === action;
      panel.hidden = !open;
      panel.querySelectorAll("select, textarea, button[type=submit]").forEach((el) => { el.disabled = !open; });
    });
    const select = document.querySelector(`#workspace .panel[data-panel-for=${action}] select`);
    if (select) select.focus();
  }

  function closePanels() {
    document.querySelectorAll("#workspace .panel").forEach((panel) => {
      panel.hidden = true;
      panel.querySelectorAll("select, textarea, button[type=submit]").forEach((el) => { el.disabled = true; });
    });
    focusField(current() || fields()[0]);
  }

  function openHelp() {
    const dialog = document.querySelector("#workspace dialog.help");
    if (dialog && !dialog.open) dialog.showModal();
  }

  function selectTab(panelId) {
    document.querySelectorAll("#workspace [role=tab]").forEach((tab) => {
      const selected = tab.getAttribute("aria-controls") === panelId;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      document.getElementById(tab.getAttribute("aria-controls")).hidden = !selected;
    });
  }

  function approve() {
    const button = document.querySelector("#workspace [data-testid=approve]");
    if (button && !button.disabled) button.click(); // a click submits with action=approve
  }

  // --- Clicks -------------------------------------------------------------------------------
  document.addEventListener("click", (event) => {
    const target = event.target;
    const alt = target.closest("#workspace button.alt");
    if (alt) { const li = alt.closest("li.field"); focusField(li); startCorrection(li, alt.dataset.value); return; }
    const panel = target.closest("#workspace [data-panel]");
    if (panel) { openPanel(panel.dataset.panel); return; }
    if (target.closest("#workspace [data-close-panel]")) { closePanels(); return; }
    if (target.closest("#workspace [data-action=help]")) { openHelp(); return; }
    const tab = target.closest("#workspace [role=tab]");
    if (tab) { selectTab(tab.getAttribute("aria-controls")); return; }
    const box = target.closest("#workspace .box[data-fields]");
    if (box) { focusField(document.querySelector(`#workspace li.field[data-field="${CSS.escape(box.dataset.fields)}"]`)); return; }
    const li = target.closest("#workspace li.field");
    if (li && !li.classList.contains("current")) focusField(li);
  });
  document.addEventListener("change", (event) => {
    const li = event.target.closest("#workspace li.field");
    if (li && event.target.type === "radio") syncCorrection(li);
  });

  // --- Keys -----------------------------------------------------------------------------------
  document.addEventListener("keydown", (event) => {
    const root = ws();
    if (!root || event.defaultPrevented || event.altKey || event.metaKey) return;
    const el = event.target;
    const typing = el.matches("input:not([type=radio]):not([type=checkbox]), textarea, select");
    const dialog = root.querySelector("dialog.help");
    if (dialog && dialog.open) return; // the dialog handles Esc itself

    if (event.key === "Escape") {
      if (typing && el.closest("li.field")) { event.preventDefault(); focusField(el.closest("li.field")); return; }
      if (root.querySelector(".panel:not([hidden])")) { event.preventDefault(); closePanels(); }
      return;
    }
    if (event.key === "Enter" && event.ctrlKey) {
      event.preventDefault();
      const open = root.querySelector(".panel:not([hidden]) button[type=submit]");
      if (open) open.click(); else approve();
      return;
    }
    if (typing) {
      if (event.key === "Enter" && el.closest(".correction")) {
        // Walk the correction: value -> reason -> (note if "other") -> next field.
        event.preventDefault();
        const li = el.closest("li.field");
        const reason = li.querySelector("select[name$=-reason]");
        const note = li.querySelector("input[name$=-note]");
        if (el.name.endsWith("-value")) reason.focus();
        else if (el === reason && reason.value === "other") note.focus();
        else nextUndecided();
      }
      return;
    }
    if (event.ctrlKey) return;
    const li = current();
    const key = event.key;
    const handled = () => event.preventDefault();
    if (key === "?") { handled(); openHelp(); }
    else if (key === "j" || key === "ArrowDown") { handled(); move(1); }
    else if (key === "k" || key === "ArrowUp") { handled(); move(-1); }
    else if (key === "A") { handled(); approve(); }
    else if (key === "R") { handled(); openPanel("reject"); }
    else if (key === "E") { handled(); openPanel("escalate"); }
    else if (key === "S") { handled(); openPanel("skip"); }
    else if (!li) return;
    else if (key === "a") { handled(); setVerdict(li, "correct"); nextUndecided(); }
    else if (key === "e") { handled(); startCorrection(li); }
    else if (key === "u") { handled(); setVerdict(li, "undeterminable"); nextUndecided(); }
    else if (/^[1-9]$/.test(key)) {
      const alt = li.querySelectorAll("button.alt")[Number(key) - 1];
      if (alt) { handled(); startCorrection(li, alt.dataset.value); }
    }
  });

  function start() {
    const root = ws();
    if (!root) return;
    fields().forEach(syncCorrection);
    const firstError = root.querySelector("[aria-invalid=true]");
    if (firstError) { focusField(firstError.closest("li.field")); firstError.focus(); return; }
    const open = root.querySelector(".panel:not([hidden]) select");
    if (open) { open.focus(); return; }
    focusField(fields()[0]);
  }
  document.addEventListener("DOMContentLoaded", start);
})();
