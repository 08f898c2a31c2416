"""A saved copy of the loaded vector index, so a new process does not rebuild it.

Reading 100,000 vectors out of SQLite and fitting the search projection takes seconds;
loading the arrays back from one ``.npz`` file takes a fraction of that. A copy is valid
for one database (its random ``database_id``) while nothing in it was changed in a way
that reading the rows added since cannot take in: the ``index_changes`` counter (kept by
triggers, migration 0007) counts vectors changed, removed or moved to another model, and
indexed messages or facts retimed or removed. Rows added after the copy was made
(``rowid`` above its last) are read from the database on top.

The copy is one file, written under a temporary name, flushed to disk and renamed into
place: a reader sees a whole copy or none, and a process killed mid-write leaves the old
one. It lives in the data directory's cache folder: it holds the user's memory.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from os1.store.files import written_whole

_log = logging.getLogger("os1.memory.index_snapshot")
_FORMAT = 2


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
    database_id: str


class SnapshotFile:
    """Where the copy for one embedding model is kept."""

    def __init__(self, cache: Path, model: str, dim: int) -> None:
        self.model = model
        self.dim = dim
        digest = hashlib.sha256(f"{model}|{dim}".encode()).hexdigest()[:12]
        self.path = cache / f"vectors-{digest}.npz"

    def load(self, changes: int, database_id: str) -> Snapshot | None:
        """The saved copy if it is still valid; None if there is none or it is not."""
        try:
            with np.load(self.path, allow_pickle=False) as saved:
                meta = json.loads(str(saved["meta"]))
                wanted = {"format": _FORMAT, "model": self.model, "dim": self.dim,
                          "changes": changes, "database_id": database_id}  # fmt: skip
                if any(meta.get(key) != value for key, value in wanted.items()):
                    return None
                arrays = {name: saved[name] for name in saved.files if name != "meta"}
            size = int(meta["size"])
            snapshot = Snapshot(
                matrix=arrays["matrix"].astype(np.float32, copy=False),
                times=arrays["times"].astype(np.float64, copy=False),
                alive=arrays["alive"].astype(bool, copy=False),
                codes=arrays["codes"].astype(np.int8, copy=False),
                projected=arrays["projected"].astype(np.float32, copy=False),
                keys=[str(k) for k in arrays["keys"].tolist()],
                kinds=[str(k) for k in arrays["kinds"].tolist()],
                basis=arrays["basis"].astype(np.float32) if "basis" in arrays else None,
                fitted_at=int(meta["fitted_at"]),
                last_rowid=int(meta["last_rowid"]),
                changes=changes,
                database_id=database_id,
            )
        except FileNotFoundError:
            return None
        except Exception as exc:  # damaged or from another version: read the database
            _log.info("the saved vector index %s is not usable (%s); ignoring it", self.path, exc)
            return None
        lengths = {len(snapshot.matrix), len(snapshot.times), len(snapshot.alive),
                   len(snapshot.codes), len(snapshot.keys), len(snapshot.kinds)}  # fmt: skip
        if lengths != {size} or snapshot.matrix.shape[1:] != (self.dim,):
            _log.info("the saved vector index %s does not fit; ignoring it", self.path)
            return None
        return snapshot

    def save(self, snapshot: Snapshot) -> bool:
        """Write ``snapshot`` in place of the old copy; False if it could not be written."""
        arrays: dict[str, Any] = {
            "matrix": snapshot.matrix,
            "times": snapshot.times,
            "alive": snapshot.alive,
            "codes": snapshot.codes,
            "projected": snapshot.projected,
            "keys": np.array(snapshot.keys, dtype=str),
            "kinds": np.array(snapshot.kinds, dtype=str),
            "meta": np.array(json.dumps({
                "format": _FORMAT, "model": self.model, "dim": self.dim,
                "size": len(snapshot.keys), "fitted_at": snapshot.fitted_at,
                "last_rowid": snapshot.last_rowid, "changes": snapshot.changes,
                "database_id": snapshot.database_id,
            })),
        }  # fmt: skip
        if snapshot.basis is not None:
            arrays["basis"] = snapshot.basis
        try:
            with written_whole(self.path) as partial, partial.open("wb") as out:
                np.savez(out, **arrays)
        except OSError as exc:
            _log.warning("could not save the vector index to %s: %s", self.path, exc)
            return False
        return True
