"""A saved copy of the loaded vector index, so a new process does not rebuild it.

Reading 100,000 vectors out of SQLite and fitting the search projection takes seconds;
loading the arrays back from ``.npy`` files takes a fraction of that. A copy is valid
for a database while nothing in it was changed in a way that reading the rows added
since cannot take in: the ``index_changes`` counter (kept by triggers, migration 0007)
counts vectors changed or removed and messages or facts retimed or removed. Rows added
after the copy was made (``rowid`` above its last) are read from the database on top.

A copy is written to a temporary folder and renamed into place, so a process killed
mid-write leaves the previous copy or none. It lives in the data directory's cache
folder: it holds the user's memory, like the database.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

_log = logging.getLogger("os1.memory.index_snapshot")
_FORMAT = 1
_ARRAYS = ("matrix", "times", "alive", "codes", "projected", "keys", "kinds")


@dataclass
class Snapshot:
    """The index's arrays (``size`` rows each) and where in the database it stands."""

    matrix: npt.NDArray[np.float32]
    times: npt.NDArray[np.float64]
    alive: npt.NDArray[np.bool_]
    codes: npt.NDArray[np.int8]
    projected: npt.NDArray[np.float32]
    keys: list[str]
    kinds: list[str]
    basis: npt.NDArray[np.float32] | None
    fitted_at: int
    last_rowid: int
    changes: int


class SnapshotFolder:
    """Where the copy for one embedding model is kept."""

    def __init__(self, cache: Path, model: str, dim: int) -> None:
        self.model = model
        self.dim = dim
        digest = hashlib.sha256(f"{model}|{dim}".encode()).hexdigest()[:12]
        self.path = cache / f"vectors-{digest}"

    def load(self, changes: int) -> Snapshot | None:
        """The saved copy if it is still valid at ``changes``; None otherwise."""
        meta_path = self.path / "meta.json"
        try:
            meta = json.loads(meta_path.read_text())
            if (meta.get("format"), meta.get("model"), meta.get("dim")) != (
                _FORMAT,
                self.model,
                self.dim,
            ) or meta.get("changes") != changes:
                return None
            arrays = {name: np.load(self.path / f"{name}.npy") for name in _ARRAYS}
            basis_path = self.path / "basis.npy"
            basis = np.load(basis_path) if basis_path.exists() else None
        except (OSError, ValueError, json.JSONDecodeError):
            return None  # none yet, or unreadable: the index is read from the database
        size = int(meta["size"])
        if any(len(arrays[name]) != size for name in _ARRAYS) or arrays["matrix"].shape[1:] != (
            self.dim,
        ):
            _log.info("the saved vector index in %s does not fit; ignoring it", self.path)
            return None
        return Snapshot(
            matrix=arrays["matrix"].astype(np.float32, copy=False),
            times=arrays["times"],
            alive=arrays["alive"],
            codes=arrays["codes"],
            projected=arrays["projected"],
            keys=arrays["keys"].tolist(),
            kinds=arrays["kinds"].tolist(),
            basis=basis,
            fitted_at=int(meta["fitted_at"]),
            last_rowid=int(meta["last_rowid"]),
            changes=changes,
        )

    def save(self, snapshot: Snapshot) -> bool:
        """Write ``snapshot`` in place of the old copy; False if it could not be written."""
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.partial")
        stale = self.path.with_name(f"{self.path.name}.{os.getpid()}.stale")
        try:
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True, mode=0o700)
            arrays: dict[str, npt.NDArray[Any]] = {
                "matrix": snapshot.matrix,
                "times": snapshot.times,
                "alive": snapshot.alive,
                "codes": snapshot.codes,
                "projected": snapshot.projected,
                "keys": np.array(snapshot.keys, dtype=str),
                "kinds": np.array(snapshot.kinds, dtype=str),
            }
            for name, array in arrays.items():
                np.save(partial / f"{name}.npy", array, allow_pickle=False)
            if snapshot.basis is not None:
                np.save(partial / "basis.npy", snapshot.basis, allow_pickle=False)
            meta = {
                "format": _FORMAT,
                "model": self.model,
                "dim": self.dim,
                "size": len(snapshot.keys),
                "fitted_at": snapshot.fitted_at,
                "last_rowid": snapshot.last_rowid,
                "changes": snapshot.changes,
            }
            (partial / "meta.json").write_text(json.dumps(meta))
            if self.path.exists():
                self.path.rename(stale)
            partial.rename(self.path)
        except OSError as exc:
            _log.warning("could not save the vector index to %s: %s", self.path, exc)
            shutil.rmtree(partial, ignore_errors=True)
            return False
        finally:
            shutil.rmtree(stale, ignore_errors=True)
        return True
