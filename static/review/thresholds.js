// The threshold forecast page: slider values shown as numbers, "set to the advice", and the
// curve of automation against escaped errors. The projection itself comes from the server
// (htmx on the form); nothing here computes it.
(function () {
  "use strict";

  // 0.91, 0.995: as many decimals as the threshold has, two at least, three at most.
  function thresholdText(value) {
    var text = Number(value).toFixed(3);
    return text.slice(-1) === "0" ? Number(value).toFixed(2) : text;
  }

  function showValue(slider) {
    var output = document.querySelector('output[for="' + slider.id + '"]');
    if (output) output.value = thresholdText(slider.value);
  }

  document.addEventListener("input", function (event) {
    if (event.target.classList && event.target.classList.contains("threshold-slider")) {
      showValue(event.target);
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".threshold-slider").forEach(showValue);
    var useAdvice = document.getElementById("use-advice");
    if (useAdvice) {
      useAdvice.addEventListener("click", function () {
        var moved = null;
        document.querySelectorAll(".threshold-slider[data-advised]").forEach(function (slider) {
          slider.value = slider.dataset.advised;
          showValue(slider);
          moved = slider;
        });
        // One input event is enough: the projection request sends every slider.
        if (moved) moved.dispatchEvent(new Event("input", { bubbles: true }));
      });
    }
    drawCurve();
  });

  function drawCurve() {
    var data = document.getElementById("threshold-curve");
    var canvas = document.getElementById("threshold-curve-chart");
    if (!data || !canvas || typeof Chart === "undefined") return;
    var points = JSON.parse(data.textContent);
    var percent = function (value) { return value === null ? null : Math.round(value * 1000) / 10; };
    new Chart(canvas, {
      type: "line",
      data: {
        labels: points.map(function (p) { return thresholdText(p.threshold); }),
        datasets: [
          {
            label: "Automation rate, % (solid, circles)",
            data: points.map(function (p) { return percent(p.automation_rate); }),
            borderColor: "#1d4ed8",
            backgroundColor: "#1d4ed8",
            pointStyle: "circle",
            pointRadius: 3,
            yAxisID: "automation",
          },
          {
            label: "Expected escaped errors, % (dashed, triangles)",
            data: points.map(function (p) { return percent(p.error_rate); }),
            borderColor: "#b91c1c",
            backgroundColor: "#b91c1c",
            borderDash: [6, 4],
            pointStyle: "triangle",
            pointRadius: 4,
            yAxisID: "errors",
          },
        ],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { labels: { usePointStyle: true } } },
        scales: {
          x: { title: { display: true, text: "Threshold on every field" } },
          automation: {
            position: "left", min: 0, max: 100,
            title: { display: true, text: "Automation rate, %" },
          },
          errors: {
            position: "right", min: 0,
            title: { display: true, text: "Expected escaped errors, %" },
            grid: { drawOnChartArea: false },
          },
        },
      },
    });
  }
})();
