/* Integration Hub: draw the health dashboard's and the reconciliation trend's charts (Chart.js from static/vendor). */
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var palette = ["#1565c0", "#c62828", "#2e7d32", "#b26a00", "#6a1b9a", "#00796b", "#5d4037", "#37474f"];
  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  function hhmm(iso) { return iso ? iso.slice(5, 16).replace("T", " ") : ""; }
  function line(id, labels, series) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    var chart = new Chart(canvas, {
      type: "line",
      data: {
        labels: labels.map(hhmm),
        datasets: series.map(function (s, i) {
          return {label: s.label, data: s.data, borderColor: palette[i % palette.length],
                  backgroundColor: palette[i % palette.length], pointRadius: labels.length > 60 ? 0 : 2,
                  spanGaps: true, tension: 0.2};
        })
      },
      options: {responsive: true, animation: false, interaction: {mode: "index", intersect: false},
                scales: {y: {beginAtZero: true}}, plugins: {legend: {position: "bottom"}}}
    });
    canvas.dataset.points = String(series.reduce(function (n, s) {
      return n + s.data.filter(function (v) { return v !== null && v !== undefined; }).length;
    }, 0));
    canvas.dataset.rendered = "true";
    return chart;
  }
  var health = data("health-charts");
  if (health) {
    line("chart-errors", health.labels, [{label: "records failing (%)", data: health.error_rate}]);
    line("chart-latency", health.labels, [{label: "p50 (s)", data: health.latency_p50},
                                          {label: "p99 (s)", data: health.latency_p99}]);
    line("chart-queues", health.labels, [{label: "outbox", data: health.outbox_depth},
                                         {label: "Celery queue", data: health.celery_queue_depth}]);
    line("chart-freshness", health.labels, Object.keys(health.freshness_minutes).map(function (name) {
      return {label: name, data: health.freshness_minutes[name]};
    }));
  }
  var trend = data("report-trend");
  if (trend) {
    var names = Object.keys(trend), stamps = {};
    names.forEach(function (n) { trend[n].points.forEach(function (p) { stamps[p.t] = true; }); });
    var labels = Object.keys(stamps).sort();
    line("chart-trend", labels, names.map(function (n) {
      var byTime = {};
      trend[n].points.forEach(function (p) { byTime[p.t] = p.score; });
      return {label: n, data: labels.map(function (t) { return t in byTime ? byTime[t] : null; })};
    }));
  }
})();
