// The esbuild settings of plotly.js's own esbuild-config.js, minified, for a partial bundle.
const esbuild = require('esbuild');
const { glsl } = require('esbuild-plugin-glsl');
const InlineCSSPlugin = require('esbuild-plugin-inline-css');
const { environmentPlugin } = require('esbuild-plugin-environment');
const [entry, out] = process.argv.slice(2);
esbuild
  .build({
    entryPoints: [entry], outfile: out, format: 'iife', globalName: 'Plotly', bundle: true, minify: true,
    plugins: [InlineCSSPlugin(), glsl({ minify: true }), environmentPlugin({ NODE_DEBUG: false })],
    alias: { regl: '@plotly/regl', stream: 'stream-browserify' },
    define: { global: 'window', 'define.amd': 'false' }, target: 'es2016', legalComments: 'none',
  })
  .catch((e) => { console.error(e); process.exit(1); });
