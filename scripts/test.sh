#!/usr/bin/env bash
# Set up OS1 with its test tools (if needed), then run the linters and the whole test suite.
#
#   bash scripts/test.sh            # everything, as CI runs it
#   bash scripts/test.sh -k config  # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --dev

printf '\n==> ruff\n'
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
printf '\n==> mypy\n'
.venv/bin/mypy
printf '\n==> pytest\n'
.venv/bin/python -m pytest "$@"
