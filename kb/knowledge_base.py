"""One object over one store: the Chroma collections, the embedder and the derived BM25 index.

Faces (CLI, app, evals, benchmarks) open it once per process with :func:`open_kb` and call the
library functions with it; nothing else holds a connection or a model.
"""

from __future__ import annotations

import threading
from functools import cached_property

from kb.settings import Settings
from kb.store.chroma import Store
from kb.store.embeddings import Embedder, get_embedder


class KnowledgeBase:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings)
        self._lock = threading.Lock()

    @cached_property
    def embedder(self) -> Embedder:
        return get_embedder(self.settings)

    @cached_property
    def embed_model(self):  # -> llama_index BaseEmbedding over ``embedder`` (cache included)
        """The embedder as llama-index's ``BaseEmbedding``: what llama-index components and the
        search path call, so nothing can fall back to llama-index's OpenAI default."""
        from kb.store.embeddings import llama_embedding

        return llama_embedding(self.embedder)

    @cached_property
    def lexical(
        self,
    ):  # -> kb.retrieval.lexical.LexicalIndex, imported lazily (bm25s is slow to import)
        from kb.retrieval.lexical import LexicalIndex

        return LexicalIndex(self.store, self.settings.cache_dir)


_OPEN: dict[Settings, KnowledgeBase] = {}
_OPEN_LOCK = threading.Lock()


def open_kb(settings: Settings) -> KnowledgeBase:
    """The process-wide knowledge base for these settings."""
    with _OPEN_LOCK:
        if settings not in _OPEN:
            _OPEN[settings] = KnowledgeBase(settings)
        return _OPEN[settings]


def forget_kb(settings: Settings) -> None:
    """Drop the process-wide knowledge base for these settings (the next open reconnects)."""
    with _OPEN_LOCK:
        _OPEN.pop(settings, None)
