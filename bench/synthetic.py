"""Generated stores for benchmarks: realistic text, and vectors that need no embedding time.

Sentences come from the sample corpus, shuffled into new documents with a unique marker each, so
texts are distinct. Vectors are real corpus vectors plus noise, re-normalised: the store and the
indexes see the same shapes and distributions as real data, without hours of embedding.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


def corpus_sentences() -> list[str]:
    """Plain sentences of the sample corpus (front matter, headings and links left out)."""
    out = []
    for path in sorted(CORPUS.rglob("*.md")):
        body = path.read_text(encoding="utf-8").split("\n---", 2)[-1]
        for line in body.splitlines():
            line = line.strip().lstrip("- ")
            if line and not line.startswith("#") and "http" not in line:
                out += [s for s in re.split(r"(?<=[.!?])\s+", line) if len(s.split()) >= 6]
    return out


def generated_documents(n_docs: int, paragraphs: int, seed: int = 7) -> list[tuple[str, str]]:
    """(name, markdown) pairs of about ``paragraphs`` chunks each."""
    rng = random.Random(seed)
    sentences = corpus_sentences()
    cities = ["hanoi", "hcmc", "danang"]
    docs = []
    for i in range(n_docs):
        parts = [
            f"---\nid: gen-{seed}-{i:05d}\ntitle: Generated report {i}\ncity: {cities[i % 3]}\n"
            f"year: {2015 + i % 10}\noutcome: partial\ndomain: traffic\n---\n# Generated report {i}\n"
        ]
        for p in range(paragraphs):
            heading = "Bài học kinh nghiệm" if p == paragraphs - 1 else f"Phần {p + 1}"
            body = " ".join(rng.sample(sentences, 5))
            parts.append(f"\n## {heading}\n\nMã {seed}-{i}-{p}. {body}\n")
        docs.append((f"gen-{i:05d}.md", "".join(parts)))
    return docs


def noisy_vectors(base: np.ndarray, n: int, seed: int = 7, noise: float = 0.05) -> np.ndarray:
    """``n`` unit vectors near rows of ``base`` (real embeddings)."""
    rng = np.random.default_rng(seed)
    picks = base[rng.integers(0, len(base), size=n)]
    vecs = picks + noise * rng.standard_normal(picks.shape).astype(np.float32)
    return (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)


def build_store(settings, n_chunks: int, seed: int = 7):
    """A knowledge base of about ``n_chunks`` generated chunks, through the real ingest path.

    The embedding cache is filled first with noisy copies of real vectors for exactly the texts
    the chunker will produce, so ingest embeds nothing and the benchmark measures the rest.
    """
    from ingest import Record, ingest_records
    from ingest.chunking import chunk_document
    from ingest.loaders import load_markdown, load_text
    from kb.embed_cache import cache_key
    from kb.embeddings import MODEL_ID
    from kb.knowledge_base import open_kb
    from kb.text import passage_text

    kb = open_kb(settings)
    paragraphs = 6
    docs = generated_documents(max(1, n_chunks // paragraphs), paragraphs, seed)
    records, texts = [], []
    for name, markdown in docs:
        loaded = load_markdown(markdown.encode(), name)
        title = loaded.title_hint
        body = loaded.text
        records.append(Record(loaded.declared["id"], body, title=title, metadata=loaded.declared))
        plain = load_text(body.encode(), name)
        texts += [
            passage_text(title, c.section, c.text) for c in chunk_document("x", "0" * 16, plain)
        ]
    with np.load(CORPUS / "kb-embeddings.npz") as data:
        base = np.asarray(data["vectors"], dtype=np.float32)
    vectors = noisy_vectors(base, len(texts), seed)
    kb.embedder.cache.put_many(
        (cache_key(MODEL_ID, "passage", t), v) for t, v in zip(texts, vectors, strict=True)
    )
    report = ingest_records(kb, records)
    return kb, report
