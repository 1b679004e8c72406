// Coverage by town: the share of villages with a counselling room, against the target line.
(function () {
  var el = document.getElementById("coverage-chart");
  var data = document.getElementById("coverage-data");
  if (!el || !data || !window.echarts) return;
  var d = JSON.parse(data.textContent);
  var chart = window.echarts.init(el);
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis", valueFormatter: function (v) { return v + "%"; } },
    grid: { left: 40, right: 12, top: 16, bottom: 60 },
    xAxis: { type: "category", data: d.towns, axisLabel: { rotate: 30 } },
    yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
    series: [{
      type: "bar", data: d.rates,
      markLine: { symbol: "none", data: [{ yAxis: d.target, name: "target" }] },
    }],
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
