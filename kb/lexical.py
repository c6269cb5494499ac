"""The BM25 index, derived from the chunks in Chroma and rebuilt when the collection changes.

It is saved under the cache folder, named by the store's generation; a reader whose generation
differs from the store's rebuilds (or loads a newer save) before answering, so it never serves
stale or deleted chunks. Several app servers sharing one Chroma server each derive their own.
"""

from __future__ import annotations

import json
import math
import shutil
import threading
from collections import Counter
from pathlib import Path

import numpy as np

from kb.store import Store, StoredChunk
from kb.text import passage_text
from kb.tokenize import FOLD_PREFIX, TOKENIZER_VERSION, exact_tokens, folded_tokens, index_tokens
from kb.types import Filters

FOLD_WEIGHT = 0.5
_FIELDS = ("doc_id", "version", "city", "domain", "outcome", "language", "doc_type", "access")


class LexicalIndex:
    def __init__(self, store: Store, cache_dir: Path) -> None:
        self.store = store
        self.root = cache_dir / "bm25" / store.settings.collection
        self._lock = threading.Lock()
        self.generation: str | None = None
        self.ids: list[str] = []
        self.meta: dict[str, np.ndarray] = {}
        self.years = np.zeros(0, dtype=np.int32)
        self.searchable = np.zeros(0, dtype=bool)
        self.model = None
        self.term_df: dict[str, int] = {}

    def load_current(self) -> bool:
        """Load the saved index of the store's current generation, without building one."""
        with self._lock:
            gen = self.store.generation()
            if gen == self.generation:
                return True
            if self._load(self._folder(gen)):
                self.generation = gen
                return True
            return False

    def refresh(self, force: bool = False) -> None:
        """Make the index match the store's current generation."""
        with self._lock:
            gen = self.store.generation()
            if not force and gen == self.generation:
                return
            folder = self._folder(gen)
            if not force and self._load(folder):
                self.generation = gen
                return
            self._build()
            self._save(folder)
            self.generation = gen

    def _folder(self, generation: str) -> Path:
        return self.root / f"{generation or 'empty'}-t{TOKENIZER_VERSION}"

    def _build(self) -> None:
        import bm25s

        registry = self.store.registry()
        rows: list[StoredChunk] = []
        for sc, _ in self.store.iter_chunks():
            doc = registry.get(sc.chunk.doc_id)
            if doc is not None and sc.version == doc.version:
                rows.append(sc)
        rows.sort(key=lambda sc: sc.chunk.chunk_id)
        self.ids = [sc.chunk.chunk_id for sc in rows]
        docs = [registry[sc.chunk.doc_id] for sc in rows]
        self.meta = {
            f: np.array(
                [
                    str(getattr(d, f) if f != "version" else sc.version)
                    for d, sc in zip(docs, rows, strict=True)
                ]
            )
            for f in _FIELDS
        }
        self.years = np.array([d.year if d.year is not None else -1 for d in docs], dtype=np.int32)
        self.searchable = np.array([not sc.chunk.is_reference for sc in rows], dtype=bool)
        corpus = [
            index_tokens(passage_text(d.title, sc.chunk.section, sc.chunk.text))
            for d, sc in zip(docs, rows, strict=True)
        ]
        df: Counter[str] = Counter()
        for tokens in corpus:
            df.update({t for t in tokens if "_" not in t and t.startswith(FOLD_PREFIX)})
        self.term_df = dict(df)
        model = bm25s.BM25()
        if corpus:
            model.index(corpus, show_progress=False)
        self.model = model if corpus else None

    def _save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.model is not None:
            self.model.save(str(tmp / "bm25"), show_progress=False)
        np.savez(tmp / "meta.npz", years=self.years, searchable=self.searchable, **self.meta)
        (tmp / "ids.json").write_text(json.dumps(self.ids))
        (tmp / "df.json").write_text(json.dumps(self.term_df))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
        for old in self.root.iterdir():
            if old != folder and not old.name.endswith(".tmp"):
                shutil.rmtree(old, ignore_errors=True)

    def _load(self, folder: Path) -> bool:
        import bm25s

        try:
            ids = json.loads((folder / "ids.json").read_text())
            term_df = json.loads((folder / "df.json").read_text())
            with np.load(folder / "meta.npz") as data:
                meta = {f: data[f] for f in _FIELDS}
                years = data["years"]
                searchable = data["searchable"]
            model = bm25s.BM25.load(str(folder / "bm25"), show_progress=False) if ids else None
        except (OSError, ValueError, KeyError):
            return False
        self.ids, self.meta, self.years, self.model = ids, meta, years, model
        self.term_df = term_df
        self.searchable = searchable
        return True

    def is_unknown(self, term: str) -> bool:
        """A folded syllable that no passage contains."""
        return FOLD_PREFIX + term not in self.term_df

    def share(self, term: str) -> float:
        """The share of passages that contain a folded syllable."""
        return self.term_df.get(FOLD_PREFIX + term, 0) / max(1, len(self.ids))

    def idf(self, term: str) -> float:
        """Inverse document frequency of a folded syllable (unseen terms weigh the most)."""
        df = self.term_df.get(FOLD_PREFIX + term, 0)
        return math.log((len(self.ids) + 1) / (df + 0.5))

    def mask(self, filters: Filters | None) -> np.ndarray:
        """Which indexed chunks pass the filters (the same rules as the store's where)."""
        keep = self.searchable.copy()
        if filters is None:
            return keep
        for key in ("city", "domain", "outcome", "language", "doc_type"):
            values = getattr(filters, key)
            if values:
                keep &= np.isin(self.meta[key], list(values))
        if filters.doc_ids:
            keep &= np.isin(self.meta["doc_id"], list(filters.doc_ids))
        if filters.year_from is not None:
            keep &= self.years >= filters.year_from
        if filters.year_to is not None:
            keep &= (self.years <= filters.year_to) & (self.years >= 0)
        if filters.public_only:
            keep &= self.meta["access"] == "public"
        return keep

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every indexed chunk: exact tokens, plus folded ones weighted lower."""
        if self.model is None:
            return np.zeros(len(self.ids), dtype=np.float32)
        vocab = self.model.vocab_dict
        exact = [t for t in dict.fromkeys(exact_tokens(query)) if t in vocab]
        folded = [t for t in dict.fromkeys(folded_tokens(query)) if t in vocab]
        total = np.zeros(len(self.ids), dtype=np.float32)
        if exact:
            total += self.model.get_scores(exact)
        if folded:
            total += FOLD_WEIGHT * self.model.get_scores(folded)
        return total

    def search(self, query: str, n: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        self.refresh()
        with self._lock:  # one index throughout: a refresh from another thread waits
            scores = self.scores(query)
            scores = np.where(self.mask(filters), scores, 0.0)
            if not len(scores):
                return []
            top = np.argsort(-scores, kind="stable")[:n]
            return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]
