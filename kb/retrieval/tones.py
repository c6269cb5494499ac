"""Tones put back on Vietnamese typed without them, and capitals on its names, from the
knowledge base's own words.

Users type "doi thu panthers da thua bao nhieu diem". BM25's folded tokens read that, but the
embedding model reads it poorly: on xquad-dev's toneless questions dense recall@1 is 0.35
where the same questions with their tones reach 0.92. Each toneless syllable is given the
written form that the knowledge base's passages use most, in the context of its neighbours:
the syllable's document frequency, and that of the syllable pair, both read from the BM25
index's vocabulary (``kb.retrieval.lexical``), so nothing is fitted and nothing is listed by
hand, and a knowledge base of any subject restores its own words. A syllable no passage has
stays as typed. Measured on xquad-dev (evals/README.md, "Vietnamese typed without tones"): 94%
of syllables restored as the question was written; dense recall@1 0.35 -> 0.89.

A word typed in lower case takes the capitals the passages give it most of the time inside a
sentence ("iparking" -> "iParking", "ha noi" -> "Hà Nội"): the model is case-sensitive, and on
the sample corpus the support of "bài học từ iparking hà nội" was 0.25 where that of "bài học
từ iParking Hà Nội" was 0.46.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from kb.text import fold, is_vietnamese_syllable, nfc

# a pair of syllables seen together counts this many times a syllable's own frequency, in logs
PAIR_WEIGHT = 2.0
# how questions ask, which passages seldom write: typed as two toneless syllables, these are
# read so ("bao nhieu" is "bao nhiêu", where a report's words would make it "báo nhiều")
QUESTION_PAIRS = {
    fold(pair): tuple(pair.split())
    for pair in (
        "bao nhiêu, là gì, những gì, thế nào, như thế, khi nào, lúc nào, năm nào, ở đâu, do đâu, "
        "nhờ đâu, vì đâu, tại sao, vì sao, bao giờ, bao lâu, là ai, do ai, có ai"
    ).split(", ")
}
_SYLLABLE = re.compile(r"[^\W\d_]+", re.UNICODE)
_TONE_MARKS = {"1": "\u0301", "2": "\u0300", "3": "\u0309", "4": "\u0303", "5": "\u0323"}
_VOWELS = set("aăâeêioôơuưy")
_MARKED = set("ăâêôơư")


def written(canonical: str) -> str:
    """A syllable as written from its BM25 token ("hoa2" -> "hòa", ``kb.retrieval.tokenize``):
    the tone on the marked vowel, else on the last vowel of a closed syllable or the one before
    the last of an open one (the older placement, which the model reads like the newer)."""
    if not canonical or canonical[-1] not in _TONE_MARKS:
        return canonical
    base = canonical[:-1]
    start = 0
    if base.startswith("qu") or (base.startswith("gi") and len(base) > 2 and base[2] in _VOWELS):
        start = 2  # the u of "qu", the i of "gi" before a vowel, are part of the consonant
    vowels = [i for i in range(start, len(base)) if base[i] in _VOWELS]
    if not vowels:
        vowels = [i for i in range(len(base)) if base[i] in _VOWELS]
        if not vowels:
            return canonical
    run = [i for i in vowels if i - vowels[0] == vowels.index(i)]  # the first vowel cluster
    marked = [i for i in run if base[i] in _MARKED]
    if marked:
        at = marked[-1]
    elif run[-1] < len(base) - 1 or len(run) == 1:
        at = run[-1]
    else:
        at = run[-2]
    return unicodedata.normalize(
        "NFC", base[: at + 1] + _TONE_MARKS[canonical[-1]] + base[at + 1 :]
    )


@dataclass(frozen=True)
class Tones:
    """The knowledge base's syllables by their toneless form, and how often pairs occur."""

    forms: dict[str, list[tuple[str, int]]]  # toneless syllable -> (written form, documents)
    pair_count: Callable[[str, str], int]  # documents holding two written syllables in a row
    capitals: dict[str, str] = field(default_factory=dict)  # word -> as written (Casing)

    @classmethod
    def from_terms(
        cls,
        term_df: dict[str, int],
        pair_count: Callable[[str, str], int],
        capitals: dict[str, str] | None = None,
    ) -> Tones:
        """From the BM25 index's syllable document frequencies (tokens as ``kb.retrieval.tokenize``
        writes them) and the words the passages write with capitals (:class:`Casing`)."""
        forms: dict[str, list[tuple[str, int]]] = {}
        for token, df in term_df.items():
            if token.startswith("~"):
                continue
            word = written(token)
            if word.isalpha() and is_vietnamese_syllable(word):
                forms.setdefault(fold(word), []).append((word, df))
        for options in forms.values():
            options.sort(key=lambda o: (-o[1], o[0]))
        return cls(forms, pair_count, capitals or {})

    def restore(self, text: str) -> str:
        """``text`` with each toneless syllable in its likeliest written form (a Viterbi path
        over syllable and pair frequencies); syllables that carry marks, or that no passage
        has, stay as typed; a word typed in lower case takes the capitals the passages give it."""
        text = nfc(text)
        found = list(_SYLLABLE.finditer(text))
        if not found:
            return text
        options = [self._options(m.group(0)) for m in found]
        for j in range(1, len(found)):
            pair = f"{found[j - 1].group(0)} {found[j].group(0)}"
            if pair.lower() in QUESTION_PAIRS and pair == fold(pair) and _adjacent(text, found, j):
                first, second = QUESTION_PAIRS[pair.lower()]
                options[j - 1], options[j] = [(first, 0)], [(second, 0)]
        # best[j][w] = (score of the best path ending in w, the previous word on it)
        best: list[dict[str, tuple[float, str]]] = [
            {w: (math.log(df + 1), "") for w, df in options[0]}
        ]
        for j in range(1, len(found)):
            adjacent = _adjacent(text, found, j)
            step: dict[str, tuple[float, str]] = {}
            for w, df in options[j]:
                step[w] = max(
                    (
                        score
                        + math.log(df + 1)
                        + (PAIR_WEIGHT * math.log1p(self.pair_count(prev, w)) if adjacent else 0),
                        prev,
                    )
                    for prev, (score, _) in best[-1].items()
                )
            best.append(step)
        word = max(best[-1], key=lambda w: best[-1][w][0])
        chosen = [word]
        for j in range(len(found) - 1, 0, -1):
            word = best[j][word][1]
            chosen.append(word)
        chosen.reverse()
        out, at = [], 0
        for m, word in zip(found, chosen, strict=True):
            typed = m.group(0)
            out.append(text[at : m.start()])
            if typed.islower():
                word = self.capitals.get(word, word)
                out.append(word)
            else:
                out.append(_cased(word, typed) if word != typed.lower() else typed)
            at = m.end()
        out.append(text[at:])
        return "".join(out)

    def _options(self, typed: str) -> list[tuple[str, int]]:
        """The written forms a typed syllable may stand for, with their document counts; the
        typed word itself (at no count) when it carries marks or no passage has its letters."""
        low = typed.lower()
        if fold(low) != low or not is_vietnamese_syllable(low):
            return [(low, 0)]
        return self.forms.get(low) or [(low, 0)]


class Casing:
    """Counts how the passages write each word inside a sentence, as an index is built, to give
    the words that the passages mostly write with capitals ("iParking", "Hà Nội", "IOC")."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def add(self, text: str) -> None:
        for m in _INNER_WORD.finditer(nfc(text)):
            self.seen[m.group(1)] += 1

    def capitals(self) -> dict[str, str]:
        """Each word (lower case) whose commonest written form has capitals, and that form, when
        the passages write it so more often than in lower case."""
        best: dict[str, tuple[int, str]] = {}
        for word, n in self.seen.items():
            if word.islower():
                continue
            low = word.lower()
            if n > best.get(low, (0, ""))[0]:
                best[low] = (n, word)
        return {low: word for low, (n, word) in best.items() if n > self.seen.get(low, 0)}


# a word inside a sentence: after a word and a space (or a comma), so not one whose capital
# only opens a sentence, a line or a heading
_INNER_WORD = re.compile(r"(?:(?<=\w )|(?<=\w, )|(?<=\w; ))([^\W\d_]+)")


def _adjacent(text: str, found: list[re.Match[str]], j: int) -> bool:
    """Whether syllables j - 1 and j are written next to each other (only spaces between)."""
    return text[found[j - 1].end() : found[j].start()].strip() == ""


def _cased(word: str, typed: str) -> str:
    if typed.isupper() and len(typed) > 1:
        return word.upper()
    return word[0].upper() + word[1:] if typed[:1].isupper() else word
