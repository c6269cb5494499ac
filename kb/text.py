"""Unicode and language helpers shared by ingest, search and answers."""

from __future__ import annotations

import functools
import re
import unicodedata

_VI_LETTERS = set("ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")
# A Vietnamese syllable without its tones: onset, one to three vowels, coda. Text typed without
# diacritics ("vi sao iparking that bai") is Vietnamese when most of its words fit this shape;
# English words mostly do not ("data", "open", "city", "and").
_VI_SYLLABLE = re.compile(
    r"^(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(ng|nh|ch|[cmnpt])?$"
)
# English function words that are no Vietnamese syllable, typed with tones or without
_EN_FUNCTION = set(
    """what which who whom whose how why when where did does has have had was were is are been
    of for from with and its their this that will would could should about into than""".split()
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")
_WORD = re.compile(r"\w+", re.UNICODE)


def nfc(text: str) -> str:
    """NFC-normalise and drop control characters (PDFs and pasted queries carry both)."""
    return _CONTROL.sub(" ", unicodedata.normalize("NFC", text))


def fold(text: str) -> str:
    """Remove Vietnamese tones and marks (đ→d) so that "ha noi" meets "Hà Nội"."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def detect_language(text: str) -> str:
    """'vi', 'en', or '' when there is too little text to tell."""
    letters = [ch for ch in text.lower() if ch.isalpha()]
    if len(letters) < 3:
        return ""
    tokens = [t for t in words(text) if not t.isdigit()]
    if not tokens:
        return ""
    english = sum(t in _EN_FUNCTION for t in tokens)
    if english >= 2 and english >= 0.1 * len(tokens):
        return "en"  # "What did Hà Nội learn from Hoàn Kiếm?": the names do not make it Vietnamese
    marked = sum(any(ch in _VI_LETTERS for ch in t) for t in tokens) / len(tokens)
    if marked >= 0.3:
        return "vi"
    if len(tokens) >= 2 and sum(is_vietnamese_syllable(t) for t in tokens) / len(tokens) >= 0.7:
        return "vi"
    ascii_share = sum(ch.isascii() for ch in letters) / len(letters)
    return "en" if ascii_share > 0.9 else ""


def is_vietnamese_syllable(word: str) -> bool:
    """Whether a word, tones aside, could be one Vietnamese syllable ("drone" and "taxi" cannot)."""
    return bool(_VI_SYLLABLE.match(fold(word.lower())))


def has_diacritics(text: str) -> bool:
    return fold(text) != text


_SENT_END = re.compile(r"(?<=[.!?…])[\"”’)\]]*\s+")


# a list item's marker: a bullet (with the glyphs OCR reads bullets as: ¢ ‹ « ·) or a number
LIST_MARKER = r"[-•*–¢‹«»·°▪●◦]|\d+[.)]"
_HARD_BREAK = re.compile(r"\n\s*\n|\n(?=\s*[-•*]\s)|^#[^\n]*\n", re.MULTILINE)
_ABBREV = ("TP.", "Tp.", "e.g.", "i.e.", "Mr.", "Dr.", "St.", "No.", "vs.", "etc.", "Q.", "TT.")
# an initial ("Nicholas E. Golovin", "M. Theo Kearney") or "c." (circa) ends no sentence; a
# sentence that ends in a one-letter word ("Plan B.") is rarer than a name with an initial
_INITIAL = re.compile(r"(?:^|[\s(])(?:[A-Z]|c)\.$")


def _boundaries(text: str):
    for m in _SENT_END.finditer(text):
        nxt = text[m.end() : m.end() + 1]
        before = text[max(0, m.start() - 6) : m.start()]
        if not nxt or not (nxt.isupper() or nxt.isdigit() or nxt in '-•*“"('):
            continue
        if any(before.endswith(a) for a in _ABBREV) or _INITIAL.search(before):
            continue
        yield m.end()
    for m in _HARD_BREAK.finditer(text):
        yield m.end()


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without the white space at its ends."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) of ``text``, Vietnamese and English alike.

    A boundary is end punctuation followed by space and an upper-case letter, digit or bullet
    (so "TP. Hồ Chí Minh" stays whole), a blank line, or a line that starts a bullet.
    """
    cuts = sorted(set(_boundaries(text)))
    spans, start = [], 0
    for cut in [*cuts, len(text)]:
        if cut <= start:
            continue
        s, e = trim_span(text, start, cut)
        if e > s:
            spans.append((s, e))
        start = cut
    return spans


def passage_text(title: str, section: str, text: str) -> str:
    """What is embedded and BM25-indexed for a chunk: the passage with its title and section."""
    head = title
    if section and section != title and not text.lstrip("# ").startswith(section):
        head = f"{title} — {section}" if title else section
    return f"{head}\n{text}" if head else text


_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|prompts?|rules|above)\b|"
    r"\b(you are now|system prompt|act as|answer only|respond only|new instructions)\b|"
    r"\b(bỏ qua|phớt lờ)\b.{0,40}\b(hướng dẫn|chỉ dẫn|yêu cầu)\b|\bchỉ trả lời\b",
    re.IGNORECASE,
)


def is_instruction_like(text: str) -> bool:
    """Text addressed to an AI model rather than to readers (prompt injection in a document)."""
    return bool(_INSTRUCTION.search(text))


# -- terms: what a question is about, for overlap checks --------------------------------------
ACRONYM = re.compile(r"\b[A-ZĐ][A-ZĐ0-9]{1,9}\b")
STOP_WORDS = set(
    """the a an of in on at to for and or is are was were be been what which who how why when did
    do does with from by as that this it its their there about into than then has have had not no
    city cities của và là các những được trong cho với về tại đến này đó có không một như thế nào
    gì sao vì bao nhiêu thành phố ra đã đang sẽ khi ai đâu compare comparison differ different
    difference so sánh khác nhau biệt mấy vậy nhỉ hả""".split()
)
STOP_FOLDED = {fold(w) for w in STOP_WORDS}  # for Vietnamese typed without diacritics


@functools.lru_cache(maxsize=2048)  # the same passages come back question after question
def content_terms(text: str) -> frozenset[str]:
    """Folded content syllables of a question, for coverage checks. Stop words are taken out
    before folding: folded, "đã" (already) would also remove the "Đà" of Đà Nẵng; a word typed
    without diacritics is matched against the folded stop words."""
    words = re.findall(r"\w+", nfc(text.lower()))
    return frozenset(
        fold(w)
        for w in words
        if len(w) > 1 and w not in STOP_WORDS and not (w == fold(w) and w in STOP_FOLDED)
    )


def acronyms(text: str) -> list[str]:
    return ACRONYM.findall(text)
