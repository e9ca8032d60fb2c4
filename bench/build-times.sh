#!/usr/bin/env bash
# Clean and incremental debug build times (with tests, as CI builds) of one or more commits, measured the same way:
#   bench/build-times.sh COMMIT...        e.g. bench/build-times.sh 42c5d68 HEAD
# Each commit is cloned into a scratch directory; its packages are resolved first (not timed); then
#   clean        swift build --build-tests on an empty .build
#   feature      the same after adding a private function to Training's service (a feature module's implementation)
#   storage      the same after adding one to Storage's Database.swift (the module everything depends on)
#   api          the same after adding one to an HTTP handler file
# (A private function changes the object code but no module's interface, as most edits do; a comment alone would
# let the build skip linking.)
# Nothing else may run on the machine meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
printf '%-10s %9s %9s %9s %9s\n' commit clean feature storage api
for commit in "$@"; do
  sha=$(git -C "$repo" rev-parse --short "$commit")
  dir=$(mktemp -d -t aitip-buildtime.XXXXXX)
  git clone -q "$repo" "$dir" && git -C "$dir" checkout -q "$sha"
  (
    cd "$dir"
    swift package resolve >/dev/null 2>&1
    seconds() { local start; start=$(date +%s.%N); swift build --build-tests >/dev/null 2>&1; echo "$(date +%s.%N) - $start" | bc; }
    edit() { printf '\nprivate func buildTimeProbe() -> Int { %d }\n' "$RANDOM" >> "$1"; }
    clean=$(seconds)
    edit "$(find Sources/Training -name TrainingService.swift | head -1)"; feature=$(seconds)
    edit Sources/Storage/Database.swift; storage=$(seconds)
    edit "$(find Sources/HTTPServer -name 'APIImplementation+Training.swift' | head -1)"; api=$(seconds)
    printf '%-10s %8.0fs %8.1fs %8.1fs %8.1fs\n' "$sha" "$clean" "$feature" "$storage" "$api"
  )
  rm -rf "$dir"
done
