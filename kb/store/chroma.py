"""Chroma, the one source of truth: a chunk collection and a document registry beside it.

Writes follow a protocol that keeps readers consistent without transactions: a document's new
chunks are written under a new ``version`` first, then its registry record is switched to that
version (the commit point), then the old version's chunks are deleted. Readers only trust chunks
whose version is the registry's current one, so they see the old document or the new one, never
a mix. Every commit also changes the registry's ``generation``, which derived indexes (BM25)
compare against to know they are stale.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlparse

import numpy as np

from kb.settings import Settings
from kb.types import Chunk, DocMeta, Filters

STATE_ID = "__state__"
PAGE = 2000  # records per get() call; Chroma caps one add at ~5,400
# chunks (about 1 kB each) and documents' chunk lists kept in memory after a read: a chunk id
# names its document's version, so what was read for it never changes
RECENT_CHUNKS = 20_000
RECENT_DOCUMENTS = 500


class StoreError(RuntimeError):
    """A store problem a user can act on; the message says what to do."""


class StoreUnavailable(StoreError):
    pass


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from Chroma, with the version it was written under."""

    chunk: Chunk
    version: str
    text_hash: str


@dataclass(frozen=True)
class DocumentWrite:
    """One new document version's records, as :meth:`Store.write_documents` writes them: its
    chunks with their vectors and text hashes, its claims (``kb.store.claims``) as
    ``(chunk_id, start, end)`` spans with theirs, and its lesson records as built by
    ``kb.lessons.write``."""

    doc: DocMeta
    chunks: list[Chunk]
    vectors: np.ndarray
    hashes: list[str]
    spans: list[tuple[str, int, int]] = field(default_factory=list)
    sentence_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    lesson_ids: list[str] = field(default_factory=list)
    lesson_texts: list[str] = field(default_factory=list)
    lesson_metas: list[dict[str, Any]] = field(default_factory=list)
    lesson_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))

    @property
    def records(self) -> int:
        return len(self.chunks) + len(self.spans) + len(self.lesson_ids)


class _Recent:
    """The most recently used values of immutable records, by key, up to ``size``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, keys: Iterable[Any]) -> dict[Any, Any]:
        with self._lock:
            found = {key: self._items[key] for key in keys if key in self._items}
            for key in found:
                self._items.move_to_end(key)
            return found

    def put_many(self, items: dict[Any, Any]) -> None:
        with self._lock:
            self._items.update(items)
            for key in items:
                self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


@contextlib.contextmanager
def _guard(where: str, remote: bool) -> Iterator[None]:
    """Turn connection failures into one clear message naming the store."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        markers = ("connect", "Connection", "refused", "timed out", "Timeout", "unreachable")
        if remote and any(m in text for m in markers):
            raise StoreUnavailable(
                f"store unreachable at {where}: start the Chroma server or fix KB_CHROMA_URL"
            ) from exc
        raise


def _client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise StoreError(f"KB_CHROMA_URL {settings.chroma_url!r} is not an http(s) URL")
        port = url.port or (443 if url.scheme == "https" else 8000)
        with _guard(settings.chroma_url, True):
            return chromadb.HttpClient(
                host=url.hostname, port=port, ssl=url.scheme == "https", settings=chroma_settings
            )
    settings.store.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.store), settings=chroma_settings)


def _meta_of_doc(doc: DocMeta) -> dict[str, Any]:
    meta = {k: v for k, v in doc.to_dict().items() if v is not None}
    meta["kind"] = "doc"
    return meta


def _doc_of_meta(meta: dict[str, Any]) -> DocMeta:
    names = {f.name for f in fields(DocMeta)}
    return DocMeta(**{k: v for k, v in meta.items() if k in names})


def chunk_metadata(chunk: Chunk, doc: DocMeta, text_hash: str) -> dict[str, Any]:
    """Flat metadata of a chunk: its place, plus the document fields that filters use."""
    return {
        "doc_id": doc.doc_id,
        "version": doc.version,
        "chunk_index": chunk.index,
        "section": chunk.section,
        "page": chunk.page if chunk.page is not None else -1,
        "start": chunk.start,
        "end": chunk.end,
        "is_lesson": chunk.is_lesson,
        "is_reference": chunk.is_reference,
        "ocr": chunk.ocr,
        "ocr_confidence": chunk.ocr_confidence if chunk.ocr_confidence is not None else -1.0,
        "text_hash": text_hash,
        "title": doc.title,
        "city": doc.city,
        "domain": doc.domain,
        "outcome": doc.outcome,
        "language": doc.language,
        "doc_type": doc.doc_type,
        "year": doc.year if doc.year is not None else -1,
        "access": doc.access,
    }


def _chunk_nodes(
    doc: DocMeta, chunks: list[Chunk], vectors: np.ndarray, hashes: list[str]
) -> list[Any]:
    """A document version's chunks as llama-index nodes, with their vectors."""
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    return [
        TextNode(
            id_=c.chunk_id,
            text=c.text,
            embedding=vectors[i].tolist(),
            metadata=chunk_metadata(c, doc, hashes[i]),
            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc.doc_id)},
        )
        for i, c in enumerate(chunks)
    ]


def _sentence_rows(
    doc: DocMeta, spans: list[tuple[str, int, int]]
) -> tuple[list[str], list[dict[str, Any]]]:
    """The ids and metadata of a document version's claim records."""
    ids = [f"{cid}@{start}" for cid, start, _ in spans]
    metas = [
        {"doc_id": doc.doc_id, "version": doc.version, "chunk_id": cid, "start": s, "end": e}
        for cid, s, e in spans
    ]
    return ids, metas


def _any_of(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    """A ``where`` matching any of ``clauses`` (Chroma's ``$or`` wants two or more)."""
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


def chunk_of(chunk_id: str, text: str, meta: dict[str, Any]) -> StoredChunk:
    page = int(meta.get("page", -1))
    confidence = float(meta.get("ocr_confidence", -1.0))
    chunk = Chunk(
        chunk_id=chunk_id,
        doc_id=str(meta["doc_id"]),
        index=int(meta.get("chunk_index", 0)),
        text=text or "",
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        section=str(meta.get("section", "")),
        page=page if page >= 0 else None,
        is_lesson=bool(meta.get("is_lesson", False)),
        is_reference=bool(meta.get("is_reference", False)),
        ocr=bool(meta.get("ocr", False)),
        ocr_confidence=confidence if confidence >= 0 else None,
    )
    return StoredChunk(chunk, str(meta.get("version", "")), str(meta.get("text_hash", "")))


def where_clause(filters: Filters | None) -> dict[str, Any] | None:
    """Filters as a Chroma ``where``, so narrow filters still return k results (None: no
    filter, which keeps Chroma's fast unfiltered search)."""
    filters = filters or Filters()
    parts: list[dict[str, Any]] = []
    for key in ("city", "domain", "outcome", "language", "doc_type"):
        values = getattr(filters, key)
        if values:
            parts.append({key: {"$in": list(values)}})
    if filters.doc_ids:
        parts.append({"doc_id": {"$in": list(filters.doc_ids)}})
    if filters.year_from is not None:
        parts.append({"year": {"$gte": int(filters.year_from)}})
    if filters.year_to is not None:
        parts.append({"year": {"$lte": int(filters.year_to)}})
        if filters.year_from is None:
            parts.append({"year": {"$gte": 0}})
    if filters.public_only:
        parts.append({"access": "public"})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


class Store:
    """The chunk collection and the document registry of one knowledge base."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.where = settings.where
        self._remote = bool(settings.chroma_url)
        self._lock = threading.Lock()
        with self.guard():
            self.client = _client(settings)
            space = {"hnsw:space": "cosine"}
            self.chunks = self.client.get_or_create_collection(settings.collection, metadata=space)
            self.registry_col = self.client.get_or_create_collection(settings.collection + "-docs")
            # lesson records (kb.lessons), written and deleted with their document's chunks
            self.lessons_col = self.client.get_or_create_collection(
                settings.collection + "-lessons", metadata=space
            )
            self.sentences = self.client.get_or_create_collection(
                settings.collection + "-sentences", metadata=space
            )
        self._registry_cache: tuple[str, dict[str, DocMeta]] | None = None
        self._last_generation: tuple[float, str] | None = None  # (when its read began, value)
        self._chunks_by_id = _Recent(RECENT_CHUNKS)
        self._chunks_by_version = _Recent(RECENT_DOCUMENTS)  # (doc id, version) -> chunks

    def guard(self) -> contextlib.AbstractContextManager[None]:
        return _guard(self.where, self._remote)

    # -- registry -------------------------------------------------------------------------
    def generation(self, within: float = 0.0) -> str:
        """The store's generation, read now; or the last one read, if its read began less than
        ``within`` seconds ago (where a later fresh read checks it: a search's start, which is
        then as if the search had begun a little earlier)."""
        last = self._last_generation
        if within > 0 and last is not None and time.monotonic() - last[0] < within:
            return last[1]
        began = time.monotonic()
        with self.guard():
            got = self.registry_col.get(ids=[STATE_ID], include=["metadatas"])
        metas = got.get("metadatas") or []
        value = str(metas[0].get("generation", "")) if metas else ""
        if last is None or began > last[0]:
            self._last_generation = (began, value)
        return value

    def bump_generation(self) -> str:
        gen = uuid.uuid4().hex
        with self.guard():
            self.registry_col.upsert(
                ids=[STATE_ID], embeddings=[[1.0]], metadatas=[{"kind": "state", "generation": gen}]
            )
        return gen

    def registry(self, generation: str | None = None) -> dict[str, DocMeta]:
        """All documents by id; re-read only when the generation changed. A caller that has
        just read the generation passes it (one Chroma read less per search)."""
        gen = self.generation() if generation is None else generation
        cached = self._registry_cache
        if cached and cached[0] == gen and gen:
            return cached[1]
        docs: dict[str, DocMeta] = {}
        with self.guard():
            got = self.registry_col.get(where={"kind": "doc"}, include=["metadatas"])
        for meta in got.get("metadatas") or []:
            doc = _doc_of_meta(meta)
            docs[doc.doc_id] = doc
        self._registry_cache = (gen, docs)
        return docs

    def document(self, doc_id: str) -> DocMeta | None:
        with self.guard():
            got = self.registry_col.get(ids=[doc_id], include=["metadatas"])
        metas = got.get("metadatas") or []
        return _doc_of_meta(metas[0]) if metas else None

    def commit_document(self, doc: DocMeta) -> None:
        """Make ``doc.version`` the visible version of the document (one atomic upsert)."""
        with self.guard():
            self.registry_col.upsert(
                ids=[doc.doc_id], embeddings=[[1.0]], metadatas=[_meta_of_doc(doc)]
            )

    def forget_document(self, doc_id: str) -> None:
        """Remove a document: registry record first (readers stop seeing it), then its chunks."""
        with self.guard():
            self.registry_col.delete(ids=[doc_id])
            self.chunks.delete(where={"doc_id": doc_id})
            self.lessons_col.delete(where={"doc_id": doc_id})
            self.sentences.delete(where={"doc_id": doc_id})

    # -- chunks ---------------------------------------------------------------------------
    def add_chunks(
        self, doc: DocMeta, chunks: list[Chunk], vectors: np.ndarray, hashes: list[str]
    ) -> None:
        """Write a document version's chunks, uncommitted (``write_documents`` commits)."""
        self._add_nodes(_chunk_nodes(doc, chunks, vectors, hashes))

    def _add_nodes(self, nodes: list[Any]) -> None:
        """Chunks go through llama-index's Chroma vector store (the ingest pipeline's contract;
        imported here only, so a command that writes nothing does not pay llama-index's 2-3 s
        import)."""
        from llama_index.vector_stores.chroma import ChromaVectorStore

        store = ChromaVectorStore(chroma_collection=self.chunks)
        with self.guard():
            for i in range(0, len(nodes), PAGE):
                store.add(nodes[i : i + PAGE])

    def add_sentences(
        self, doc: DocMeta, spans: list[tuple[str, int, int]], vectors: np.ndarray
    ) -> None:
        """A document version's claim vectors, one per ``(chunk_id, start, end)``: dense search
        scores a passage by its best sentence as well as by itself (``kb.retrieval.lexical``)."""
        ids, metas = _sentence_rows(doc, spans)
        self._upsert_sentences(ids, metas, vectors)

    def _upsert_sentences(
        self, ids: list[str], metas: list[dict[str, Any]], vectors: np.ndarray
    ) -> None:
        with self.guard():
            for i in range(0, len(ids), PAGE):
                self.sentences.upsert(
                    ids=ids[i : i + PAGE],
                    embeddings=vectors[i : i + PAGE].tolist(),
                    metadatas=metas[i : i + PAGE],
                )

    def write_documents(self, writes: list[DocumentWrite]) -> None:
        """New versions of several documents, in as few Chroma calls as their sizes allow: all
        their records, then the registry switch of all of them in one upsert (each document's
        commit point, after its records) and one new generation, then their other versions go.
        Embedded Chroma holds Python's lock through every call, so an ingest's embedding waits
        on each one: a call per document and collection cost a cold ingest about a tenth of its
        time (``bench/ingest.py``)."""
        if not writes:
            return
        self._add_nodes(
            [n for w in writes for n in _chunk_nodes(w.doc, w.chunks, w.vectors, w.hashes)]
        )
        lessons = [w for w in writes if w.lesson_ids]
        if lessons:
            self.add_lesson_records(
                [i for w in lessons for i in w.lesson_ids],
                [t for w in lessons for t in w.lesson_texts],
                [m for w in lessons for m in w.lesson_metas],
                np.concatenate([w.lesson_vectors for w in lessons]),
            )
        sentences = [w for w in writes if w.spans]
        if sentences:
            rows = [_sentence_rows(w.doc, w.spans) for w in sentences]
            self._upsert_sentences(
                [i for ids, _ in rows for i in ids],
                [m for _, metas in rows for m in metas],
                np.concatenate([w.sentence_vectors for w in sentences]),
            )
        with self.guard():
            self.registry_col.upsert(
                ids=[w.doc.doc_id for w in writes],
                embeddings=[[1.0]] * len(writes),
                metadatas=[_meta_of_doc(w.doc) for w in writes],
            )
        # the generation moves before the old versions go: a reader that read the registry
        # earlier sees it change and searches again instead of finding neither version
        self.bump_generation()
        others = _any_of(
            [
                {"$and": [{"doc_id": w.doc.doc_id}, {"version": {"$ne": w.doc.version}}]}
                for w in writes
            ]
        )
        other_lessons = _any_of(
            [
                {"$and": [{"doc_id": w.doc.doc_id}, {"version": {"$ne": w.doc.lessons}}]}
                for w in writes
            ]
        )
        with self.guard():
            self.chunks.delete(where=others)
            self.sentences.delete(where=others)
            self.lessons_col.delete(where=other_lessons)

    def iter_sentences(
        self, chunk_ids: list[str] | None = None
    ) -> Iterator[tuple[str, np.ndarray]]:
        """Stored sentence vectors with their chunk's id (paged), committed or not: all of
        them, or those of ``chunk_ids``."""
        wheres = (
            [None]
            if chunk_ids is None
            else [
                {"chunk_id": {"$in": chunk_ids[i : i + 500]}} for i in range(0, len(chunk_ids), 500)
            ]
        )
        for where in wheres:
            for got in self._pages(self.sentences, where, ["metadatas", "embeddings"]):
                for meta, vec in zip(got["metadatas"], got["embeddings"], strict=True):
                    yield str(meta["chunk_id"]), np.asarray(vec, dtype=np.float32)

    def sentence_records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every stored sentence record's id and metadata (paged, without vectors): what
        ``kb check`` reads to find those no reader can see."""
        for got in self._pages(self.sentences, None, ["metadatas"]):
            yield from zip(got["ids"], got["metadatas"], strict=True)

    def delete_sentence_records(self, ids: list[str]) -> None:
        with self.guard():
            for i in range(0, len(ids), PAGE):
                self.sentences.delete(ids=ids[i : i + PAGE])

    def delete_chunks(self, ids: list[str]) -> None:
        with self.guard():
            for i in range(0, len(ids), PAGE):
                self.chunks.delete(ids=ids[i : i + PAGE])
                self.sentences.delete(where={"chunk_id": {"$in": ids[i : i + PAGE]}})

    # -- lesson records -------------------------------------------------------------------
    def add_lesson_records(
        self, ids: list[str], texts: list[str], metas: list[dict[str, Any]], vectors: np.ndarray
    ) -> None:
        """Write lesson records (built by ``kb.lessons.write``) beside the chunks."""
        with self.guard():
            for i in range(0, len(ids), PAGE):
                self.lessons_col.add(
                    ids=ids[i : i + PAGE],
                    documents=texts[i : i + PAGE],
                    metadatas=metas[i : i + PAGE],
                    embeddings=vectors[i : i + PAGE].tolist(),
                )

    def delete_other_lesson_versions(self, doc_id: str, key: str) -> None:
        with self.guard():
            self.lessons_col.delete(where={"$and": [{"doc_id": doc_id}, {"version": {"$ne": key}}]})

    def delete_lesson_records(self, ids: list[str]) -> None:
        with self.guard():
            for i in range(0, len(ids), PAGE):
                self.lessons_col.delete(ids=ids[i : i + PAGE])

    def iter_lesson_records(
        self, where: dict[str, Any] | None = None, with_vectors: bool = False
    ) -> Iterator[tuple[str, str, dict[str, Any], np.ndarray | None]]:
        """Every stored lesson record (id, text, metadata, vector), committed or not."""
        include = ["metadatas", "documents"] + (["embeddings"] if with_vectors else [])
        for got in self._pages(self.lessons_col, where, include):
            vecs = got.get("embeddings") if with_vectors else None
            for i, rid in enumerate(got["ids"]):
                vec = np.asarray(vecs[i], dtype=np.float32) if vecs is not None else None
                yield rid, got["documents"][i] or "", got["metadatas"][i], vec

    def count(self) -> int:
        with self.guard():
            return self.chunks.count()

    def iter_chunks(
        self,
        where: dict[str, Any] | None = None,
        with_text: bool = True,
        with_vectors: bool = False,
    ) -> Iterator[tuple[StoredChunk, np.ndarray | None]]:
        """Every stored chunk (paged), including versions not yet or no longer committed."""
        include = ["metadatas"] + (["documents"] if with_text else [])
        include += ["embeddings"] if with_vectors else []
        for got in self._pages(self.chunks, where, include):
            texts = got.get("documents") if with_text else None
            vecs = got.get("embeddings") if with_vectors else None
            for i, cid in enumerate(got["ids"]):
                text = texts[i] if texts is not None else ""
                vec = np.asarray(vecs[i], dtype=np.float32) if vecs is not None else None
                yield chunk_of(cid, text, got["metadatas"][i]), vec

    def _pages(
        self, collection: Any, where: dict[str, Any] | None, include: list[str]
    ) -> Iterator[dict[str, Any]]:
        """A collection's records, ``PAGE`` at a time (one Chroma ``get`` each)."""
        offset = 0
        while True:
            with self.guard():
                got = collection.get(where=where, include=include, limit=PAGE, offset=offset)
            if not got["ids"]:
                return
            yield got
            offset += len(got["ids"])

    def live_chunks(self, doc_id: str) -> list[Chunk]:
        """A document's committed chunks in reading order (its version's read once)."""
        doc = self.document(doc_id)
        if doc is None:
            return []
        key = (doc_id, doc.version)
        cached = self._chunks_by_version.get_many([key])
        if cached:
            return list(cached[key])
        where = {"$and": [{"doc_id": doc_id}, {"version": doc.version}]}
        found = sorted((sc.chunk for sc, _ in self.iter_chunks(where)), key=lambda c: c.index)
        self._chunks_by_version.put_many({key: tuple(found)})
        return found

    def vectors_by_hash(self, hashes: list[str]) -> dict[str, np.ndarray]:
        """Vectors already in the store for these chunk texts (a renamed file costs nothing)."""
        found: dict[str, np.ndarray] = {}
        wanted = list(dict.fromkeys(hashes))
        for i in range(0, len(wanted), 500):
            where = {"text_hash": {"$in": wanted[i : i + 500]}}
            for sc, vec in self.iter_chunks(where, with_text=False, with_vectors=True):
                if vec is not None:
                    found[sc.text_hash] = vec
        return found

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these chunks, by id (deleted ones are missing)."""
        from chromadb.errors import InternalError

        found: dict[str, np.ndarray] = {}
        for i in range(0, len(ids), PAGE):
            try:
                with self.guard():
                    got = self.chunks.get(ids=ids[i : i + PAGE], include=["embeddings"])
            except InternalError:
                # an embedded store that another process writes to (the app while a shell's
                # kb ingest runs) may not find by id what that process wrote: read by pages
                wanted = set(ids)
                return {
                    sc.chunk.chunk_id: vec
                    for sc, vec in self.iter_chunks(with_text=False, with_vectors=True)
                    if sc.chunk.chunk_id in wanted and vec is not None
                }
            vecs = got.get("embeddings")
            if vecs is None:
                continue
            for cid, vec in zip(got["ids"], vecs, strict=True):
                found[cid] = np.asarray(vec, dtype=np.float32)
        return found

    def dense_query(
        self, vector: np.ndarray, n: int, filters: Filters | None, with_vectors: bool = False
    ) -> list[tuple[StoredChunk, float, np.ndarray | None]]:
        """Nearest chunks by cosine similarity, filtered inside the store, with their vectors
        when asked; no source lists."""
        include = ["metadatas", "documents", "distances"] + (["embeddings"] if with_vectors else [])
        with self.guard():  # an empty collection answers with no rows: no count() first
            got = self.chunks.query(
                query_embeddings=[vector.tolist()],
                n_results=n,
                where=where_clause(filters),
                include=include,
            )
        vecs = got.get("embeddings") if with_vectors else None
        found = [
            (
                chunk_of(cid, got["documents"][0][i], got["metadatas"][0][i]),
                1.0 - float(got["distances"][0][i]),
                np.asarray(vecs[0][i], dtype=np.float32) if vecs is not None else None,
            )
            for i, cid in enumerate(got["ids"][0])
        ]
        # Source lists (about a tenth of the chunks) are dropped here rather than in the query:
        # a metadata filter makes every Chroma query several times slower.
        return [row for row in found if not row[0].chunk.is_reference]

    def get_chunks(self, ids: list[str]) -> dict[str, StoredChunk]:
        """Chunks by id, those read before from memory: a deleted chunk may still be returned
        from there, which a reader never serves, since it keeps only chunks of the registry's
        current version."""
        found = self._chunks_by_id.get_many(ids)
        missing = [cid for cid in ids if cid not in found]
        if not missing:
            return found
        with self.guard():
            got = self.chunks.get(ids=missing, include=["metadatas", "documents"])
        read = {
            cid: chunk_of(cid, got["documents"][i], got["metadatas"][i])
            for i, cid in enumerate(got["ids"])
        }
        self._chunks_by_id.put_many(read)
        return found | read
