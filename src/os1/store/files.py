"""Files the data directory keeps beside the database, written whole or not at all."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

_LEFTOVER_AFTER_S = 3600  # a temporary file this old was left by a process that died


def sweep_leftovers(folder: Path) -> None:
    """Temporary files of processes that died mid-write."""
    now = time.time()
    for left in folder.glob("*.partial"):
        with contextlib.suppress(OSError):
            if now - left.stat().st_mtime > _LEFTOVER_AFTER_S:
                left.unlink()


def sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` survive a power cut (where the system allows)."""
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
