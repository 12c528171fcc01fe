/* kizuna: draws every chart on a page from the JSON embedded next to it (progressive enhancement: the tables next to
   the charts carry the same figures without JavaScript). ECharts is served from node_modules at /vendor. */
(function () {
  "use strict";
  var lang = document.documentElement.lang || "ja";

  function yen(v) {
    if (v === null || v === undefined) return "—";
    var a = Math.abs(v), s = v < 0 ? "-" : "";
    if (lang === "ja") {
      if (a >= 1e8) return s + (a / 1e8).toFixed(1) + "億円";
      if (a >= 1e4) return s + Math.round(a / 1e4).toLocaleString("ja-JP") + "万円";
      return s + Math.round(a).toLocaleString("ja-JP") + "円";
    }
    if (a >= 1e6) return s + "¥" + (a / 1e6).toFixed(2) + "M";
    if (a >= 1e3) return s + "¥" + Math.round(a / 1e3) + "K";
    return s + "¥" + Math.round(a);
  }
  function fmt(kind) {
    if (kind === "yen") return yen;
    if (kind === "pct") return function (v) { return (v * 100).toFixed(0) + "%"; };
    return function (v) { return typeof v === "number" ? v.toLocaleString(lang) : v; };
  }

  function option(spec) {
    var f = fmt(spec.format);
    var base = {
      animation: false,
      tooltip: { trigger: spec.kind === "donut" || spec.kind === "heatmap" ? "item" : "axis", valueFormatter: f },
      grid: { left: 64, right: 16, top: 36, bottom: 28 },
      legend: { top: 0, type: "scroll" },
    };
    if (spec.kind === "donut") {
      base.series = [{ type: "pie", radius: ["45%", "72%"], data: spec.data, label: { formatter: "{b}: {c}" } }];
      delete base.grid;
      return base;
    }
    if (spec.kind === "graph") {
      var maxValue = Math.max.apply(null, spec.nodes.map(function (n) { return n.value; }).concat([1]));
      var categories = [];
      spec.nodes.forEach(function (n) { if (categories.indexOf(n.category) < 0) categories.push(n.category); });
      return { animation: false, tooltip: {}, series: [{ type: "graph", layout: "force", roam: true,
        categories: categories.map(function (c) { return { name: String(c) }; }),
        data: spec.nodes.map(function (n) { return { name: n.name, value: n.value, category: categories.indexOf(n.category),
          symbolSize: 8 + 30 * Math.sqrt(n.value / maxValue) }; }),
        links: spec.links.map(function (l) { return { source: l.source, target: l.target, value: l.value,
          lineStyle: { width: 1 + 6 * l.value } }; }),
        label: { show: true, position: "right", fontSize: 11 }, force: { repulsion: 120, edgeLength: [40, 120] } }] };
    }
    if (spec.kind === "heatmap") {
      base.grid = { left: 90, right: 16, top: 16, bottom: 60 };
      base.xAxis = { type: "category", data: spec.x, splitArea: { show: true } };
      base.yAxis = { type: "category", data: spec.y, splitArea: { show: true } };
      base.visualMap = { min: spec.min || 0, max: spec.max || 1, calculable: true, orient: "horizontal", left: "center",
        bottom: 0, inRange: { color: ["#fdecea", "#f6a54c", "#2b8a3e"] } };
      base.tooltip = { position: "top", formatter: function (p) { return p.value[2] === null ? "" : f(p.value[2]); } };
      base.legend = undefined;
      base.series = [{ type: "heatmap", data: spec.data, label: { show: spec.labels !== false, formatter: function (p) {
        return p.value[2] === null ? "" : f(p.value[2]); }, fontSize: 10 } }];
      return base;
    }
    base.xAxis = { type: "category", data: spec.categories };
    // whole yen and whole counts: an all-zero series must not draw 0.2-steps that read "1円, 1円, 0円"
    base.yAxis = { type: "value", axisLabel: { formatter: f }, minInterval: spec.format === "pct" ? 0 : 1 };
    if (spec.kind === "hbar") { var t = base.xAxis; base.xAxis = base.yAxis; base.yAxis = t; base.grid.left = 140; }
    base.series = spec.series.map(function (s) {
      return { name: s.name, type: s.type || (spec.kind === "line" ? "line" : "bar"), data: s.data, stack: s.stack,
        itemStyle: s.color ? { color: s.color } : undefined, smooth: false, yAxisIndex: 0,
        symbolSize: 4, emphasis: { focus: "series" } };
    });
    return base;
  }

  function hasData(spec) {
    function some(list) { return Array.isArray(list) && list.length > 0; }
    if (spec.kind === "donut" || spec.kind === "heatmap") return some(spec.data);
    if (spec.kind === "graph") return some(spec.nodes);
    return some(spec.series) && spec.series.some(function (s) {
      return some(s.data) && s.data.some(function (v) { return v !== null && v !== undefined; });
    });
  }

  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-chart-source"));
    if (!source || typeof echarts === "undefined") return;
    var spec = JSON.parse(source.textContent);
    if (!hasData(spec)) {  // say so rather than draw empty axes
      el.classList.add("chart-empty");
      el.textContent = el.getAttribute("data-empty-text") || "—";
      el.setAttribute("data-drawn", "empty");
      return;
    }
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option(spec));
    el.setAttribute("data-drawn", "true");
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function selectAll() {
    var boxes = document.querySelectorAll("input[name=account_ids]");
    var all = document.getElementById("select-all");
    if (!all) return;
    all.addEventListener("change", function () { boxes.forEach(function (b) { b.checked = all.checked; }); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".chart[data-chart-source]").forEach(draw);
    selectAll();
    document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
  });
})();
