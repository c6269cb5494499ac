"""The basis token states are kept in: the model's 192 main directions of token states.

Late interaction (``kb.retrieval.interaction``) keeps every chunk's token states, 384 numbers a
token. Most of their spread lies in fewer directions: the 192 main ones (principal components of
the sample corpus's token states, ``scripts/token_basis.py``) hold 92% of it, and MaxSim over the
states projected on them ranks xquad-dev's other-language questions as the full states do
(recall@1 0.850 / 0.830 against 0.845 / 0.824 with the whole states): half the bytes on disk.
States are kept under a cache key that names the basis, so states of another basis are never
compared.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np

BASIS_FILE = Path(__file__).resolve().parents[1] / "data" / "token_basis.npz"


@functools.cache
def basis(model_id: str) -> tuple[str, np.ndarray, np.ndarray] | None:
    """The basis's id, mean and components (dims x 384) for ``model_id``; None if the file is
    missing or was made for another model (states are then kept whole)."""
    try:
        with np.load(BASIS_FILE, allow_pickle=False) as data:
            if str(data["model_id"]) != model_id:
                return None
            mean = np.asarray(data["mean"], dtype=np.float32)
            components = np.asarray(data["components"], dtype=np.float32)
    except (OSError, KeyError, ValueError):
        return None
    digest = hashlib.sha256(mean.tobytes() + components.tobytes()).hexdigest()[:12]
    return f"pca{len(components)}-{digest}", mean, components


def project(rows: np.ndarray, model_id: str) -> np.ndarray:
    """Token states on the basis, each row of unit length again; unchanged without a basis."""
    found = basis(model_id)
    if found is None:
        return rows
    _, mean, components = found
    out = (np.asarray(rows, dtype=np.float32) - mean) @ components.T
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)


def states_kind(model_id: str) -> str:
    """The cache key's kind for token states kept on this basis."""
    found = basis(model_id)
    return f"states:{found[0] if found else 'full'}"
