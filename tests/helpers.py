"""Run the real ``os1`` command as a user would, in a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

OS1 = [sys.executable, "-m", "os1"]


def run_os1(
    *args: str,
    home: Path,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OS1_")}
    environment.update({"OS1_HOME": str(home), "PYTHONIOENCODING": "utf-8"})
    environment.update(env or {})
    completed = subprocess.run(
        [*OS1, *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=environment,
        timeout=timeout,
    )
    return subprocess.CompletedProcess(
        completed.args,
        completed.returncode,
        completed.stdout.decode("utf-8", "replace"),
        completed.stderr.decode("utf-8", "replace"),
    )


def set_up(home: Path, user_name: str = "Theo", voice: str = "female") -> None:
    """Meet a companion with default answers and the fake model (for tests of later steps)."""
    done = run_os1(
        "--model", "fake", "setup", "--non-interactive", "--user-name", user_name,
        "--voice", voice, home=home,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
