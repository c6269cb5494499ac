"""Generated stores for benchmarks: realistic text, and vectors that need no embedding time.

Sentences come from the sample corpus, shuffled into new documents with a unique marker each, so
texts are distinct. Vectors are real corpus vectors plus noise, re-normalised: the store and the
indexes see the same shapes and distributions as real data, without hours of embedding. While a
store is built, every text the ingest embeds (chunks, their claims, lesson records) gets such a
vector, picked by a hash of the text; questions asked afterwards go through the real model.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


class GeneratedVectors:
    """A stand-in for the model's ``passage``: a noisy copy of a real corpus vector, picked and
    perturbed by a hash of the text, so the same text always gets the same vector."""

    def __init__(self, noise: float = 0.05) -> None:
        with np.load(CORPUS / "kb-embeddings.npz") as data:
            self.base = np.asarray(data["vectors"], dtype=np.float32)
        self.noise = noise

    def passage(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            rng = np.random.default_rng(seed)
            vec = self.base[rng.integers(len(self.base))]
            vec = vec + self.noise * rng.standard_normal(vec.shape).astype(np.float32)
            rows.append(vec / np.linalg.norm(vec))
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), self.base.shape[1])


@contextmanager
def generated_vectors(embedder: Any) -> Iterator[None]:
    """Texts embedded meanwhile get ``GeneratedVectors`` (cached like the model's); the real
    model is back afterwards, loaded when first needed."""
    with embedder._lock:  # the model's slot, which a bench may borrow
        saved = embedder._backend, embedder.backend_name
        embedder._backend, embedder.backend_name = GeneratedVectors(), "generated"
    try:
        yield
    finally:
        with embedder._lock:
            embedder._backend, embedder.backend_name = saved


def build_store(settings, n_chunks: int, seed: int = 7, paragraphs: int = 6):
    """A knowledge base of about ``n_chunks`` generated chunks, ``paragraphs`` to a document,
    through the real ingest path, with generated vectors (``generated_vectors``)."""
    from ingest import Record, ingest_records
    from ingest.loaders import load_markdown
    from kb.knowledge_base import open_kb

    kb = open_kb(settings)
    docs = generated_documents(max(1, n_chunks // paragraphs), paragraphs, seed)
    records = []
    for name, markdown in docs:
        loaded = load_markdown(markdown.encode(), name)
        records.append(
            Record(loaded.declared["id"], loaded.text, loaded.title_hint, loaded.declared)
        )
    with generated_vectors(kb.embedder):
        report = ingest_records(kb, records)
    return kb, report
