"""Skills benchmark (same as `os1 bench skills --json`): prints a JSON report.

.venv/bin/python benchmarks/skills.py [--misses]
"""

from __future__ import annotations

import argparse
import json

from os1.bench.skills import run_skills_bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", action="store_true", help="List the cases it got wrong.")
    args = parser.parse_args()
    print(json.dumps(run_skills_bench(show_misses=args.misses), indent=2))


if __name__ == "__main__":
    main()
