// The trends page's charts: uPlot (vendored beside this file) draws each <figure data-chart>
// from the JSON the page carries (#trend-data); the table under each holds the same figures.
(function () {
  "use strict";
  var COLORS = {
    succeeded: "#2456b3", failed: "#b42318", verified: "#1f7a4d", ineffective: "#d97706",
    skipped: "#98a2b3", waiting: "#8a5a00", accepted: "#1f7a4d", ignored: "#98a2b3", refused: "#b42318"
  };
  var SPARE = ["#3c5bd6", "#7a5af8", "#0e9384", "#c11574", "#667085", "#dc6803"];

  function draw(figure, chart) {
    var names = chart.series.map(function (pair) { return pair[0]; });
    var data = [chart.x].concat(chart.series.map(function (pair) { return pair[1]; }));
    var series = [{}].concat(names.map(function (name, i) {
      var color = COLORS[name] || SPARE[i % SPARE.length];
      return { label: name, stroke: color, width: 2, spanGaps: false, points: { show: chart.x.length <= 48 } };
    }));
    var options = {
      width: Math.max(260, figure.clientWidth),
      height: 220,
      series: series,
      axes: [{}, { label: chart.unit, size: 60 }],
      scales: { y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
      legend: { live: true }
    };
    var plot = new uPlot(options, data, figure);
    figure.dataset.drawn = String(names.length);
    window.addEventListener("resize", function () {
      plot.setSize({ width: Math.max(260, figure.clientWidth), height: 220 });
    });
  }

  function start() {
    var source = document.getElementById("trend-data");
    if (!source || typeof uPlot === "undefined") { return; }
    var charts = JSON.parse(source.textContent);
    document.querySelectorAll("figure[data-chart]").forEach(function (figure) {
      var chart = charts[figure.dataset.chart];
      if (chart) { draw(figure, chart); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
