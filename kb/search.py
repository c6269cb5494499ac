"""Search: dense, BM25 or hybrid, with filters inside the store and per-document diversity."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np

from kb.fusion import QuerySignals, fuse
from kb.glossary import default_glossary
from kb.knowledge_base import KnowledgeBase
from kb.store import StoredChunk
from kb.text import detect_language, has_diacritics, nfc
from kb.types import DocMeta, Filters, Hit

MODES = ("hybrid", "dense", "bm25")
MAX_QUERY_CHARS = 2000
SNAPSHOT_TRIES = 4  # searches again when a commit happened meanwhile (see _search_once)
PER_DOC = 2  # chunks of one document allowed before other documents get their turn


class QueryError(ValueError):
    """A query that cannot be run; the message says why."""


def clean_query(query: str) -> str:
    """NFC, control characters removed, whitespace collapsed, bounded length."""
    text = " ".join(nfc(query or "").split())
    if not text:
        raise QueryError("the query is empty: type a question or some keywords")
    return text[:MAX_QUERY_CHARS]


def search(
    kb: KnowledgeBase,
    query: str,
    k: int = 10,
    filters: Filters | None = None,
    mode: str = "hybrid",
) -> list[Hit]:
    """The k best passages for ``query``; only committed versions of visible documents."""
    if mode not in MODES:
        raise QueryError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    if k < 1:
        raise QueryError("k must be at least 1")
    text = clean_query(query)
    if kb.settings.public_only:
        filters = _public(filters)
    hits: list[Hit] = []
    for _ in range(SNAPSHOT_TRIES):
        generation = kb.store.generation()
        registry = kb.store.registry()
        if not registry:
            return []
        hits = _search_once(kb, text, k, filters, mode, registry)
        if kb.store.generation() == generation:
            break  # no commit during the search: the hits match the registry read
    return hits


def _search_once(
    kb: KnowledgeBase,
    text: str,
    k: int,
    filters: Filters | None,
    mode: str,
    registry: dict[str, DocMeta],
) -> list[Hit]:
    pool = max(100, 4 * k)
    found: dict[str, StoredChunk] = {}
    dense: list[tuple[str, float]] = []
    lexical: list[tuple[str, float]] = []
    if mode in ("hybrid", "dense"):
        dense = _dense(kb, text, pool, filters, found, registry)
    if mode in ("hybrid", "bm25"):
        # in hybrid mode dense search has the newest chunks: BM25 need not wait for a rebuild
        fresh = mode == "bm25"
        lexical = _resolve(kb, kb.lexical.search(text, pool, filters, wait=fresh), found, registry)
    if mode == "dense":
        ranked = [(cid, s, s, None) for cid, s in dense]
    elif mode == "bm25":
        ranked = [(cid, s, None, s) for cid, s in lexical]
    else:
        signals = query_signals(text)
        translated: list[tuple[str, float]] = []
        translated_dense: list[tuple[str, float]] = []
        target = _translation(text, signals, filters)
        if target is not None:
            words, other = target
            only_other = replace(filters or Filters(), language=(other,))
            translated = _resolve(
                kb, kb.lexical.search(words, pool, only_other, wait=False), found, registry
            )
            # the translated view only has to lift the other language's best passages
            translated_dense = _dense(kb, words, pool // 3, filters, found, registry, other)
        doc_of = {cid: sc.chunk.doc_id for cid, sc in found.items()}
        lang_of = {d: doc.language for d, doc in registry.items()}
        fused = fuse(dense, lexical, signals, doc_of, lang_of, translated, translated_dense)
        ranked = [(f.chunk_id, f.score, f.dense, f.lexical) for f in fused]
    return _diverse(ranked, found, registry, k)


def _resolve(
    kb: KnowledgeBase,
    ranking: list[tuple[str, float]],
    found: dict[str, StoredChunk],
    registry: dict[str, DocMeta],
) -> list[tuple[str, float]]:
    """A BM25 ranking's chunks read from the store into ``found``; only committed versions kept
    (the BM25 index may be a generation behind while a newer one is built)."""
    found.update(kb.store.get_chunks([cid for cid, _ in ranking if cid not in found]))
    return [(cid, s) for cid, s in ranking if cid in found and _live(found[cid], registry)]


def _dense(
    kb: KnowledgeBase,
    text: str,
    n: int,
    filters: Filters | None,
    found: dict[str, StoredChunk],
    registry: dict[str, DocMeta],
    language: str | None = None,
) -> list[tuple[str, float]]:
    """Committed passages nearest to ``text`` in meaning, optionally only those in ``language``
    (kept after the query: a language filter inside the store is twice as slow)."""
    vector = np.asarray(kb.embed_model.get_query_embedding(text), dtype=np.float32)
    out = []
    for sc, sim in kb.store.dense_query(vector, n, filters):
        if _live(sc, registry) and (
            language is None or registry[sc.chunk.doc_id].language == language
        ):
            found.setdefault(sc.chunk.chunk_id, sc)
            out.append((sc.chunk.chunk_id, sim))
    return out


def _translation(
    text: str, signals: QuerySignals, filters: Filters | None
) -> tuple[str, str] | None:
    """The question's domain terms in the other language (kb.glossary) and that language, when
    the filters allow passages in it; None when there is nothing to translate."""
    other = {"vi": "en", "en": "vi"}.get(signals.language)
    if other is None or signals.unaccented:
        return None
    if filters and filters.language and other not in filters.language:
        return None
    words = default_glossary().translate(text, signals.language)
    return (words, other) if words else None


def query_signals(text: str) -> QuerySignals:
    lang = detect_language(text)
    return QuerySignals(language=lang, unaccented=lang == "vi" and not has_diacritics(text))


def _public(filters: Filters | None) -> Filters:
    return replace(filters or Filters(), public_only=True)


def _live(sc: StoredChunk, registry: dict[str, DocMeta]) -> bool:
    doc = registry.get(sc.chunk.doc_id)
    return doc is not None and doc.version == sc.version


def _diverse(
    ranked: list[tuple[str, float, float | None, float | None]],
    found: dict[str, StoredChunk],
    registry: dict[str, DocMeta],
    k: int,
) -> list[Hit]:
    """Best first, but a document's third chunk waits until other documents had their turn,
    and a passage whose text is already shown (a copy in another document) is dropped."""
    chosen, waiting = [], []
    per_doc: dict[str, int] = {}
    texts: set[str] = set()
    for item in ranked:
        sc = found[item[0]]
        digest = hashlib.sha1(" ".join(sc.chunk.text.split()).encode()).hexdigest()
        if digest in texts:
            continue
        texts.add(digest)
        doc_id = sc.chunk.doc_id
        if per_doc.get(doc_id, 0) >= PER_DOC:
            waiting.append(item)
            continue
        per_doc[doc_id] = per_doc.get(doc_id, 0) + 1
        chosen.append(item)
        if len(chosen) == k:
            break
    chosen.extend(waiting[: k - len(chosen)])
    return [
        Hit(
            rank=i,
            score=score,
            chunk=found[cid].chunk,
            doc=registry[found[cid].chunk.doc_id],
            dense_score=d,
            lexical_score=lx,
        )
        for i, (cid, score, d, lx) in enumerate(chosen, start=1)
    ]
