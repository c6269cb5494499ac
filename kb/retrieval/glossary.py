"""Term-by-term query translation between Vietnamese and English, from a domain glossary.

Why: BM25 cannot match an English question against a Vietnamese report (or the reverse), and
the small multilingual embedding ranks same-language neighbours above the other-language answer.
Translating the question's domain terms ("electronic health records" -> "hồ sơ sức khỏe điện
tử") gives BM25 a second, other-language query whose matches vote for those passages in fusion.

``kb/data/glossary.tsv`` holds one concept per line, ``vi<TAB>en``, variants separated by ``|``;
it was written from the corpus vocabulary, independently of the eval sets. Longest phrases
match first, so "cổng dữ liệu" wins over "cổng".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kb.text import nfc

GLOSSARY = Path(__file__).resolve().parents[1] / "data" / "glossary.tsv"
VARIANTS_USED = 2  # target-language variants added per matched concept
_KEEP = re.compile(r"\b(?:\d[\d./,]*\d|\d|[A-ZĐ][A-ZĐ0-9]+)\b")  # numbers and acronyms


class PhraseTrie:
    r"""The glossary's phrases of one language, found in a text longest first.

    Matches what one regular expression ``(?<!\w)(?:longest|...|shortest)(?!\w)`` run by
    ``finditer`` finds (leftmost, then longest, whole words, not overlapping), without compiling
    that expression: compiling 1,600 alternatives cost 0.3-0.6 s of every cold ``kb ask``.
    """

    def __init__(self, phrases: list[str]) -> None:
        self.root: dict[str, dict] = {}
        for phrase in phrases:
            node = self.root
            for ch in phrase:
                node = node.setdefault(ch, {})
            node[""] = {}  # a phrase ends here

    def find(self, text: str) -> list[str]:
        found, i, n = [], 0, len(text)
        while i < n:
            end = -1
            if i == 0 or not _word(text[i - 1]):
                node, j = self.root, i
                while j < n and text[j] in node:
                    node = node[text[j]]
                    j += 1
                    if "" in node and (j == n or not _word(text[j])):
                        end = j
            if end > i:
                found.append(text[i:end])
                i = end
            else:
                i += 1
        return found


def _word(ch: str) -> bool:
    r"""What ``\w`` matches in a str pattern."""
    return ch.isalnum() or ch == "_"


@dataclass(frozen=True)
class Glossary:
    """Phrase -> translations, per source language, with one longest-first matcher each."""

    targets: dict[str, dict[str, tuple[str, ...]]]
    patterns: dict[str, PhraseTrie]

    def translate(self, query: str, language: str) -> str:
        """The query's domain terms in the other language, plus its numbers and acronyms;
        empty when no term is known (or the language is not 'vi' or 'en')."""
        found: dict[str, None] = {}
        for _phrase, targets in self.concepts(query, language):
            found.update(dict.fromkeys(targets[:VARIANTS_USED]))
        if not found:
            return ""
        return " ".join([*found, *_KEEP.findall(query)])

    def concepts(self, query: str, language: str) -> list[tuple[str, tuple[str, ...]]]:
        """The glossary phrases found in the query, each with all its translations."""
        if language not in self.patterns:
            return []
        return [
            (phrase, self.targets[language][phrase])
            for phrase in self.patterns[language].find(nfc(query).lower())
        ]


def parse(text: str, source: str = "glossary") -> Glossary:
    """The glossary in ``text``; a malformed line raises ValueError naming it."""
    targets: dict[str, dict[str, list[str]]] = {"vi": {}, "en": {}}
    lines = nfc(text).splitlines()
    for n, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#") or (n == 1 and line == "vi\ten"):
            continue
        columns = line.split("\t")
        if len(columns) != 2:
            raise ValueError(f"{source}:{n}: expected 'vi<TAB>en', got {len(columns)} columns")
        vi, en = ([v.strip().lower() for v in c.split("|") if v.strip()] for c in columns)
        if not vi or not en:
            raise ValueError(f"{source}:{n}: a side has no variant")
        for phrase in vi:
            targets["vi"].setdefault(phrase, []).extend(en)
        for phrase in en:
            targets["en"].setdefault(phrase, []).extend(vi)
    patterns = {lang: PhraseTrie(list(phrases)) for lang, phrases in targets.items() if phrases}
    frozen = {
        lang: {p: tuple(dict.fromkeys(t)) for p, t in d.items()} for lang, d in targets.items()
    }
    return Glossary(targets=frozen, patterns=patterns)


@lru_cache(maxsize=1)
def default_glossary() -> Glossary:
    return parse(GLOSSARY.read_text(encoding="utf-8"), str(GLOSSARY))
