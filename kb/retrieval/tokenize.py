"""BM25 tokens for Vietnamese and English: syllables, syllable bigrams, folded forms and stems.

Vietnamese words are mostly two syllables ("dữ liệu"), so bigrams carry the word; folded tokens
(tones removed, đ→d, prefixed "~") let "ha noi du lieu mo" meet "Hà Nội dữ liệu mở", and are
weighted below exact tokens at query time because tones change meaning.

An English word is one token: its bigrams ("of_the") are phrases, which an English question's
BM25 leaves out. English passages are also indexed under their words' Snowball stems (prefixed
"^"), so "parking lots" meets "park", "installed" meets "installation".
"""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata

from kb.text import fold, nfc

FOLD_PREFIX = "~"
STEM_PREFIX = "^"
TOKENIZER_VERSION = "5"  # part of the saved BM25 index's name: a change (to the tokens or to
# what the index keeps of them) rebuilds it
_TONES = {"\u0300": "2", "\u0301": "1", "\u0303": "4", "\u0309": "3", "\u0323": "5"}
_RUN = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*(?:\s+[^\W_]+(?:[-'’][^\W_]+)*)*", re.UNICODE)
_SYL = re.compile(r"[^\W_]+", re.UNICODE)
_ENGLISH_WORD = re.compile(r"[a-z]+")


def syllable_runs(text: str) -> list[list[str]]:
    """Lowercased syllables grouped in runs not broken by punctuation."""
    runs = []
    for match in _RUN.finditer(nfc(text).lower()):
        syllables = _SYL.findall(match.group(0))
        if syllables:
            runs.append(syllables)
    return runs


def canonical_syllable(syllable: str) -> str:
    """The tone mark moved to the end ("hòa" and "hoà" -> "hoa2"), so old and new tone
    placement give one token; vowel marks (ă, ê, ơ, ...) stay where they are."""
    decomposed = unicodedata.normalize("NFD", syllable)
    tones = [_TONES[ch] for ch in decomposed if ch in _TONES]
    if not tones:
        return syllable
    base = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONES))
    return base + tones[0]


def _with_bigrams(runs: list[list[str]]) -> list[str]:
    out: list[str] = []
    for run in runs:
        out.extend(run)
        out.extend(f"{a}_{b}" for a, b in itertools.pairwise(run))
    return out


def exact_tokens(text: str) -> list[str]:
    return _with_bigrams([[canonical_syllable(s) for s in run] for run in syllable_runs(text)])


def folded_tokens(text: str) -> list[str]:
    runs = [[fold(s) for s in run] for run in syllable_runs(text)]
    return [FOLD_PREFIX + t for t in _with_bigrams(runs)]


def stemmed_tokens(text: str) -> list[str]:
    """The English stems of the text's words (words of Latin letters without marks only)."""
    words = [s for run in syllable_runs(text) for s in run if _ENGLISH_WORD.fullmatch(s)]
    return [STEM_PREFIX + stem for stem in _stemmer().stemWords(words)]


def english_query_tokens(text: str) -> list[str]:
    """An English question's BM25 tokens: its words, without bigrams."""
    return [canonical_syllable(s) for run in syllable_runs(text) for s in run]


def index_tokens(text: str) -> list[str]:
    """Everything a passage is indexed under (an English passage's stems aside)."""
    return exact_tokens(text) + folded_tokens(text)


_THREAD = threading.local()


def _stemmer():  # a Stemmer.Stemmer (PyStemmer has no type hints)
    """This thread's stemmer: PyStemmer's are not safe to share between threads."""
    stemmer = getattr(_THREAD, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _THREAD.stemmer = Stemmer.Stemmer("english")
    return stemmer
