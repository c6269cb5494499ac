"""BM25 tokens for Vietnamese and English: syllables, syllable bigrams, and folded forms.

Vietnamese words are mostly two syllables ("dữ liệu"), so bigrams carry the word; folded tokens
(tones removed, đ→d, prefixed "~") let "ha noi du lieu mo" meet "Hà Nội dữ liệu mở", and are
weighted below exact tokens at query time because tones change meaning.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

from kb.text import fold, nfc

FOLD_PREFIX = "~"
TOKENIZER_VERSION = "3"  # part of the saved BM25 index's name: a change (to the tokens or to
# what the index keeps of them) rebuilds it
_TONES = {"\u0300": "2", "\u0301": "1", "\u0303": "4", "\u0309": "3", "\u0323": "5"}
_RUN = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*(?:\s+[^\W_]+(?:[-'’][^\W_]+)*)*", re.UNICODE)
_SYL = re.compile(r"[^\W_]+", re.UNICODE)


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


def index_tokens(text: str) -> list[str]:
    """Everything a passage is indexed under."""
    return exact_tokens(text) + folded_tokens(text)
