#!/usr/bin/env bash
# Set up robust-eval and run the quickstart experiment (fine-tune, attack, report) on a CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS=0
EXTRAS= bash scripts/setup.sh   # no test extras: the tests' example plug-in recipe stays out of `robust-eval recipes`
. .venv/bin/activate
robust-eval run examples/quickstart.toml --out runs/quickstart
echo "== quickstart took ${SECONDS}s; open runs/quickstart/report.html"
