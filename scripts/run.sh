#!/usr/bin/env bash
# The one command that sets up and runs the server on a fresh Debian machine with the Swift toolchain:
#   ./scripts/run.sh [serve flags…]
# Embedded defaults: SQLite in ./data, objects in ./data/objects, the console from web/dist, on 127.0.0.1:8080.
# The first start prints a one-time admin password (or set AITIP_ADMIN_PASSWORD). Installs bubblewrap, the job sandbox,
# and gVisor's runsc (the stronger sandbox simulations may ask for).
set -euo pipefail
cd "$(dirname "$0")/.."
# Jobs run other people's code: the server refuses them without the bubblewrap sandbox (unless sandbox=off).
if ! command -v bwrap >/dev/null || ! command -v runsc >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap runsc >/dev/null
  else
    echo "bubblewrap or runsc is not installed: run 'sudo apt-get install bubblewrap runsc' (the server refuses jobs without bubblewrap; runsc is the gVisor sandbox simulations may ask for)" >&2
  fi
fi
web/build.sh
swift build -c release --product aitip
exec .build/release/aitip serve "$@"
