"""Consistency of the store: every document has exactly its chunks, no chunk lacks its document,
and the derived BM25 index matches the collection."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kb.store.chroma import Store

if TYPE_CHECKING:
    from kb.knowledge_base import KnowledgeBase  # the store's owner, passed in


@dataclass
class CheckReport:
    documents: int = 0
    chunks: int = 0
    orphan_chunks: list[str] = field(default_factory=list)  # no registry record
    stale_chunks: list[str] = field(default_factory=list)  # an old or uncommitted version
    incomplete_docs: list[str] = field(default_factory=list)  # fewer/more chunks than recorded
    duplicate_chunks: list[str] = field(default_factory=list)  # same document position twice
    lexical_stale: bool = False
    stale_lessons: list[str] = field(default_factory=list)  # lesson records nobody can see
    stale_sentences: list[str] = field(default_factory=list)  # claim vectors nobody can see
    repaired: list[str] = field(default_factory=list)
    live_ids: set[str] = field(default_factory=set, repr=False)

    @property
    def ok(self) -> bool:
        return (
            not (
                self.orphan_chunks
                or self.stale_chunks
                or self.incomplete_docs
                or self.duplicate_chunks
                or self.stale_lessons
                or self.stale_sentences
            )
            and not self.lexical_stale
        )

    def problems(self) -> list[str]:
        out = []
        if self.orphan_chunks:
            out.append(f"{len(self.orphan_chunks)} chunks belong to no registered document")
        if self.stale_chunks:
            out.append(
                f"{len(self.stale_chunks)} chunks are left from an old or interrupted version"
            )
        if self.incomplete_docs:
            out.append(
                f"{len(self.incomplete_docs)} documents miss chunks: {', '.join(self.incomplete_docs[:5])}"
            )
        if self.duplicate_chunks:
            out.append(f"{len(self.duplicate_chunks)} duplicate chunks")
        if self.lexical_stale:
            out.append("the BM25 index does not match the collection")
        if self.stale_lessons:
            out.append(f"{len(self.stale_lessons)} lesson records are left from an old version")
        if self.stale_sentences:
            out.append(
                f"{len(self.stale_sentences)} sentence vectors are left from an old or"
                " interrupted version"
            )
        return out

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "documents": self.documents,
            "chunks": self.chunks,
            "problems": self.problems(),
            "orphan_chunks": len(self.orphan_chunks),
            "stale_chunks": len(self.stale_chunks),
            "incomplete_docs": self.incomplete_docs,
            "duplicate_chunks": len(self.duplicate_chunks),
            "lexical_stale": self.lexical_stale,
            "stale_lessons": len(self.stale_lessons),
            "stale_sentences": len(self.stale_sentences),
            "repaired": self.repaired,
        }


def _lexical_stale(kb: KnowledgeBase, report: CheckReport) -> bool:
    """The BM25 index of this generation must hold exactly the live chunks. It is derived per
    machine (each server sharing a Chroma server builds its own), so one not built here yet is
    built, as the next search would, rather than reported."""
    if not kb.lexical.load_current():
        kb.lexical.refresh()
    return set(kb.lexical.ids) != report.live_ids


def _scan(store: Store) -> CheckReport:
    registry = store.registry()
    report = CheckReport(documents=len(registry))
    live: Counter[str] = Counter()
    positions: defaultdict[tuple[str, int], list[str]] = defaultdict(list)
    for sc, _ in store.iter_chunks(with_text=False):
        report.chunks += 1
        doc = registry.get(sc.chunk.doc_id)
        if doc is None:
            report.orphan_chunks.append(sc.chunk.chunk_id)
        elif sc.version != doc.version:
            report.stale_chunks.append(sc.chunk.chunk_id)
        else:
            live[doc.doc_id] += 1
            report.live_ids.add(sc.chunk.chunk_id)
            positions[(doc.doc_id, sc.chunk.index)].append(sc.chunk.chunk_id)
    report.incomplete_docs = sorted(d for d, doc in registry.items() if live[d] != doc.n_chunks)
    report.duplicate_chunks = [cid for ids in positions.values() for cid in ids[1:]]
    return report


def stale_lesson_records(store: Store) -> list[str]:
    """Lesson records no reader can see: their document is gone or holds another key."""
    registry = store.registry()
    return [
        rid
        for rid, _, meta, _ in store.iter_lesson_records()
        if getattr(registry.get(str(meta.get("doc_id"))), "lessons", None) != meta.get("version")
    ]


def stale_sentence_records(store: Store) -> list[str]:
    """Sentence (claim) records no reader can see: their document is gone or its committed
    version is another (written before a commit point that a crash never reached)."""
    registry = store.registry()
    return [
        rid
        for rid, meta in store.sentence_records()
        if getattr(registry.get(str(meta.get("doc_id"))), "version", None) != meta.get("version")
    ]


def sweep_orphans(store: Store) -> int:
    """Delete chunks, lesson records and sentence records no reader can see (interrupted
    writes, replaced versions)."""
    report = _scan(store)
    junk = report.orphan_chunks + report.stale_chunks
    if junk:
        store.delete_chunks(junk)
    lessons = stale_lesson_records(store)
    if lessons:
        store.delete_lesson_records(lessons)
    sentences = stale_sentence_records(store)
    if sentences:
        store.delete_sentence_records(sentences)
    return len(junk) + len(lessons) + len(sentences)


def check(kb: KnowledgeBase, repair: bool = False) -> CheckReport:
    """Report what is off; with ``repair``, fix it and report the state after."""
    report = _scan(kb.store)
    report.lexical_stale = _lexical_stale(kb, report)
    report.stale_lessons = stale_lesson_records(kb.store)
    report.stale_sentences = stale_sentence_records(kb.store)
    if not repair or report.ok:
        return report
    repaired = []
    junk = report.orphan_chunks + report.stale_chunks + report.duplicate_chunks
    if junk:
        kb.store.delete_chunks(junk)
        repaired.append(f"deleted {len(junk)} invisible or duplicate chunks")
    if report.stale_lessons:
        kb.store.delete_lesson_records(report.stale_lessons)
        repaired.append(f"deleted {len(report.stale_lessons)} invisible lesson records")
    if report.stale_sentences:
        kb.store.delete_sentence_records(report.stale_sentences)
        repaired.append(f"deleted {len(report.stale_sentences)} invisible sentence vectors")
    for doc_id in report.incomplete_docs:
        doc = kb.store.document(doc_id)
        kb.store.forget_document(doc_id)
        repaired.append(
            f"removed incomplete document {doc_id} (re-ingest {doc.path if doc else 'it'})"
        )
    if junk or report.incomplete_docs:
        kb.store.bump_generation()
    kb.lexical.refresh(force=True)
    after = _scan(kb.store)
    after.lexical_stale = _lexical_stale(kb, after)
    after.stale_lessons = stale_lesson_records(kb.store)
    after.stale_sentences = stale_sentence_records(kb.store)
    after.repaired = repaired + (["rebuilt the BM25 index"] if report.lexical_stale else [])
    return after
