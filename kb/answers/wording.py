"""The answerer's own words, in Vietnamese and English: abstentions, the reasons for them,
section labels and the names of the cities.
"""

from __future__ import annotations

from kb.retrieval.answer_type import ACT, COUNT, DATE, MONEY, ORG, RANK, SHARE
from kb.types import CITY_NAMES

TEXTS = {
    "vi": {
        "abstain": "Không có tài liệu nào trong kho trả lời câu hỏi này.",
        "missing": "Không tài liệu nào nhắc đến",
        "lacked": "Đoạn văn gần nhất không nhắc đến",
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
        "themes_found": "Các bài học đã ghi nhận về chủ đề này, theo nhóm ({cities}):",
        "sources_in": "Các nguồn trả lời câu hỏi này viết bằng tiếng Anh.",
        "weak": "Khớp yếu: các đoạn tìm được chỉ chứa một phần từ ngữ của câu hỏi, nên câu trả "
        "lời có thể nói về một chủ đề lân cận. Hãy kiểm tra nguồn trước khi dùng.",
        "weak_lacks": "Khớp yếu: các đoạn tìm được không chứa {words}, nên câu trả lời có thể "
        "nói về một chủ đề lân cận. Hãy kiểm tra nguồn trước khi dùng.",
        "read_as": "Câu hỏi gõ không dấu, được đọc là: {text}",
    },
    "en": {
        "abstain": "No document in the knowledge base answers this question.",
        "missing": "No document mentions",
        "lacked": "The closest passage does not mention",
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
        "themes_found": "The lessons recorded on this, by theme ({cities}):",
        "sources_in": "The sources that answer this question are in Vietnamese.",
        "weak": "Weak match: the passages found hold only part of the question's wording, so the "
        "answer may be about a neighbouring topic. Check the sources before relying on it.",
        "weak_lacks": "Weak match: the passages found do not contain {words}, so the answer may "
        "be about a neighbouring topic. Check the sources before relying on it.",
        "read_as": "Typed without tones, the question was read as: {text}",
    },
}


def city_name(code: str, lang: str) -> str:
    """A city's name in an answer; the cross-city documents' label in the answer's language. A
    comparison part keyed by a project keeps its label."""
    return TEXTS[lang]["multi"] if code == "multi" else CITY_NAMES.get(code, code)
