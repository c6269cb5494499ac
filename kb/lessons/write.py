"""Lesson records into Chroma, under the same rules as chunks (``kb.store.chroma``): a document's
records are written under its lessons key, the registry switch to that key is the commit point,
then the records of other keys go. The key is the document's version plus the extractor's, so a
new extractor re-extracts an unchanged document from its stored chunks (:func:`refresh`) with no
chunk embedded again; a record's vector goes through the embedding cache like any passage.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from kb.knowledge_base import KnowledgeBase
from kb.lessons.extract import EXTRACTOR_VERSION, extract
from kb.lessons.records import Lesson
from kb.store.chroma import Store
from kb.types import Chunk, DocMeta


def lessons_key(version: str) -> str:
    """The key a document version's records are stored under."""
    return f"{version[:12]}-x{EXTRACTOR_VERSION}"


def prepare(
    kb: KnowledgeBase, doc: DocMeta, chunks: list[Chunk]
) -> tuple[list[Lesson], np.ndarray]:
    """A document's records and their vectors (cached texts are not embedded again)."""
    records = extract(doc, chunks)
    return records, kb.embedder.passages([r.text for r in records])


def rows(key: str, records: list[Lesson]) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """The ids, texts and metadata records are stored with under ``key``."""
    return (
        [f"{r.doc_id}#{key}#{i:04d}" for i, r in enumerate(records)],
        [r.text for r in records],
        [record_metadata(r, key) for r in records],
    )


def add(store: Store, key: str, records: list[Lesson], vectors: np.ndarray) -> None:
    """Write records under ``key`` (not visible until the registry holds that key)."""
    if records:
        store.add_lesson_records(*rows(key, records), vectors)


def refresh(kb: KnowledgeBase, doc: DocMeta) -> DocMeta:
    """An unchanged document whose records were made by another extractor (or none, in a store
    made before lessons existed): its records from its stored chunks, committed like a write."""
    key = lessons_key(doc.version)
    if doc.lessons == key:
        return doc
    records, vectors = prepare(kb, doc, kb.store.live_chunks(doc.doc_id))
    add(kb.store, key, records, vectors)
    doc = replace(doc, lessons=key)
    kb.store.commit_document(doc)
    kb.store.bump_generation()
    kb.store.delete_other_lesson_versions(doc.doc_id, key)
    return doc


def record_metadata(r: Lesson, key: str) -> dict[str, Any]:
    """Flat metadata of a record, with the document fields that filters use (the same names as
    a chunk's, so ``kb.store.chroma.where_clause`` filters both)."""
    return {
        "doc_id": r.doc_id,
        "version": key,
        "lesson_id": r.id,
        "chunk_id": r.chunk_id,
        "start": r.start,
        "end": r.end,
        "kind": r.kind,
        "title": r.title,
        "city": r.city,
        "domain": r.domain,
        "outcome": r.outcome,
        "language": r.language,
        "year": r.year if r.year is not None else -1,
        "access": r.access,
    }


def lesson_of(text: str, meta: dict[str, Any]) -> Lesson:
    """A stored record back as a :class:`Lesson`."""
    year = int(meta.get("year", -1))
    return Lesson(
        id=str(meta["lesson_id"]),
        text=text,
        kind=str(meta.get("kind", "lesson")),
        doc_id=str(meta["doc_id"]),
        chunk_id=str(meta["chunk_id"]),
        start=int(meta["start"]),
        end=int(meta["end"]),
        city=str(meta.get("city", "")),
        domain=str(meta.get("domain", "")),
        outcome=str(meta.get("outcome", "")),
        year=year if year >= 0 else None,
        language=str(meta.get("language", "")),
        access=str(meta.get("access", "public")),
        title=str(meta.get("title", "")),
    )
