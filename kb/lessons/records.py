"""The data passed between the lesson stages: a lesson record, a theme, a filtered set of both."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# what a record states: a lesson drawn, a cause of a failure, a recommendation, or what made a
# project succeed
KINDS = ("lesson", "cause", "recommendation", "success_factor")


@dataclass(frozen=True)
class Lesson:
    """One record: ``text == chunk.text[start:end]`` of the chunk it was read from, as
    citations are. ``id`` depends on the document and the text only, so it survives a re-ingest
    that changes other parts of the document (theme ids rest on it)."""

    id: str
    text: str
    kind: str
    doc_id: str
    chunk_id: str
    start: int
    end: int
    city: str = ""
    domain: str = ""
    outcome: str = ""
    year: int | None = None
    language: str = ""
    access: str = "public"
    title: str = ""
    theme: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "kind": self.kind,
            "doc_id": self.doc_id,
            "chunk_id": self.chunk_id,
            "start": self.start,
            "end": self.end,
            "city": self.city,
            "domain": self.domain,
            "outcome": self.outcome,
            "year": self.year,
            "language": self.language,
            "theme": self.theme,
            "title": self.title,
        }


@dataclass(frozen=True)
class Theme:
    """A group of lessons that make the same point, in any city or language. ``labels`` holds
    one label per interface language; ``cities`` and ``size`` count only the lessons of the set
    it belongs to (what the reader may see)."""

    id: str
    labels: dict[str, str]
    cities: dict[str, int]
    size: int
    terms: dict[str, list[str]] = field(default_factory=dict)

    def label(self, language: str = "en") -> str:
        return self.labels.get(language) or next(iter(self.labels.values()), self.id)

    def to_json(self, language: str = "en") -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label(language),
            "labels": dict(self.labels),
            "cities": dict(self.cities),
            "size": self.size,
            "terms": {k: list(v) for k, v in self.terms.items()},
        }


@dataclass(frozen=True)
class LessonSet:
    """The lessons a reader asked for, and the themes they fall in (largest first)."""

    lessons: list[Lesson]
    themes: list[Theme]

    def by_theme(self) -> dict[str, list[Lesson]]:
        out: dict[str, list[Lesson]] = {t.id: [] for t in self.themes}
        for lesson in self.lessons:
            out.setdefault(lesson.theme, []).append(lesson)
        return out

    def only(self, theme_ids: list[str]) -> LessonSet:
        """The set cut to ``theme_ids``, in their order (a ranking, such as a search's)."""
        rank = {tid: i for i, tid in enumerate(theme_ids)}
        themes = sorted((t for t in self.themes if t.id in rank), key=lambda t: rank[t.id])
        kept = sorted((x for x in self.lessons if x.theme in rank), key=lambda x: rank[x.theme])
        return LessonSet(lessons=kept, themes=themes)

    def recurring(self) -> list[Theme]:
        """Themes met in two cities or more (the same failure met twice)."""
        return [t for t in self.themes if len([c for c in t.cities if c != "multi"]) >= 2]

    def to_json(self, language: str = "en") -> dict[str, Any]:
        return {
            "lessons": [lesson.to_json() for lesson in self.lessons],
            "themes": [t.to_json(language) for t in self.themes],
        }
