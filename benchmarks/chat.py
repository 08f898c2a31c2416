"""Chat latency benchmark (same as `os1 bench chat --json`): prints a JSON report.

.venv/bin/python benchmarks/chat.py [--turns 10] [--context-tokens 1500]
"""

from __future__ import annotations

import argparse
import json

from os1.bench.chat import run_chat_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--context-tokens", type=int, default=1500)
    args = parser.parse_args()
    print(json.dumps(run_chat_benchmark(args.turns, args.context_tokens), indent=2))


if __name__ == "__main__":
    main()
