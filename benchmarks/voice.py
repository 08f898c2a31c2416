"""Voice benchmark (same as `os1 bench voice --json`): prints a JSON report.

.venv/bin/python benchmarks/voice.py [--voice female --voice male] [--speech DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from os1.bench.voice import run_voice_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--voice", action="append", dest="voices")
    parser.add_argument("--speech", type=Path)
    args = parser.parse_args()
    voices = tuple(args.voices or ("female", "male"))
    print(json.dumps(run_voice_benchmark(voices=voices, speech_dir=args.speech), indent=2))


if __name__ == "__main__":
    main()
