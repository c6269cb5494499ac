"""Whole ``kb ingest`` throughput against bare embedding calls on the same chunk texts.

    .venv/bin/python bench/ingest.py [--docs 90]

The ratio whole/bare is the cost of everything that is not embedding (reading, chunking,
Chroma writes, BM25). Both runs start from empty caches so every chunk is embedded once.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetic import generated_documents
from ingest import ingest_paths
from kb.knowledge_base import open_kb
from kb.settings import load_settings
from kb.text import passage_text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=90, help="generated documents (6 chunks each)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        for name, text in generated_documents(args.docs, 6, seed=11):
            (folder / name).write_text(text, encoding="utf-8")
        settings = load_settings(store=f"{tmp}/store", cache_dir=f"{tmp}/cache", collection="bench")
        kb = open_kb(settings)
        backend = kb.embedder.backend  # load the model before timing, as a long ingest would
        began = time.perf_counter()
        report = ingest_paths(kb, [folder])
        whole = time.perf_counter() - began
        texts = [
            passage_text(doc.title, c.section, c.text)
            for doc in kb.store.registry().values()
            for c in kb.store.live_chunks(doc.doc_id)
        ]
        began = time.perf_counter()
        for i in range(0, len(texts), 16):
            backend.passage(texts[i : i + 16])
        bare = time.perf_counter() - began
    n = len(texts)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"backend {kb.embedder.backend_name}, {report.count('added')} documents, {n} chunks, embedded {report.embedded}"
    )
    print(f"whole kb ingest: {n / whole:.2f} chunks/s ({whole:.1f} s)")
    print(f"bare embedding:  {n / bare:.2f} chunks/s ({bare:.1f} s)")
    print(f"ratio whole/bare: {bare / whole:.2f}")
    print(f"peak memory (RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
