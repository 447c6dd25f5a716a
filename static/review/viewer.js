// The document viewer, on the workspace and the item record: page navigation and zoom for
// documents shown as page images (templates/review/_document.html). Evidence emphasis is
// workspace.js's; this only moves around the pages. Listeners live on document, so they
// survive htmx swapping the workspace or a document that has finished processing.
(function () {
  "use strict";

  const ZOOM_MIN = 0.5;
  const ZOOM_MAX = 4;
  const ZOOM_STEP = 1.25;

  const pagesOf = (doc) => Array.from(doc.querySelectorAll(".page"));
  const scroller = (doc) => doc.querySelector(".doc-scroll");
  const paged = () => Array.from(document.querySelectorAll(".document[data-kind=paged]"))
    .filter((doc) => !doc.hidden && doc.querySelector(".page"));

  // The document keys act on: the one holding focus, else the first one showing pages.
  function activeDocument() {
    const focused = document.activeElement && document.activeElement.closest(".document[data-kind=paged]");
    return focused && !focused.hidden ? focused : paged()[0];
  }

  // The page across the middle of the view is the one being read.
  function currentPage(doc) {
    const view = scroller(doc).getBoundingClientRect();
    const line = view.top + view.height / 2;
    let now = 1;
    pagesOf(doc).forEach((page, i) => { if (page.getBoundingClientRect().top <= line) now = i + 1; });
    return now;
  }

  function showCounter(doc) {
    const out = doc.querySelector(".page-now");
    if (out) out.textContent = String(currentPage(doc));
  }

  function goToPage(doc, number) {
    const pages = pagesOf(doc);
    const page = pages[Math.max(0, Math.min(pages.length - 1, number - 1))];
    if (!page) return;
    const view = scroller(doc);
    view.scrollTop += page.getBoundingClientRect().top - view.getBoundingClientRect().top - 8;
    showCounter(doc);
  }

  // factor null: fit the width. The pages are as wide as the view times --zoom.
  function zoom(doc, factor) {
    const pages = doc.querySelector(".pages");
    const view = scroller(doc);
    if (!pages) return;
    const before = parseFloat(pages.style.getPropertyValue("--zoom")) || 1;
    const after = factor === null ? 1 : Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, before * factor));
    // Keep the same part of the document in view: scroll positions scale with the zoom.
    const top = view.scrollTop / before;
    const left = view.scrollLeft / before;
    pages.style.setProperty("--zoom", String(after));
    view.scrollTop = top * after;
    view.scrollLeft = left * after;
    doc.querySelector(".zoom-now").textContent = `${Math.round(after * 100)}%`;
  }

  function act(doc, action) {
    if (!doc) return;
    if (action === "prev") goToPage(doc, currentPage(doc) - 1);
    else if (action === "next") goToPage(doc, currentPage(doc) + 1);
    else if (action === "in") zoom(doc, ZOOM_STEP);
    else if (action === "out") zoom(doc, 1 / ZOOM_STEP);
    else if (action === "fit") zoom(doc, null);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-viewer]");
    if (button) act(button.closest(".document"), button.dataset.viewer);
  });

  const KEYS = { "[": "prev", "]": "next", "+": "in", "=": "in", "-": "out", "0": "fit" };
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
    const action = KEYS[event.key];
    if (!action) return;
    if (event.target.matches("input:not([type=radio]):not([type=checkbox]), textarea, select")) return;
    if (document.querySelector("dialog[open]")) return;
    const doc = activeDocument();
    if (!doc) return;
    event.preventDefault();
    act(doc, action);
  });

  // Keep "page N of M" true however the pages were scrolled (wheel, keys, evidence focus).
  let pending = null;
  document.addEventListener("scroll", (event) => {
    const doc = event.target.closest && event.target.closest(".document[data-kind=paged]");
    if (!doc || pending) return;
    pending = requestAnimationFrame(() => { pending = null; showCounter(doc); });
  }, true);
})();
