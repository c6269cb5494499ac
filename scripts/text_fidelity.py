"""How much of a known text a converter kept: its words, and its letters with diacritics.

Why: a converter that drops a tone mark still gives readable-looking text, and Vietnamese
search then misses the word; counting the marked letters lost catches what a glance does not.
Structure marks (``#``, ``-``, ``|``) and spacing are ignored: only the words are compared.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Fidelity:
    words: int  # in the known text
    words_differing: int  # edit operations turning the converted words into the known ones
    marked: int  # letters with diacritics (đ included) in the known text
    marked_lost: int  # of those, missing from the converted text


def _marked(text: str) -> Counter[str]:
    return Counter(
        c for c in text if c.isalpha() and (c in "đĐ" or unicodedata.decomposition(c) != "")
    )


def fidelity(converted: str, truth: str) -> Fidelity:
    """Compare ``converted`` with ``truth`` (both NFC) word by word and letter by letter."""
    got, want = re.findall(r"\w+", converted), re.findall(r"\w+", truth)
    ops = difflib.SequenceMatcher(a=got, b=want, autojunk=False).get_opcodes()
    differing = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in ops if tag != "equal")
    marked = _marked(truth)
    lost = marked - _marked(converted)
    return Fidelity(len(want), differing, sum(marked.values()), sum(lost.values()))
