"""Search: dense, BM25 or hybrid, with filters, only committed versions, per-document diversity.

Both lists are scored exactly over the indexes derived from Chroma (``kb.retrieval.lexical``): BM25,
and the passage vectors centred per language (``kb.retrieval.dense``), so a question meets the
passages that
answer it whatever their language. The derived indexes may be a generation behind while a newer
one is built in the background; the chunks written since then are found by a Chroma query and
scored the same way, so a search never misses the newest documents.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from kb.knowledge_base import KnowledgeBase
from kb.retrieval import interaction
from kb.retrieval.fusion import fuse
from kb.retrieval.question import (
    MAX_QUERY_CHARS,
    QueryError,
    Question,
    as_question,
    clean_query,
)
from kb.store.chroma import StoredChunk
from kb.text import passage_text
from kb.types import DocMeta, Filters, Hit

if TYPE_CHECKING:
    from kb.retrieval.lexical import Newer

__all__ = ["MAX_QUERY_CHARS", "MODES", "QueryError", "clean_query", "read_question", "search"]

MODES = ("hybrid", "dense", "bm25")
SNAPSHOT_TRIES = 4  # searches again when a commit happened meanwhile (see _search_once)
PER_DOC = 2  # chunks of one document allowed before other documents get their turn
# a search starts from a generation read this recently by any search (its end read is fresh)
RECENT_GENERATION = 0.05


def search(
    kb: KnowledgeBase,
    query: str | Question,
    k: int = 10,
    filters: Filters | None = None,
    mode: str = "hybrid",
) -> list[Hit]:
    """The k best passages for ``query``; only committed versions of visible documents."""
    if mode not in MODES:
        raise QueryError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    if k < 1:
        raise QueryError("k must be at least 1")
    question = as_question(query)
    if kb.settings.public_only:
        filters = replace(filters or Filters(), public_only=True)
    hits: list[Hit] = []
    for _ in range(SNAPSHOT_TRIES):
        generation = kb.store.generation(within=RECENT_GENERATION)
        registry = kb.store.registry(generation)
        if not registry:
            return []
        hits = _search_once(kb, question, k, filters, mode, registry, generation)
        if kb.store.generation() == generation:
            break  # no commit during the search: the hits match the registry read
    return hits


def read_question(kb: KnowledgeBase, query: str | Question) -> Question:
    """The question worked out once for the answer path: parsed, and, when typed without tones,
    with them put back from this knowledge base's words (``kb.retrieval.tones``)."""
    question = as_question(query)
    if not question.unaccented or question.restored:
        return question
    kb.lexical.refresh(wait=False)  # the served index's words; a newer one adds few
    return question.with_tones(kb.lexical.index.tones)


def _search_once(
    kb: KnowledgeBase,
    question: Question,
    k: int,
    filters: Filters | None,
    mode: str,
    registry: dict[str, DocMeta],
    generation: str,
) -> list[Hit]:
    index = kb.lexical
    # a BM25-only search has nothing else to find the newest chunks with, so it waits
    index.refresh(wait=mode == "bm25", generation=generation)
    served = index.generation  # read before the snapshot: a swap in between only costs a query
    built = index.index  # one generation throughout: a swap replaces it whole
    question = question.with_tones(built.tones)
    keep = index.mask(filters, built)
    ids = [cid for cid, kept in zip(built.ids, keep, strict=True) if kept]
    languages = list(built.meta["language"][keep]) if len(ids) else []
    dense = lexical = np.zeros(len(ids), dtype=np.float32)
    vector = None
    if mode != "bm25":
        vector = np.asarray(kb.embedder.query(question.for_model), dtype=np.float32)
        dense = index.similarities(
            vector, question.language, built, keep, by_sentence=not question.toneless
        )[keep]
    if mode != "dense":
        lexical = index.scores(question.text, built, english=question.language == "en")[keep]
    found: dict[str, StoredChunk] = {}
    if vector is not None and served != generation:
        # chunks written since the index was built: Chroma has them, scored the same way
        new_ids, new_languages, new_dense = _newer(
            kb, vector, question, filters, index.newer(built, registry, generation), found
        )
        ids += new_ids
        languages += new_languages
        dense = np.concatenate([dense, new_dense])
        lexical = np.concatenate([lexical, np.zeros(len(new_ids), dtype=np.float32)])
    if not ids:
        return []
    if mode == "dense":
        fused = dense
    elif mode == "bm25":
        fused = np.where(lexical > 0, lexical, -np.inf)
    else:
        readable = np.array(
            [not question.language or lang in ("", question.language) for lang in languages]
        )
        translated = names = None
        if not readable.all():

            def across(text: str) -> np.ndarray | None:
                """BM25 of the question as read for passages in the other language; zero for
                the chunks written since the index was built."""
                if not text:
                    return None
                scores = index.scores(text, built)[keep]
                return np.concatenate([scores, np.zeros(len(ids) - len(scores), np.float32)])

            translated = across(question.translated)
            names = across(" ".join(question.names_across))
        fused = fuse(dense, lexical, readable, question.toneless, translated, names)
        if not question.toneless:
            fused = _interact(kb, question, ids, fused, readable, found, registry)
    order = [int(i) for i in np.argsort(-fused, kind="stable") if np.isfinite(fused[i])]
    ranked: list[tuple[str, float, float | None, float | None]] = []
    step = max(4 * k, 20)  # chunks read from Chroma at a time, best first
    for start in range(0, len(order), step):
        batch = order[start : start + step]
        found.update(kb.store.get_chunks([ids[i] for i in batch if ids[i] not in found]))
        ranked += [
            (
                ids[i],
                float(fused[i]),
                float(dense[i]) if mode != "bm25" else None,
                float(lexical[i]) if mode != "dense" else None,
            )
            for i in batch
            if ids[i] in found and _live(found[ids[i]], registry)
        ]
        if len(ranked) >= 2 * k:  # enough for per-document diversity and repeated passages
            break
    return _diverse(ranked, found, registry, k)


def _interact(
    kb: KnowledgeBase,
    question: Question,
    ids: list[str],
    fused: np.ndarray,
    readable: np.ndarray,
    found: dict[str, StoredChunk],
    registry: dict[str, DocMeta],
) -> np.ndarray:
    """The best fused candidates re-scored by late interaction (``kb.retrieval.interaction``)
    when BM25 can read none of the passages this search may return (the knowledge base, or the
    part of it the filters leave, has none in the question's language); ``fused`` as it was
    otherwise, and where the runtime gives no token states."""
    if readable.any():
        return fused
    best = [int(i) for i in np.argsort(-fused, kind="stable")[: interaction.CANDIDATES]]
    best = [i for i in best if np.isfinite(fused[i])]
    states = kb.embedder.query_states(question.for_model)
    if states is None:
        return fused
    found.update(kb.store.get_chunks([ids[i] for i in best if ids[i] not in found]))
    best = [i for i in best if ids[i] in found and _live(found[ids[i]], registry)]
    texts = []
    for i in best:
        chunk = found[ids[i]].chunk
        texts.append(passage_text(registry[chunk.doc_id].title, chunk.section, chunk.text))
    passages = kb.embedder.token_states(texts)
    if passages is None or len(best) < 2:
        return fused
    fused = fused.copy()
    fused[best] = interaction.rescore(fused[best], states, passages)
    return fused


def _newer(
    kb: KnowledgeBase,
    vector: np.ndarray,
    question: Question,
    filters: Filters | None,
    newer: Newer,
    found: dict[str, StoredChunk],
) -> tuple[list[str], list[str], np.ndarray]:
    """The chunks the served index does not have yet that pass the filters: their ids,
    languages and similarities (``LexicalIndex.similarities``)."""
    keep = kb.lexical.mask(filters, newer.rows)
    ids = [cid for cid, kept in zip(newer.rows.ids, keep, strict=True) if kept]
    if not ids:
        return [], [], np.zeros(0, dtype=np.float32)
    languages = [str(lang) for lang in newer.rows.meta["language"][keep]]
    found.update((cid, newer.chunks[cid]) for cid in ids)
    dense = kb.lexical.similarities_of(
        newer.rows.vectors[keep], languages, vector, question.language
    )
    return ids, languages, dense


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
