/* labeler report: draws the charts from REPORT with Plotly and wires the topic list.
   Every string from documents or labels is added as text (textContent), or escaped before
   Plotly sees it, because Plotly reads a little HTML in its labels. */
(function () {
  "use strict";
  var R = REPORT;
  var topics = {};
  R.topics.forEach(function (t) { topics[t.id] = t; });
  var FONT = { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12, color: "#1d2330" };
  var STYLE = R.style || {}; // labeler/figures/_style.py's: the outlier grey, the dots' opacity, the dark paper
  var OUTLIER = STYLE.outlier || "#7b7b7b";
  var CONFIG = { displaylogo: false, responsive: true, showSendToCloud: false, plotlyServerURL: "",
                 modeBarButtonsToRemove: ["select2d", "lasso2d", "sendChartToCloud"] }; // nothing leaves the file
  var GL_ABOVE = 3000; // points; below this SVG is fast enough and crisper
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
  function font(extra) { return Object.assign({}, FONT, extra || {}); } // a copy: a relayout changes it in place
  function layout(extra) {
    var base = { font: font(), margin: { l: 10, r: 10, t: 10, b: 10 }, paper_bgcolor: "#fff", plot_bgcolor: "#fff",
                 hoverlabel: { font: font(), align: "left" } };
    Object.keys(extra).forEach(function (k) { base[k] = extra[k]; });
    return base;
  }
  function bySize(a, b) { return b.size - a.size; }
  function realTopics() { return R.topics.filter(function (t) { return !t.outlier; }); }
  /* Dark mode: every chart follows prefers-color-scheme (below), the map too; printing is light. */
  var DARK = { paper: STYLE.dark_paper || "#181c25", text: "#e4e8ef", muted: "#a4aebd", grid: "#2f3646", zero: "#3a4354", line: "#5a6579",
               scale: [[0, "#1d2431"], [0.35, "#2f4f7a"], [0.7, "#5b8bd0"], [1, "#d6e4ff"]] };
  var darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  var printQuery = window.matchMedia ? window.matchMedia("print") : null;
  var printing = false, following = [];
  function isDark() { return !printing && !!(darkQuery && darkQuery.matches); }

  /* Colours: each topic (and tree group) has four (REPORT's colour, colour_dark, colour_safe,
     colour_safe_dark: the default palette's and the colour-blind-safe one's, light and as
     lightened for dark paper). The page's swatches read theirs from CSS custom properties
     (--t<topic>, --n<group>) that html[data-palette] and the dark scheme switch; the charts are
     restyled here. The choice is kept in localStorage, which the page's head reads before the
     first paint; storage may be blocked (some file:// pages, privacy settings): then it is not
     kept, and everything else works. */
  var PALETTE_KEY = "labeler.palette"; // as the page's head reads it
  var root = document.documentElement;
  var palette = root.getAttribute("data-palette") === "safe" ? "safe" : "distinct";
  function paint(item) {
    if (!item) return OUTLIER;
    var key = (palette === "safe" ? "colour_safe" : "colour") + (isDark() ? "_dark" : "");
    return item[key] || item.colour;
  }
  function swatch(item) { // a swatch's colour: its topic's or group's custom property
    if (!item) return "background:" + OUTLIER;
    return "background:var(--" + (item.layer ? "n" : "t") + item.id + ")";
  }
  function colourKey() { return palette + (isDark() ? "-dark" : "-light"); }
  function savePalette() {
    try { window.localStorage.setItem(PALETTE_KEY, palette); } catch (e) { /* blocked: not kept */ }
  }

  function scrollTo(id) {
    var node = document.getElementById(id);
    var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (node) node.scrollIntoView({ behavior: still ? "auto" : "smooth", block: "start" });
  }

  /* ---------------------------------------------------------------- map
     Traces (their uid names their SVG group, e.g. .tracedocs): every document, the highlighted
     documents (a topic, a group or a search) drawn on top, topic names, and the selected
     topic's name. The names are placed here, from the drawn axes, every time the view changes
     (as datamapplot places its labels): largest topic first, each name wrapped onto a few lines
     and put at its topic's centre or beside it where it touches no name already placed and
     stays inside the plot; a name with no such place waits until zooming in makes room. */
  var mapDiv = document.getElementById("map-plot");
  var panel = document.getElementById("map-panel");
  var legend = document.getElementById("map-legend");
  var P = R.map.points;
  var TREE = R.tree; // the topic tree: per layer, each topic's node (its name, colour, position)
  var mapLayer = 0;
  var NAME_CHARS = 20; // a name wraps at about this many characters a line
  var NAME_LINES = 4; // and is cut (…) only past this many lines
  var LINE_SPACING = 1.3; // Plotly's, between the lines of one text
  var NAME_GAP = 3; // pixels kept free around each name
  var highlight = null; // {indices, colour} of the documents drawn on top, or null
  function nodeAt(topic, layer) {
    if (!TREE || !layer || !TREE.up[layer]) return null;
    var id = TREE.up[layer][topic];
    return id === undefined ? null : TREE.nodes[id];
  }
  function ink() { // the map's own colours on its light or dark paper
    return isDark()
      ? { paper: DARK.paper, text: DARK.text, name: "#e4e8ef", dimName: "#8d96a6", focus: "#fff", dim: "#363d4c",
          halo: "0 0 3px #181c25, 0 0 3px #181c25, 0 0 2px #181c25", focusHalo: "0 0 4px #000, 0 0 4px #000, 0 0 3px #000" }
      : { paper: "#fff", text: "#1d2330", name: "#1d2330", dimName: "#7a8494", focus: "#000", dim: "#dde1e8",
          halo: "0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff", focusHalo: "0 0 4px #fff, 0 0 4px #fff, 0 0 3px #fff" };
  }
  function layerColour(topic, layer) { return paint(layer ? nodeAt(topic, layer) : topics[topic]); }
  function layerItems(layer) { // what the map names: topics, or the layer's nodes, largest first
    if (!layer) return realTopics().filter(function (t) { return t.pos; }).sort(bySize);
    return Object.keys(TREE.nodes).map(function (k) { return TREE.nodes[k]; })
      .filter(function (n) { return n.layer === layer && n.pos; }).sort(bySize);
  }

  function webgl() {
    try {
      var c = document.createElement("canvas");
      return !!(window.WebGLRenderingContext && (c.getContext("webgl") || c.getContext("experimental-webgl")));
    } catch (e) { return false; }
  }

  var baseColours = P.t.map(function (t) { return layerColour(t, 0); });
  var mapHover = [];
  var members = {}; // topic -> indices of its points on the map
  P.t.forEach(function (t, i) { (members[t] = members[t] || []).push(i); });
  var lower = P.text ? P.text.map(function (s) { return String(s).toLowerCase(); }) : null;

  function mapRenderer() {
    var query = new URLSearchParams(window.location.search);
    var forced = query.get("map"), above = Number(query.get("gl_above") || GL_ABOVE);
    return forced === "webgl" || (forced !== "svg" && P.x.length > above && webgl()) ? "webgl" : "svg";
  }

  /* Name lines: break at spaces, and after "_", "-" or "/" (keyword names have no spaces). */
  function nameLines(s) {
    var pieces = []; // [text, preceded by a space]
    String(s).split(/\s+/).filter(Boolean).forEach(function (word, w) {
      (word.match(/[^_\-\/]+[_\-\/]*|[_\-\/]+/g) || [word]).forEach(function (p, k) { pieces.push([p, w > 0 && k === 0]); });
    });
    var lines = [], line = "";
    pieces.forEach(function (p) {
      var joined = line ? line + (p[1] ? " " : "") + p[0] : p[0];
      if (line && joined.length > NAME_CHARS) { lines.push(line); line = p[0]; } else { line = joined; }
    });
    if (line || !lines.length) lines.push(line);
    if (lines.length > NAME_LINES) {
      lines = lines.slice(0, NAME_LINES);
      lines[NAME_LINES - 1] = lines[NAME_LINES - 1].slice(0, NAME_CHARS - 1) + "…";
    }
    return lines;
  }
  var measurer = document.createElement("canvas").getContext("2d");
  function textWidth(s, size, bold) {
    measurer.font = (bold ? "700 " : "") + size + "px " + FONT.family;
    return measurer.measureText(s).width;
  }
  function nameSize(item, biggest) { return Math.round(11 + 3 * Math.sqrt(item.size / biggest)); }

  /* Where each name goes at the current view: [{item, lines, x, y, size, bold}] in data units. */
  function placeNames() {
    var full = mapDiv._fullLayout;
    if (!full || !full.xaxis || !full.yaxis) return [];
    var xa = full.xaxis, ya = full.yaxis, W = full._size.w, H = full._size.h;
    var items = layerItems(mapLayer).slice(0, 300), boxes = [], out = [];
    var chosen = selected === null ? null : topics[selected];
    if (chosen && chosen.pos && !chosen.outlier) {
      items = [chosen].concat(items.filter(function (i) { return !(mapLayer === 0 && i.id === chosen.id); }));
    }
    var biggest = items.reduce(function (m, i) { return Math.max(m, i.size); }, 1);
    function free(b) {
      for (var k = 0; k < boxes.length; k++) {
        var o = boxes[k];
        if (b.x0 < o.x1 + NAME_GAP && o.x0 < b.x1 + NAME_GAP && b.y0 < o.y1 + NAME_GAP && o.y0 < b.y1 + NAME_GAP) return false;
      }
      return true;
    }
    items.forEach(function (item, n) {
      var focus = chosen && n === 0 && item === chosen;
      var size = focus ? 15 : nameSize(item, biggest), lines = nameLines(item.name);
      var w = 4 + Math.max.apply(null, lines.map(function (l) { return textWidth(l, size, focus); }));
      var h = size * ((lines.length - 1) * LINE_SPACING + 1) + 4;
      var px = xa.l2p(xa.d2l(item.pos[0])), py = ya.l2p(ya.d2l(item.pos[1]));
      if (!(px >= 0 && px <= W && py >= 0 && py <= H)) return; // its topic is out of view
      if (w > W || h > H) return;
      var tries = [[0, 0], [0, -0.6 * h - 4], [0, 0.6 * h + 4], [0.55 * w + 6, 0], [-0.55 * w - 6, 0],
                   [0.5 * w, -0.6 * h], [-0.5 * w, -0.6 * h], [0.5 * w, 0.6 * h], [-0.5 * w, 0.6 * h]];
      for (var k = 0; k < tries.length; k++) {
        var cx = Math.min(Math.max(px + tries[k][0], w / 2 + 1), W - w / 2 - 1);
        var cy = Math.min(Math.max(py + tries[k][1], h / 2 + 1), H - h / 2 - 1);
        var box = { x0: cx - w / 2, x1: cx + w / 2, y0: cy - h / 2, y1: cy + h / 2 };
        if (free(box) || focus) {
          boxes.push(box);
          out.push({ item: item, lines: lines, size: size, focus: focus, x: xa.l2d(xa.p2l(cx)), y: ya.l2d(ya.p2l(cy)) });
          return;
        }
      }
    });
    return out;
  }

  function nameHover(item) {
    return "<b>" + esc(item.name) + "</b><br>" + item.size.toLocaleString() + " documents" +
      (item.summary ? "<br>" + wrap(item.summary, 60) : "");
  }
  function drawNames() { // one restyle of the names and the selected name: every array the same length
    if (!plotly || !mapDiv.data) return;
    var placed = placeNames(), names = placed.filter(function (p) { return !p.focus; });
    var focus = placed.filter(function (p) { return p.focus; });
    var dim = selected !== null || highlight, look = ink();
    function column(list, f) { return list.map(f); }
    plotly.restyle(mapDiv, {
      x: [column(names, function (p) { return p.x; })], y: [column(names, function (p) { return p.y; })],
      text: [column(names, function (p) { return p.lines.map(esc).join("<br>"); })],
      customdata: [column(names, function (p) { return mapLayer ? null : p.item.id; })],
      hovertext: [column(names, function (p) { return nameHover(p.item); })],
      "textfont.size": [column(names, function (p) { return p.size; })],
      "textfont.color": [column(names, function () { return dim ? look.dimName : look.name; })]
    }, [2]);
    plotly.restyle(mapDiv, {
      x: [column(focus, function (p) { return p.x; })], y: [column(focus, function (p) { return p.y; })],
      text: [column(focus, function (p) { return p.lines.map(esc).join("<br>"); })],
      customdata: [column(focus, function (p) { return p.item.id; })]
    }, [3]);
    mapDiv.setAttribute("data-names", String(placed.length));
  }

  function drawMap(renderer) {
    var gl = renderer === "webgl", look = ink();
    var hover = hoverTexts(mapLayer);
    baseColours = P.t.map(function (t) { return layerColour(t, mapLayer); });
    var points = {
      type: gl ? "scattergl" : "scatter", uid: "docs", mode: "markers", name: "documents", x: P.x, y: P.y,
      customdata: P.t, hovertext: hover, hoverinfo: "text", showlegend: false,
      marker: { color: baseColours, size: P.x.length > 5000 ? 3 : 5, opacity: STYLE.opacity || 0.9 },
      hoverlabel: { bgcolor: look.paper, bordercolor: baseColours, font: font({ color: look.text }), align: "left" }
    };
    var chosen = { // the highlighted points, drawn over the dimmed rest
      type: points.type, uid: "chosen", mode: "markers", name: "selected documents", x: [], y: [], customdata: [], hovertext: [],
      hoverinfo: "text", showlegend: false, marker: { color: look.focus, size: points.marker.size + 1, opacity: 0.9 },
      hoverlabel: { bgcolor: look.paper, font: font({ color: look.text }), align: "left" }
    };
    mapHover = hover;
    var names = {
      type: "scatter", uid: "names", mode: "text", name: "topics", showlegend: false, x: [], y: [], text: [],
      customdata: [], hovertext: [], hoverinfo: "text", textposition: "middle center",
      textfont: { family: FONT.family, size: 12, color: look.name, shadow: look.halo }
    };
    var focus = { type: "scatter", uid: "focus", mode: "text", name: "selected", showlegend: false, x: [], y: [], text: [],
                  textposition: "middle center", customdata: [], hoverinfo: "skip",
                  textfont: { family: FONT.family, size: 15, color: look.focus, weight: 700, shadow: look.focusHalo } };
    var view = R.map.view; // the 1st-99th percentile of the documents: far outliers do not shrink the rest
    var axis = { visible: false, showgrid: false, zeroline: false };
    var x = Object.assign({}, axis, view ? { range: view.x } : {});
    var y = Object.assign({ scaleanchor: "x", scaleratio: 1 }, axis, view ? { range: view.y } : {});
    var page = layout({ xaxis: x, yaxis: y, dragmode: "pan", hovermode: "closest", paper_bgcolor: look.paper, plot_bgcolor: look.paper });
    page.font.color = look.text;
    mapDiv.setAttribute("data-theme", isDark() ? "dark" : "light");
    return plotly.newPlot(mapDiv, [points, chosen, names, focus], page,
                          Object.assign({ scrollZoom: true }, CONFIG)).then(function () {
      if (gl && mapDiv.querySelector(".no-webgl")) { // WebGL looked available but failed: draw SVG
        plotly.purge(mapDiv);
        return drawMap("svg");
      }
      mapDiv.on("plotly_click", function (ev) {
        var p = ev && ev.points && ev.points[0];
        if (p && p.customdata !== undefined && topics[p.customdata]) select(p.customdata);
      });
      var pending = 0;
      mapDiv.on("plotly_relayout", function () { // zoomed, panned or resized: place the names again
        window.cancelAnimationFrame(pending);
        pending = window.requestAnimationFrame(drawNames);
      });
      mapDiv.setAttribute("data-renderer", renderer);
      mapDiv.setAttribute("data-points", String(P.x.length));
      drawNames();
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

  function recolour() { // the documents' colours for the layer, palette and scheme, the legend, the highlight
    baseColours = P.t.map(function (t) { return layerColour(t, mapLayer); });
    drawLegend();
    if (!plotly || !mapDiv.data) return;
    plotly.restyle(mapDiv, { "hoverlabel.bordercolor": [baseColours] }, [0]);
    highlightMap();
  }
  function themeMap() { // the map's paper, names and hover boxes for the scheme, then its colours
    if (!plotly || !mapDiv.data || !mapDiv._fullLayout) return;
    var want = isDark() ? "dark" : "light";
    if (mapDiv.getAttribute("data-theme") === want) return;
    var look = ink();
    mapDiv.setAttribute("data-theme", want);
    plotly.relayout(mapDiv, { paper_bgcolor: look.paper, plot_bgcolor: look.paper, "font.color": look.text });
    plotly.restyle(mapDiv, { "hoverlabel.bgcolor": look.paper, "hoverlabel.font.color": look.text }, [0, 1]);
    plotly.restyle(mapDiv, { "textfont.shadow": look.halo }, [2]);
    plotly.restyle(mapDiv, { "textfont.color": look.focus, "textfont.shadow": look.focusHalo }, [3]);
    recolour();
  }

  function showLayer(layer) { // colours and names of one layer of the topic tree
    mapLayer = layer;
    mapHover = hoverTexts(layer);
    mapDiv.setAttribute("data-layer", String(layer));
    if (plotly && mapDiv.data) plotly.restyle(mapDiv, { hovertext: [mapHover] }, [0]);
    if (highlight && highlight.group) highlight = null; // a group of another layer
    recolour();
  }

  /* The documents drawn on top: the selected topic's, else a legend group's or the search's. */
  function highlightMap() {
    if (!plotly || !mapDiv.data) return;
    var t = selected === null ? null : topics[selected];
    var idx = t ? members[t.id] || [] : (highlight ? highlight.indices : []);
    if (!t && highlight && highlight.group) highlight.colour = paint(TREE.nodes[highlight.group]); // palette or scheme may have changed
    var colour = t ? paint(t) : (highlight ? highlight.colour : ink().focus);
    function pick(values) { return idx.map(function (i) { return values[i]; }); }
    plotly.restyle(mapDiv, { "marker.color": [t || highlight ? ink().dim : baseColours] }, [0]);
    plotly.restyle(mapDiv, { x: [pick(P.x)], y: [pick(P.y)], customdata: [pick(P.t)], hovertext: [pick(mapHover)],
                             "marker.color": [highlight && highlight.colours && !t ? pick(baseColours) : colour] }, [1]);
    drawNames();
    if (legend) {
      legend.querySelectorAll("button[data-key]").forEach(function (b) {
        var key = b.getAttribute("data-key");
        b.setAttribute("aria-pressed", String((t && mapLayer === 0 && key === String(t.id)) ||
                                              (!t && highlight && highlight.group === key)));
      });
    }
  }

  /* ---------------------------------------------------------------- legend and search */
  function drawLegend() {
    if (!legend) return;
    legend.textContent = "";
    var items = layerItems(mapLayer);
    if (!mapLayer) items = items.concat(R.topics.filter(function (t) { return t.outlier; }));
    items.forEach(function (item) {
      var b = el("button", { type: "button", class: "legend-item", "data-key": String(item.id), "aria-pressed": "false",
                             title: item.name + " · " + item.size.toLocaleString() + " documents" }, [
        el("span", { class: "swatch", style: swatch(item) }), short(item.name, 40),
        el("span", { class: "muted" }, [" " + item.size.toLocaleString()])
      ]);
      b.addEventListener("click", function () {
        if (!mapLayer) { select(selected === item.id ? null : item.id); return; }
        var same = highlight && highlight.group === String(item.id);
        selected = null;
        highlight = same ? null : { group: String(item.id), colour: paint(item), indices: P.t.reduce(function (acc, t, i) {
          var n = nodeAt(t, mapLayer); if (n && n.id === item.id) acc.push(i); return acc;
        }, []) };
        renderPanel(null, highlight ? item : null);
        highlightMap();
      });
      legend.appendChild(b);
    });
  }

  /* The whole text of each document, as its hover text and a word index of the rest
     (charts.word_index): the points holding every word of the query, each word matched inside
     a document's words; null without an index. */
  var WORDS = P.words ? P.words.split(" ") : null, decoded = {};
  var MORE = "0123456789abcdefghijklmnopqrstuv", LAST = "ABCDEFGHIJKLMNOPQRSTUVWXYZ()*+,-";
  function postings(w) {
    if (decoded[w]) return decoded[w];
    var s = P.posts[w], out = [], at = -1, v = 0;
    for (var k = 0; k < s.length; k++) {
      var d = LAST.indexOf(s[k]);
      if (d < 0) { v = v * 32 + MORE.indexOf(s[k]); continue; }
      at += v * 32 + d + 1; out.push(at); v = 0;
    }
    return (decoded[w] = out);
  }
  function wordHits(q) {
    if (!WORDS) return null;
    var terms = q.match(/[\p{L}\p{N}]{2,}/gu);
    if (!terms) return null;
    var hits = null;
    terms.forEach(function (term) {
      var these = {}; // in the hover text, else in the words after it
      lower.forEach(function (s, i) { if (s.indexOf(term) >= 0) these[i] = true; });
      WORDS.forEach(function (word, w) { if (word.indexOf(term) >= 0) postings(w).forEach(function (i) { these[i] = true; }); });
      if (hits) Object.keys(hits).forEach(function (i) { if (!these[i]) delete hits[i]; });
      else hits = these;
    });
    return hits;
  }

  function wireSearch() {
    var box = document.getElementById("map-search"), result = document.getElementById("map-search-result");
    if (!box || !result) return;
    var timer = 0;
    function run() {
      var q = box.value.toLowerCase().trim();
      result.textContent = "";
      if (q.length < 2) {
        result.hidden = true;
        if (highlight && highlight.search) { highlight = null; highlightMap(); }
        return;
      }
      result.hidden = false;
      var found = [];
      if (lower) {
        var inWords = wordHits(q);
        // a document shown whole in its hover text is matched there exactly; a longer one (cut, "…")
        // also when its words hold every word of the query
        lower.forEach(function (s, i) {
          if (s.indexOf(q) >= 0 || (inWords && inWords[i] && s.slice(-1) === "\u2026")) found.push(i);
        });
      }
      else {
        P.t.forEach(function (t, i) { var n = topics[t]; if (n && n.name.toLowerCase().indexOf(q) >= 0) found.push(i); });
      }
      var per = {};
      found.forEach(function (i) { per[P.t[i]] = (per[P.t[i]] || 0) + 1; });
      var ranked = Object.keys(per).sort(function (a, b) { return per[b] - per[a]; });
      selected = null;
      highlight = { search: q, indices: found, colours: true };
      renderPanel(null);
      highlightMap();
      var what = lower ? "documents contain" : "documents are in topics named";
      result.appendChild(document.createTextNode(found.length.toLocaleString() + " " + what + " “" + box.value.trim() + "”" +
        (ranked.length ? ", in " + ranked.length + " topic" + (ranked.length === 1 ? "" : "s") + ": " : ".")));
      ranked.slice(0, 12).forEach(function (t, k) {
        var b = el("button", { class: "link", type: "button", "data-topic": t }, [short(topics[t] ? topics[t].name : t, 40) + " (" + per[t] + ")"]);
        b.addEventListener("click", function () { select(Number(t)); });
        if (k) result.appendChild(document.createTextNode(", "));
        result.appendChild(b);
      });
      if (ranked.length > 12) result.appendChild(document.createTextNode(" and " + (ranked.length - 12) + " more"));
    }
    box.addEventListener("input", function () { window.clearTimeout(timer); timer = window.setTimeout(run, 150); });
  }

  /* ---------------------------------------------------------------- selection */
  function renderPanel(t, group) {
    panel.textContent = "";
    if (!t && group) { // a group of the tree's layer, chosen in the legend
      panel.appendChild(el("h3", {}, [el("span", { class: "swatch", style: swatch(group) }), group.name]));
      panel.appendChild(el("p", { class: "muted" }, [group.size.toLocaleString() + " documents · layer " + group.layer]));
      if (group.summary) panel.appendChild(el("p", { class: "summary" }, [group.summary]));
      var inside = el("ul", {});
      Object.keys(TREE.up[group.layer] || {}).filter(function (k) { return TREE.up[group.layer][k] === group.id && topics[k]; })
        .map(function (k) { return topics[k]; }).sort(bySize).forEach(function (m) {
          var b = el("button", { class: "link", type: "button" }, [short(m.name, 50)]);
          b.addEventListener("click", function () { select(m.id); });
          inside.appendChild(el("li", {}, [b, " (" + m.size.toLocaleString() + ")"]));
        });
      panel.appendChild(el("h4", {}, ["Topics in this group"]));
      panel.appendChild(inside);
      return;
    }
    if (!t) {
      panel.appendChild(el("p", { class: "muted" }, ["Click a topic on the map or in the list to see it here."]));
      return;
    }
    var title = el("h3", {}, [el("span", { class: "swatch", style: swatch(t) }), t.name]);
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
    if (t && highlight && highlight.group) highlight = null;
    renderPanel(t);
    highlightMap();
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
          el("span", { class: "swatch", style: swatch(n) }),
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
    var k = stages.length, traces = [], lay = layout({ height: 262, showlegend: false, margin: { l: 4, r: 8, t: 22, b: 36 } });
    var stacked = k > 1 && div.clientWidth < KW_SIDE_BY_SIDE; // a phone: one stage under another
    div.setAttribute("data-stacked", stacked ? "1" : "0");
    lay.annotations = [];
    if (stacked) {
      var rows = Math.max.apply(null, stages.map(function (s) { return s[1].length; }));
      var block = 16 * rows + 58; // px per stage: its bars, ticks, axis title and title
      lay.height = k * block;
      lay.margin = { l: 8, r: 10, t: 22, b: 10 };
    }
    stages.forEach(function (stage, i) {
      var words = stage[1].slice().sort(function (a, b) { return a[1] - b[1]; }); // largest on top (MMR's come in pick order)
      var suffix = i ? String(i + 1) : "";
      traces.push({
        type: "bar", orientation: "h", x: words.map(function (w) { return w[1]; }), y: words.map(function (w) { return esc(w[0]); }),
        xaxis: "x" + suffix, yaxis: "y" + suffix, marker: { color: paint(t) },
        hovertemplate: "%{y}: %{x:.3f}<extra>" + esc(stage[0]) + "</extra>"
      });
      if (stacked) {
        var top = 1 - i / k, bottom = 1 - (i + 1) / k + 48 / lay.height;
        lay["xaxis" + suffix] = { domain: [0.3, 1], anchor: "y" + suffix, tickfont: { size: 10 }, nticks: 5, gridcolor: "#eef1f7",
                                  title: { text: "weight", font: { size: 10, color: "#5f6b7a" }, standoff: 2 } };
        lay["yaxis" + suffix] = { domain: [bottom, top - 4 / lay.height], anchor: "x" + suffix, tickfont: { size: 11 }, automargin: false };
        lay.annotations.push({ text: esc(stage[0]), x: 0, y: top, xref: "paper", yref: "paper", xanchor: "left",
                               yanchor: "bottom", showarrow: false, font: { size: 12, color: "#5f6b7a" } });
        return;
      }
      var left = i / k + 0.11, right = (i + 1) / k - 0.015;
      lay["xaxis" + suffix] = { domain: [left, right], anchor: "y" + suffix, tickfont: { size: 10 }, nticks: 4, gridcolor: "#eef1f7",
                                title: { text: "weight", font: { size: 10, color: "#5f6b7a" }, standoff: 2 } };
      lay["yaxis" + suffix] = { anchor: "x" + suffix, tickfont: { size: 11 }, automargin: false };
      lay.annotations.push({ text: esc(stage[0]), x: (left + right) / 2, y: 1.0, xref: "paper", yref: "paper",
                             yanchor: "bottom", showarrow: false, font: { size: 12, color: "#5f6b7a" } });
    });
    div.setAttribute("data-colours", colourKey());
    plotly.newPlot(div, traces, lay, Object.assign({}, CONFIG, { displayModeBar: false })).then(function () { follow(div); });
  }

  function timelineChart(div) {
    var t = topics[div.getAttribute("data-topic")];
    var counts = R.time.counts[t.id];
    if (!counts) return;
    div.setAttribute("data-colours", colourKey());
    plotly.newPlot(div, [{
      type: "scatter", mode: "lines", x: R.time.periods, y: counts, line: { color: paint(t), width: 2, shape: "hv" },
      fill: "tozeroy", hovertemplate: "%{x}: %{y} documents<extra></extra>"
    }], layout({ height: 240, margin: { l: 52, r: 10, t: 26, b: 44 }, showlegend: false,
                 title: { text: "Documents per " + R.time.unit, font: { size: 12, color: "#5f6b7a" }, x: 0.02 },
                 yaxis: { rangemode: "tozero", gridcolor: "#eef1f7", title: { text: "documents", font: { size: 11 } } },
                 xaxis: { type: "date", title: { text: R.time.unit, font: { size: 11 } } } }),
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
    var room = div.clientWidth;
    if (F.layout.width && room && F.layout.width > room) { // square cells, fewer pixels each
      var m = F.layout.margin, side = F.layout.width - m.l - m.r - 90, fit = Math.max(120, room - m.l - m.r - 90);
      F.layout.height = F.layout.height - side + fit;
      F.layout.width = room;
    }
    topicColours(F.data, null).forEach(function (f) { // drawn in the chosen colours from the start
      var trace = F.data[f[0]], attr = f[1].split(".");
      trace[attr[0]] = Object.assign({}, trace[attr[0]]);
      trace[attr[0]][attr[1]] = f[2];
    });
    div.setAttribute("data-colours", colourKey());
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
     The charts follow prefers-color-scheme: paper, text, grid and heatmap colours switch with it,
     and their topic colours (paintTopics). The map (themeMap) takes the dark paper, light names
     with dark halos, and each topic's colour lightened for dark paper (colour_dark: a contrast of
     3 or more as its dots are drawn, labeler/figures/_style.py's on_dark). Printing draws every
     chart light and at most a page wide, then as it was. */
  var KW_SIDE_BY_SIDE = 520; // px: narrower keyword charts put their stages one under another
  var PRINT_WIDTH = 680; // px: an A4 or Letter page's width inside the default margins
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
  function follow(div) { // a chart just drawn: take the page's scheme and colours, and keep taking them
    if (following.indexOf(div) < 0) following.push(div);
    if (isDark()) theme(div, true);
    else div.setAttribute("data-theme", "light");
    paintTopics(div);
  }
  /* A chart's topic colours for the palette and scheme: a keyword or timeline chart's (its div's
     data-topic), a figure's lines per topic (trace.meta.topic: topics over time) and dots per
     topic (marker colours beside customdata topic ids: the hierarchy, intertopic distance). */
  function topicColours(data, own) { // [[trace index, "line.color" or "marker.color", value]]
    var out = [];
    data.forEach(function (trace, i) {
      if (own !== null && topics[own]) out.push([i, trace.type === "bar" ? "marker.color" : "line.color", paint(topics[own])]);
      else if (trace.meta && trace.meta.topic !== undefined && topics[trace.meta.topic]) {
        out.push([i, "line.color", paint(topics[trace.meta.topic])]);
      } else if (trace.marker && Array.isArray(trace.marker.color) && Array.isArray(trace.customdata) &&
                 trace.customdata.every(function (id) { return topics[id]; })) {
        out.push([i, "marker.color", trace.customdata.map(function (id) { return paint(topics[id]); })]);
      }
    });
    return out;
  }
  function paintTopics(div) {
    if (!div.data || !div._fullLayout || div.getAttribute("data-colours") === colourKey()) return;
    div.setAttribute("data-colours", colourKey());
    var found = topicColours(div.data, div.getAttribute("data-topic"));
    ["line.color", "marker.color"].forEach(function (attr) {
      var these = found.filter(function (f) { return f[1] === attr; });
      if (!these.length) return;
      var update = {};
      update[attr] = these.map(function (f) { return f[2]; });
      plotly.restyle(div, update, these.map(function (f) { return f[0]; }));
    });
  }
  function retheme() {
    following.forEach(function (div) { theme(div, isDark()); paintTopics(div); });
    themeMap();
  }
  function setPalette(value) { // the Colours select: every swatch (CSS) and every chart
    palette = value === "safe" ? "safe" : "distinct";
    if (palette === "safe") root.setAttribute("data-palette", "safe"); else root.removeAttribute("data-palette");
    savePalette();
    recolour();
    following.forEach(paintTopics);
  }
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
  wireSearch();
  drawLegend();
  var paletteBox = document.getElementById("map-palette");
  if (paletteBox) {
    paletteBox.value = palette;
    paletteBox.addEventListener("change", function () { setPalette(paletteBox.value); });
  }
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
    figure("topics", "intertopic-plot", pointTopic);
    figure("time", "time-plot", null);
    figure("classes", "class-plot", rowTopic);
    lazyCharts();
    watchScreens();
    if (layerBox) {
      layerBox.addEventListener("change", function () { showLayer(Number(layerBox.value)); });
      if (Number(layerBox.value)) showLayer(Number(layerBox.value));
    }
    var m = /^#topic-(-?\d+)$/.exec(window.location.hash);
    if (m && topics[m[1]]) select(Number(m[1]));
    document.body.setAttribute("data-ready", "1");
  });
})();
