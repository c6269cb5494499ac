"""What a factual question asks for (an amount of money, a count, a share, a rank, a date, a
company, the number of a decision or plan) and whether a sentence gives it.

Why: the hardest questions to abstain on are near misses, such as the budget of a project the
knowledge base describes without its budget. The passages are about the right thing, so their
similarity to the question is high; what they lack is the figure. A sentence that answers "how
much did it cost" holds an amount of money the question does not already contain.
"""

from __future__ import annotations

import re

from kb.text import detect_language, fold, has_diacritics, nfc

MONEY, COUNT, RANK, DATE, ORG, SHARE = "money", "count", "rank", "date", "organisation", "share"
ACT = "act"  # a numbered legal document: a decision, a plan, a resolution
NAME = "name"  # who, or which named place or body: preferred, never required (asks_for_name)

# Patterns are matched on folded, lowercased text, so "bao nhiêu" and "bao nhieu" both match.
_PRICE = (
    r"gia (?:ve|thue|ban|cuoc)|muc gia|muc phi|le phi|phi (?:do xe|gui xe|dich vu)"
    r"|(?<!tri )(?<!chi )(?:gia|phi) (?:la )?bao nhieu|prices?|fares?|fees?|tariffs?"
)
_ACT_NAMES = (
    r"quyet dinh|ke hoach|nghi quyet|nghi dinh|chi thi|cong van|thong tu|decisions?|plans?"
    r"|resolutions?|decrees?|directives?|circulars?"
)
_ASKS = (
    (
        ACT,
        # "which (People's Committee) decision", not "what did HCMC plan"
        rf"\b(?:which|what) (?:(?!(?:did|does|do|has|have|had|will|was|were|is|are)\b)[\w'-]+ )"
        rf"{{0,2}}(?:{_ACT_NAMES})\b"
        rf"|\b(?:{_ACT_NAMES}) (?:so )?(?:nao|may|bao nhieu)\b|\bso hieu\b",
    ),
    (
        MONEY,
        r"\b(kinh phi|chi phi|ngan sach|tong muc dau tu|von dau tu|gia tri hop dong|bao nhieu tien"
        r"|bao nhieu ty|bao nhieu von|ty dong|trieu dong|budget|cost|costs|spend|spent|contract value"
        r"|how much (?:money|funding)|how much .* (?:cost|spend|pay|fund|funded|invest|lend|loan"
        r"|worth)|tri gia|(?:size|amount|value) of (?:the |its |an? )?(?:[\w-]+ ){0,3}"
        r"(?:credit|loan|grant|budget|investment|funding)"
        rf"|{_PRICE})\b",
    ),
    (
        RANK,
        r"\b(thu may|dung thu|xep thu|xep hang|hang may|what position|what rank|which place"
        r"|ranked)\b",
    ),
    # "when" opens the question: "how many seconds were left when ..." asks for a count
    (
        DATE,
        r"\b(khi nao|ngay nao|nam nao|thang nao|bao gio|the ky nao|what date|which date"
        r"|(?:what|which) (?:year|century|decade))\b|^(?:and |so )?when\b",
    ),
    (
        ORG,
        r"\b(?:which|what) (?:[\w-]+ )?(?:vendors?|contractors?|compan(?:y|ies)|firms?|suppliers?"
        r"|providers?|operators?|banks?)\b"
        r"|\b(?:cong ty|doanh nghiep|nha thau|tap doan|nha cung cap|ngan hang) nao\b",
    ),
    (
        SHARE,
        r"\b(ty le|bao nhieu phan tram|what (?:percentage|percent|share|proportion|rate)"
        r"|which (?:percentage|share|proportion|rate))\b",
    ),
    (COUNT, r"\b(bao nhieu|how many|how much|what number|number of|so luong)\b"),
)
_VI_COUNT = re.compile(r"\bmấy\b")  # folded it would be the English "may"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# counts written in words ("nine countries", "chín quốc gia"): evidence that a sentence gives a
# count, never a reason to refuse one
_COUNT_WORD = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen"
    r"|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy"
    r"|eighty|ninety|hundreds?|thousands?|millions?|dozens?|một|hai|ba|bốn|năm|sáu|bảy|tám|chín"
    r"|mười|mươi|trăm|nghìn|ngàn|triệu)\b"
)
# a currency, not a bare magnitude ("1 triệu tài khoản" counts accounts; "cộng đồng" is no đồng)
_MONEY_UNIT = re.compile(
    r"((\d|\bty|\btrieu|\bnghin|\bngan)\s*dong\b|\b(vnd|usd|dollars?|yen|euros?)\b|\$|€)"
)
# "how many" / "bao nhiêu" and the (up to three) words that follow: what is counted
_COUNTED = re.compile(r"\b(?:how many|bao nhiêu|bao nhieu)\s+((?:[\w-]+\s*){1,3})")
# words after "how many" / "bao nhiêu" that do not name what is counted (classifiers, particles)
_CLASSIFIERS = {"luot"}  # "lượt": turns of something
# English words of more than three letters ending in "s" that are no plural
_NOT_PLURAL = set("does this thus plus news less across always status various".split())
_NOT_COUNTED = {"the", "of", "cai", "chiec", "con", "trong", "cho", "cua", "la", "duoc", "tai"}
# "Quyết định 6179/QĐ-UBND", "Decision No. 950", "Kế hoạch 428", "6179/QĐ-UBND"
_ACT_NUMBER = re.compile(
    rf"\b(?:{_ACT_NAMES})\s+(?:so\s+|no\.?\s*)?(\d+)|\b(\d+)/(?:qd|nq|nd|kh|ct|cv|tt)\b"
)
_RANK_WORD = re.compile(
    r"\b(thu \d+|hang \d+|\d+(st|nd|rd|th)|\d+/\d+|first|second|third|top|dung dau|nhat)\b"
)
_SHARE = re.compile(r"\d\s*%|\b(phan tram|percent|per cent)\b|\d+/\d+")
_PERIOD = re.compile(r"\b(1\d|20)\d{2}\s*[–-]\s*((1\d|20)\d{2}|\d{2})\b")
_DATE = re.compile(
    r"\b(\d{1,2}/\d{1,2}/(1\d|20)\d{2}|\d{1,2}/(1\d|20)\d{2}|(1\d|20)\d{2}s?"
    r"|thang \d{1,2}|quy [1-4ivx]+|january|february|march|april|may \d|june|july|august"
    r"|september|october|november|december|the ky [ivxlc\d]+|\d+(st|nd|rd|th) century)\b"
    # "may" only as "May 2020": not the verb
)


_ORG_INTRODUCED = re.compile(
    r"\b(?:[Cc]ông ty|[Tt]ập đoàn|[Ll]iên danh|[Nn]hà thầu|[Cc]ompany|[Cc]ontractor|[Vv]endor"
    r"|[Ss]upplier|[Ff]irm|[Cc]onsortium)\s+((?:[A-ZĐ][\w&.-]*\s?)+)"
)
_BRAND = re.compile(r"\b[A-ZĐ][A-ZĐ0-9&]{1,9}\b|\b[A-Za-z]+[a-z][A-Z]\w*\b")
# acronyms of things, places and public bodies, not of companies
GENERIC_ACRONYMS = set(
    """IOC ICT IT AI API DTI PCI PAR BRT ITS AQI GIS IOT IoT VND USD US EU CSDL UBND HĐND TP HCM
    HCMC QĐ NĐ CP TTG TTg SMS QR EOC DXC MOU ASCN ASEAN PPP BOT ODA IDA ISO CCTV LED GPS OCR
    SOC CEO PC LAN MAN WAN SIM ID VNeID eKYC CCCD NFC EMV ATM POS""".split()
)

# Qualifiers that narrow the amount of money asked for: a sentence giving an annual cost answers
# "what does it cost a year", a total investment does not; a contract's value is not an estimate;
# a price or a fee is not what a project cost. A money question with one needs a sentence with it
# (each is a pattern for the question and one for the sentence). Counts are left alone: in "how
# many stations publish the AQI daily", "daily" qualifies the publishing, not the number.
# a count per period ("lượt truy cập mỗi tháng", "visits a month"): a total does not give it
_RATE = (
    r"\b(?:hang|moi) (?:nam|thang|tuan|ngay)\b|\b(?:annual\w*|yearly|monthly|weekly|daily"
    r"|(?:per|a|each) (?:year|month|week|day))\b|/ ?(?:nam|thang|ngay|year|month|day)\b"
)
_ANNUAL = r"\b(hang nam|moi nam|annual\w*|yearly|per year|a year|each year)\b|/ ?(nam|year)\b"
_CONTRACT = r"\b(hop dong|contracts?|goi thau|trung thau|awarded)\b"
_MONEY_QUALIFIERS = (
    (_ANNUAL, _ANNUAL),
    (_CONTRACT, _CONTRACT),
    (
        rf"\b(?:{_PRICE})\b",
        # folded, a lone "gia" or "ve" is also "giá trị" (value), "tham gia", "về" (about)
        r"\b(gia (?:ve|thue|ban|cuoc|dich vu)|muc (?:gia|phi)|le phi|thu phi|cuoc phi"
        r"|phi (?:do xe|gui xe|dich vu|thue bao)|ve (?:luot|thang|tuan)|prices?|fares?|fees?"
        r"|tickets?|tariffs?)\b",
    ),
)


def _qualified(sentence: str, question: str) -> bool:
    return all(
        re.search(in_sentence, sentence)
        for in_question, in_sentence in _MONEY_QUALIFIERS
        if re.search(in_question, question)
    )


def expected_type(question: str) -> str | None:
    """The kind of figure the question asks for, or None for open questions."""
    text = fold(question.lower())
    for kind, pattern in _ASKS:
        if re.search(pattern, text):
            return kind
    return COUNT if _VI_COUNT.search(question.lower()) else None


_FUNDING = re.compile(r"\b(fund\w*|financ\w*|paid for|pay for|tai tro|nguon von|von vay|chi tra)\b")


def asks_about_money(question: str) -> bool:
    """An amount asked for, or how something was paid for ("how did the cities fund ..."):
    sentences that give sums of money answer it best."""
    return expected_type(question) == MONEY or bool(_FUNDING.search(fold(question.lower())))


_NAMED = re.compile(
    r"\b(?:which|what) (?:country|city|team|company|person|player|river)\b"
    r"|\b(?:quoc gia|nuoc|thanh pho|doi|cong ty|nguoi|song) nao\b"
)


def asks_for_name(question: str) -> bool:
    """Whether the question asks who, or which country, city, team or body: a sentence that
    names someone the question does not is then a better answer. Only a preference among
    equally relevant sentences (``kb.answers.sentences``): a list of question words may add
    evidence, never refuse."""
    return bool(
        re.search(r"\b(?:who|whom|whose)\b", question, re.IGNORECASE)
        or re.search(r"(?<![\w-])(?:ai|Ai)(?![\w-])", question)
        or _NAMED.search(fold(question.lower()))
    )


def _names(text: str) -> set[str]:
    """Capitalised words past the first of each sentence: the names a sentence gives."""
    words = nfc(text).split()
    out = set()
    for i, word in enumerate(words):
        core = word.strip("\"'“”‘’()[],.;:!?")
        opens = i == 0 or words[i - 1].endswith((".", "!", "?", ":"))
        if len(core) > 1 and core[0].isupper() and not opens:
            out.add(fold(core.lower()))
    return out


_URL = re.compile(r"\b(?:https?://|www\.)\S+")


def gives(kind: str, sentence: str, question: str) -> bool:
    """Whether ``sentence`` holds a figure of ``kind`` that the question does not already hold.
    A count per period must be given per period: a total does not answer "how many a month"."""
    if kind == ORG:
        return bool(_organisations(sentence) - _organisations(question))
    if kind == NAME:
        return bool(_names(sentence) - _names(question) - set(fold(question.lower()).split()))
    text = _URL.sub(" ", fold(sentence.lower()))  # a web address's digits are no figure
    known = set(_NUMBER.findall(fold(question.lower())))
    if kind == ACT:
        return any(set(m.groups()) - known - {None} for m in _ACT_NUMBER.finditer(text))
    if kind == DATE:  # a period ("the 2017–2020 scheme") says when something ran, not happened
        return any(
            not _NUMBER.search(m.group(0)) or set(_NUMBER.findall(m.group(0))) - known
            for m in _DATE.finditer(_PERIOD.sub(" ", text))
        )
    if kind in (COUNT, SHARE):  # a number that is not a date or a year
        text = _DATE.sub(" ", text)
    numbers = set(_NUMBER.findall(text)) - known
    if kind == COUNT:
        numbers |= set(_COUNT_WORD.findall(nfc(sentence.lower()))) - set(
            _COUNT_WORD.findall(nfc(question.lower()))
        )
    if not numbers:
        return False
    if kind == MONEY:
        return bool(_MONEY_UNIT.search(text)) and _qualified(text, fold(question.lower()))
    if kind == RANK:
        return bool(_RANK_WORD.search(text))
    if kind == SHARE:
        return bool(_SHARE.search(text))
    if re.search(_RATE, fold(question.lower())) and not re.search(_RATE, text):
        return False
    return _names_counted_thing(question, sentence, text)


def _organisations(text: str) -> set[str]:
    """Names that look like a company's: one introduced as such ("Công ty Gola", "FPT IS"
    after "company"), or a brand-like acronym (FPT, VNPT, IBM) that is not a generic one."""
    found = {m.group(1).strip(" .") for m in _ORG_INTRODUCED.finditer(nfc(text))}
    found |= {a for a in _BRAND.findall(text) if a not in GENERIC_ACRONYMS}
    return found


def _counted_noun(words: list[str]) -> str:
    """The noun an English "how many" counts: its first plural word ("emergency calls" counts
    calls, not emergencies), else its first word ("how many staff work there")."""
    for word in words:
        if len(word) > 3 and word.endswith("s") and fold(word) not in _NOT_PLURAL:
            return word
    return words[0]


def _names_counted_thing(question: str, sentence: str, folded_sentence: str) -> bool:
    """ "How many passengers" wants a number of passengers: a sentence in the question's
    language must name them (in English, singular or plural). A sentence in the other language
    cannot be checked word for word (the glossary knows only some words, and may not be the
    reason to refuse one), so its number stands."""
    m = _COUNTED.search(nfc(question.lower()))
    words = m.group(1).split() if m else []
    if not words or fold(words[0]) in _NOT_COUNTED:
        return True
    # an English question that names a Vietnamese place may be too mixed to tell
    language = detect_language(question) or detect_language(" ".join(words))
    if detect_language(sentence) != language:
        return True
    if language == "en":
        noun = fold(_counted_noun(words))
        noun = re.sub(r"(ies|es|s)$", "", noun) if len(noun) > 3 else noun
        return re.search(rf"\b{re.escape(noun)}", folded_sentence) is not None
    # "lượt truy cập" (visits) is not "lượt gọi API" (calls): a classifier needs its noun
    noun = " ".join(words[:2]) if fold(words[0]) in _CLASSIFIERS and len(words) > 1 else words[0]
    if has_diacritics(noun):  # tones tell "nhân viên" (staff) from "nhận" (receive)
        return re.search(rf"\b{re.escape(noun)}\b", nfc(sentence.lower())) is not None
    return re.search(rf"\b{re.escape(fold(noun))}\b", folded_sentence) is not None
