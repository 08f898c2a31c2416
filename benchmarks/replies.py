"""Reply-quality benchmark (same as `os1 bench replies --json`): prints a JSON report.

.venv/bin/python benchmarks/replies.py [--replies]   (the embedded model)
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from os1.bench.replies import run_replies_bench
from os1.config import load_settings
from os1.llm.registry import load_llm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replies", action="store_true", help="Include every reply said.")
    args = parser.parse_args()
    settings = load_settings(Path(tempfile.gettempdir()), {"model": "embedded"}, environ={})
    llm = load_llm(settings)
    try:
        print(json.dumps(run_replies_bench(llm, show_replies=args.replies), indent=2))
    finally:
        llm.close()


if __name__ == "__main__":
    main()
