// The traces labeler's report draws, and nothing else: scatter (in core), scattergl (the map above
// a few thousand points), bar (keyword charts) and heatmap (topic similarity, topics per class).
var Plotly = require('plotly.js/lib/core');
Plotly.register([require('plotly.js/lib/bar'), require('plotly.js/lib/heatmap'), require('plotly.js/lib/scattergl')]);
module.exports = Plotly;
