"""The ingest job: walk, load, chunk, embed (cache first), write each document atomically."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ingest.chunking import CHUNKER_VERSION, chunk_document
from ingest.loaders import Loaded, LoadError, load_text
from ingest.metadata import FIELDS, content_hash, validate_declared
from ingest.reader import Limits, Parsed, ReaderPool
from ingest.walk import Found, in_shard, walk
from kb.knowledge_base import KnowledgeBase
from kb.lessons import write as lessons
from kb.store.chroma import DocumentWrite, Store
from kb.store.claims import chunk_claims
from kb.store.embed_cache import SeedCacheError
from kb.text import detect_language, nfc, passage_text
from kb.types import Chunk, DocMeta

SEED_NAME = "kb-embeddings.npz"
GROUP_RECORDS = 512  # records written in one group (_Writer)
GROUP_SECONDS = 5.0  # the longest a document waits for its group


@dataclass
class FileResult:
    path: str
    status: str  # added | updated | unchanged | failed
    doc_id: str = ""
    chunks: int = 0
    error: str = ""
    pages_ocr: int = 0  # pages recognised by OCR in this run (cached ones cost nothing)


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    removed: int = 0
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(f.status == status for f in self.files)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "added": self.count("added"),
            "updated": self.count("updated"),
            "unchanged": self.count("unchanged"),
            "removed": self.removed,
            "failed": [{"path": f.path, "error": f.error} for f in self.failed],
            "chunks": self.chunks,
            "pages_ocr": sum(f.pages_ocr for f in self.files),
        }


Progress = Callable[[str, int, int], None]  # (what, done, total)


class _Writer:
    """New document versions are written in groups, on a thread of their own, in order.

    Embedded Chroma holds Python's lock through each call, so its writes cannot overlap the
    embedding in this process; what helps is fewer calls: a group of about ``GROUP_RECORDS``
    records (chunks, claims and lesson records of several documents) takes one call per
    collection (``Store.write_documents``). With a Chroma server the thread also lets the model
    go on while the server writes. A document that comes ``GROUP_SECONDS`` or more after its
    group's first hands the group on too, so a slow folder (scans, OCR) still shows its
    documents as it goes. At most one group is being written; ``wait`` writes what is held and
    waits for it (the caller does before writing anything itself), and a failed write is raised
    to the caller at its next ``submit`` or ``wait``, or when the block ends."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="kb-write")
        self._pending: Future[None] | None = None
        self._group: list[DocumentWrite] = []
        self._since = 0.0

    def submit(self, write: DocumentWrite) -> None:
        if not self._group:
            self._since = time.monotonic()
        self._group.append(write)
        held = sum(w.records for w in self._group)
        if held >= GROUP_RECORDS or time.monotonic() - self._since >= GROUP_SECONDS:
            self._hand_on()

    def _hand_on(self) -> None:
        self._finish_pending()
        group, self._group = self._group, []
        if group:
            self._pending = self._thread.submit(self._store.write_documents, group)

    def _finish_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def wait(self) -> None:
        """Until every document submitted is written (a failure raised here)."""
        self._hand_on()
        self._finish_pending()

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.wait()
        finally:
            self._thread.shutdown(wait=True)  # a write under way finishes before the caller goes on


def ingest_paths(
    kb: KnowledgeBase,
    paths: list[Path],
    *,
    prune: bool = True,
    shard: tuple[int, int] | None = None,
    progress: Progress | None = None,
    seed_caches: list[Path] | None = None,
    workers: int = 1,
) -> IngestReport:
    """Bring the store in line with the files under ``paths``.

    Unchanged files cost nothing, changed ones replace their old chunks completely, files that
    disappeared from a given folder are removed (``prune``), bad files are reported and skipped.
    Files are read by ``workers`` processes, each file bounded in time and memory; the result
    does not depend on ``workers``.
    """
    began = time.perf_counter()
    report = IngestReport()
    store, embedder = kb.store, kb.embedder
    embedded_before = embedder.embedded
    found = [f for f in walk(paths) if in_shard(f.path, f.root, shard)]
    seeds = list(seed_caches or []) + [p / SEED_NAME for p in paths if (p / SEED_NAME).is_file()]
    for seed in seeds:
        _import_seed(kb, seed, report)
    registry = dict(store.registry())
    by_path: dict[str, list[str]] = {}  # several after a run killed while replacing a document
    for d in registry.values():
        by_path.setdefault(d.path, []).append(d.doc_id)
    claimed: dict[str, str] = {}
    reuse = _may_reuse(kb)
    loading = _load_model_meanwhile(kb, found, registry, by_path)
    try:
        with ReaderPool(workers, _limits(kb)) as pool, _Writer(store) as writer:
            _ingest_found(
                kb, found, pool, writer, report, registry, by_path, claimed, progress, reuse
            )
    finally:
        if loading is not None:
            loading.join()
    if progress:
        progress("", len(found), len(found))
    if prune:
        report.removed = _prune(kb, paths, found, registry, claimed, shard)
    if shard is None:
        from kb.store.check import sweep_orphans

        sweep_orphans(store)
    kb.lexical.refresh()
    report.chunks = store.count()
    report.embedded = embedder.embedded - embedded_before
    report.seconds = time.perf_counter() - began
    return report


def _may_reuse(kb: KnowledgeBase) -> bool:
    """Whether the store holds chunks at the start of a run, whose vectors a new chunk of the
    same text may reuse (``Store.vectors_by_hash``: a renamed or copied file costs nothing).
    In a store that was empty, every chunk is one this run wrote, and its vector is in the
    embedding cache: asking Chroma for each document's texts found nothing and waited on the
    writer thread's Chroma writes (3-8 s of a 240-chunk cold ingest)."""
    return kb.store.count() > 0


def _load_model_meanwhile(
    kb: KnowledgeBase,
    found: list[Found],
    registry: dict[str, DocMeta],
    by_path: dict[str, list[str]],
) -> threading.Thread | None:
    """Load the embedding model, and import llama-index's Chroma vector store that writes the
    chunks (2-3 s), in a thread while the reader processes start and read the first files (the
    main thread only waits for them then), when some file looks new or changed since its
    document was ingested; an unchanged folder loads neither."""

    def changed(item: Found) -> bool:
        docs = [registry.get(i) for i in by_path.get(str(item.path), [])]
        if not docs or any(d is None or not d.ingested_at for d in docs):
            return True
        try:
            modified = item.path.stat().st_mtime
            stamps = [datetime.fromisoformat(d.ingested_at).timestamp() for d in docs if d]
        except (OSError, ValueError):
            return True
        return modified >= min(stamps)

    if not any(not item.error and changed(item) for item in found):
        return None

    def load() -> None:
        with contextlib.suppress(Exception):  # the writer loads it again and reports failures
            _ = kb.embedder.backend
        with contextlib.suppress(Exception):
            importlib.import_module("llama_index.vector_stores.chroma")

    thread = threading.Thread(target=load, name="kb-model-load", daemon=True)
    thread.start()
    return thread


def _limits(kb: KnowledgeBase) -> Limits:
    s = kb.settings
    return Limits(
        s.max_file_mb,
        s.max_pdf_pages,
        s.file_timeout,
        s.max_file_memory_mb,
        ocr_cache=str(s.cache_dir),
        ocr_threads=s.threads,
    )


def _ingest_found(
    kb: KnowledgeBase,
    found: list[Found],
    pool: ReaderPool,
    writer: _Writer,
    report: IngestReport,
    registry: dict[str, DocMeta],
    by_path: dict[str, list[str]],
    claimed: dict[str, str],
    progress: Progress | None,
    reuse: bool = True,
) -> None:
    """Write each file's outcome in the order found (workers only read ahead)."""
    store = kb.store
    outcomes = pool.read([f.path for f in found if not f.error])
    for i, item in enumerate(found, start=1):
        if progress:
            progress(item.path.name, i - 1, len(found))
        parsed = item.error or next(outcomes)
        result = _ingest_one(kb, item, parsed, writer, registry, claimed, progress, reuse)
        report.files.append(result)
        for old_id in by_path.get(str(item.path), []):
            if result.status == "failed" or old_id == result.doc_id or old_id in claimed:
                continue
            writer.wait()  # the new document is committed before the old one goes
            store.forget_document(old_id)  # the file at this path now holds another document
            store.bump_generation()
            registry.pop(old_id, None)
            if result.status == "added":
                result.status = "updated"


def _import_seed(kb: KnowledgeBase, seed: Path, report: IngestReport) -> None:
    try:
        kb.embedder.import_seed(seed)
    except SeedCacheError as exc:
        report.warnings.append(f"shipped embedding cache not used: {exc}")


def _ingest_one(
    kb: KnowledgeBase,
    item: Found,
    parsed: Parsed | str,
    writer: _Writer,
    registry: dict[str, DocMeta],
    claimed: dict[str, str],
    progress: Progress | None,
    reuse: bool = True,
) -> FileResult:
    """Write one file's parsed outcome (a reason string when it could not be read)."""
    shown = str(item.path)
    if isinstance(parsed, str):
        return FileResult(shown, "failed", error=parsed)
    doc_id = parsed.meta["id"]
    if doc_id in claimed:
        return FileResult(
            shown, "failed", error=f"document id '{doc_id}' is already used by {claimed[doc_id]}"
        )
    claimed[doc_id] = shown
    result = _upsert(
        kb,
        parsed.meta,
        parsed.loaded,
        parsed.version,
        parsed.chunks,
        shown,
        writer,
        registry,
        progress,
        reuse,
    )
    result.pages_ocr = parsed.loaded.ocr_fresh
    return result


def _upsert(
    kb: KnowledgeBase,
    meta: dict[str, Any],
    loaded: Loaded,
    version: str,
    chunks: list[Chunk],
    shown: str,
    writer: _Writer,
    registry: dict[str, DocMeta],
    progress: Progress | None,
    reuse: bool = True,
) -> FileResult:
    """Write a loaded document unless the registry already holds this exact version; the
    registry then holds the document as committed."""
    doc_id = meta["id"]
    if not chunks:
        return FileResult(shown, "failed", doc_id, error="no text to index")
    old = registry.get(doc_id)
    doc = DocMeta(
        doc_id=doc_id,
        title=meta.get("title", ""),
        city=meta.get("city", ""),
        project=meta.get("project", ""),
        domain=meta.get("domain", ""),
        year=meta.get("year"),
        doc_type=meta.get("doc_type", ""),
        outcome=meta.get("outcome", ""),
        language=meta.get("language", ""),
        source=meta.get("source", ""),
        access=meta.get("access", "public"),
        path=shown,
        fmt=loaded.fmt,
        version=version,
        n_chunks=len(chunks),
        n_pages=loaded.n_pages,
        pages_ocr=len(loaded.ocr_pages),
        ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    if old is not None and old.version == version:
        writer.wait()  # writes stay in order
        if old.path != shown:
            kb.store.commit_document(replace(old, path=shown))
            kb.store.bump_generation()
        registry[doc_id] = lessons.refresh(kb, replace(old, path=shown))
        return FileResult(shown, "unchanged", doc_id, len(chunks))
    registry[doc_id] = _write(kb, doc, chunks, writer, progress, reuse)
    return FileResult(shown, "updated" if old else "added", doc_id, len(chunks))


@dataclass(frozen=True)
class Record:
    """A document given as text rather than a file (eval corpora, imports)."""

    doc_id: str
    text: str
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


def ingest_records(
    kb: KnowledgeBase, records: list[Record], progress: Progress | None = None
) -> IngestReport:
    """Ingest in-memory documents; unchanged ones cost nothing, as with files."""
    began = time.perf_counter()
    report = IngestReport()
    registry = dict(kb.store.registry())
    embedded_before = kb.embedder.embedded
    reuse = _may_reuse(kb)
    with _Writer(kb.store) as writer:
        for i, rec in enumerate(records, start=1):
            if progress:
                progress(rec.doc_id, i - 1, len(records))
            report.files.append(_ingest_record(kb, rec, writer, registry, progress, reuse))
    kb.lexical.refresh()
    report.chunks = kb.store.count()
    report.embedded = kb.embedder.embedded - embedded_before
    report.seconds = time.perf_counter() - began
    return report


def _ingest_record(
    kb: KnowledgeBase,
    rec: Record,
    writer: _Writer,
    registry: dict[str, DocMeta],
    progress: Progress | None,
    reuse: bool = True,
) -> FileResult:
    try:
        loaded = load_text(rec.text.encode("utf-8"), rec.doc_id)
        meta = {**{k: v for k, v in rec.metadata.items() if k in FIELDS}, "id": rec.doc_id}
        meta = validate_declared(meta)
    except LoadError as exc:
        return FileResult(rec.doc_id, "failed", rec.doc_id, error=str(exc))
    meta["title"] = nfc(rec.title) or meta.get("title", "")
    meta.setdefault("language", detect_language(loaded.text[:20000]))
    # the chunker's version is part of it, as for files: a new chunker reads the record again
    marks = [rec.text, rec.title, meta, CHUNKER_VERSION]
    version = content_hash(json.dumps(marks, sort_keys=True).encode())[:16]
    chunks = chunk_document(rec.doc_id, version, loaded)
    return _upsert(kb, meta, loaded, version, chunks, "", writer, registry, progress, reuse)


def _write(
    kb: KnowledgeBase,
    doc: DocMeta,
    chunks: list,
    writer: _Writer,
    progress: Progress | None,
    reuse: bool = True,
) -> DocMeta:
    """Embed a new version here, then hand ``writer`` its records (``Store.write_documents``
    writes them, then switches the registry to them, then deletes the old version's). The
    document as it will be committed. Vectors the store holds for the same texts are reused
    when ``reuse`` (``_may_reuse``)."""
    texts = [passage_text(doc.title, c.section, c.text) for c in chunks]
    hashes = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    embedder = kb.embedder
    if reuse and embedder.missing(texts):
        reuse = kb.store.vectors_by_hash(hashes)
        if reuse:
            from kb.store.embed_cache import cache_key
            from kb.store.embeddings import MODEL_ID

            by_hash = dict(zip(hashes, texts, strict=True))
            embedder.cache.put_many(
                (cache_key(MODEL_ID, "passage", by_hash[h]), v) for h, v in reuse.items()
            )
    vectors = embedder.passages(
        texts,
        on_batch=_counter(progress, f"embedding {doc.doc_id}", len(texts)),
        states=kb.settings.keep_token_states,
    )
    records, record_vectors = lessons.prepare(kb, doc, chunks)
    spans, sentence_vectors = _sentences(kb, doc, chunks, progress)
    doc = replace(doc, lessons=lessons.lessons_key(doc.version))
    lesson_ids, lesson_texts, lesson_metas = lessons.rows(doc.lessons, records)
    writer.submit(
        DocumentWrite(
            doc=doc,
            chunks=chunks,
            vectors=vectors,
            hashes=hashes,
            spans=spans,
            sentence_vectors=sentence_vectors,
            lesson_ids=lesson_ids,
            lesson_texts=lesson_texts,
            lesson_metas=lesson_metas,
            lesson_vectors=record_vectors,
        )
    )
    return doc


def _sentences(
    kb: KnowledgeBase, doc: DocMeta, chunks: list, progress: Progress | None
) -> tuple[list[tuple[str, int, int]], np.ndarray]:
    """The claims of a new version's passages and their vectors, embedded on their own (the
    answerer quotes the same texts, so they come from the cache when it does): a passage that
    holds the answer in one sentence among many is found by that sentence."""
    spans = [(c.chunk_id, s, e) for c in chunks for s, e in chunk_claims(c, doc.title)]
    text_of = {c.chunk_id: c.text for c in chunks}
    counter = _counter(progress, f"embedding the sentences of {doc.doc_id}", len(spans))
    vectors = kb.embedder.passages([text_of[c][s:e] for c, s, e in spans], on_batch=counter)
    return spans, vectors


def _counter(progress: Progress | None, what: str, total: int) -> Callable[[int], None]:
    """An embedder's ``on_batch``: reports ``what`` with the texts done so far."""
    done = 0

    def batch(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(what, done, total)

    return batch


def _prune(
    kb: KnowledgeBase,
    paths: list[Path],
    found: list[Found],
    registry: dict[str, DocMeta],
    claimed: dict[str, str],
    shard: tuple[int, int] | None,
) -> int:
    """Remove documents whose file was under a given folder and is no longer one of its files
    (deleted, or now skipped: hidden, a README, an unsupported type)."""
    roots = [p.resolve() for p in paths if p.is_dir()]
    present = {str(f.path) for f in found}
    removed = 0
    for doc in list(registry.values()):
        if doc is None or doc.doc_id in claimed or not doc.path or doc.path in present:
            continue
        doc_path = Path(doc.path)
        root = next((r for r in roots if doc_path.is_relative_to(r) or _under(doc_path, r)), None)
        if root is None or not in_shard(doc_path, root, shard):
            continue
        kb.store.forget_document(doc.doc_id)
        kb.store.bump_generation()
        removed += 1
    return removed


def _under(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except OSError:
        return False
