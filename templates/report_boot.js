/* Plotly travels gzip-compressed and base64-encoded (labeler/vendor/README.md): a third of its size.
   Unpack it in the browser, run it, then draw the report. Without DecompressionStream (browsers
   before 2023) the tables still work and the charts say that they could not be drawn. */
(function () { // the Colours select shows the colours the page's head applied (report.js wires it)
  var box = document.getElementById("map-palette");
  if (box && document.documentElement.getAttribute("data-palette") === "safe") box.value = "safe";
})();
(function (packed) {
  function start() { labelerReport(); }
  if (typeof DecompressionStream === "undefined" || typeof Response === "undefined") { start(); return; }
  var text = atob(packed), bytes = new Uint8Array(text.length);
  for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  new Response(stream).text().then(function (source) {
    (0, eval)(source); // global scope: defines window.Plotly
  }).catch(function (e) {
    console.warn("labeler: Plotly could not be unpacked:", e);
  }).then(start);
})("{{ plotly_js }}");
