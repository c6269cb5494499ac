"""Answers that cite their sources. Offline by default: the answer is made of the retrieved
passages' own sentences, each followed by its citation, so nothing in it is unsupported.

With ``KB_LLM_URL`` set, an LLM writes the answer from the same passages (``kb.llm``), and its
answer is checked before it is shown; when the check fails, this offline answer is used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from kb.abstention import (
    ABSTAIN_DENSE,
    acronyms,
    content_terms,
    should_abstain,
    unknown_words,
)
from kb.answer_type import (
    ACT,
    COUNT,
    DATE,
    GENERIC_ACRONYMS,
    MONEY,
    ORG,
    RANK,
    SHARE,
    asks_about_money,
    expected_type,
    gives,
)
from kb.knowledge_base import KnowledgeBase
from kb.search import clean_query, search
from kb.text import detect_language, fold, is_instruction_like, nfc, sentence_spans
from kb.tokenize import exact_tokens, folded_tokens
from kb.types import CITY_NAMES, CITY_WORDS, Answer, Chunk, Citation, DocMeta, Filters, Hit

COMPARE_SLACK = 0.02
MAX_SENTENCES = 4
REDUNDANT = 0.93  # cosine above which two sentences say the same thing
RELEVANCE_DROP = 0.06  # a sentence this far below the best one is off the point
FOCUS_RATIO = 0.95  # documents whose best passage scores at least this share of the top one
# for a factual question: its figure check is strict enough to read a little further down
FIGURE_FOCUS_RATIO = 0.92
FOCUS_DOCS = 2
# A figure written only in the other language: such passages rank lower (BM25 cannot read them,
# and similarity across languages runs lower), so they are read down to this share of the best
# score when the question's own focus documents do not give the figure
OTHER_LANGUAGE_FIGURE_RATIO = 0.85
# between two equally relevant sentences, the one in the question's language; a larger edge made
# answers cite a same-language document beside the point (golden citation precision 0.85 -> 0.83)
SAME_LANGUAGE_EDGE = 0.01
FIGURE_EDGE = 0.05  # for a sentence that gives the kind of figure a comparison is about
PASSAGE_PRIOR = 0.1  # weight of a passage's retrieval score (against the best) in its sentences
CANDIDATE_HITS = 6
META_PENALTY = 0.03  # for a sentence about the document itself ("This brief evaluates ...")
_META = re.compile(
    r"^(?:This|The present) (?:brief|record|note|review|report|document|paper|summary|post-mortem)"
    r" (?:evaluates|summari[sz]es|reviews|describes|sets out|covers|looks back|compares|brings)"
    r"|^(?:Tài liệu|Báo cáo|Bài viết|Văn bản)(?: này)? (?:tóm tắt|đánh giá|rà soát|tổng hợp|ghi lại)",
    re.IGNORECASE,
)
RARE_ACRONYM = 0.04  # in at most this share of passages, an acronym names one thing
_CLOSING = tuple('.!?;:)"”…')  # how a sentence (or a list item) ends
_LIST_OR_END = tuple(".!?;:…")  # what may come before a line that starts in lower case
# why it failed, what was learned, and what made it succeed ("thành công nhờ đâu")
_WHY = re.compile(
    r"\b(vì sao|tại sao|nguyên nhân|bài học|thất bại|không thành công|hạn chế|rút ra|kinh nghiệm|"
    r"nhờ đâu|do đâu|vì đâu|yếu tố nào|why|fail\w*|lessons?|learn\w*|root cause|went wrong|"
    r"problems?|what made|success factors?)\b",
    re.IGNORECASE,
)
_CITY_NAMES = {w for words in CITY_WORDS.values() for w in words}
_ALL = r"ba thành phố|các thành phố|three cities|each city|the cities"
_ALL_CITIES = re.compile(rf"\b({_ALL})\b", re.IGNORECASE)
_COMPARE = re.compile(
    r"\b(so sánh|so với|khác nhau|khác biệt|compare\w*|differ\w*)\b", re.IGNORECASE
)
_SIDES = [
    re.compile(r"\bso sánh (.+?) (?:với|và) (.+)", re.IGNORECASE),
    re.compile(r"\bcompare (.+?) (?:with|to|and) (.+)", re.IGNORECASE),
    re.compile(
        r"\b(?:how|in what ways?) (?:did|does|do|has|have) (.+?) compare (?:with|to) (.+)",
        re.IGNORECASE,
    ),
]
TEXTS = {
    "vi": {
        "abstain": "Không có tài liệu nào trong kho trả lời câu hỏi này.",
        "missing": "Không tài liệu nào nhắc đến",
        "multi": "3 thành phố",
        "wanted": "Các tài liệu gần nhất không nêu {what} được hỏi.",
        "figures": {
            MONEY: "số tiền",
            COUNT: "con số",
            SHARE: "tỷ lệ",
            RANK: "thứ hạng",
            DATE: "thời điểm",
            ORG: "tên doanh nghiệp",
            ACT: "số hiệu văn bản",
        },
        "nearest": "Các tài liệu gần nhất",
        "lessons": "Nguyên nhân và bài học",
        "sources_in": "Các nguồn trả lời câu hỏi này viết bằng tiếng Anh.",
    },
    "en": {
        "abstain": "No document in the knowledge base answers this question.",
        "missing": "No document mentions",
        "multi": "3 cities",
        "wanted": "The nearest documents do not give the {what} asked for.",
        "figures": {
            MONEY: "amount of money",
            COUNT: "number",
            SHARE: "share",
            RANK: "rank",
            DATE: "date",
            ORG: "company",
            ACT: "document number",
        },
        "nearest": "Nearest documents",
        "lessons": "Causes and lessons",
        "sources_in": "The sources that answer this question are in Vietnamese.",
    },
}


@dataclass(frozen=True)
class Sentence:
    hit: Hit
    start: int
    end: int
    text: str
    score: float
    vector: np.ndarray | None = None


def _asks(pattern: re.Pattern[str], question: str) -> bool:
    """Match with or without diacritics ("vì sao" and "vi sao")."""
    return bool(
        pattern.search(question) or re.search(fold(pattern.pattern), fold(question), re.IGNORECASE)
    )


def question_kind(question: str) -> str:
    """'compare', 'lesson' or 'direct': the shape the answer should take. A question about
    several cities (or "the three cities") that asks for one figure ("when did the three cities
    join the ASEAN network") is direct: the figure is one fact, not one per city."""
    if _asks(_COMPARE, question):
        return "compare"
    if len(cities_named(question)) >= 2 or _asks(_ALL_CITIES, question):
        return "direct" if expected_type(question) else "compare"
    return "lesson" if _asks(_WHY, question) else "direct"


def dense_floor(kind: str) -> float:
    """The similarity below which no passage answers: lower for a question about several cities,
    which is less similar to any one city's passage."""
    return ABSTAIN_DENSE - (COMPARE_SLACK if kind == "compare" else 0.0)


def cities_named(question: str) -> list[str]:
    low = question.lower()
    return [city for city, words in CITY_WORDS.items() if any(w in low for w in words)]


def scope(question: str, filters: Filters | None) -> Filters | None:
    """A question about one city is answered from that city's documents and the cross-city
    ones, not from a similar project elsewhere (unless the user chose cities in the filters)."""
    named = cities_named(question)
    if len(named) != 1 or (filters and filters.city):
        return filters
    return replace(filters or Filters(), city=(named[0], "multi"))


def ask(
    kb: KnowledgeBase,
    question: str,
    filters: Filters | None = None,
    use_llm: bool = True,
    k: int = CANDIDATE_HITS,
) -> Answer:
    """Answer ``question`` from the knowledge base, citing the exact supporting spans."""
    text = clean_query(question)
    if kb.settings.llm_url and use_llm:
        from kb.llm import llm_answer

        return llm_answer(kb, text, filters, fallback=lambda: offline_answer(kb, text, filters, k))
    return offline_answer(kb, text, filters, k)


def offline_answer(
    kb: KnowledgeBase, question: str, filters: Filters | None, k: int = CANDIDATE_HITS
) -> Answer:
    lang = detect_language(question) or "en"
    kind = question_kind(question)
    if kind == "compare":
        answer = _compare(kb, question, filters, lang)
        if answer is not None:
            return answer  # each city's part passed its own abstention check
    hits = search(kb, question, k=k, filters=scope(question, filters))
    if should_abstain(kb, question, hits, dense_floor(kind)):
        return abstain(hits, lang, unknown_words(kb, question))
    hits = anchored(kb, question, hits)
    expect = expected_type(question) if kind == "direct" else None
    passages = answer_passages(kb, question, hits, kind, expect)
    picked = pick_sentences(
        kb, question, passages, lang, lesson_first=kind == "lesson", expect=expect
    )
    if not picked and not expect:
        # the best passages hold no claim (a title page, a heading): read their documents' rest
        passages = focus_passages(kb, hits, lambda _chunk: True)
        picked = pick_sentences(kb, question, passages, lang, lesson_first=kind == "lesson")
    if not picked and expect:
        elsewhere = other_language_passages(kb, question, hits, lang, expect)
        picked = pick_sentences(
            kb, question, elsewhere, lang, lesson_first=False, expect=expect, lenient=False
        )
    if not picked:
        return abstain(hits, lang, wanted=expect)
    return compose(picked, lang, kind, hits)


def anchored(kb: KnowledgeBase, question: str, hits: list[Hit]) -> list[Hit]:
    """The passages that name the question's rare acronyms (USTDA, JICA), when some do: a
    question about a named body or programme is answered from the passages about it, not from a
    same-language neighbour that never names it."""
    return naming(hits, rare_acronyms(kb, question)) or hits


def rare_acronyms(kb: KnowledgeBase, question: str) -> list[str]:
    """The question's acronyms that name one thing: in at most a few passages, neither a city
    nor a generic term (ID, AI) that a passage may give in the other language."""
    return [
        a
        for a in acronyms(question)
        if a.lower() not in _CITY_NAMES
        and a not in GENERIC_ACRONYMS
        and kb.lexical.share(fold(a.lower())) <= RARE_ACRONYM
    ]


def naming(hits: list[Hit], names: list[str]) -> list[Hit]:
    return [h for h in hits if all(re.search(rf"\b{re.escape(a)}\b", h.chunk.text) for a in names)]


def answer_passages(
    kb: KnowledgeBase, question: str, hits: list[Hit], kind: str, expect: str | None
) -> list[Hit]:
    """What an answer is built from: the focus documents' passages, with their lessons sections
    for why/lesson questions and their passages holding the asked figure for factual ones."""
    if expect:
        return focus_passages(
            kb, hits, lambda c: gives(expect, c.text, question), ratio=FIGURE_FOCUS_RATIO
        )
    return focus_passages(kb, hits, (lambda c: c.is_lesson) if kind == "lesson" else None)


def focus_passages(
    kb: KnowledgeBase,
    hits: list[Hit],
    also: Callable[[Chunk], bool] | None = None,
    ratio: float = FOCUS_RATIO,
) -> list[Hit]:
    """The passages of the best documents (the top one, and others nearly as good), plus those
    documents' other chunks that ``also`` selects: lessons-learned and root-cause sections for
    why/lesson questions, passages holding the figure a factual question asks for."""
    top = hits[0].score
    docs = list(dict.fromkeys(h.doc.doc_id for h in hits if h.score >= ratio * top))[:FOCUS_DOCS]
    chosen = [h for h in hits if h.doc.doc_id in docs]
    if also is not None:
        seen = {h.chunk.chunk_id for h in chosen}
        for doc_id in docs:
            doc = chosen[[h.doc.doc_id for h in chosen].index(doc_id)].doc
            for chunk in kb.store.live_chunks(doc_id):
                if also(chunk) and chunk.chunk_id not in seen:
                    chosen.append(
                        Hit(rank=len(chosen) + 1, score=top * FOCUS_RATIO, chunk=chunk, doc=doc)
                    )
    return chosen


def other_language_passages(
    kb: KnowledgeBase, question: str, hits: list[Hit], lang: str, expect: str
) -> list[Hit]:
    """Where to look a second time for the figure a factual question asks for, when the focus
    documents do not give it: the best documents written in the other language, with their
    passages that give it. There a count must show what it counts through the glossary, and a
    count per period must be one: the benefit of the doubt that a near document gets would let
    a far one answer "how many parking spaces" with a number of Wi-Fi access points."""
    top = hits[0].score
    other = [
        h
        for h in hits
        if h.doc.language
        and h.doc.language != lang
        and h.score >= OTHER_LANGUAGE_FIGURE_RATIO * top
    ]
    if not other:
        return []
    return focus_passages(
        kb, other, lambda c: gives(expect, c.text, question, lenient=False), ratio=0.0
    )


def city_name(code: str, lang: str) -> str:
    """A city's name in an answer; the cross-city documents' label in the answer's language. A
    comparison part keyed by a project keeps its label."""
    return TEXTS[lang]["multi"] if code == "multi" else CITY_NAMES.get(code, code)


def abstain(
    hits: list[Hit], lang: str, missing: list[str] | None = None, wanted: str | None = None
) -> Answer:
    """ "No document answers this", why when it can be said (the names no document has, or the
    kind of figure the nearest documents do not give), and the nearest documents."""
    nearest = nearest_docs(hits)
    t = TEXTS[lang]
    answer = Answer(
        text="",
        abstained=True,
        nearest=nearest,
        missing=list(dict.fromkeys(missing or [])),
        wanted=wanted if nearest else None,
    )
    reason = abstain_reason(answer, lang)
    lines = [t["abstain"], *([reason] if reason else [])]
    if nearest:
        lines.append(
            f"{t['nearest']}: "
            + "; ".join(f"{d.title} ({city_name(d.city, lang)})" for d in nearest)
        )
    return replace(answer, text="\n".join(lines))


def abstain_reason(answer: Answer, lang: str) -> str:
    """Why the answerer abstained, in ``lang`` (the question's, or the interface's), when it can
    say: "No document mentions: Huế." or "The nearest documents do not give the amount of money
    asked for." """
    t = TEXTS.get(lang, TEXTS["en"])
    if answer.missing:
        return f"{t['missing']}: " + ", ".join(answer.missing) + "."
    if answer.wanted:
        return t["wanted"].format(what=t["figures"][answer.wanted])
    return ""


def pick_sentences(
    kb: KnowledgeBase,
    question: str,
    hits: list[Hit],
    lang: str,
    lesson_first: bool,
    limit: int = MAX_SENTENCES,
    expect: str | None = None,
    prefer: str | None = None,
    lenient: bool = True,
) -> list[Sentence]:
    """Relevant, non-redundant sentences, in the question's language when the sources allow.
    With ``expect`` (the figure a factual question asks for), the answer opens with a relevant
    sentence that gives such a figure, and there is no answer when none does; the sentences
    around the figure come from its document, so that they are about the same thing. With
    ``prefer``, sentences giving such a figure rank higher, but others may answer too. Not
    ``lenient``: see ``answer_type.gives``."""
    candidates = claims(hits)
    if not candidates:
        return []
    qvec = kb.embedder.query(question)
    vecs = kb.embedder.passages([s.text for s in candidates])
    q_terms = set(exact_tokens(question)) | set(folded_tokens(question))
    top = hits[0].score or 1.0
    prior = {h.chunk.chunk_id: h.score / top for h in hits}
    same_lang = any(s.hit.doc.language == lang for s in candidates[:12])
    scored = []
    for s, vec in zip(candidates, vecs, strict=True):
        terms = set(exact_tokens(s.text)) | set(folded_tokens(s.text))
        overlap = len(q_terms & terms) / max(1, len(q_terms))
        score = float(vec @ qvec) + 0.15 * overlap + PASSAGE_PRIOR * prior[s.hit.chunk.chunk_id]
        if same_lang and s.hit.doc.language and s.hit.doc.language != lang:
            score -= SAME_LANGUAGE_EDGE
        if prefer and gives(prefer, s.text, question):
            score += FIGURE_EDGE
        if _META.search(s.text):
            score -= META_PENALTY
        scored.append(replace(s, score=score, vector=vec))
    scored.sort(key=lambda s: -s.score)
    if expect:
        answering = [s for s in scored if gives(expect, s.text, question, lenient)]
        if not answering:
            return []
        doc = answering[0].hit.doc.doc_id
        same = [s for s in scored if s.hit.doc.doc_id == doc]
        return answering[:1] + _select(same, answering[:1], limit - 1)
    lessons = [s for s in scored if s.hit.chunk.is_lesson]
    if not (lesson_first and lessons):
        return _select(scored, [], limit)
    head = _select(scored, [], 1)
    return head + _select(lessons, head, limit - 1)


def _select(scored: list[Sentence], already: list[Sentence], limit: int) -> list[Sentence]:
    """Best first, skipping what repeats a chosen sentence, stopping where relevance drops."""
    chosen: list[Sentence] = []
    for s in scored:
        if any(float(s.vector @ c.vector) > REDUNDANT for c in already + chosen):
            continue
        if chosen and s.score < chosen[0].score - RELEVANCE_DROP:
            break
        chosen.append(s)
        if len(chosen) == limit:
            break
    return chosen


def claims(hits: list[Hit]) -> list[Sentence]:
    """Claim-like sentences of the passages (source lists and headings are not claims)."""
    out = []
    for hit in hits:
        if hit.chunk.is_reference:
            continue
        text = hit.chunk.text
        title = _plain(hit.doc.title)
        spans = [(_skip_marker(text, a, b), b) for a, b in sentence_spans(text)]
        bodies = ["", *(text[a:b] for a, b in spans), ""]
        for i, (start, end) in enumerate(spans, start=1):
            body = bodies[i]
            if not _is_claim(body) or _plain(body) in title:
                continue  # headings, fragments and (a wrapped line of) the title are not claims
            if _cut(bodies[i - 1], body) or _cut(body, bodies[i + 1]):
                continue  # half a sentence
            if is_instruction_like(body):
                continue  # text aimed at an AI model is data, never part of an answer
            out.append(Sentence(hit, start, end, body, 0.0))
    return out


def _cut(body: str, following: str) -> bool:
    """Whether a sentence breaks off between ``body`` and ``following`` ("" at a chunk's edge):
    a PDF page, and so a chunk, can end in the middle of one ("...signed a memorandum with"),
    and extraction can split one in two with a blank line ("(HIDS) and" / "opened on ...")."""
    if not body:
        return following[:1].islower()
    if following[:1].islower():  # goes on, unless a list item follows its lead-in or another
        return not body.rstrip().endswith(_LIST_OR_END)
    return not following and not body.rstrip().endswith(_CLOSING)


def _plain(text: str) -> str:
    return " ".join(fold(text.lower()).split())


def _is_claim(body: str) -> bool:
    """A sentence, or a short "label: figure" line of a fact sheet ("Opening: 31 December
    2016."), but not a heading ("Shared data warehouse and open data") or a fragment."""
    if body.startswith("#"):
        return False
    if len(body) >= 25 and len(body.split()) >= 5:
        # a short line with no closing punctuation is a heading (PDFs lose the "#")
        return body.rstrip().endswith(_CLOSING) or len(body.split()) >= 8
    label, _, value = body.partition(":")
    return bool(label.strip() and any(ch.isdigit() for ch in value) and len(body.split()) >= 3)


def _skip_marker(text: str, start: int, end: int) -> int:
    m = re.match(r"\s*(?:[-•*]|\d+[.)])\s+", text[start:end])
    return start + m.end() if m else start


def compose(picked: list[Sentence], lang: str, kind: str, hits: list[Hit]) -> Answer:
    """Sentences with markers, numbered by first use; direct answer first, then lessons."""
    citations: list[Citation] = []
    numbers: dict[tuple[str, int], int] = {}

    def mark(s: Sentence) -> str:
        key = (s.hit.chunk.chunk_id, s.start)
        if key not in numbers:
            numbers[key] = len(citations) + 1
            citations.append(cite(numbers[key], s.hit, s.start, s.end))
        return f"{s.text} [{numbers[key]}]"

    if kind == "lesson":
        head, rest = picked[0], picked[1:]
        lessons = sorted(rest, key=lambda s: not s.hit.chunk.is_lesson)
        lines = [mark(head)]
        if lessons:
            lines.append(f"{TEXTS[lang]['lessons']}:")
            lines += [f"- {mark(s)}" for s in lessons]
        body = "\n".join(lines)
    else:
        body = " ".join(mark(s) for s in picked)
    note = ""
    langs = {s.hit.doc.language for s in picked}
    if lang not in langs and langs:
        note = TEXTS[lang]["sources_in"]
    return Answer(text=body, abstained=False, citations=citations, note=note)


def cite(n: int, hit: Hit, start: int, end: int) -> Citation:
    return Citation(
        n=n,
        doc_id=hit.doc.doc_id,
        chunk_id=hit.chunk.chunk_id,
        title=hit.doc.title,
        city=hit.doc.city,
        page=hit.chunk.page,
        quote=hit.chunk.text[start:end],
        start=start,
        end=end,
        year=hit.doc.year,
        outcome=hit.doc.outcome,
        section=hit.chunk.section,
    )


def _compare(kb: KnowledgeBase, question: str, filters: Filters | None, lang: str) -> Answer | None:
    """One short part per city, side by side; None when fewer than two cities have material.
    When the question names a rare acronym, a city's part comes from passages that name it.
    A comparison of two things that names no city ("compare iParking with the metro's
    ticketing") has one part per thing instead."""
    cities = cities_named(question)
    if not cities and not _asks(_ALL_CITIES, question):
        sides = comparison_sides(question)
        if sides:
            return _compare_sides(kb, question, sides, filters, lang)
    cities = cities or ["hanoi", "hcmc", "danang"]
    if filters and filters.city:
        cities = [c for c in cities if c in filters.city] or list(filters.city)
    per_city: dict[str, list[Sentence]] = {}
    closest: dict[str, float] = {}
    money = asks_about_money(question)
    rare = rare_acronyms(kb, question)
    for city in [*cities, "multi"]:
        if city == "multi" and filters and filters.city and city not in filters.city:
            continue
        city_filters = replace(filters or Filters(), city=(city,))
        hits = search(kb, question, k=4, filters=city_filters)
        if rare:  # "the three cities in the ASEAN network": a city part must be about it
            hits = naming(hits, rare)
        # A question about several cities is less similar to any one city's passage.
        if hits and not should_abstain(kb, question, hits, dense_floor("compare")):
            # the city's best documents; about money, with their passages that give a sum
            sums = (lambda c: gives(MONEY, c.text, question)) if money else None
            hits = focus_passages(kb, hits, sums)
            picked = pick_sentences(
                kb,
                question,
                hits,
                lang,
                lesson_first=_asks(_WHY, question),
                limit=2,
                prefer=MONEY if money else None,
            )
            if picked:
                per_city[city] = picked
                closest[city] = max(h.dense_score or 0.0 for h in hits)
    # A cross-city review answers the comparison as a whole when it is at least as close to the
    # question as the closest single city's passage; otherwise it would only add noise.
    if "multi" in per_city and closest["multi"] < max(
        (v for c, v in closest.items() if c != "multi"), default=0.0
    ):
        del per_city["multi"]
    if len(per_city) < 2 and "multi" not in per_city:
        return None
    if "multi" in per_city:  # the review of all cities first, then each city's own part
        per_city = {"multi": per_city.pop("multi"), **per_city}
    return side_by_side(per_city, lang)


def comparison_sides(question: str) -> list[str]:
    """The two things a question compares ("so sánh A với B", "compare A with B", "how did A
    compare with B"), or none."""
    for pattern in _SIDES:
        m = pattern.search(nfc(question))
        if m:
            sides = [m.group(1).strip(" ,"), m.group(2).strip(" ?.")]
            return sides if all(len(content_terms(side)) >= 1 for side in sides) else []
    return []


def _compare_sides(
    kb: KnowledgeBase, question: str, sides: list[str], filters: Filters | None, lang: str
) -> Answer | None:
    """One part per thing compared, each answered from its own best document and labelled with
    its project."""
    parts: dict[str, list[Sentence]] = {}
    for side in sides:
        hits = search(kb, side, k=4, filters=filters)
        if not hits or should_abstain(kb, side, hits, dense_floor("compare")):
            continue
        doc = hits[0].doc
        label = doc.project or doc.title
        if label in parts:
            continue  # both sides found the same thing: no comparison
        own = [h for h in hits if h.doc.doc_id == doc.doc_id]
        picked = pick_sentences(kb, side, own, lang, lesson_first=_asks(_WHY, question), limit=2)
        if picked:
            parts[label] = picked
    return side_by_side(parts, lang) if len(parts) >= 2 else None


def side_by_side(parts: dict[str, list[Sentence]], lang: str) -> Answer:
    """Parts (keyed by city, or by the thing compared), each sentence with its marker,
    numbered through the whole answer."""
    citations: list[Citation] = []
    texts: dict[str, str] = {}
    for label, picked in parts.items():
        marked = []
        for s in picked:
            citations.append(cite(len(citations) + 1, s.hit, s.start, s.end))
            marked.append(f"{s.text} [{len(citations)}]")
        texts[label] = " ".join(marked)
    text = "\n".join(f"{city_name(label, lang)}: {p}" for label, p in texts.items())
    langs = {s.hit.doc.language for ps in parts.values() for s in ps}
    note = TEXTS[lang]["sources_in"] if langs and lang not in langs else ""
    return Answer(text=text, abstained=False, citations=citations, note=note, parts=texts)


def nearest_docs(hits: list[Hit]) -> list[DocMeta]:
    return list({h.doc.doc_id: h.doc for h in hits}.values())[:3]
