// Score trend on the resident's history page: one line per instrument.
(function () {
  var el = document.getElementById("trend");
  var data = document.getElementById("trend-data");
  if (!el || !data || !window.echarts) return;
  var series = JSON.parse(data.textContent);
  var chart = window.echarts.init(el);
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 32, right: 12, top: 32, bottom: 28 },
    xAxis: { type: "time" },
    yAxis: { type: "value", minInterval: 1 },
    series: Object.keys(series).map(function (code) {
      return { name: code, type: "line", data: series[code], symbolSize: 8 };
    }),
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
