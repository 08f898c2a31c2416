"""The vector index: embeddings stored in SQLite, searched in memory with NumPy.

Vectors live in the ``embeddings`` table (so they are in the user's one database, are
exported, and are deleted with what they belong to). For search they are loaded once
into a matrix; brute-force dot products over 100,000 x 384 take a few milliseconds on
this hardware, which is faster than an ANN extension through SQLite here.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from os1.memory.embedding import Vectors
from os1.memory.index_snapshot import Snapshot, SnapshotFile
from os1.store.db import CACHE_DIR, Database

_GROW = 1024
_APPROXIMATE_FROM = 20_000
"""Above this many vectors, a first pass ranks by a projection on the main directions
(96 of 384 dimensions: 4x less memory to stream through) and only the best few hundred
are scored exactly."""
_PROJECTED_DIM = 96
_KIND_CODES = {"episode": 0, "fact": 1, "profile": 2}
CHUNK = "\x1f"
"""A long message has one vector per passage, stored under ``id``, ``id\x1f1``, ``id\x1f2``…
and found as ``id``."""


def item_of(key: str) -> str:
    """The item a vector belongs to (a message, fact or the profile)."""
    return key.split(CHUNK, 1)[0]


@dataclass(frozen=True)
class VectorHit:
    item_id: str
    kind: str
    similarity: float


class VectorIndex:
    def __init__(self, db: Database, model: str, dim: int) -> None:
        self.db = db
        self.model = model
        self.dim = dim
        self._lock = threading.RLock()
        self._loaded = False
        self._ids: list[str] = []  # the item of each row
        self._keys: list[str] = []  # the vector key of each row
        self._kinds: list[str] = []
        self._row: dict[str, int] = {}  # vector key -> row
        self._rows_of: dict[str, list[int]] = {}  # item -> its rows
        self._matrix: npt.NDArray[np.float32] = np.zeros((0, dim), dtype=np.float32)
        self._times = np.zeros(0, dtype=np.float64)
        self._alive = np.zeros(0, dtype=bool)
        self._codes = np.zeros(0, dtype=np.int8)
        self._size = 0
        self._basis: npt.NDArray[np.float32] | None = None  # principal directions
        self._projected_dim = min(_PROJECTED_DIM, dim // 2)
        self._projected = np.zeros((0, self._projected_dim), dtype=np.float32)
        self._fitted_at = 0
        self._last_rowid = 0  # the newest database row in the matrix
        on_disk = db.path != Path(":memory:")
        self._snapshots = SnapshotFile(db.path.parent / CACHE_DIR, model, dim) if on_disk else None

    # -- loading -------------------------------------------------------------------

    def _ensure_loaded(self) -> None:
        """The saved copy of the index if it is still valid, then the rows added since
        (all of them when there is none); a new copy is saved when that was many."""
        if self._loaded:
            return
        changes, database_id = self._changes()
        saved = self._snapshots.load(changes, database_id) if self._snapshots else None
        if saved is not None:
            self._adopt(saved)
        item = "substr(e.item_id, 1, instr(e.item_id || char(31), char(31)) - 1)"
        rows = self.db.query(
            "SELECT e.rowid AS rowid, e.item_id, e.kind, e.vector,"
            # Unix time to the millisecond the ISO text says (julianday alone is off by µs).
            " ROUND((julianday(COALESCE(m.created_at, f.valid_from)) - 2440587.5) * 86400000.0)"
            " / 1000.0 AS time"
            " FROM embeddings e"
            f" LEFT JOIN messages m ON e.kind = 'episode' AND m.id = {item}"
            " LEFT JOIN facts f ON e.kind = 'fact' AND f.id = e.item_id"
            " WHERE e.model = ? AND e.rowid > ? ORDER BY e.rowid",
            (self.model, self._last_rowid),
        )
        if rows:
            self._reserve(len(rows))
            for row in rows:
                vector = np.frombuffer(row["vector"], dtype=np.float32)
                self._append(row["item_id"], row["kind"], vector, row["time"] or 0.0)
            self._last_rowid = int(rows[-1]["rowid"])
        self._loaded = True
        if self._snapshots is not None and len(rows) >= max(1000, self._size // 10):
            self._fit_projection()
            self._snapshots.save(self._snapshot(changes, database_id))

    def _changes(self) -> tuple[int, str]:
        found = self.db.query("SELECT count, database_id FROM index_changes WHERE id = 1")
        return (int(found[0]["count"]), str(found[0]["database_id"])) if found else (-1, "")

    def _snapshot(self, changes: int, database_id: str) -> Snapshot:
        size = self._size
        return Snapshot(
            matrix=self._matrix[:size],
            times=self._times[:size],
            alive=self._alive[:size],
            codes=self._codes[:size],
            projected=self._projected[:size],
            keys=self._keys,
            kinds=self._kinds,
            basis=self._basis,
            fitted_at=self._fitted_at,
            last_rowid=self._last_rowid,
            changes=changes,
            database_id=database_id,
        )

    def _adopt(self, saved: Snapshot) -> None:
        size = len(saved.keys)
        # Taken as they are (no copy); the first row added makes room (see _reserve).
        self._matrix, self._times = saved.matrix, saved.times
        self._alive, self._codes = saved.alive, saved.codes
        if saved.basis is not None and len(saved.projected) == size:
            self._basis, self._projected = saved.basis, saved.projected
            self._fitted_at = saved.fitted_at
        else:
            self._projected = np.zeros((size, self._projected_dim), dtype=np.float32)
        self._keys = list(saved.keys)
        self._kinds = list(saved.kinds)
        self._ids = [item_of(key) for key in self._keys]
        self._row = {key: row for row, key in enumerate(self._keys) if saved.alive[row]}
        for row, item in enumerate(self._ids):
            if saved.alive[row]:
                self._rows_of.setdefault(item, []).append(row)
        self._size = size
        self._last_rowid = saved.last_rowid

    def _reserve(self, extra: int) -> None:
        needed = self._size + extra
        if needed <= len(self._matrix):
            return
        capacity = max(needed, len(self._matrix) * 2, _GROW)
        matrix = np.zeros((capacity, self.dim), dtype=np.float32)
        matrix[: self._size] = self._matrix[: self._size]
        times = np.zeros(capacity, dtype=np.float64)
        times[: self._size] = self._times[: self._size]
        alive = np.zeros(capacity, dtype=bool)
        alive[: self._size] = self._alive[: self._size]
        codes = np.zeros(capacity, dtype=np.int8)
        codes[: self._size] = self._codes[: self._size]
        projected = np.zeros((capacity, self._projected_dim), dtype=np.float32)
        projected[: self._size] = self._projected[: self._size]
        self._matrix, self._times, self._alive, self._codes = matrix, times, alive, codes
        self._projected = projected

    def _append(self, key: str, kind: str, vector: Vectors, time: float) -> None:
        if key in self._row:
            row = self._row[key]
        else:
            self._reserve(1)
            row = self._size
            self._size += 1
            self._ids.append(item_of(key))
            self._keys.append(key)
            self._kinds.append(kind)
            self._row[key] = row
            self._rows_of.setdefault(item_of(key), []).append(row)
        self._matrix[row] = vector
        self._times[row] = time
        self._alive[row] = True
        self._codes[row] = _KIND_CODES[kind]
        if self._basis is not None:
            self._projected[row] = self._basis @ vector

    def _fit_projection(self) -> None:
        """Principal directions of (a sample of) the vectors, refitted as the index grows."""
        size = self._size
        if size < _APPROXIMATE_FROM or (self._basis is not None and size < 2 * self._fitted_at):
            return
        sample = np.random.default_rng(0).choice(size, min(size, 8192), replace=False)
        _, _, directions = np.linalg.svd(self._matrix[sample], full_matrices=False)
        self._basis = directions[: self._projected_dim].astype(np.float32)
        self._projected[:size] = self._matrix[:size] @ self._basis.T
        self._fitted_at = size

    def load(self) -> None:
        """Read the vectors into memory now (seconds at 100k), not at the first search."""
        with self._lock:
            self._ensure_loaded()
            self._fit_projection()

    # -- changes -------------------------------------------------------------------

    def add(
        self,
        items: Sequence[tuple[str, str, float]],
        vectors: Vectors,
    ) -> None:
        """Store and index (key, kind, unix time) with their vectors; a key is an item's
        id, or ``id + CHUNK + n`` for a further passage of a long message."""
        if not items:
            return
        with self._lock, self.db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO embeddings (item_id, kind, model, vector)"
                " VALUES (?, ?, ?, ?)",
                [
                    (item_id, kind, self.model, vector.astype(np.float32).tobytes())
                    for (item_id, kind, _), vector in zip(items, vectors, strict=True)
                ],
            )
            if self._loaded:
                for (item_id, kind, time), vector in zip(items, vectors, strict=True):
                    self._append(item_id, kind, vector, time)

    def remove(self, item_ids: Sequence[str]) -> None:
        """Remove items with all their vectors (every passage of a long message)."""
        with self._lock:
            with self.db.transaction() as conn:
                conn.executemany(
                    "DELETE FROM embeddings WHERE item_id = ? OR (item_id > ? AND item_id < ?)",
                    [(i, i + CHUNK, i + CHUNK + "\uffff") for i in item_ids],
                )
            for item_id in item_ids:
                for row in self._rows_of.pop(item_id, []):
                    self._alive[row] = False
                    self._row.pop(self._keys[row], None)

    def has(self, item_id: str) -> bool:
        with self._lock:
            self._ensure_loaded()
            return any(self._alive[row] for row in self._rows_of.get(item_id, []))

    def __len__(self) -> int:
        with self._lock:
            self._ensure_loaded()
            return int(self._alive[: self._size].sum())

    # -- search --------------------------------------------------------------------

    def search(
        self,
        query: Vectors,
        k: int,
        *,
        start: float | None = None,
        end: float | None = None,
        kinds: frozenset[str] | None = None,
    ) -> list[VectorHit]:
        """The ``k`` most similar items, optionally within [start, end) unix time."""
        with self._lock:
            self._ensure_loaded()
            size = self._size
            if size == 0:
                return []
            mask = self._alive[:size].copy()
            if start is not None:
                mask &= self._times[:size] >= start
            if end is not None:
                mask &= self._times[:size] < end
            if kinds is not None:
                mask &= np.isin(self._codes[:size], [_KIND_CODES[kind] for kind in kinds])
            rows = np.flatnonzero(mask)
            k = min(k, len(rows))
            if k <= 0:
                return []
            query = query.reshape(-1)
            self._fit_projection()
            if len(rows) < size // 2:
                # A narrow window: score only the rows in it.
                scores = self._matrix[rows] @ query
            elif self._basis is not None:
                rough = np.where(mask, self._projected[:size] @ (self._basis @ query), -np.inf)
                shortlist = min(len(rows), max(8 * k, 400))
                rows = np.argpartition(-rough, shortlist - 1)[:shortlist]
                scores = self._matrix[rows] @ query
            else:
                scores = np.where(mask, self._matrix[:size] @ query, -np.inf)
                rows = np.arange(size)
            # Several passages of one message may rank: ask for more rows, keep each
            # item's best.
            wanted = min(len(scores), 2 * k)
            top = np.argpartition(-scores, wanted - 1)[:wanted]
            top = top[np.argsort(-scores[top])]
            hits: dict[str, VectorHit] = {}
            for i in top:
                item = self._ids[rows[i]]
                if item not in hits:
                    hits[item] = VectorHit(item, self._kinds[rows[i]], float(scores[i]))
            return list(hits.values())[:k]
