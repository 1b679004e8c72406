// A person's scores over time on the case page, with the response and remission lines.
(function () {
  var el = document.getElementById("score-chart");
  var data = document.getElementById("score-data");
  if (!el || !data || !window.echarts) return;
  var d = JSON.parse(data.textContent);
  var marks = [];
  if (d.baseline) marks.push({ yAxis: d.baseline / 2, name: d.labels.response });
  if (d.remission !== null) marks.push({ yAxis: d.remission, name: d.labels.remission });
  var chart = window.echarts.init(el);
  chart.setOption({
    tooltip: { trigger: "axis" },
    grid: { left: 36, right: 56, top: 20, bottom: 28 },
    xAxis: { type: "time", splitNumber: 4, axisLabel: { hideOverlap: true } },
    yAxis: { type: "value", minInterval: 1, min: 0 },
    series: [{
      name: d.instrument, type: "line", data: d.series, symbolSize: 8,
      markLine: { symbol: "none", lineStyle: { type: "dashed" },
        label: { formatter: "{b}", position: "end" }, data: marks },
    }],
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
