"""Write ``kb/data/token_basis.npz``: the mean and the 192 main directions of the sample
corpus's token states, for ``kb.store.token_basis``.

Made from the sample corpus, checked on xquad-dev (evals/README.md, "Late interaction across
languages").

    .venv/bin/kb ingest corpus/ && .venv/bin/python scripts/token_basis.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.knowledge_base import open_kb
from kb.settings import load_settings
from kb.store.embeddings import MODEL_ID
from kb.store.token_basis import BASIS_FILE
from kb.text import passage_text

DIMS = 192


def main() -> None:
    kb = open_kb(load_settings())
    registry = kb.store.registry()
    kb.lexical.refresh()
    chunks = kb.store.get_chunks(list(kb.lexical.index.ids))
    texts = [
        passage_text(registry[sc.chunk.doc_id].title, sc.chunk.section, sc.chunk.text)
        for sc in chunks.values()
        if sc.chunk.doc_id in registry
    ]
    backend = kb.embedder.backend
    if not hasattr(backend, "passage_states"):
        sys.exit("the embedding runtime gives no token states (use the onnx backend)")
    rows = np.concatenate(
        [
            rows
            for i in range(0, len(texts), 8)
            for rows in backend.passage_states(texts[i : i + 8])[1]
        ]
    )
    mean = rows.mean(axis=0)
    _, spread, vt = np.linalg.svd(rows - mean, full_matrices=False)
    kept = float((spread[:DIMS] ** 2).sum() / (spread**2).sum())
    np.savez(
        BASIS_FILE,
        model_id=np.array(MODEL_ID),
        mean=mean.astype(np.float32),
        components=vt[:DIMS].astype(np.float32),
    )
    print(
        f"{len(texts)} chunks, {len(rows)} tokens: {DIMS} directions keep {kept:.3f}; wrote {BASIS_FILE}"
    )


if __name__ == "__main__":
    main()
