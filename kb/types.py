"""Plain data passed between the stages: documents, chunks, hits, answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

CITIES = ("hanoi", "hcmc", "danang", "multi")
OUTCOMES = ("success", "partial", "failure", "ongoing")
LANGUAGES = ("vi", "en")
ACCESS = ("public", "internal")
CITY_NAMES = {
    "hanoi": "Hà Nội",
    "hcmc": "TP. Hồ Chí Minh",
    "danang": "Đà Nẵng",
    "multi": "3 cities",
}
# How questions name the cities, lowercased, with and without diacritics
CITY_WORDS = {
    "hanoi": ("hà nội", "ha noi", "hanoi"),
    "hcmc": ("hồ chí minh", "ho chi minh", "hcmc", "tp.hcm", "tphcm", "saigon", "sài gòn"),
    "danang": ("đà nẵng", "da nang", "danang"),
}


@dataclass(frozen=True)
class DocMeta:
    """A document's metadata as the registry holds it. Empty string means unknown."""

    doc_id: str
    title: str = ""
    city: str = ""
    project: str = ""
    domain: str = ""
    year: int | None = None
    doc_type: str = ""
    outcome: str = ""
    language: str = ""
    source: str = ""
    access: str = "public"
    path: str = ""
    fmt: str = ""
    version: str = ""
    n_chunks: int = 0
    n_pages: int = 0
    ingested_at: str = ""
    pages_ocr: int = 0  # pages whose text was recognised from a scan
    # the key its lesson records are stored under (kb.lessons.write): readers trust only the
    # records with this key, as they trust only the chunks of ``version``
    lessons: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Chunk:
    """A passage of a document; ``text`` is ``document_text[start:end]``."""

    chunk_id: str
    doc_id: str
    index: int
    text: str
    start: int
    end: int
    section: str = ""
    page: int | None = None
    is_lesson: bool = False
    is_reference: bool = False  # a source list: kept for readers, left out of search
    ocr: bool = False  # text recognised from a scanned page, not read from a text layer
    ocr_confidence: float | None = None  # the OCR engine's mean word confidence, 0-100


@dataclass(frozen=True)
class Filters:
    """Restrictions applied inside the store query."""

    city: tuple[str, ...] = ()
    domain: tuple[str, ...] = ()
    outcome: tuple[str, ...] = ()
    language: tuple[str, ...] = ()
    doc_type: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    doc_ids: tuple[str, ...] = ()
    public_only: bool = False

    @classmethod
    def make(cls, **kwargs: Any) -> Filters:
        """Accept single strings or iterables for the multi-valued fields."""
        clean: dict[str, Any] = {}
        for key, value in kwargs.items():
            if value is None or value == "" or value == ():
                continue
            if key in {"city", "domain", "outcome", "language", "doc_type", "doc_ids"}:
                value = (value,) if isinstance(value, str) else tuple(value)
            clean[key] = value
        return cls(**clean)


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with the document it belongs to."""

    rank: int
    score: float
    chunk: Chunk
    doc: DocMeta
    dense_score: float | None = None
    lexical_score: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "doc_id": self.doc.doc_id,
            "chunk_id": self.chunk.chunk_id,
            "title": self.doc.title,
            "city": self.doc.city,
            "page": self.chunk.page,
            "text": self.chunk.text,
            "source": self.doc.source,
            "ocr": self.chunk.ocr,
            "ocr_confidence": self.chunk.ocr_confidence,
        }


@dataclass(frozen=True)
class Citation:
    """The exact span of a passage that supports a claim: ``chunk.text[start:end] == quote``."""

    n: int
    doc_id: str
    chunk_id: str
    title: str
    city: str
    page: int | None
    quote: str
    start: int
    end: int
    year: int | None = None
    outcome: str = ""
    section: str = ""
    ocr: bool = False  # the passage was recognised from a scan (see Chunk.ocr)
    ocr_confidence: float | None = None
    fmt: str = ""  # the document's format: a pptx's page is a slide (kb.store.page_label)

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "chunk_id": self.chunk_id,
            "title": self.title,
            "city": self.city,
            "page": self.page,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "ocr": self.ocr,
            "ocr_confidence": self.ocr_confidence,
            "fmt": self.fmt,
        }


@dataclass(frozen=True)
class Answer:
    """An answer whose every ``[n]`` marker has its citation, and every citation is used."""

    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    nearest: list[DocMeta] = field(default_factory=list)
    note: str = ""
    answerer: str = "offline"
    # a comparison's parts, side by side: city code -> text, or the project compared -> text
    parts: dict[str, str] = field(default_factory=dict)
    # when abstained, why: the names in the question that no document mentions, or the kind of
    # figure asked for (kb.retrieval.answer_type) that the nearest documents do not give
    missing: list[str] = field(default_factory=list)
    wanted: str | None = None
    # ... or the names and figures of the question that the closest passage lacks
    # (kb.answers.abstention.lacked_names)
    lacked: list[str] = field(default_factory=list)
    # answered, but the passages hold little of the question's wording
    # (kb.answers.abstention.weak_match), and the question's words they lack
    # (kb.answers.abstention.unmatched_words)
    weak_match: bool = False
    unmatched: list[str] = field(default_factory=list)
    # for a question that asks for lessons: the lessons recorded on its theme in every city,
    # listed beside the answer with their own citations (kb.lessons.ask)
    lessons: Answer | None = None
    # typed without tones: the question as it was read, its tones put back (kb.retrieval.tones)
    read_as: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.to_json() for c in self.citations],
            "note": self.note,
            "answerer": self.answerer,
            "nearest": [
                {"doc_id": d.doc_id, "title": d.title, "city": d.city} for d in self.nearest
            ],
            "missing": self.missing,
            "wanted": self.wanted,
            "lacked": self.lacked,
            "weak_match": self.weak_match,
            "unmatched": self.unmatched,
            "lessons": self.lessons.to_json() if self.lessons else None,
            "read_as": self.read_as,
        }
