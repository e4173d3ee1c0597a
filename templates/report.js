/* labeler report: draws the charts from REPORT with Plotly and wires the topic list.
   Every string from documents or labels is added as text (textContent), or escaped before
   Plotly sees it, because Plotly reads a little HTML in its labels. */
(function () {
  "use strict";
  var R = REPORT;
  var topics = {};
  R.topics.forEach(function (t) { topics[t.id] = t; });
  var DIM = "#dde1e8";
  var FONT = { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12, color: "#1d2330" };
  var CONFIG = { displaylogo: false, responsive: true, showSendToCloud: false, plotlyServerURL: "",
                 modeBarButtonsToRemove: ["select2d", "lasso2d", "sendChartToCloud"] }; // nothing leaves the file
  var GL_ABOVE = 3000; // points; below this SVG is fast enough and crisper
  var MAP_LABELS = 40; // topic names drawn on the map (the largest topics, plus the selected one)
  var selected = null;
  var plotly = typeof Plotly !== "undefined" ? Plotly : null;

  function esc(s) {
    return String(s == null ? "" : s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function short(s, n) {
    s = String(s == null ? "" : s);
    return s.length > n ? s.slice(0, n - 1) + "…" : s;
  }
  function wrap(s, width) { // escaped lines joined by Plotly's line break
    var words = String(s).split(/\s+/), lines = [], line = "";
    words.forEach(function (w) {
      if (line && line.length + w.length + 1 > width) { lines.push(line); line = w; }
      else { line = line ? line + " " + w : w; }
    });
    if (line) lines.push(line);
    return lines.map(esc).join("<br>");
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function layout(extra) {
    var base = { font: FONT, margin: { l: 10, r: 10, t: 10, b: 10 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
                 hoverlabel: { font: FONT, align: "left" } };
    Object.keys(extra).forEach(function (k) { base[k] = extra[k]; });
    return base;
  }
  function bySize(a, b) { return b.size - a.size; }
  function realTopics() { return R.topics.filter(function (t) { return !t.outlier; }); }
  function scrollTo(id) {
    var node = document.getElementById(id);
    var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (node) node.scrollIntoView({ behavior: still ? "auto" : "smooth", block: "start" });
  }

  /* ---------------------------------------------------------------- map
     Traces (their uid names their SVG group, e.g. .tracedocs): every document, the selected
     topic's documents drawn on top, topic names, and the selected topic's name. */
  var mapDiv = document.getElementById("map-plot");
  var panel = document.getElementById("map-panel");
  var P = R.map.points;
  var labelled = realTopics().filter(function (t) { return t.pos; }).sort(bySize).slice(0, MAP_LABELS);
  var TREE = R.tree; // the topic tree: per layer, each topic's node (its name, colour, position)
  var mapLayer = 0;
  function nodeAt(topic, layer) {
    if (!TREE || !layer || !TREE.up[layer]) return null;
    var id = TREE.up[layer][topic];
    return id === undefined ? null : TREE.nodes[id];
  }
  function layerColour(topic, layer) {
    if (!layer) return topics[topic] ? topics[topic].colour : "#c7c7c7";
    var n = nodeAt(topic, layer);
    return n ? n.colour : "#c7c7c7";
  }
  function layerNames(layer) { // what the map names: topics, or the layer's nodes
    if (!layer) return realTopics().filter(function (t) { return t.pos; }).sort(bySize).slice(0, MAP_LABELS);
    return Object.keys(TREE.nodes).map(function (k) { return TREE.nodes[k]; })
      .filter(function (n) { return n.layer === layer && n.pos; }).sort(bySize).slice(0, MAP_LABELS);
  }

  function webgl() {
    try {
      var c = document.createElement("canvas");
      return !!(window.WebGLRenderingContext && (c.getContext("webgl") || c.getContext("experimental-webgl")));
    } catch (e) { return false; }
  }

  var baseColours = P.t.map(function (t) { return topics[t] ? topics[t].colour : "#c7c7c7"; });
  var mapHover = [];
  var members = {}; // topic -> indices of its points on the map
  P.t.forEach(function (t, i) { (members[t] = members[t] || []).push(i); });

  function mapRenderer() {
    var query = new URLSearchParams(window.location.search);
    var forced = query.get("map"), above = Number(query.get("gl_above") || GL_ABOVE);
    return forced === "webgl" || (forced !== "svg" && P.x.length > above && webgl()) ? "webgl" : "svg";
  }

  function drawMap(renderer) {
    var gl = renderer === "webgl";
    var hover = hoverTexts(mapLayer);
    var points = {
      type: gl ? "scattergl" : "scatter", uid: "docs", mode: "markers", name: "documents", x: P.x, y: P.y,
      customdata: P.t, hovertext: hover, hoverinfo: "text", showlegend: false,
      marker: { color: baseColours, size: P.x.length > 5000 ? 3 : 5, opacity: 0.8 },
      hoverlabel: { bgcolor: "#fff", bordercolor: baseColours, font: FONT, align: "left" }
    };
    var chosen = { // the selected topic's points, drawn over the dimmed rest
      type: points.type, uid: "chosen", mode: "markers", name: "selected documents", x: [], y: [], customdata: [], hovertext: [],
      hoverinfo: "text", showlegend: false, marker: { color: "#000", size: points.marker.size + 1, opacity: 0.9 },
      hoverlabel: { bgcolor: "#fff", font: FONT, align: "left" }
    };
    mapHover = hover;
    var names = {
      type: "scatter", uid: "names", mode: "text", name: "topics", showlegend: false,
      x: labelled.map(function (t) { return t.pos[0]; }), y: labelled.map(function (t) { return t.pos[1]; }),
      text: labelled.map(function (t) { return esc(short(t.name, 34)); }),
      customdata: labelled.map(function (t) { return t.id; }),
      hovertext: labelled.map(function (t) { return "<b>" + esc(t.name) + "</b><br>" + t.size + " documents"; }),
      hoverinfo: "text", textfont: { family: FONT.family, size: 12, color: "#1d2330", shadow: "0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff" }
    };
    var focus = { type: "scatter", uid: "focus", mode: "text", name: "selected", showlegend: false, x: [], y: [], text: [], textposition: "top center",
                  customdata: [], hoverinfo: "skip",
                  textfont: { family: FONT.family, size: 15, color: "#000", weight: 700, shadow: "0 0 4px #fff, 0 0 4px #fff, 0 0 3px #fff" } };
    var axis = { visible: false, showgrid: false, zeroline: false };
    var y = Object.assign({ scaleanchor: "x", scaleratio: 1 }, axis);
    return plotly.newPlot(mapDiv, [points, chosen, names, focus], layout({ xaxis: axis, yaxis: y, dragmode: "pan", hovermode: "closest" }),
                          Object.assign({ scrollZoom: true }, CONFIG)).then(function () {
      if (gl && mapDiv.querySelector(".no-webgl")) { // WebGL looked available but failed: draw SVG
        plotly.purge(mapDiv);
        return drawMap("svg");
      }
      mapDiv.on("plotly_click", function (ev) {
        var p = ev && ev.points && ev.points[0];
        if (p && p.customdata !== undefined && topics[p.customdata]) select(p.customdata);
      });
      mapDiv.setAttribute("data-renderer", renderer);
      mapDiv.setAttribute("data-points", String(P.x.length));
      document.getElementById("map-renderer").textContent =
        P.x.length.toLocaleString() + " points drawn with " + (gl ? "WebGL" : "SVG") + ".";
    });
  }

  function hoverTexts(layer) {
    return P.t.map(function (t, i) {
      var n = nodeAt(t, layer);
      var text = n ? "<b>" + esc(short(n.name, 70)) + "</b><br>" : "";
      text += (n ? "" : "<b>") + esc(short(topics[t] ? topics[t].name : t, 70)) + (n ? "" : "</b>");
      if (P.text) text += "<br><i>" + esc(short(P.id[i], 60)) + "</i><br>" + wrap(P.text[i], 60);
      return text;
    });
  }

  function showLayer(layer) { // colours and names of one layer of the topic tree
    mapLayer = layer;
    baseColours = P.t.map(function (t) { return layerColour(t, layer); });
    mapHover = hoverTexts(layer);
    labelled = layerNames(layer);
    mapDiv.setAttribute("data-layer", String(layer));
    if (!plotly || !mapDiv.data) return;
    plotly.restyle(mapDiv, { "marker.color": [baseColours], hovertext: [mapHover],
                             "hoverlabel.bordercolor": [baseColours] }, [0]);
    plotly.restyle(mapDiv, {
      x: [labelled.map(function (t) { return t.pos[0]; })], y: [labelled.map(function (t) { return t.pos[1]; })],
      text: [labelled.map(function (t) { return esc(short(t.name, 34)); })],
      customdata: [labelled.map(function (t) { return layer ? null : t.id; })],
      hovertext: [labelled.map(function (t) {
        return "<b>" + esc(t.name) + "</b><br>" + t.size + " documents" + (t.summary ? "<br>" + wrap(t.summary, 60) : "");
      })]
    }, [2]);
    highlightMap(selected);
  }

  function highlightMap(id) {
    if (!plotly || !mapDiv.data) return;
    var t = id === null ? null : topics[id];
    var idx = t ? members[t.id] || [] : [];
    function pick(values) { return idx.map(function (i) { return values[i]; }); }
    plotly.restyle(mapDiv, { "marker.color": [t ? DIM : baseColours] }, [0]);
    plotly.restyle(mapDiv, { x: [pick(P.x)], y: [pick(P.y)], customdata: [pick(P.t)], hovertext: [pick(mapHover)],
                             "marker.color": t ? t.colour : "#000" }, [1]);
    var show = t && t.pos && !t.outlier;
    plotly.restyle(mapDiv, { "textfont.color": [labelled.map(function (l) {
      if (!t) return "#1d2330";
      return l.id === t.id ? "rgba(0,0,0,0)" : "#98a1b0";
    })] }, [2]);
    plotly.restyle(mapDiv, {
      x: [show ? [t.pos[0]] : []], y: [show ? [t.pos[1]] : []],
      text: [show ? [esc(short(t.name, 40))] : []], customdata: [show ? [t.id] : []]
    }, [3]);
  }

  /* ---------------------------------------------------------------- selection */
  function renderPanel(t) {
    panel.textContent = "";
    if (!t) {
      panel.appendChild(el("p", { class: "muted" }, ["Click a topic on the map or in the list to see it here."]));
      return;
    }
    var title = el("h3", {}, [el("span", { class: "swatch", style: "background:" + t.colour }), t.name]);
    panel.appendChild(title);
    var meta = el("p", { class: "muted" }, [t.size.toLocaleString() + " documents (" + (100 * t.share).toFixed(1) + "%) "]);
    meta.appendChild(el("span", { class: "status st-" + t.status }, [t.status.replace(/_/g, " ")]));
    meta.appendChild(el("span", { class: "badge" }, [t.source]));
    (t.flags || []).forEach(function (f) { meta.appendChild(el("span", { class: "badge flag" }, [f])); });
    panel.appendChild(meta);
    if (t.summary) panel.appendChild(el("p", { class: "summary" }, [t.summary]));
    t.keywords.forEach(function (stage) {
      if (!stage[1].length) return;
      panel.appendChild(el("div", { class: "stage" }, [el("b", {}, [stage[0]]), " " + stage[1].slice(0, 8).map(function (w) { return w[0]; }).join(", ")]));
    });
    if (t.nearest && t.nearest.length) {
      var list = el("ul", {});
      t.nearest.forEach(function (n) {
        var b = el("button", { class: "link", type: "button" }, [short(topics[n[0]].name, 50)]);
        b.addEventListener("click", function () { select(n[0]); });
        list.appendChild(el("li", {}, [b, " (" + n[1].toFixed(2) + ")"]));
      });
      panel.appendChild(el("h4", {}, ["Nearest topics"]));
      panel.appendChild(list);
    }
    var links = el("p", {}, [el("a", { href: "#topic-" + t.id }, ["Details, examples and history ↓"])]);
    var clear = el("button", { class: "link", type: "button", style: "margin-left:12px" }, ["clear"]);
    clear.addEventListener("click", function () { select(null); });
    links.appendChild(clear);
    panel.appendChild(links);
  }

  function select(id, opts) {
    selected = id === null || id === undefined ? null : Number(id);
    var t = selected === null ? null : topics[selected];
    document.querySelectorAll("#topic-table tbody tr.selected, article.topic.selected").forEach(function (n) {
      n.classList.remove("selected");
    });
    if (t) {
      document.querySelectorAll('[data-topic="' + t.id + '"]').forEach(function (n) {
        if (n.tagName === "TR" || n.tagName === "ARTICLE") n.classList.add("selected");
      });
    }
    renderPanel(t);
    highlightMap(t ? t.id : null);
    if (opts && opts.scroll) scrollTo(opts.scroll);
  }

  /* ---------------------------------------------------------------- topic list */
  function wireTable() {
    var table = document.getElementById("topic-table");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var box = document.getElementById("filter");
    var count = document.getElementById("filter-count");
    box.addEventListener("input", function () {
      var q = box.value.toLowerCase().trim(), shown = 0;
      rows.forEach(function (row) {
        var hit = !q || row.getAttribute("data-search").indexOf(q) >= 0;
        row.style.display = hit ? "" : "none";
        if (hit) shown += 1;
      });
      count.textContent = (q ? shown + " of " : "") + rows.length + " topics";
    });
    table.querySelectorAll("th button").forEach(function (button) {
      button.addEventListener("click", function () {
        var th = button.parentNode, key = button.getAttribute("data-key");
        var num = button.getAttribute("data-type") === "num";
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        if (!th.hasAttribute("aria-sort") && num && key !== "topic") dir = "descending";
        table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
        var sign = dir === "ascending" ? 1 : -1;
        rows.sort(function (a, b) {
          var x = a.getAttribute("data-" + key), y = b.getAttribute("data-" + key);
          if (num) return sign * (Number(x) - Number(y));
          return sign * x.localeCompare(y);
        });
        group();
      });
    });
    var groupBox = document.getElementById("group-by");
    function group() { // rows under a header per parent at the chosen layer, largest first
      body.querySelectorAll("tr.group-row").forEach(function (h) { h.parentNode.removeChild(h); });
      var layer = groupBox ? Number(groupBox.value) : 0;
      if (!layer) { rows.forEach(function (row) { body.appendChild(row); }); return; }
      var order = [], groups = {};
      rows.forEach(function (row) {
        var n = nodeAt(Number(row.getAttribute("data-topic")), layer), key = n ? String(n.id) : "";
        if (!groups[key]) { groups[key] = []; order.push(key); }
        groups[key].push(row);
      });
      order.sort(function (a, b) {
        if (!a || !b) return a ? -1 : (b ? 1 : 0);
        return TREE.nodes[b].size - TREE.nodes[a].size;
      });
      order.forEach(function (key) {
        var n = key ? TREE.nodes[key] : null;
        var head = el("th", { colspan: "5" }, [
          el("span", { class: "swatch", style: "background:" + (n ? n.colour : "#c7c7c7") }),
          n ? n.name : "no group", el("span", { class: "muted" }, [n ? " · " + n.size.toLocaleString() + " documents" : ""])
        ]);
        body.appendChild(el("tr", { class: "group-row", "data-group": key }, [head]));
        groups[key].forEach(function (row) { body.appendChild(row); });
      });
    }
    if (groupBox) groupBox.addEventListener("change", group);
    rows.forEach(function (row) {
      row.addEventListener("click", function (ev) {
        if (ev.target.closest("a")) return;
        select(row.getAttribute("data-topic"), { scroll: "map" });
      });
      row.addEventListener("keydown", function (ev) { // rows take focus (tabindex): Enter or Space opens one
        if (ev.target !== row || (ev.key !== "Enter" && ev.key !== " ")) return;
        ev.preventDefault();
        select(row.getAttribute("data-topic"), { scroll: "map" });
      });
    });
  }

  /* ---------------------------------------------------------------- per-topic charts */
  function keywordChart(div) {
    var t = topics[div.getAttribute("data-topic")];
    var stages = t.keywords.filter(function (s) { return s[1].length; });
    if (!stages.length) return;
    var k = stages.length, traces = [], lay = layout({ height: 250, showlegend: false, margin: { l: 4, r: 8, t: 22, b: 24 } });
    var stacked = k > 1 && div.clientWidth < KW_SIDE_BY_SIDE; // a phone: one stage under another
    div.setAttribute("data-stacked", stacked ? "1" : "0");
    lay.annotations = [];
    if (stacked) {
      var rows = Math.max.apply(null, stages.map(function (s) { return s[1].length; }));
      var block = 16 * rows + 44; // px per stage: its bars, ticks and title
      lay.height = k * block;
      lay.margin = { l: 8, r: 10, t: 22, b: 10 };
    }
    stages.forEach(function (stage, i) {
      var words = stage[1].slice().reverse();
      var suffix = i ? String(i + 1) : "";
      traces.push({
        type: "bar", orientation: "h", x: words.map(function (w) { return w[1]; }), y: words.map(function (w) { return esc(w[0]); }),
        xaxis: "x" + suffix, yaxis: "y" + suffix, marker: { color: t.colour },
        hovertemplate: "%{y}: %{x:.3f}<extra>" + esc(stage[0]) + "</extra>"
      });
      if (stacked) {
        var top = 1 - i / k, bottom = 1 - (i + 1) / k + 34 / lay.height;
        lay["xaxis" + suffix] = { domain: [0.3, 1], anchor: "y" + suffix, tickfont: { size: 10 }, nticks: 5, gridcolor: "#eef1f7" };
        lay["yaxis" + suffix] = { domain: [bottom, top - 4 / lay.height], anchor: "x" + suffix, tickfont: { size: 11 }, automargin: false };
        lay.annotations.push({ text: esc(stage[0]), x: 0, y: top, xref: "paper", yref: "paper", xanchor: "left",
                               yanchor: "bottom", showarrow: false, font: { size: 12, color: "#5f6b7a" } });
        return;
      }
      var left = i / k + 0.11, right = (i + 1) / k - 0.015;
      lay["xaxis" + suffix] = { domain: [left, right], anchor: "y" + suffix, tickfont: { size: 10 }, nticks: 4, gridcolor: "#eef1f7" };
      lay["yaxis" + suffix] = { anchor: "x" + suffix, tickfont: { size: 11 }, automargin: false };
      lay.annotations.push({ text: esc(stage[0]), x: (left + right) / 2, y: 1.0, xref: "paper", yref: "paper",
                             yanchor: "bottom", showarrow: false, font: { size: 12, color: "#5f6b7a" } });
    });
    plotly.newPlot(div, traces, lay, Object.assign({}, CONFIG, { displayModeBar: false })).then(function () { follow(div); });
  }

  function timelineChart(div) {
    var t = topics[div.getAttribute("data-topic")];
    var counts = R.time.counts[t.id];
    if (!counts) return;
    plotly.newPlot(div, [{
      type: "scatter", mode: "lines", x: R.time.periods, y: counts, line: { color: t.colour, width: 2, shape: "hv" },
      fill: "tozeroy", hovertemplate: "%{x}: %{y} documents<extra></extra>"
    }], layout({ height: 230, margin: { l: 40, r: 10, t: 26, b: 36 }, showlegend: false,
                 title: { text: "Documents per " + R.time.unit, font: { size: 12, color: "#5f6b7a" }, x: 0.02 },
                 yaxis: { rangemode: "tozero", gridcolor: "#eef1f7" }, xaxis: { type: "date" } }),
    Object.assign({}, CONFIG, { displayModeBar: false })).then(function () { follow(div); });
  }

  function lazyCharts() {
    var nodes = Array.prototype.slice.call(document.querySelectorAll(".kw-chart, .tl-chart"));
    function draw(node) {
      if (node.getAttribute("data-drawn")) return;
      node.setAttribute("data-drawn", "1");
      if (node.classList.contains("kw-chart")) keywordChart(node); else timelineChart(node);
    }
    if (!("IntersectionObserver" in window)) { nodes.forEach(draw); return; }
    var seen = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) { if (e.isIntersecting) { seen.unobserve(e.target); draw(e.target); } });
    }, { rootMargin: "400px" });
    nodes.forEach(function (n) { seen.observe(n); });
  }

  /* ---------------------------------------------------------------- corpus-wide charts */
  function openTopic(id) { select(id, { scroll: "topic-" + id }); }

  /* The corpus-wide charts are figures built in Python (labeler/figures/, the same code as
     TopicModel.visualize_*): drawn as they come, then wired to open the topic clicked. */
  function figure(name, id, topicOf) {
    var F = R.figures && R.figures[name], div = document.getElementById(id);
    if (!F || !div) return;
    if (name === "time") F.data.forEach(function (trace) { trace.x = R.time.periods; }); // sent once
    plotly.newPlot(div, F.data, F.layout, CONFIG).then(function () { follow(div); });
    if (!topicOf) return;
    div.on("plotly_click", function (ev) {
      var p = ev && ev.points && ev.points[0];
      var id = p ? topicOf(p, F) : undefined;
      if (id !== undefined && id !== null && topics[id]) openTopic(id);
    });
  }
  function rowTopic(p, F) { // heatmaps: the row's category names the topic (meta.topics)
    var trace = F.data[0], i = trace.y.indexOf(p.y);
    return i >= 0 ? trace.meta.topics[i] : undefined;
  }
  function pointTopic(p) { return p.customdata; }

  /* ---------------------------------------------------------------- dark mode, print, narrow screens
     The charts (every one but the map, which keeps the light paper its colours and name halos
     were chosen on) follow prefers-color-scheme: paper, text, grid and heatmap colours switch
     with it. Printing draws every chart light and at most a page wide, then as it was. */
  var KW_SIDE_BY_SIDE = 520; // px: narrower keyword charts put their stages one under another
  var PRINT_WIDTH = 680; // px: an A4 or Letter page's width inside the default margins
  var DARK = { paper: "#181c25", text: "#e4e8ef", muted: "#a4aebd", grid: "#2f3646", zero: "#3a4354", line: "#5a6579",
               scale: [[0, "#1d2431"], [0.35, "#2f4f7a"], [0.7, "#5b8bd0"], [1, "#d6e4ff"]] };
  var darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  var printQuery = window.matchMedia ? window.matchMedia("print") : null;
  var printing = false, following = [];
  function isDark() { return !printing && !!(darkQuery && darkQuery.matches); }
  function lookup(obj, path) {
    return path.split(".").reduce(function (o, k) {
      var m = /^(\w+)\[(\d+)\]$/.exec(k);
      if (o == null) return undefined;
      return m ? (o[m[1]] || [])[Number(m[2])] : o[k];
    }, obj);
  }
  function darkPatch(div) { // dotted layout keys -> their dark value
    var patch = { paper_bgcolor: DARK.paper, plot_bgcolor: DARK.paper, "font.color": DARK.text,
                  "hoverlabel.bgcolor": DARK.paper, "hoverlabel.font.color": DARK.text, "hoverlabel.bordercolor": DARK.line };
    if (div.layout.title) patch["title.font.color"] = DARK.muted;
    Object.keys(div._fullLayout).filter(function (k) { return /^[xy]axis\d*$/.test(k); }).forEach(function (k) {
      patch[k + ".gridcolor"] = DARK.grid; patch[k + ".zerolinecolor"] = DARK.zero; patch[k + ".linecolor"] = DARK.line;
    });
    (div.layout.annotations || []).forEach(function (a, i) { patch["annotations[" + i + "].font.color"] = DARK.muted; });
    return patch;
  }
  function theme(div, dark) {
    if (!div.layout || !div._fullLayout || !div.data) return;
    if (div.getAttribute("data-theme") === (dark ? "dark" : "light")) return;
    var patch = darkPatch(div);
    if (!div._lightLayout) { // what to put back: the figure's own values (null: Plotly's default)
      div._lightLayout = {};
      Object.keys(patch).forEach(function (k) { var v = lookup(div.layout, k); div._lightLayout[k] = v === undefined ? null : v; });
      div._lightScales = div.data.map(function (t) { return t.type === "heatmap" ? t.colorscale : undefined; });
    }
    plotly.relayout(div, dark ? patch : div._lightLayout);
    div._lightScales.forEach(function (scale, i) {
      if (scale !== undefined) plotly.restyle(div, { colorscale: [dark ? DARK.scale : scale] }, [i]);
    });
    div.setAttribute("data-theme", dark ? "dark" : "light");
  }
  function follow(div) { // a chart just drawn: take the page's scheme, and keep taking it
    if (following.indexOf(div) < 0) following.push(div);
    if (isDark()) theme(div, true);
    else div.setAttribute("data-theme", "light");
  }
  function retheme() { following.forEach(function (div) { theme(div, isDark()); }); }
  function printMode(on) {
    if (on === printing) return;
    printing = on;
    document.querySelectorAll(on ? "details:not([open])" : "details[data-print-open]").forEach(function (d) {
      if (on) d.setAttribute("data-print-open", ""); else d.removeAttribute("data-print-open");
      d.open = on; // a printed page shows the folded sections too
    });
    retheme();
    document.querySelectorAll(".js-plotly-plot").forEach(function (div) {
      if (!div._fullLayout) return;
      if (on && div._fullLayout.width > PRINT_WIDTH) {
        div._screenWidth = { drawn: div._fullLayout.width, own: div.layout.width };
        plotly.relayout(div, { width: PRINT_WIDTH });
      } else if (!on && div._screenWidth) {
        var was = div._screenWidth;
        delete div._screenWidth;
        plotly.relayout(div, { width: was.drawn }).then(function () {
          if (was.own === undefined) delete div.layout.width; // responsive again on the next resize
        });
      }
    });
  }
  function restackKeywords() { // the window crossed the width where keyword stages stack
    document.querySelectorAll(".kw-chart[data-drawn]").forEach(function (div) {
      var want = div.clientWidth < KW_SIDE_BY_SIDE ? "1" : "0";
      if (!printing && div.getAttribute("data-stacked") !== null && div.getAttribute("data-stacked") !== want &&
          div.clientWidth > 0) {
        div.removeAttribute("data-theme");
        delete div._lightLayout;
        plotly.purge(div);
        keywordChart(div);
      }
    });
  }
  function watch(query, fn) {
    if (!query) return;
    if (query.addEventListener) query.addEventListener("change", fn); else if (query.addListener) query.addListener(fn);
  }
  function watchScreens() {
    watch(darkQuery, retheme);
    watch(printQuery, function (e) { printMode(e.matches); });
    window.addEventListener("beforeprint", function () { printMode(true); });
    window.addEventListener("afterprint", function () { printMode(false); });
    var timer = null;
    window.addEventListener("resize", function () { clearTimeout(timer); timer = setTimeout(restackKeywords, 250); });
  }

  /* ---------------------------------------------------------------- start */
  wireTable();
  document.querySelectorAll("button.show-on-map").forEach(function (b) {
    b.addEventListener("click", function () { select(b.getAttribute("data-topic"), { scroll: "map" }); });
  });
  if (!plotly) {
    document.getElementById("map-renderer").textContent = "The charts could not be drawn (Plotly did not load).";
    return;
  }
  // The map first: it is what a reader looks at on opening. (The charts below it take ~0.05 s;
  // most of the wait is unpacking Plotly and the map's own points: benchmarks/report_open.py.)
  var layerBox = document.getElementById("map-layer");
  drawMap(mapRenderer()).then(function () {
    document.body.setAttribute("data-map-ready", "1");
    figure("similarity", "similarity-plot", rowTopic);
    figure("hierarchy", "hierarchy-plot", pointTopic);
    figure("time", "time-plot", null);
    figure("classes", "class-plot", rowTopic);
    lazyCharts();
    watchScreens();
    if (layerBox) {
      layerBox.addEventListener("change", function () { showLayer(Number(layerBox.value)); });
      showLayer(Number(layerBox.value));
    }
    var m = /^#topic-(-?\d+)$/.exec(window.location.hash);
    if (m && topics[m[1]]) select(Number(m[1]));
    document.body.setAttribute("data-ready", "1");
  });
})();
