#!/usr/bin/env bash
# Each sandbox's price for a simulation, in one run (docs/benchmarks.md, "Simulation sandboxes"): start-up of the
# bubblewrap sandbox and of gVisor against no sandbox, and CartPole steps/s of aitip's runner inside each against
# outside. Needs root (gVisor), runsc and bubblewrap, and the MLflow test venv (scripts/mlflow-compat.sh makes it).
#   bench/simulation.sh [launches]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${MLFLOW_VENV:-.venv-mlflow}
. scripts/venv.sh
pinned_venv "$venv" pytests/mlflow/requirements.txt
work=$(mktemp -d -t aitip-sim-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp Sources/Simulation/Python/aitip_sim.py Sources/Simulation/Python/sim_runner.py "$work/"
printf '{"template": "cartpole", "template_version": 1, "seeds": [%s], "max_steps": 500, "scenario": {"name": "nominal", "category": "nominal"}}\n' \
  "$(seq -s, 0 19)" >"$work/scenario.json"
PYTHONPATH=pytests/support "$venv/bin/python" -c 'import sys; from simulation_data import save_cartpole_policy; save_cartpole_policy(sys.argv[1], "good")' "$work/model" 2>/dev/null
chmod -R a+rX "$work"
swift build -c release --build-path .build-release --product sandbox-bench >/dev/null 2>&1
echo "machine: $(nproc) cores, $(uname -r), $(runsc --version | head -1), bubblewrap $(bwrap --version | cut -d' ' -f2)"
.build-release/release/sandbox-bench "$PWD/$venv/bin/python" "$work" "${1:-20}"
