"""Server benchmark (same as `os1 bench server --json`): prints a JSON report.

.venv/bin/python benchmarks/server.py [--sessions 100] [--messages 300] [--rate 5] [--no-voice]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from os1.bench.server import run_server_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rate", type=float, default=5.0, help="Messages a second, in total.")
    parser.add_argument("--no-voice", action="store_true", help="Skip the embedded-model part.")
    parser.add_argument("--voice-turns", type=int, default=5)
    parser.add_argument("--speech", type=Path, default=None)
    parser.add_argument("--embedder", choices=("hashing", "default"), default="hashing")
    parser.add_argument(
        "--deflate", action="store_true", help="Compress frames (permessage-deflate)."
    )
    args = parser.parse_args()
    report = run_server_benchmark(
        sessions=args.sessions,
        messages=args.messages,
        rate=args.rate,
        voice=not args.no_voice,
        voice_turns=args.voice_turns,
        speech_dir=args.speech,
        embedder=args.embedder,
        deflate=args.deflate,
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
