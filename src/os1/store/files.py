"""Files the data directory keeps beside the database, written whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

_LEFTOVER_AFTER_S = 3600  # a temporary file this old was left by a process that died


@contextlib.contextmanager
def written_whole(path: Path) -> Iterator[Path]:
    """A temporary file (mode 0600) beside ``path`` to write; when the block ends
    without an error it is flushed to disk and renamed to ``path``, so a reader sees
    the old file or the new one, never half of one. Failed or interrupted, it is
    removed."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    _sweep_leftovers(folder)
    handle, name = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".partial", dir=folder)
    os.close(handle)
    partial: str | None = name
    try:
        yield Path(name)
        with open(name, "rb") as written:
            os.fsync(written.fileno())  # the data on disk before the name is
        os.replace(name, path)
        partial = None
        _sync_folder(folder)
    finally:
        if partial is not None:
            with contextlib.suppress(OSError):
                os.unlink(partial)


def _sweep_leftovers(folder: Path) -> None:
    """Temporary files of processes that died mid-write."""
    now = time.time()
    for left in folder.glob("*.partial"):
        with contextlib.suppress(OSError):
            if now - left.stat().st_mtime > _LEFTOVER_AFTER_S:
                left.unlink()


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` survive a power cut (where the system allows)."""
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
