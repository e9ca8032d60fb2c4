#!/usr/bin/env bash
# The one command that sets up and runs the server on a fresh Debian machine with the Swift toolchain:
#   ./scripts/run.sh [serve flags…]
# Embedded defaults: SQLite in ./data, objects in ./data/objects, the console from web/dist, on 127.0.0.1:8080.
# The first start prints a one-time admin password (or set AITIP_ADMIN_PASSWORD).
set -euo pipefail
cd "$(dirname "$0")/.."
web/build.sh
swift build -c release --product aitip
exec .build/release/aitip serve "$@"
