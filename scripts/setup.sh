#!/usr/bin/env bash
# Set up robust-eval from a clean clone on Debian / Python 3.11: system packages (when root), a virtual
# environment in .venv with pinned versions, and every offline resource, fetched and verified.
# EXTRAS selects the optional extras (default "test"; CI adds "textattack").
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== system packages: apertium (back-translation), chromium (HTML report check)"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends apertium apertium-eng-spa chromium >/dev/null
  # further English pivots for SEAR rule mining (robust-eval sears mine)
  apt-get install -y -qq --no-install-recommends apertium-eng-cat apertium-en-gl apertium-eo-en apertium-hbs-eng >/dev/null
else
  echo "== not root or not Debian: install apertium, apertium-eng-spa and chromium with your package manager"
fi

echo "== virtual environment .venv"
python3 -m venv .venv
. .venv/bin/activate
pip install -q torch==2.13.0
pip install -q -c constraints.txt -e ".[${EXTRAS:-test}]"
pip install -q -c constraints.txt ./tests/plugin_pkg   # an example third-party recipe package

echo "== offline resources"
robust-eval resources fetch
robust-eval resources status
