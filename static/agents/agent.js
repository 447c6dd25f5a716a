// The agent page: its charts (from #agent-charts, the numbers of the tables beside them), a copy
// button for a secret shown once, a confirmation before revoking or rotating, and the page's own
// address put back after a POST that answered with the page.
(function () {
  "use strict";

  // A POST (create a token, save the webhook...) answered with this page. With the page's own
  // address in the history entry instead, a reload is a GET: it neither re-sends the form nor
  // shows a secret again.
  const pageUrl = document.body.dataset.pageUrl;
  if (pageUrl && window.location.pathname !== pageUrl) {
    window.history.replaceState(null, "", pageUrl + window.location.hash);
  }

  document.addEventListener("submit", (event) => {
    const message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  function selectText(element) {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copyText(element) {
    // The Clipboard API needs a secure context (https or localhost); elsewhere, the old way.
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(element.textContent.trim());
    }
    selectText(element);
    return document.execCommand("copy") ? Promise.resolve() : Promise.reject(new Error("copy"));
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.getElementById(button.dataset.copy);
    const status = button.parentElement.querySelector(".copy-status");
    copyText(source).then(
      () => { status.textContent = "Copied to the clipboard."; },
      () => { selectText(source); status.textContent = "Selected: press Ctrl+C (⌘C) to copy."; },
    );
  });

  if (typeof Chart === "undefined") return;

  function readJson(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  // Each series differs by line style and marker as well as colour: readable in greyscale.
  const inks = ["#0b5cad", "#b45309", "#15803d", "#7c3aed", "#b00020", "#0e7490", "#57606a", "#9d174d"];
  const dashes = [[], [6, 4], [2, 3], [10, 3, 2, 3], [4, 2], [12, 4], [1, 3], [8, 2, 2, 2]];
  const points = ["circle", "triangle", "rect", "rectRot", "crossRot", "star", "rectRounded", "cross"];
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#1b1f24";
  Chart.defaults.animation = false;

  function draw(canvas, config) {
    if (!canvas) return;
    canvas.chart = new Chart(canvas, config);
  }

  const percentTicks = { callback: (value) => value + " %" };

  const corrections = readJson("corrections-chart");
  if (corrections) draw(document.getElementById("chart-corrections"), {
    type: "line",
    data: {
      labels: corrections.labels,
      datasets: corrections.series.map((s, i) => ({
        label: s.label, data: s.rates, labeled: s.labeled,
        borderColor: inks[i % inks.length], backgroundColor: inks[i % inks.length],
        borderDash: dashes[i % dashes.length], pointStyle: points[i % points.length],
        pointRadius: 4, pointHoverRadius: 6, borderWidth: 2, tension: 0, spanGaps: false,
      })),
    },
    options: {
      maintainAspectRatio: false,
      interaction: { mode: "nearest", intersect: false },
      scales: { y: { beginAtZero: true, ticks: percentTicks, title: { display: true, text: "corrected" } } },
      plugins: {
        legend: { labels: { usePointStyle: true, boxHeight: 8 } },
        tooltip: { callbacks: { label: (item) => {
          const n = item.dataset.labeled[item.dataIndex];
          return `${item.dataset.label}: ${item.formattedValue} % of ${n} labeled`;
        } } },
      },
    },
  });

  // Reliability diagrams: observed accuracy against stated confidence per bin; the bigger the
  // point, the more labels in the bin. The diagonal is a perfectly honest confidence.
  function radius(n, most) {
    return 3 + 6 * Math.sqrt(n / Math.max(most, 1));
  }

  function drawPanel(panel) {
    const most = Math.max(...panel.raw.map((p) => p.n), 1);
    const sized = (context) => (context.raw && context.raw.n ? radius(context.raw.n, most) : 0);
    const datasets = [
      {
        label: "Perfect calibration", data: [{ x: 0, y: 0 }, { x: 100, y: 100 }],
        borderColor: "#8c959f", borderDash: [5, 5], borderWidth: 1, pointRadius: 0,
        pointHoverRadius: 0, showLine: true, pointStyle: "line",
      },
      {
        label: "Stated", data: panel.raw, borderColor: inks[0], backgroundColor: inks[0],
        pointStyle: "circle", pointRadius: sized, pointHoverRadius: sized, showLine: true,
        borderWidth: 2,
      },
    ];
    if (panel.calibrated) {
      datasets.push({
        label: "Calibrated", data: [...panel.calibrated].sort((a, b) => a.x - b.x),
        borderColor: inks[1], backgroundColor: inks[1], borderDash: [6, 4],
        pointStyle: "triangle", pointRadius: sized, pointHoverRadius: sized, showLine: true,
        borderWidth: 2,
      });
    }
    // Points at 0 % or 100 % are drawn whole, over the axis edge, not cut in half.
    datasets.forEach((dataset) => { dataset.clip = false; });
    const axis = (title) => ({
      min: 0, max: 100, title: { display: true, text: title },
      ticks: { stepSize: 25, maxRotation: 0, callback: percentTicks.callback },
    });
    draw(document.getElementById(panel.id), {
      type: "scatter",
      data: { datasets },
      options: {
        maintainAspectRatio: false,
        layout: { padding: { top: 10, right: 12 } },
        scales: { x: axis("stated confidence"), y: axis("right") },
        plugins: {
          legend: {
            position: "bottom",
            labels: { usePointStyle: true, boxWidth: 8, boxHeight: 6, font: { size: 11 } },
          },
          tooltip: { filter: (item) => item.datasetIndex > 0, callbacks: { label: (item) => {
            const p = item.raw;
            return `${item.dataset.label}: ${p.x} % stated, ${p.y} % right (${p.n} labels)`;
          } } },
        },
      },
    });
  }

  // The calibration section arrives after the page (htmx swaps it in): draw it then.
  function drawCalibration() {
    (readJson("calibration-charts") || []).forEach(drawPanel);
  }
  document.body.addEventListener("htmx:load", (event) => {
    if (event.detail.elt.id === "calibration") drawCalibration();
  });
  drawCalibration();
})();
