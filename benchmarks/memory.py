"""Memory benchmark (same as `os1 bench memory --json`): prints a JSON report.

.venv/bin/python benchmarks/memory.py [--no-scale]
"""

from __future__ import annotations

import argparse
import json

from os1.bench.memory import run_memory_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-scale", action="store_true")
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--facts", type=int, default=20_000)
    args = parser.parse_args()
    report = run_memory_benchmark(scale=not args.no_scale, episodes=args.episodes, facts=args.facts)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
