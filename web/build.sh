#!/usr/bin/env bash
# Builds the web console into web/dist from Debian's packages only (no npm registry):
#   apt-get install esbuild node-react node-react-dom node-typescript node-csstype node-prop-types node-chart.js
# Writes src/api.gen.ts from the API's OpenAPI document, type-checks with tsc, bundles with esbuild.
# `aitip serve` serves web/dist at /.
set -euo pipefail
cd "$(dirname "$0")"
missing=()
command -v esbuild >/dev/null || missing+=(esbuild)
command -v tsc >/dev/null || missing+=(node-typescript)
[ -d /usr/share/nodejs/react ] || missing+=(node-react)
[ -d /usr/share/nodejs/react-dom ] || missing+=(node-react-dom)
[ -d /usr/share/nodejs/@types/react ] || missing+=(node-csstype node-prop-types)
[ -d /usr/share/nodejs/chart.js ] || missing+=(node-chart.js)
python3 -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
rm -rf dist && mkdir -p dist
python3 gen-api-types.py
tsc --noEmit -p tsconfig.json
NODE_PATH=/usr/share/nodejs esbuild src/main.tsx --bundle --minify --jsx=automatic --target=es2020 \
  --define:process.env.NODE_ENV='"production"' --outfile=dist/app.js --log-level=warning
cp src/index.html src/styles.css src/favicon.svg dist/
echo "web console built into $(pwd)/dist"
