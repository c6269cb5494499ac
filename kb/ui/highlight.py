"""Safe HTML for document text: everything escaped, only our own ``<mark>`` tags around it.

Document text, quotes and titles come from files anyone could have written; they may contain
``<script>``, HTML or Markdown. Everything here returns HTML in which every character of such
text went through :func:`html.escape`, so it shows as text and never renders or runs.
"""

from __future__ import annotations

import html
import itertools
import re
import unicodedata

from kb.text import detect_language, fold, is_vietnamese_syllable, nfc

# Question words that carry no topic; never highlighted.
STOP = set(
    "the a an of in on at to for and or is are was were be been what which who whom how why when "
    "where did do does done with from by as that this these those it its their there about into "
    "than then has have had not no can could should would will me my our we you your they them "
    "city cities three each "
    "của và là các những được trong cho với về tại đến này đó có không một như thế nào gì sao vì "
    "bao nhiêu ra đã đang sẽ khi ai đâu ở từ thì mà hay hoặc nên cần nhờ bị do lại rồi ba "
    "tại_sao".split()
)
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*", re.UNICODE)


def esc(text: object) -> str:
    """Escape text for HTML (quotes too), after NFC normalisation."""
    return html.escape(nfc(str(text)), quote=True)


def _fold_chars(text: str) -> str:
    """Lower-cased, tone-less copy of ``text`` with exactly one character per original one."""
    out = []
    for ch in text:
        low = ch.lower()
        f = fold(low)
        out.append(f if len(f) == 1 else (low if len(low) == 1 else ch))
    return "".join(out)


def _lower_chars(text: str) -> str:
    out = []
    for ch in text:
        low = ch.lower()
        out.append(low if len(low) == 1 else ch)
    return "".join(out)


def query_terms(question: str) -> list[str]:
    """The words of a question worth highlighting in a passage (no stop words, no duplicates).
    In a Vietnamese question, adjacent syllables are highlighted as pairs ("triển khai"), since a
    syllable alone is rarely the word: "khai" alone would mark the "khai" of "công khai"."""
    text = unicodedata.normalize("NFC", question or "")
    pairs = detect_language(text) == "vi"
    seen: dict[str, None] = {}
    run: list[str] = []  # adjacent Vietnamese syllables, not yet emitted
    end = 0
    for m in _WORD.finditer(text):
        low = m.group(0).lower()
        kept = not (len(low) < 2 or low in STOP or (fold(low) in STOP and low == fold(low)))
        syllable = pairs and kept and is_vietnamese_syllable(fold(low))
        if run and not (syllable and not text[end : m.start()].strip()):
            _emit(run, seen)
            run = []
        if syllable:
            run.append(low)
        elif kept:
            seen.setdefault(low, None)
        end = m.end()
    _emit(run, seen)
    return list(seen)


def _emit(run: list[str], seen: dict[str, None]) -> None:
    """A run of adjacent syllables as its pairs, or as itself when alone."""
    for term in [" ".join(p) for p in itertools.pairwise(run)] or run:
        seen.setdefault(term, None)


def term_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) spans of whole-word matches of ``terms`` in ``text``.

    A term typed with Vietnamese tones matches only with the same tones; a term typed without
    them ("ha noi", English words) also matches the toned forms.
    """
    if not text or not terms:
        return []
    lowered = _lower_chars(text)
    folded = _fold_chars(text)
    spans: list[tuple[int, int]] = []
    for term in terms:
        toned = fold(term) != term
        hay, needle = (lowered, term) if toned else (folded, fold(term))
        pattern = re.compile(r"(?<![^\W_])" + re.escape(needle) + r"(?![^\W_])", re.UNICODE)
        spans.extend((m.start(), m.end()) for m in pattern.finditer(hay))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def highlight(text: str, terms: list[str], mark_class: str = "kb-term") -> str:
    """``text`` escaped, with the question's terms wrapped in ``<mark>``."""
    text = nfc(text or "")
    out, pos = [], 0
    for s, e in term_spans(text, terms):
        out.append(esc(text[pos:s]))
        out.append(f'<mark class="{mark_class}">{esc(text[s:e])}</mark>')
        pos = e
    out.append(esc(text[pos:]))
    return "".join(out)


def highlight_span(
    text: str, start: int | None, end: int | None, terms: list[str] | None = None
) -> str:
    """``text`` escaped, with ``text[start:end]`` (a cited passage) wrapped in ``<mark>``.

    Out-of-range offsets are clamped; with no valid span the text is returned escaped,
    with only the terms highlighted.
    """
    text = text or ""
    terms = terms or []
    if start is None or end is None:
        return highlight(text, terms)
    start = max(0, min(int(start), len(text)))
    end = max(start, min(int(end), len(text)))
    if end <= start:
        return highlight(text, terms)
    return (
        highlight(text[:start], terms)
        + '<mark class="kb-cited" id="kb-cited-mark">'
        + highlight(text[start:end], terms, mark_class="kb-term kb-term-in")
        + "</mark>"
        + highlight(text[end:], terms)
    )
