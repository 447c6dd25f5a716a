// Dashboard charts from the page's own numbers (#chart-data). Every series differs by line
// style and marker as well as colour, so the charts read in greyscale; a click on a point
// opens the items behind it.
(function () {
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const ink = { blue: "#0b5cad", orange: "#b45309", green: "#15803d", grey: "#57606a", red: "#b00020" };
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#1b1f24";
  Chart.defaults.animation = false;

  function series(label, values, colour, style, extra) {
    return Object.assign({
      label, data: values, borderColor: colour, backgroundColor: colour,
      borderDash: style.dash || [], pointStyle: style.point || "circle",
      pointRadius: 4, pointHoverRadius: 6, borderWidth: 2, spanGaps: true, tension: 0,
    }, extra || {});
  }

  function drillTo(urlsByDataset) {
    return (event, elements, chart) => {
      if (!elements.length) return;
      const { datasetIndex, index } = elements[0];
      const urls = urlsByDataset[datasetIndex] || urlsByDataset[0];
      if (urls && urls[index]) window.location.href = urls[index];
    };
  }

  function chart(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    config.options = Object.assign({
      maintainAspectRatio: false, interaction: { mode: "nearest", intersect: false },
      plugins: { legend: { labels: { usePointStyle: true } } },
    }, config.options || {});
    canvas.chart = new Chart(canvas, config);
  }

  const percentAxis = (title) => ({
    position: "right", min: 0, max: 100, title: { display: true, text: title },
    grid: { drawOnChartArea: false }, ticks: { callback: (v) => v + " %" },
  });

  const w = data.weeks;
  chart("chart-trend", {
    data: {
      labels: w.labels,
      datasets: [
        Object.assign(series("Reviewer FTE", w.fte, "rgba(11,92,173,0.35)", { point: "rect" }),
          { type: "bar", yAxisID: "fte", borderColor: ink.blue, borderWidth: 1 }),
        series("Automation rate %", w.automation, ink.green, { point: "triangle" }, { type: "line", yAxisID: "pct" }),
        series("Escaped-error rate %", w.escaped, ink.red, { dash: [6, 4], point: "rectRot" }, { type: "line", yAxisID: "pct" }),
        series("Escaped errors, upper 95 %", w.escapedUpper, ink.grey, { dash: [2, 3], point: "crossRot" }, { type: "line", yAxisID: "pct", pointRadius: 3 }),
      ],
    },
    options: {
      scales: { fte: { position: "left", beginAtZero: true, title: { display: true, text: "FTE" } }, pct: percentAxis("%") },
      onClick: drillTo([w.drill, w.drill, w.drillEscaped, w.drillEscaped]),
    },
  });

  const d = data.days;
  chart("chart-volume", {
    type: "line",
    data: {
      labels: d.labels,
      datasets: [
        series("Arrived", d.arrivals, ink.blue, { point: "circle" }),
        series("Auto-accepted", d.auto, ink.green, { dash: [6, 4], point: "triangle" }),
        series("First reviews by people", d.reviewed, ink.orange, { dash: [2, 3], point: "rect" }),
      ],
    },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: "items" } } },
      onClick: drillTo([d.drill.arrivals, d.drill.auto_accepted, d.drill.reviewed]) },
  });

  chart("chart-backlog", {
    type: "line",
    data: {
      labels: d.labels,
      datasets: [
        series("Waiting at end of day", d.backlog, ink.blue, { point: "circle" }, { yAxisID: "y" }),
        series("Oldest waiting (hours)", d.oldestHours, ink.orange, { dash: [6, 4], point: "triangle" }, { yAxisID: "hours" }),
      ],
    },
    options: {
      scales: { y: { beginAtZero: true, title: { display: true, text: "items" } },
        hours: { position: "right", beginAtZero: true, title: { display: true, text: "hours" }, grid: { drawOnChartArea: false } } },
      onClick: drillTo([d.drill.backlog, d.drill.backlog]),
    },
  });

  chart("chart-sla", {
    type: "line",
    data: { labels: d.labels, datasets: [series("Finished by due time %", d.sla, ink.green, { point: "rect" })] },
    options: { scales: { y: { min: 0, max: 100, ticks: { callback: (v) => v + " %" } } }, onClick: drillTo([d.drill.sla_missed]) },
  });

  chart("chart-time", {
    type: "line",
    data: {
      labels: w.labels,
      datasets: [
        series("Median seconds", w.medianSeconds, ink.blue, { point: "circle" }),
        series("90th percentile seconds", w.p90Seconds, ink.orange, { dash: [6, 4], point: "triangle" }),
      ],
    },
    options: { scales: { y: { beginAtZero: true, title: { display: true, text: "seconds" } } }, onClick: drillTo([w.drill, w.drill]) },
  });
})();
