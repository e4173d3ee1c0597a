#!/usr/bin/env bash
# Rebuild labeler/vendor/plotly-labeler.min.js: a partial plotly.js bundle with only the traces the
# report draws (see entry.js). Fetches pinned packages from the npm registry into a temporary folder;
# needs node >= 18 and npm. Run from anywhere: bash scripts/plotly/build.sh
set -euo pipefail
PLOTLY_VERSION=4.1.1  # keep in step with labeler/vendor/README.md
here="$(cd "$(dirname "$0")" && pwd)"
vendor="$here/../../labeler/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
echo '{"name":"labeler-plotly-build","version":"0.0.0","private":true}' > package.json
npm install --ignore-scripts --no-audit --no-fund --silent \
  "plotly.js@$PLOTLY_VERSION" esbuild@0.24.2 esbuild-plugin-glsl@1.4.2 \
  esbuild-plugin-inline-css@0.0.1 esbuild-plugin-environment@0.5.0 stream-browserify@3.0.0 buffer@6.0.3
cp "$here/build.js" "$here/entry.js" .
node build.js entry.js plotly.min.js
{
  printf '/* plotly.js v%s (MIT, see PLOTLY-LICENSE), partial bundle: scatter, scattergl, bar, heatmap.\n' "$PLOTLY_VERSION"
  printf '   Built by labeler scripts/plotly/build.sh. */\n'
  cat plotly.min.js
} > "$vendor/plotly-labeler.min.js"
cp node_modules/plotly.js/LICENSE "$vendor/PLOTLY-LICENSE"
sha256sum "$vendor/plotly-labeler.min.js"
