"""The lessons a reader asked for: :func:`lessons`, which the CLI, the app and the API call.

Filters run inside the store as search's do (``kb.store.chroma.where_clause``), only committed
records are read (their key is the registry's), and access is decided here once: a reader who may
not
see internal documents gets neither their lessons nor anything made from them (theme labels,
terms and counts are computed from the visible lessons only).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from itertools import pairwise

import numpy as np

from kb.knowledge_base import KnowledgeBase
from kb.lessons.records import KINDS, Lesson, LessonSet, Theme
from kb.lessons.themes import theme_index
from kb.lessons.write import lesson_of
from kb.retrieval.glossary import default_glossary
from kb.store.chroma import where_clause
from kb.text import STOP_WORDS, words
from kb.types import CITIES, LANGUAGES, Filters

LABEL_CHARS = 90
TERMS = 4
UI_LANGUAGES = ("vi", "en")


class LessonError(ValueError):
    """A filter value that names nothing; ``field`` is the filter it was given for."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def lessons(
    kb: KnowledgeBase,
    *,
    city: str | list[str] | None = None,
    domain: str | list[str] | None = None,
    kind: str | list[str] | None = None,
    theme: str | list[str] | None = None,
    language: str | list[str] | None = None,
    public_only: bool = False,
) -> LessonSet:
    """The stored lessons that pass the filters, grouped in their themes (largest first).
    ``public_only`` (or the settings' ``public_only``) hides internal documents' lessons."""
    wanted = {
        "city": _values(city),
        "domain": _values(domain),
        "kind": _values(kind),
        "language": _values(language),
    }
    _check("city", wanted["city"], CITIES)
    _check("kind", wanted["kind"], KINDS)
    _check("lang", wanted["language"], LANGUAGES)
    themes = theme_index(kb).current()
    access = Filters(public_only=public_only)
    readable = [lesson for lesson, _ in committed(kb, access, themes.assignment())]
    theme_ids = _values(theme)
    unknown = [t for t in theme_ids if t not in themes.members]
    if unknown:
        raise LessonError("theme", f"no theme {unknown[0]!r}: `kb lessons --json` lists them")
    chosen = [
        x
        for x in readable
        if all(not values or getattr(x, name) in values for name, values in wanted.items())
        and (not theme_ids or x.theme in theme_ids)
    ]
    order = {lid: i for ids in themes.members.values() for i, lid in enumerate(ids)}
    groups = _themes(chosen, readable, order)
    rank = {t.id: i for i, t in enumerate(groups)}
    chosen.sort(key=lambda x: (rank.get(x.theme, len(rank)), order.get(x.id, 0), x.doc_id))
    return LessonSet(lessons=chosen, themes=groups)


def committed(
    kb: KnowledgeBase,
    filters: Filters,
    themes: dict[str, str],
    with_vectors: bool = False,
) -> list[tuple[Lesson, np.ndarray | None]]:
    """The committed lessons that pass ``filters`` (inside the store, as search filters; the
    settings' ``public_only`` included), each with its theme from ``themes`` and, when asked,
    its vector."""
    if kb.settings.public_only:
        filters = replace(filters, public_only=True)
    registry = kb.store.registry()
    return [
        (replace(lesson_of(text, meta), theme=themes.get(str(meta["lesson_id"]), "")), vec)
        for _, text, meta, vec in kb.store.iter_lesson_records(where_clause(filters), with_vectors)
        if getattr(registry.get(str(meta["doc_id"])), "lessons", None) == meta.get("version")
    ]


def _values(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _check(field: str, values: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    for value in values:
        if value not in allowed:
            raise LessonError(field, f"unknown {field} {value!r}: use one of {', '.join(allowed)}")


def _themes(chosen: list[Lesson], readable: list[Lesson], order: dict[str, int]) -> list[Theme]:
    """The themes of the chosen lessons, counted over those lessons; labelled (most central
    lesson, distinctive terms) from every lesson the reader may see, so that a filter does not
    rename a theme and an internal lesson never names one for a reader who may not see it."""
    counted: dict[str, list[Lesson]] = {}
    for lesson in chosen:
        if lesson.theme:
            counted.setdefault(lesson.theme, []).append(lesson)
    members: dict[str, list[Lesson]] = {}
    for lesson in sorted(readable, key=lambda x: order.get(x.id, 0)):  # most central first
        members.setdefault(lesson.theme, []).append(lesson)
    df = _document_frequency(readable)
    out = []
    for tid, group in counted.items():
        terms = {lang: _terms(members[tid], lang, df, len(readable)) for lang in UI_LANGUAGES}
        out.append(
            Theme(
                id=tid,
                labels={lang: _label(members[tid], lang) for lang in UI_LANGUAGES},
                cities=dict(Counter(x.city for x in group).most_common()),
                size=len(group),
                terms={lang: t for lang, t in terms.items() if t},
            )
        )
    out.sort(key=lambda t: (-t.size, -len(t.cities), t.id))
    return out


def _label(group: list[Lesson], language: str) -> str:
    """The most central lesson written in ``language``; for a theme with none, the glossary's
    translation of the most central lesson's terms, else that lesson itself."""
    own = next((x for x in group if x.language == language), None)
    if own is not None:
        return _shorten(own.text)
    head = group[0]
    concepts = default_glossary().concepts(head.text, head.language)
    translated = list(dict.fromkeys(targets[0] for _, targets in concepts))[:TERMS]
    return ", ".join(translated).capitalize() if translated else _shorten(head.text)


def _shorten(text: str) -> str:
    """A label: the lesson's first sentence or clause, cut at a word within LABEL_CHARS."""
    first = re.split(r"(?<=[.;:!?])\s", " ".join(text.split()), maxsplit=1)[0].rstrip(".;:")
    if len(first) <= LABEL_CHARS:
        return first
    return first[:LABEL_CHARS].rsplit(" ", 1)[0] + " …"


def _document_frequency(visible: list[Lesson]) -> Counter[str]:
    df: Counter[str] = Counter()
    for lesson in visible:
        df.update(set(_tokens(lesson)))
    return df


def _tokens(lesson: Lesson) -> list[str]:
    """Content words (English) or syllable pairs (Vietnamese, whose words are two syllables)."""
    found = [w for w in words(lesson.text) if w not in STOP_WORDS and not w.isdigit()]
    if lesson.language == "vi":
        return [f"{a} {b}" for a, b in pairwise(found)]
    return [w for w in found if len(w) > 3]


def _terms(group: list[Lesson], language: str, df: Counter[str], total: int) -> list[str]:
    """The theme's distinctive terms in ``language``: frequent in it, rare elsewhere."""
    tf: Counter[str] = Counter()
    for lesson in group:
        if lesson.language == language:
            tf.update(set(_tokens(lesson)))
    scored = {t: n * (1 + (total / (1 + df[t])) ** 0.5) for t, n in tf.items() if n >= 2}
    return sorted(scored, key=lambda t: (-scored[t], t))[:TERMS]
