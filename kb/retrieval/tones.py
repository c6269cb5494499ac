"""Tones put back on Vietnamese typed without them, and capitals on its names, from the
knowledge base's own words.

Users type "doi thu panthers da thua bao nhieu diem". BM25's folded tokens read that, but the
embedding model reads it poorly: on xquad-dev's toneless questions dense recall@1 is 0.35
where the same questions with their tones reach 0.92. Each toneless syllable is given the
written form that the knowledge base's passages use most, in the context of its neighbours: a
bigram model of the syllables, counted from the BM25 index's vocabulary (``kb.retrieval.lexical``)
in the passages not in English, so nothing is fitted on a question set, and a knowledge base of
any subject restores its own words. A syllable no passage has stays as typed. Measured on
xquad-dev (evals/README.md, "Vietnamese typed without tones"): 95% of syllables put back as the
question was written; dense recall@1 0.35 -> 0.90.

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

# a syllable after another is scored as a bigram model would: P(w | prev) = (pairs(prev, w) +
# SMOOTHING * P(w)) / (documents(prev) + SMOOTHING), P(w) its share of the passages. Of 2, 5, 7
# and 10, 10 was the one that put back more syllables right than the simpler model before it on
# both sets measured: xquad-dev's toneless questions 0.957 / 0.955 / 0.953 / 0.948 (0.937
# before), the golden, held-out and probe questions with their tones taken off 0.933 / 0.941 /
# 0.944 / 0.947 (0.938 before); fixed weights (Jelinek-Mercer, 0.2 to 0.8) did worse
SMOOTHING = 10.0
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
    passages: int = 1  # how many documents the counts are of

    @classmethod
    def from_terms(
        cls,
        term_df: dict[str, int],
        pair_count: Callable[[str, str], int],
        capitals: dict[str, str] | None = None,
        passages: int = 1,
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
        return cls(forms, pair_count, capitals or {}, max(passages, 1))

    def restore(self, text: str) -> str:
        """``text`` with each toneless syllable in its likeliest written form (a Viterbi path
        of a bigram model of the passages' syllables); syllables that carry marks, or that no passage
        has, stay as typed; a word typed in lower case takes the capitals the passages give it."""
        text = nfc(text)
        found = list(_SYLLABLE.finditer(text))
        if not found:
            return text
        options = [self._options(m.group(0)) for m in found]
        asking: set[int] = set()  # the syllables of a question pair: no name's capitals ("do AI")
        for j in range(1, len(found)):
            pair = f"{found[j - 1].group(0)} {found[j].group(0)}"
            if pair.lower() in QUESTION_PAIRS and pair == fold(pair) and _adjacent(text, found, j):
                first, second = QUESTION_PAIRS[pair.lower()]
                options[j - 1], options[j] = [(first, 0)], [(second, 0)]
                asking |= {j - 1, j}
        # best[j][w] = (log-probability of the best path ending in w, the previous word on it)
        best: list[dict[str, tuple[float, str]]] = [
            {w: (math.log(self._share(df)), "") for w, df in options[0]}
        ]
        for j in range(1, len(found)):
            adjacent = _adjacent(text, found, j)
            before = dict(options[j - 1])
            step: dict[str, tuple[float, str]] = {}
            for w, df in options[j]:
                step[w] = max(
                    (score + self._after(prev, before[prev], w, df, adjacent), prev)
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
        for j, (m, word) in enumerate(zip(found, chosen, strict=True)):
            typed = m.group(0)
            out.append(text[at : m.start()])
            if typed.islower():
                out.append(word if j in asking else self.capitals.get(word, word))
            else:
                out.append(_cased(word, typed) if word != typed.lower() else typed)
            at = m.end()
        out.append(text[at:])
        return "".join(out)

    def _after(
        self, prev: str, prev_documents: int, word: str, documents: int, adjacent: bool
    ) -> float:
        """log P(word | prev): the bigram's share of prev's documents, smoothed towards the
        word's own share (``SMOOTHING``); the word's own share after a break."""
        alone = self._share(documents)
        if not adjacent:
            return math.log(alone)
        pairs = self.pair_count(prev, word)
        return math.log((pairs + SMOOTHING * alone) / (prev_documents + SMOOTHING))

    def _share(self, documents: int) -> float:
        """A syllable's share of the passages, a little above none for one they lack."""
        return (documents + 0.5) / self.passages

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
