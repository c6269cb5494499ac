"""Lessons KB: a knowledge base of smart-city lessons from Hà Nội, HCMC and Đà Nẵng.

The library's public face. Open a knowledge base once per process and pass it around::

    from kb import load_settings, open_kb, search, ask

    kb = open_kb(load_settings())
    hits = search(kb, "Vì sao iParking không thành công?", k=5)
"""

from kb.settings import Settings, load_settings
from kb.types import Answer, Chunk, Citation, DocMeta, Filters, Hit

__all__ = [
    "Answer",
    "Chunk",
    "Citation",
    "DocMeta",
    "Filters",
    "Hit",
    "Settings",
    "ask",
    "check",
    "documents",
    "ingest",
    "load_settings",
    "open_kb",
    "search",
    "stats",
]


def __getattr__(name: str):
    """Import the heavy parts (Chroma, llama-index, the model) only when first used."""
    if name == "open_kb":
        from kb.knowledge_base import open_kb

        return open_kb
    if name == "search":
        from kb.retrieval.search import search

        return search
    if name == "ask":
        from kb.answers.ask import ask

        return ask
    if name == "check":
        from kb.store.check import check

        return check
    if name in ("documents", "stats"):
        from kb.store import catalog

        return getattr(catalog, name)
    if name == "ingest":
        from ingest import ingest_paths

        return ingest_paths
    raise AttributeError(name)
