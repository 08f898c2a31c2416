#!/usr/bin/env bash
# Set up OS1 with its test tools (if needed), then run the linters and the whole test suite.
#
#   bash scripts/test.sh            # everything, as CI runs it
#   bash scripts/test.sh -k config  # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --dev

# The web app's browser tests drive Debian's Chromium (Playwright's own download cannot
# be fetched here). Outside CI, without root, they are skipped with a note.
if ! command -v chromium >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    printf '\n==> Installing Chromium for the browser tests\n'
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
      > .venv/apt-chromium.log 2>&1 \
      || { cat .venv/apt-chromium.log; echo "apt-get could not install chromium."; exit 1; }
    echo "ok: $(chromium --version 2>/dev/null)"
  else
    echo "note: the browser tests need Chromium (sudo apt-get install chromium); skipped without it."
  fi
fi

printf '\n==> ruff\n'
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
printf '\n==> mypy\n'
.venv/bin/mypy
printf '\n==> pytest\n'
.venv/bin/python -m pytest "$@"
