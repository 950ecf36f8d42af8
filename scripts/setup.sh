#!/usr/bin/env bash
# Set up robust-eval from a clean clone on Debian / Python 3.11: system packages (when root), a virtual
# environment in .venv with pinned versions, and every offline resource, fetched and verified.
# EXTRAS selects the optional extras (unset: "test"; empty: none, as the quickstart does; CI adds "textattack").
# The tests' example plug-in recipe package is installed only with the "test" extra.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== system packages: apertium (back-translation), link-grammar (grammar errors), chromium (HTML report check)"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends apertium apertium-eng-spa link-grammar link-grammar-dictionaries-en \
    chromium >/dev/null
  # further English pivots for SEAR rule mining (robust-eval sears mine)
  apt-get install -y -qq --no-install-recommends apertium-eng-cat apertium-en-gl apertium-eo-en apertium-hbs-eng >/dev/null
else
  echo "== not root or not Debian: install apertium, apertium-eng-spa, link-grammar, link-grammar-dictionaries-en and"
  echo "   chromium with your package manager"
fi

echo "== virtual environment .venv"
python3 -m venv .venv
. .venv/bin/activate
pip install -q torch==2.13.0
EXTRAS=${EXTRAS-test}
pip install -q -c constraints.txt -e ".${EXTRAS:+[$EXTRAS]}"
case ",$EXTRAS," in
  *,test,*) pip install -q -c constraints.txt ./tests/plugin_pkg ;;  # the tests' example third-party recipe package
  *) pip uninstall -q -y robust-eval-plugin-example 2>/dev/null || true ;;
esac

echo "== offline resources"
robust-eval resources fetch
robust-eval resources status
