"""The indexes derived from the chunks in Chroma, rebuilt when the collection changes: BM25,
and the passage vectors centred per language (``kb.retrieval.dense``) that dense search scores
exactly.

It is saved under the cache folder, named by the store's generation. A reader whose generation
differs from the store's loads a newer save or rebuilds. A search does not wait for that when it
already has an index: it keeps answering from it while the newer one is built in the background
(one build at a time), so a busy ingest does not stall every question behind a rebuild. This is
``search(..., wait=False)``, which hybrid search uses: until the swap, BM25 may miss the newest
chunks, which dense search has; it never returns a replaced or deleted one, since search drops
every chunk whose version is not the committed one (a document's metadata is part of its
version). A BM25-only search waits, as it has nothing else to find the newest chunks with.
Several app servers sharing one Chroma server each derive their own.
"""

from __future__ import annotations

import ctypes
import json
import logging
import math
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from kb.retrieval.dense import centred_cosines, centred_norms, language_centres, mixed
from kb.retrieval.tokenize import (
    FOLD_PREFIX,
    STEM_PREFIX,
    TOKENIZER_VERSION,
    canonical_syllable,
    english_query_tokens,
    exact_tokens,
    folded_tokens,
    index_tokens,
    stemmed_tokens,
)
from kb.retrieval.tones import Casing, Tones
from kb.store.chroma import PAGE, Store, StoredChunk, StoreError
from kb.text import passage_text
from kb.types import DocMeta, Filters

log = logging.getLogger(__name__)
FOLD_WEIGHT = 0.5
STEM_WEIGHT = 1.0  # an English question's stems, beside its words (evals/README.md, fifth round)
FORMAT = "5"  # part of a saved index's name: a change to what is saved makes old saves unread
RERANK = 64  # passages also scored by their best claim, per question
SENTENCE_SHARE = 0.25  # of such a passage's similarity, its best claim's
ACROSS_SENTENCE_SHARE = 0.5  # the same when no candidate is in the question's language
# a background rebuild starts no sooner than this many times the last one's duration after it
# ended: an ingest commits a document every second or two, and rebuilding after each commit kept
# a server's CPU busy with rebuilds while questions waited (searches find the chunks written
# since through LexicalIndex.newer meanwhile)
REBUILD_SPACING = 4
_BLOCK = 65_536  # rows of vectors, or BM25 entries / 16, computed at a time while building
_FIELDS = ("doc_id", "version", "city", "domain", "outcome", "language", "doc_type", "access")


@dataclass
class _Built:
    """One generation's index: what a search reads, swapped in whole."""

    ids: list[str] = field(default_factory=list)
    meta: dict[str, np.ndarray] = field(default_factory=dict)
    years: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    searchable: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    model: object | None = None
    term_df: dict[str, int] = field(default_factory=dict)
    # passage vectors, row i for ids[i], the centres of their languages (kb.retrieval.dense) and the
    # length of each vector once centred
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    centres: dict[str, np.ndarray] = field(default_factory=dict)
    norms: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    # the claims' vectors (kb.store.claims), grouped by passage: passage i's rows are
    # sentence_starts[i]:sentence_starts[i + 1], the centres of their languages (sentences
    # have their own: a sentence's vector lies elsewhere than a passage's) and centred lengths
    sentences: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    sentence_starts: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    sentence_centres: dict[str, np.ndarray] = field(default_factory=dict)
    sentence_norms: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    # the words the passages mostly write with capitals, by their lower case (kb.retrieval.tones)
    capitals: dict[str, str] = field(default_factory=dict)

    @cached_property
    def tones(self) -> Tones:
        """Toneless syllables and their written forms in these passages (``kb.retrieval.tones``),
        counted in the passages not in English: an English report writes "Da Nang" and
        "phuong" without tones, which a toneless Vietnamese question does not mean."""
        if self.model is None:
            return Tones({}, lambda a, b: 0)
        vocab = self.model.vocab_dict
        read = np.asarray(self.meta["language"]) != "en"
        counts = _postings_in(self.model.scores, read)

        def pair_count(a: str, b: str) -> int:
            i = vocab.get(f"{canonical_syllable(a)}_{canonical_syllable(b)}")
            return 0 if i is None or i >= len(counts) else int(counts[i])

        term_df = {
            t: int(counts[vocab[t]])
            for t in self.term_df
            if vocab.get(t, len(counts)) < len(counts)
        }
        return Tones.from_terms(term_df, pair_count, self.capitals, int(read.sum()))

    @cached_property
    def versions(self) -> dict[str, str]:
        """The version of each document it holds, by document id."""
        return dict(zip(self.meta.get("doc_id", []), self.meta.get("version", []), strict=True))


@dataclass(frozen=True)
class Newer:
    """The committed chunks an index lacks (documents added or replaced since it was built):
    their rows as an index without BM25, and the chunks themselves."""

    rows: _Built
    chunks: dict[str, StoredChunk]


class LexicalIndex:
    def __init__(self, store: Store, cache_dir: Path) -> None:
        self.store = store
        self.root = cache_dir / "bm25" / store.settings.collection
        self._lock = threading.Lock()  # the served index: a search reads one whole generation
        self._build_lock = threading.Lock()  # one load or build at a time
        self._pending: threading.Thread | None = None
        self._rest_until = 0.0  # monotonic time before which no background rebuild starts
        self.generation: str | None = None
        self.index = _Built()  # replaced whole, never changed in place
        self._newer_lock = threading.Lock()  # one read of the newer chunks per generation
        # (store generation, the index it complements, its Newer, rows read by document version)
        self._newer: tuple[str, _Built, Newer, dict[tuple[str, str], list]] | None = None

    def holds_language(self, language: str) -> bool:
        """Whether the served index has passages in ``language``: where it has none, a word of
        that language that no passage has says nothing of what the knowledge base covers."""
        return language in self.index.centres

    @property
    def ids(self) -> list[str]:
        return self.index.ids

    @property
    def searchable(self) -> np.ndarray:
        return self.index.searchable

    @property
    def term_df(self) -> dict[str, int]:
        return self.index.term_df

    def load_current(self) -> bool:
        """Load the saved index of the store's current generation, without building one."""
        with self._build_lock:
            gen = self.store.generation()
            if gen == self.generation:
                return True
            built = self._load(self._folder(gen))
            if built is None:
                return False
            self._swap(built, gen)
            return True

    def refresh(
        self, force: bool = False, wait: bool = True, generation: str | None = None
    ) -> None:
        """Make the index match the store's ``generation`` (read here unless the caller has just
        read it). With ``wait=False`` (a search) and an index already served, the newer one is
        built in the background instead, ``REBUILD_SPACING`` after the last one."""
        current = self.store.generation() if generation is None else generation
        if not force and current == self.generation:
            return
        if wait or force or self.generation is None:
            self._catch_up(force)
            return
        with self._lock:
            if self._pending is not None and self._pending.is_alive():
                return  # a build under way will catch up, or the next search starts another
            if time.monotonic() < self._rest_until:
                return  # a later search starts it
            self._pending = threading.Thread(
                target=self._catch_up_quietly, name="bm25", daemon=True
            )
            self._pending.start()

    def _catch_up_quietly(self) -> None:
        """A background rebuild. Its failure (the store unreachable, the disk full) is one log
        line, not a thread's traceback: searches keep the index they have, and the next search
        starts another rebuild."""
        began = time.monotonic()
        try:
            self._catch_up()
        except (StoreError, OSError) as exc:
            log.warning(
                "BM25 index not rebuilt in the background (%s); searches use the index "
                "of generation %s until a later rebuild succeeds",
                exc,
                self.generation,
            )
            return
        ended = time.monotonic()
        self._rest_until = ended + REBUILD_SPACING * (ended - began)

    def _catch_up(self, force: bool = False) -> None:
        with self._build_lock:
            gen = self.store.generation()
            if not force and gen == self.generation:
                return
            folder = self._folder(gen)
            built = None if force else self._load(folder)
            if built is None:
                built = self._build()
                self._save(built, folder)
                # serve the saved copy, memory-mapped as a loaded one is: the built arrays
                # (vectors, sentence vectors, BM25) leave the heap
                built = self._load(folder) or built
            self._swap(built, gen)
            del built
        _release_memory()

    def _swap(self, built: _Built, generation: str) -> None:
        with self._lock:
            self.index = built
            self.generation = generation
        # the newer chunks read for the replaced index stay (by document version); the
        # replaced index itself, its memory-mapped files and their pages, need not
        newer = self._newer
        if newer is not None and newer[1] is not built:
            self._newer = (newer[0], _Built(), newer[2], newer[3])

    def _folder(self, generation: str) -> Path:
        return self.root / f"{generation or 'empty'}-t{TOKENIZER_VERSION}-f{FORMAT}"

    def _build(self) -> _Built:
        """The index of the committed chunks. Their vectors are read from Chroma only for chunks
        neither the served index nor the newer chunks hold: a chunk id names its version, so its
        vector never changes, and the vectors are most of what a full read carries.

        Each passage is tokenised as it is read and kept as its distinct tokens' ids and counts
        (``_Terms``), not as lists of strings: at 100k chunks the token lists and bm25s's own
        lists of ids were 6-7 GB at the peak, and left the heap that large after the build."""
        registry = self.store.registry()
        terms = _Terms()
        casing = Casing()
        live: list[tuple[str, str, str, bool]] = []  # chunk id, document id, version, reference
        for sc, _ in self.store.iter_chunks():
            doc = registry.get(sc.chunk.doc_id)
            if sc.version != getattr(doc, "version", None):
                continue
            text = passage_text(doc.title, sc.chunk.section, sc.chunk.text)
            tokens = index_tokens(text)
            # an English passage's stems: another reading of its words, not a longer passage
            stems = stemmed_tokens(text) if doc.language == "en" else []
            terms.add(tokens + stems, length=len(tokens))
            casing.add(sc.chunk.text)
            live.append((sc.chunk.chunk_id, sc.chunk.doc_id, sc.version, sc.chunk.is_reference))
            if len(live) % PAGE == 0:
                _release_memory()  # each page Chroma read: 80-100 MB freed, kept by malloc
        known = self._known_vectors()
        fetched = self.store.vectors([row[0] for row in live if row[0] not in known])
        order = [
            i
            for i in sorted(range(len(live)), key=lambda i: live[i][0])
            if live[i][0] in known or live[i][0] in fetched
        ]
        rows = [live[i] for i in order]
        built = _meta_rows(rows, registry)
        dim = next(iter(known.values()), next(iter(fetched.values()), np.zeros(0))).shape[0]
        vectors = np.empty((len(rows), dim if rows else 0), dtype=np.float32)
        for i, (cid, *_) in enumerate(rows):
            vectors[i] = known[cid] if cid in known else fetched[cid]
        del known, fetched
        model, df = terms.model(order)
        del terms
        languages = built.meta["language"]
        centres = language_centres(vectors, languages)
        sentences, starts = self._sentences(built.ids, vectors.shape[1:])
        owners = np.repeat(np.arange(len(built.ids)), np.diff(starts))
        owner_languages = languages[owners]
        sentence_centres = language_centres(sentences, owner_languages)
        return replace(
            built,
            vectors=vectors,
            model=model,
            term_df=df,
            centres=centres,
            norms=_centred_norms(vectors, languages, centres),
            sentences=sentences,
            sentence_starts=starts,
            sentence_centres=sentence_centres,
            sentence_norms=_centred_norms(sentences, owner_languages, sentence_centres),
            capitals=casing.capitals(),
        )

    def _sentences(self, ids: list[str], shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """The stored sentence vectors of these passages, grouped in their order, with the
        offsets of each passage's group (a passage stored before sentences were has none).
        Those of the served index's passages are taken from it (a chunk id names its version),
        so a rebuild after an ingest reads only the new passages' sentences from Chroma. Written
        straight into one array: no list of rows, no stacked copy."""
        served = self.index
        held = {cid: i for i, cid in enumerate(served.ids)}
        position = {cid: i for i, cid in enumerate(ids)}
        missing = [cid for cid in ids if cid not in held]
        wanted = None if len(missing) == len(ids) else missing  # all: one paged scan
        read: dict[int, list[np.ndarray]] = {}
        for cid, vec in self.store.iter_sentences(wanted) if missing else ():
            if cid in position and cid not in held:
                read.setdefault(position[cid], []).append(vec)
        sizes = np.zeros(len(ids), dtype=np.int64)
        for i, cid in enumerate(ids):
            j = held.get(cid)
            if j is not None:
                sizes[i] = served.sentence_starts[j + 1] - served.sentence_starts[j]
            else:
                sizes[i] = len(read.get(i, ()))
        starts = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(sizes, out=starts[1:])
        vectors = np.empty((int(starts[-1]), *shape), dtype=np.float32)
        source = _Unresident(served.sentences)
        for i, cid in enumerate(ids):
            if sizes[i] == 0:
                continue
            j = held.get(cid)
            if j is not None:
                a, b = served.sentence_starts[j], served.sentence_starts[j + 1]
                vectors[starts[i] : starts[i + 1]] = source.rows(int(a), int(b))
            else:
                vectors[starts[i] : starts[i + 1]] = read.pop(i)
        return vectors, starts

    def _known_vectors(self) -> dict[str, np.ndarray]:
        """Vectors this process holds already, by chunk id: the served index's and the newer
        chunks'."""
        served = self.index
        known = dict(zip(served.ids, served.vectors, strict=True))
        newer = self._newer
        if newer is not None:
            known.update(zip(newer[2].rows.ids, newer[2].rows.vectors, strict=True))
        return known

    def newer(self, index: _Built, registry: dict[str, DocMeta], generation: str) -> Newer:
        """The committed chunks (``registry``, read at the store's ``generation``) that
        ``index`` lacks, while it is a generation behind. Read from Chroma once per generation
        for all searches, and only for documents not read before: a search during an ingest
        scores them (dense only, as BM25 statistics are the index's) without a Chroma query
        carrying a hundred vectors."""
        with self._newer_lock:
            cached = self._newer
            if cached is not None and cached[0] == generation and cached[1] is index:
                return cached[2]
            wanted = {
                doc_id: doc.version
                for doc_id, doc in registry.items()
                if index.versions.get(doc_id) != doc.version
            }
            read = cached[3] if cached is not None else {}
            read = {pair: rows for pair, rows in read.items() if wanted.get(pair[0]) == pair[1]}
            missing = [
                doc_id for doc_id, version in wanted.items() if (doc_id, version) not in read
            ]
            for doc_id in missing:
                read[(doc_id, wanted[doc_id])] = []
            for i in range(0, len(missing), 500):
                where = {"doc_id": {"$in": missing[i : i + 500]}}
                for sc, vec in self.store.iter_chunks(where, with_vectors=True):
                    pair = (sc.chunk.doc_id, sc.version)
                    if pair in read and vec is not None:
                        read[pair].append((sc, vec))
            rows = sorted(
                (row for pair_rows in read.values() for row in pair_rows),
                key=lambda row: row[0].chunk.chunk_id,
            )
            found = Newer(_rows(rows, registry), {sc.chunk.chunk_id: sc for sc, _ in rows})
            self._newer = (generation, index, found, read)
            return found

    def _save(self, built: _Built, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if built.model is not None:
            built.model.save(str(tmp / "bm25"), show_progress=False)
        np.savez(tmp / "meta.npz", years=built.years, searchable=built.searchable, **built.meta)
        (tmp / "ids.json").write_text(json.dumps(built.ids))
        (tmp / "df.json").write_text(json.dumps(built.term_df))
        (tmp / "capitals.json").write_text(json.dumps(built.capitals))
        np.save(tmp / "vectors.npy", built.vectors)
        np.save(tmp / "norms.npy", built.norms)
        np.savez(tmp / "centres.npz", **built.centres)
        np.save(tmp / "sentences.npy", built.sentences)
        np.save(tmp / "sentence_starts.npy", built.sentence_starts)
        np.save(tmp / "sentence_norms.npy", built.sentence_norms)
        np.savez(tmp / "sentence_centres.npz", **built.sentence_centres)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
        for old in self.root.iterdir():
            if old != folder and not old.name.endswith(".tmp"):
                shutil.rmtree(old, ignore_errors=True)

    def _load(self, folder: Path) -> _Built | None:
        import bm25s

        try:
            ids = json.loads((folder / "ids.json").read_text())
            term_df = json.loads((folder / "df.json").read_text())
            capitals = json.loads((folder / "capitals.json").read_text())
            with np.load(folder / "meta.npz") as data:
                meta = {f: data[f] for f in _FIELDS}
                years = data["years"]
                searchable = data["searchable"]
            model = (
                bm25s.BM25.load(str(folder / "bm25"), mmap=True, show_progress=False)
                if ids
                else None
            )
            vectors = np.load(folder / "vectors.npy", mmap_mode="r")
            norms = np.load(folder / "norms.npy")
            with np.load(folder / "centres.npz") as data:
                centres = {name: data[name] for name in data.files}
            sentences = np.load(folder / "sentences.npy", mmap_mode="r")
            starts = np.load(folder / "sentence_starts.npy")
            sentence_norms = np.load(folder / "sentence_norms.npy")
            with np.load(folder / "sentence_centres.npz") as data:
                sentence_centres = {name: data[name] for name in data.files}
        except (OSError, ValueError, KeyError):
            return None
        if not len(vectors) == len(norms) == len(ids) == len(starts) - 1:
            return None
        if not len(sentences) == len(sentence_norms) == starts[-1]:
            return None
        return _Built(
            ids,
            meta,
            years,
            searchable,
            model,
            term_df,
            vectors,
            centres,
            norms,
            sentences,
            starts,
            sentence_centres,
            sentence_norms,
            capitals,
        )

    def is_unknown(self, term: str) -> bool:
        """A folded syllable that no passage contains."""
        return FOLD_PREFIX + term not in self.index.term_df

    def has_syllable(self, syllable: str) -> bool:
        """Whether some passage contains a lowercased syllable as written, tones included."""
        return canonical_syllable(syllable) in self.index.term_df

    def share(self, term: str) -> float:
        """The share of passages that contain a folded syllable."""
        index = self.index
        return index.term_df.get(FOLD_PREFIX + term, 0) / max(1, len(index.ids))

    def idf(self, term: str) -> float:
        """Inverse document frequency of a folded syllable (unseen terms weigh the most)."""
        index = self.index
        df = index.term_df.get(FOLD_PREFIX + term, 0)
        return math.log((len(index.ids) + 1) / (df + 0.5))

    def mask(self, filters: Filters | None, index: _Built | None = None) -> np.ndarray:
        """Which indexed chunks pass the filters (the same rules as the store's where), in
        ``index`` (a snapshot taken by the caller) or the served one."""
        index = index or self.index
        keep = index.searchable.copy()
        if filters is None:
            return keep
        for key in ("city", "domain", "outcome", "language", "doc_type"):
            values = getattr(filters, key)
            if values:
                keep &= np.isin(index.meta[key], list(values))
        if filters.doc_ids:
            keep &= np.isin(index.meta["doc_id"], list(filters.doc_ids))
        if filters.year_from is not None:
            keep &= index.years >= filters.year_from
        if filters.year_to is not None:
            keep &= (index.years <= filters.year_to) & (index.years >= 0)
        if filters.public_only:
            keep &= index.meta["access"] == "public"
        return keep

    def scores(self, query: str, index: _Built | None = None, english: bool = False) -> np.ndarray:
        """BM25 score of every indexed chunk: exact tokens, plus folded ones weighted lower. An
        English question (``english``) is read as words, without bigrams, and also by its words'
        stems, which English passages are indexed under."""
        index = index or self.index
        if index.model is None:
            return np.zeros(len(index.ids), dtype=np.float32)
        vocab = index.model.vocab_dict
        exact = english_query_tokens(query) if english else exact_tokens(query)
        folded = folded_tokens(query)
        if english:
            folded = [t for t in folded if "_" not in t]
        total = np.zeros(len(index.ids), dtype=np.float32)
        for tokens, weight in (
            (exact, 1.0),
            (folded, FOLD_WEIGHT),
            (stemmed_tokens(query) if english else [], STEM_WEIGHT),
        ):
            known = [t for t in dict.fromkeys(tokens) if t in vocab]
            if known:
                total += weight * index.model.get_scores(known)
        return total

    def similarities(
        self,
        vector: np.ndarray,
        language: str,
        index: _Built | None = None,
        keep: np.ndarray | None = None,
        by_sentence: bool = True,
    ) -> np.ndarray:
        """A question's similarity, in ``language``, to every indexed chunk: language-neutral
        in a knowledge base of several languages, the model's own cosine in one of one language
        (``kb.retrieval.dense``). The ``RERANK`` best of those ``keep`` allows are scored by
        themselves and by their best claim, ``SENTENCE_SHARE`` of it: a question asks about one
        fact, and a passage of many facts is nearer the question in the sentence that holds it.
        Within one language that ranks as ``SENTENCE_SHARE`` of the best claim's similarity plus
        the rest of the passage's, and the scores keep the passages' scale. When no candidate is
        in the question's language (Vietnamese reports asked in English), the best claim counts
        ``ACROSS_SENTENCE_SHARE``: a sentence carries a fact across languages better than a
        paragraph does, and with every candidate in one language the larger share cannot lift
        one language over the other (in a mixed knowledge base it did, and cost the golden
        set's answers: evals/README.md, "sixth round"). Not
        ``by_sentence`` (Vietnamese typed without tones, which the model reads poorly: one
        sentence's vector is then nearer by chance more often than a passage's)."""
        index = index or self.index
        language_of = index.meta.get("language", np.zeros(0, dtype=str))
        scores = _cosines(
            index, index.vectors, language_of, index.centres, index.norms, vector, language
        )
        if not by_sentence:
            return scores
        pool = scores if keep is None else np.where(keep, scores, -np.inf)
        top = (
            np.argpartition(-pool, RERANK)[:RERANK] if len(pool) > RERANK else np.arange(len(pool))
        )
        starts, ends = index.sentence_starts[top], index.sentence_starts[top + 1]
        has = np.isfinite(pool[top]) & (ends > starts)
        top, starts, ends = top[has], starts[has], ends[has]
        if not len(top):
            return scores
        rows = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)])
        sims = _cosines(
            index,
            np.asarray(index.sentences[rows]),
            language_of[np.repeat(top, ends - starts)],
            index.sentence_centres,
            index.sentence_norms[rows],
            vector,
            language,
        )
        best = np.maximum.reduceat(sims, np.concatenate([[0], np.cumsum(ends - starts)[:-1]]))
        # a sentence is nearer a question in its own language than a passage is, by more than
        # one in the other language (less text to carry the meaning across): each passage gains
        # what its best sentence adds beyond the usual for its language among these, so a
        # passage in the other language is not pushed down for its language alone
        gain = best - scores[top]
        languages = language_of[top]
        for lang in set(languages.tolist()):
            gain[languages == lang] -= gain[languages == lang].mean()
        scores = scores.copy()
        alone = bool(language) and not (languages == language).any()
        scores[top] += (ACROSS_SENTENCE_SHARE if alone else SENTENCE_SHARE) * gain
        return scores

    def similarities_of(
        self,
        vectors: np.ndarray,
        languages: list[str],
        vector: np.ndarray,
        language: str,
        centred: bool = False,
    ) -> np.ndarray:
        """The same for texts the index does not hold (chunks written since it was built, or
        sentences), centred as its own passages are; always centred when ``centred`` (the
        evidence an answer rests on, ``kb.answers.abstention``)."""
        centres, langs = self.index.centres, np.array(languages)
        if not (centred or mixed(centres)) or not len(vectors):
            return np.asarray(vectors @ vector, dtype=np.float32)
        norms = centred_norms(vectors, langs, centres)
        return centred_cosines(vectors, langs, centres, norms, vector, language)

    def search(
        self, query: str, n: int, filters: Filters | None = None, wait: bool = True
    ) -> list[tuple[str, float]]:
        """The n best chunks. With ``wait=False`` a stale index answers while the current one is
        built (``kb.retrieval.search`` drops what is no longer committed)."""
        self.refresh(wait=wait)
        with self._lock:  # one index throughout: a swap from the builder waits
            scores = self.scores(query)
            scores = np.where(self.mask(filters), scores, 0.0)
            if not len(scores):
                return []
            top = np.argsort(-scores, kind="stable")[:n]
            return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]


def _postings_in(scores: dict, rows: np.ndarray) -> np.ndarray:
    """For each token of a BM25 matrix, how many of the passages ``rows`` marks hold it: one pass
    over the postings, a block at a time (at 100k chunks they are tens of millions)."""
    indptr = np.asarray(scores["indptr"])
    indices = scores["indices"]
    before = np.zeros(len(indptr), dtype=np.int64)  # marked postings before each token's first
    running = 0
    for a in range(0, int(indptr[-1]), _BLOCK * 16):
        b = min(a + _BLOCK * 16, int(indptr[-1]))
        seen = np.cumsum(rows[np.asarray(indices[a:b])], dtype=np.int64)
        lo = int(np.searchsorted(indptr, a + 1, side="left"))  # tokens ending in (a, b]
        hi = int(np.searchsorted(indptr, b, side="right"))
        before[lo:hi] = running + seen[indptr[lo:hi] - a - 1]
        running += int(seen[-1])
    return np.diff(before)


def _release_memory() -> None:
    """Give the heap a build freed back to the system: glibc keeps freed memory for reuse, and
    after a rebuild at 100k chunks RSS stayed gigabytes above what the served index holds
    (measured at 10k chunks: 574 -> 243 MB of anonymous memory right after a rebuild). A few
    milliseconds; elsewhere than glibc, nothing."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _cosines(
    index: _Built,
    vectors: np.ndarray,
    languages: np.ndarray,
    centres: dict[str, np.ndarray],
    norms: np.ndarray,
    vector: np.ndarray,
    language: str,
) -> np.ndarray:
    """Similarities of a question to rows of the index, centred by ``centres`` when it holds
    two languages."""
    if not len(vectors):
        return np.zeros(0, dtype=np.float32)
    if not mixed(index.centres):
        return np.asarray(vectors @ vector, dtype=np.float32)
    return centred_cosines(vectors, languages, centres, norms, vector, language)


def _rows(rows: list[tuple[StoredChunk, np.ndarray]], registry: dict[str, DocMeta]) -> _Built:
    """An index of these chunks, without BM25 and language centres: their ids, the metadata
    filters read, and their vectors."""
    return replace(
        _meta_rows(
            [
                (sc.chunk.chunk_id, sc.chunk.doc_id, sc.version, sc.chunk.is_reference)
                for sc, _ in rows
            ],
            registry,
        ),
        vectors=(
            np.stack([vec for _, vec in rows]).astype(np.float32)
            if rows
            else np.zeros((0, 0), dtype=np.float32)
        ),
    )


def _meta_rows(rows: list[tuple[str, str, str, bool]], registry: dict[str, DocMeta]) -> _Built:
    """The ids, the metadata filters read and the years of these chunks (chunk id, document
    id, version, whether it is a reference), without vectors."""
    docs = [registry[doc_id] for _, doc_id, _, _ in rows]
    meta = {
        f: np.array(
            [
                str(getattr(d, f) if f != "version" else version)
                for d, (_, _, version, _) in zip(docs, rows, strict=True)
            ]
        )
        for f in _FIELDS
    }
    return _Built(
        ids=[cid for cid, _, _, _ in rows],
        meta=meta,
        years=np.array([d.year if d.year is not None else -1 for d in docs], dtype=np.int32),
        searchable=np.array([not reference for _, _, _, reference in rows], dtype=bool),
    )


def _centred_norms(
    vectors: np.ndarray, languages: np.ndarray, centres: dict[str, np.ndarray]
) -> np.ndarray:
    """``kb.retrieval.dense.centred_norms`` a block of rows at a time (each row's length is its
    own): the centred copy it makes is of one block, not of every vector of a language."""
    if len(vectors) <= _BLOCK:
        return centred_norms(vectors, languages, centres)
    return np.concatenate(
        [
            centred_norms(vectors[i : i + _BLOCK], languages[i : i + _BLOCK], centres)
            for i in range(0, len(vectors), _BLOCK)
        ]
    )


class _Unresident:
    """Rows of an index's array, read in increasing order without keeping them resident: a
    memory-mapped one (a loaded index's) is mapped again a block of rows at a time and each
    block let go once read, so that copying it does not add the whole file's pages to the
    process's RSS (at 100k chunks the sentence vectors are 0.6 GB)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.path = array.filename if isinstance(array, np.memmap) else None
        self.block: np.ndarray | None = None
        self.begin = self.end = 0

    def rows(self, a: int, b: int) -> np.ndarray:
        if self.path is None:
            return self.array[a:b]
        if not (self.begin <= a and b <= self.end):
            self.block = None  # its mapping goes before the next one is made
            try:
                mapped = np.load(self.path, mmap_mode="r")
            except (OSError, ValueError):
                mapped = None
            if mapped is None or mapped.shape != self.array.shape:
                self.path = None  # the file is gone or another: read the served mapping
                return self.array[a:b]
            self.begin, self.end = a, max(b, a + _BLOCK)
            self.block = mapped[self.begin : self.end]
        return self.block[a - self.begin : b - self.begin]


class _Terms:
    """The BM25 terms of passages as they are read: each passage's distinct tokens as ids in
    one vocabulary, with their counts, and its length in tokens."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.ids: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        self.lengths: list[int] = []

    def add(self, tokens: list[str], length: int) -> None:
        counted = Counter(tokens)
        vocab = self.vocab
        n = len(counted)
        ids = (vocab.setdefault(t, len(vocab)) for t in counted)
        self.ids.append(np.fromiter(ids, dtype=np.int32, count=n))
        self.counts.append(np.fromiter(counted.values(), dtype=np.int32, count=n))
        self.lengths.append(length)

    def model(self, order: list[int]) -> tuple[object | None, dict[str, int]]:
        """The BM25 index of the passages ``order`` names, in that order, and each syllable's
        document frequency (tokens without "_", as written and folded). The index is what
        ``bm25s.BM25().index`` makes of the passages' token lists, score for score (its
        default Lucene BM25, the same float64 arithmetic rounded to float32, and the same
        column layout: a token's passages in ascending order), built from arrays instead of
        its Python loops over every token."""
        import bm25s

        if not order:
            return None, {}
        model = bm25s.BM25()
        ids = np.concatenate([self.ids[i] for i in order])
        counts = np.concatenate([self.counts[i] for i in order])
        doc = np.repeat(np.arange(len(order), dtype=np.int32), [len(self.ids[i]) for i in order])
        lengths = np.array([self.lengths[i] for i in order])
        self.ids, self.counts, self.lengths = [], [], []  # the passages' own arrays go
        n_docs = len(order)
        df = np.bincount(ids, minlength=len(self.vocab))
        vocab = self.vocab
        if not df.all():  # tokens of passages left out (no vector): not in the index
            kept = df > 0
            new_id = np.cumsum(kept) - 1
            vocab = {t: int(new_id[i]) for t, i in vocab.items() if kept[i]}
            ids = new_id[ids].astype(np.int32)
            df = df[kept]
        idf = np.zeros(len(df), dtype=model.dtype)
        values = np.unique(df)
        idf_of = np.array(
            [math.log(1 + (n_docs - int(v) + 0.5) / (int(v) + 0.5)) for v in values],
            dtype=model.dtype,
        )
        idf[:] = idf_of[np.searchsorted(values, df)]
        # bm25s: tf / (k1 * ((1 - b) + b * len / avg_len) + tf), per passage, times the idf
        spread = model.k1 * ((1 - model.b) + model.b * lengths / lengths.mean())
        data = np.empty(len(ids), dtype=model.dtype)
        for a in range(0, len(ids), _BLOCK * 16):
            tf = counts[a : a + _BLOCK * 16].astype(np.float64)
            tokens = ids[a : a + _BLOCK * 16]
            data[a : a + len(tf)] = idf[tokens] * (tf / (spread[doc[a : a + len(tf)]] + tf))
        del counts
        by_token = np.argsort(ids, kind="stable")
        del ids  # each array goes as soon as its reordered copy is made: a lower peak
        indices = doc[by_token]
        del doc
        data = data[by_token]
        del by_token
        indptr = np.zeros(len(df) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        model.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}
        term_df = {
            t: int(df[i])
            for t, i in vocab.items()
            if "_" not in t and not t.startswith(STEM_PREFIX)
        }
        if "" not in vocab:
            vocab[""] = len(df)
        model.vocab_dict = vocab
        model.unique_token_ids_set = set(vocab.values())
        model.nonoccurrence_array = None
        return model, term_df
