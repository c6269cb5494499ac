"""Embedding cache keyed by content hash and model id, so no text is ever embedded twice.

The cache is derived data: deleting it costs time, never correctness. It can be exported to a
small ``.npz`` file (shipped with the sample corpus) and imported on another machine after a
check that the file was made by the same model.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

DIM = 384


def cache_key(model_id: str, kind: str, text: str) -> str:
    """The identity of one embedding: model, kind (passage/query) and the exact text."""
    return hashlib.sha256(f"{model_id}\x00{kind}\x00{text}".encode()).hexdigest()


class EmbeddingCache:
    """A SQLite table of key -> float32 vector, safe for several threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        # a cache: a commit need not wait for the disk (WAL stays consistent; a power cut can
        # only lose the last vectors, embedded again when next needed). Each fsync cost 46 ms
        # here, under the lock that every thread's lookups wait on.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS states (key TEXT PRIMARY KEY, rows BLOB NOT NULL)"
        )
        self._db.commit()

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for key, blob in self._select("SELECT key, vec FROM emb", keys):
            vec = np.frombuffer(blob, dtype=np.float32)
            if vec.shape == (DIM,):
                found[key] = vec
        return found

    def _select(self, query: str, keys: list[str]) -> list[tuple[str, bytes]]:
        """``query`` + ``WHERE key IN (...)`` over ``keys``, 500 at a time (SQLite's limit)."""
        rows: list[tuple[str, bytes]] = []
        with self._lock:
            for i in range(0, len(keys), 500):
                part = keys[i : i + 500]
                marks = ",".join("?" * len(part))
                rows += self._db.execute(f"{query} WHERE key IN ({marks})", part).fetchall()
        return rows

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        rows = [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO emb (key, vec) VALUES (?, ?)", rows)
            self._db.commit()

    def get_states(self, keys: list[str]) -> dict[str, np.ndarray]:
        """Token states (``encode_states``) kept under ``keys``; the others are missing."""
        return {
            key: decode_states(blob)
            for key, blob in self._select("SELECT key, rows FROM states", keys)
        }

    def put_states(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        rows = [(k, encode_states(v)) for k, v in items]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO states (key, rows) VALUES (?, ?)", rows)
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM emb").fetchone()[0]

    def export(
        self, out: Path, keys: list[str], model_id: str, probes: dict[str, np.ndarray]
    ) -> int:
        """Write the given keys' vectors to ``out`` (npz), with probe texts that prove the model."""
        found = self.get_many(keys)
        ordered = sorted(found)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp.npz")
        np.savez_compressed(
            tmp,
            model_id=np.array(model_id),
            keys=np.array(ordered),
            vectors=np.stack([found[k] for k in ordered]) if ordered else np.zeros((0, DIM)),
            probe_texts=np.array(list(probes)),
            probe_vectors=np.stack(list(probes.values())) if probes else np.zeros((0, DIM)),
        )
        tmp.replace(out)
        return len(ordered)


def encode_states(rows: np.ndarray) -> bytes:
    """Unit token vectors as int8 with one float16 scale per row, after a uint16 giving their
    width: a byte a number instead of four, cosines within about 0.001 of the float32 ones."""
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float32))
    scale = np.maximum(np.abs(rows).max(axis=1), 1e-6) / 127
    quantised = np.round(rows / scale[:, None]).astype(np.int8)
    width = np.array([rows.shape[1]], dtype=np.uint16)
    return width.tobytes() + scale.astype(np.float16).tobytes() + quantised.tobytes()


def decode_states(blob: bytes) -> np.ndarray:
    """The rows ``encode_states`` wrote, float32 and L2-normalised again."""
    width = int(np.frombuffer(blob, dtype=np.uint16, count=1)[0])
    n = (len(blob) - 2) // (2 + width)
    scale = np.frombuffer(blob, dtype=np.float16, count=n, offset=2).astype(np.float32)
    rows = np.frombuffer(blob, dtype=np.int8, offset=2 + 2 * n).reshape(n, width) * scale[:, None]
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-6)


class SeedCacheError(ValueError):
    """A shipped cache file that must not be used, with the reason."""


def read_seed(path: Path, model_id: str) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """Read an exported cache file; refuse one made for another model."""
    try:
        with np.load(path, allow_pickle=False) as data:
            file_model = str(data["model_id"])
            keys = [str(k) for k in data["keys"]]
            vectors = np.asarray(data["vectors"], dtype=np.float32)
            probe_texts = [str(t) for t in data["probe_texts"]]
            probe_vectors = np.asarray(data["probe_vectors"], dtype=np.float32)
    except (OSError, KeyError, ValueError) as exc:
        raise SeedCacheError(f"{path}: not an embedding cache export ({exc})") from exc
    if file_model != model_id:
        raise SeedCacheError(f"{path}: made by model {file_model!r}, this is {model_id!r}")
    if vectors.shape != (len(keys), DIM) or probe_vectors.shape != (len(probe_texts), DIM):
        raise SeedCacheError(f"{path}: vector shapes do not match the keys")
    if not probe_texts:
        raise SeedCacheError(f"{path}: has no probe texts to check the model with")
    return keys, vectors, probe_texts, probe_vectors
