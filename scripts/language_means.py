"""Write ``kb/data/language_means.npz``: each language's mean passage vector in a knowledge base of
both languages, with the model id, for ``kb.retrieval.dense.estimated_centre``.

The offset between two languages' means is mostly the model's own (on the sample corpus and on
xquad-dev's mixed corpus, two knowledge bases on unrelated topics, the two offsets have cosine
0.74). Made from the sample corpus, checked on xquad-dev (evals/README.md, "A knowledge base in
one language").

    .venv/bin/kb ingest corpus/ && .venv/bin/python scripts/language_means.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb.knowledge_base import open_kb
from kb.retrieval.dense import MEANS_FILE
from kb.settings import load_settings
from kb.store.embeddings import MODEL_ID


def main() -> None:
    kb = open_kb(load_settings())
    kb.lexical.refresh()
    index = kb.lexical.index
    languages = index.meta["language"]
    means = {}
    for name in ("vi", "en"):
        rows = np.asarray(index.vectors)[languages == name]
        if len(rows) < 50:
            sys.exit(f"the store has {len(rows)} passages in {name!r}: too few for a mean")
        means[name] = rows.mean(axis=0).astype(np.float32)
        print(f"{name}: {len(rows)} passages")
    np.savez(
        MEANS_FILE,
        model_id=np.array(MODEL_ID),
        source=np.array(kb.settings.collection),
        **means,
    )
    print(f"wrote {MEANS_FILE}")


if __name__ == "__main__":
    main()
