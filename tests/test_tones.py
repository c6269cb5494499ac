"""Tones put back on Vietnamese typed without them, from the knowledge base's own words.

Why: users type "vi sao iparking that bai". BM25's folded tokens read that, the embedding model
does not (dense recall@1 0.35 on xquad-dev's toneless questions, 0.92 with their tones). The
restoration is read from the knowledge base's BM25 vocabulary, so one typed syllable ("dung")
becomes what this knowledge base writes next to its neighbours ("dừng dự án", "dùng dữ liệu").
"""

from __future__ import annotations

import json

import pytest

from ingest import Record, ingest_records
from kb.answers.ask import ask
from kb.knowledge_base import open_kb
from kb.retrieval.lexical import LexicalIndex
from kb.retrieval.question import Question
from kb.retrieval.search import read_question, search
from kb.retrieval.tokenize import canonical_syllable
from kb.retrieval.tones import Casing, Tones, written
from kb.settings import load_settings

VI = [
    Record(
        "bikes",
        "Thành phố dừng dự án xe đạp công cộng vì thiếu kinh phí vận hành. "
        "Nhiều trạm xe đạp bị bỏ trống sau hai năm.",
        metadata={"language": "vi", "title": "Dự án xe đạp công cộng"},
    ),
    Record(
        "data",
        "Người dân dùng dữ liệu mở của thành phố để xây dựng ứng dụng giao thông. "
        "Cổng dữ liệu mở có nhiều bộ dữ liệu về xe buýt.",
        metadata={"language": "vi", "title": "Cổng dữ liệu mở"},
    ),
    Record(
        "parking",
        "Hà Nội thí điểm ứng dụng iParking từ năm 2017, với camera AI ở các điểm đỗ. "
        "Người dân ở Hà Nội trả phí đỗ xe qua iParking "
        "thay cho tiền mặt, và Trung tâm IOC theo dõi số lượt đỗ.",
        metadata={"language": "vi", "title": "iParking"},
    ),
    Record(
        "cameras",
        "Camera giao thông ở Đà Nẵng được nối về trung tâm điều hành.",
        metadata={"language": "vi", "title": "Camera giao thông"},
    ),
    *(
        Record(
            f"cameras-en-{n}",
            f"Da Nang links {n} traffic cameras to the operations centre of Da Nang.",
            metadata={"language": "en", "title": "Da Nang traffic cameras"},
        )
        for n in range(3)
    ),
    Record(
        "flood",
        "Hệ thống cảnh báo ngập lụt gửi tin nhắn cho người dân khi mưa lớn. "
        "Trung tâm điều hành theo dõi mực nước tại các điểm ngập.",
        metadata={"language": "vi", "title": "Cảnh báo ngập lụt"},
    ),
]


@pytest.fixture(scope="module")
def tones_kb(tmp_path_factory, session_cache):
    settings = load_settings(
        env={},
        store=str(tmp_path_factory.mktemp("tones-store")),
        cache_dir=str(session_cache),
        collection="tones",
    )
    kb = open_kb(settings)
    report = ingest_records(kb, VI)
    assert not report.failed, report.failed
    kb.lexical.refresh()
    return kb


@pytest.mark.parametrize(
    "word",
    ["hòa", "người", "quốc", "giữa", "mùa", "tài", "hoàn", "thủy", "khuỷu", "nghiêng", "dữ", "đạp"],
)
def test_a_token_is_written_back_as_the_syllable(word):
    assert written(canonical_syllable(word)) == word


def test_new_style_tones_are_written_in_the_older_placement():
    assert written(canonical_syllable("hoà")) == "hòa"
    assert written("covid19") == "covid19"  # no tone: as it is


def test_one_typed_syllable_takes_the_form_its_neighbours_ask_for(tones_kb):
    tones = tones_kb.lexical.index.tones
    assert tones.restore("vi sao thanh pho dung du an xe dap") == (
        "vì sao thành phố dừng dự án xe đạp"
    )
    assert tones.restore("nguoi dan dung du lieu mo") == "người dân dùng dữ liệu mở"


def test_how_questions_ask_is_evidence_beside_the_passages(tones_kb):
    # the passages write "nhiều" (many) and never "nhiêu"; a question asks "bao nhiêu"
    tones = tones_kb.lexical.index.tones
    assert tones.restore("co bao nhieu tram xe dap") == "có bao nhiêu trạm xe đạp"
    assert tones.restore("co nhieu tram xe dap") == "có nhiều trạm xe đạp"


def test_names_take_the_capitals_the_passages_give_them(tones_kb):
    # the model is case-sensitive: "iparking" and "iParking" are different tokens to it
    tones = tones_kb.lexical.index.tones
    assert tones.restore("nguoi dan tra phi qua iparking o ha noi") == (
        "người dân trả phí qua iParking ở Hà Nội"
    )
    assert tones.restore("IParking") == "IParking"  # typed with capitals: as typed
    # "ai" is "AI" in these passages, but "do ai" asks who: a question pair keeps its case
    assert tones.restore("camera ai o ha noi") == "camera AI ở Hà Nội"
    assert tones.restore("iparking do ai van hanh").startswith("iParking do ai")


def test_capitals_count_only_inside_sentences():
    casing = Casing()
    casing.add("Người dân dùng iParking. Người dân ở Hà Nội và người dân ở Đà Nẵng.\n# Kết quả")
    # "Người" opens sentences, "Kết" a heading: their capitals say nothing; "người" inside does
    assert casing.capitals() == {
        "iparking": "iParking",
        "hà": "Hà",
        "nội": "Nội",
        "đà": "Đà",
        "nẵng": "Nẵng",
    }


def test_the_saved_index_keeps_the_capitals(tones_kb):
    again = LexicalIndex(tones_kb.store, tones_kb.settings.cache_dir)
    assert again.load_current()
    assert again.index.capitals == tones_kb.lexical.index.capitals
    assert again.index.capitals["iparking"] == "iParking"


def test_words_are_counted_in_the_passages_not_in_english(tones_kb):
    # three English reports write "Da Nang" without tones, one Vietnamese passage "Đà Nẵng": a
    # toneless Vietnamese question means the Vietnamese passage's
    assert tones_kb.lexical.index.tones.restore("camera o da nang") == "camera ở Đà Nẵng"


def test_what_no_passage_has_stays_as_typed(tones_kb):
    tones = tones_kb.lexical.index.tones
    # "pho" is in no passage on its own ("phố" only); English and marked words are left alone
    assert tones.restore("Thanh pho bike-sharing IOC") == "Thành phố bike-sharing IOC"
    assert tones.restore("cach nau pho") == "cach nau phố"
    assert tones.restore("Dữ liệu mở") == "Dữ liệu mở"
    assert Tones({}, lambda a, b: 0).restore("du lieu mo") == "du lieu mo"


def test_the_question_read_once_carries_its_tones(tones_kb):
    question = read_question(tones_kb, "nguoi dan dung du lieu mo nhu the nao")
    assert question.unaccented and not question.toneless
    assert question.restored == "người dân dùng dữ liệu mở như thế nào"
    assert question.for_model == question.restored
    assert question.text == "nguoi dan dung du lieu mo nhu the nao"  # as typed, for BM25
    # a question with its tones is left as it is
    toned = read_question(tones_kb, "Người dân dùng dữ liệu mở như thế nào?")
    assert toned.restored == "" and toned.for_model == toned.text


def test_a_knowledge_base_without_vietnamese_leaves_the_question_toneless(small_kb):
    # the small corpus has Vietnamese; an English-only one has no form to put back
    tones = Tones.from_terms({"parking": 3, "data": 2}, lambda a, b: 0)
    question = Question.parse("du lieu mo").with_tones(tones)
    assert question.toneless and question.restored == ""


def test_a_syllable_no_passage_has_raises_the_support_a_toneless_answer_needs(tones_kb):
    from kb.answers.abstention import unplaced_syllables

    # "xăng" (petrol) is in no passage, in any tone: evidence the question is off the topic
    question = read_question(tones_kb, "nguoi dan dung xang")
    assert unplaced_syllables(tones_kb, question) == ["xang"]
    assert unplaced_syllables(tones_kb, read_question(tones_kb, "du an xe dap cong cong")) == []
    # a question typed with its tones is not judged so: its words are the user's own
    assert unplaced_syllables(tones_kb, read_question(tones_kb, "giá xăng tăng")) == []


def test_dense_search_reads_the_restored_question(tones_kb):
    typed, toned = "canh bao ngap lut gui tin nhan", "cảnh báo ngập lụt gửi tin nhắn"
    hits = search(tones_kb, typed, k=3, mode="dense")
    assert hits[0].doc.doc_id == "flood"
    assert hits[0].dense_score == pytest.approx(
        search(tones_kb, toned, k=3, mode="dense")[0].dense_score, abs=1e-5
    )


def test_the_answer_says_how_a_toneless_question_was_read(small_kb, kb_cli):
    answer = ask(small_kb, "vi sao iparking that bai")
    assert answer.read_as.startswith("vì sao iParking")
    assert answer.to_json()["read_as"] == answer.read_as
    toned = ask(small_kb, "Vì sao iParking thất bại?")
    assert toned.read_as == "" and toned.to_json()["read_as"] == ""
    store = (
        "--store",
        small_kb.settings.store,
        "--collection",
        small_kb.settings.collection,
        "--cache-dir",
        small_kb.settings.cache_dir,
    )
    code, out, _ = kb_cli("ask", *store, "vi sao iparking that bai")
    assert code == 0
    assert out.splitlines()[0] == f"(Câu hỏi gõ không dấu, được đọc là: “{answer.read_as}”)"
    code, out, _ = kb_cli("ask", "--json", *store, "vi sao iparking that bai")
    assert json.loads(out)["read_as"] == answer.read_as
    code, out, _ = kb_cli("search", *store, "vi sao iparking that bai")
    assert code == 0
    assert out.splitlines()[0] == f"(typed without tones, read as: {answer.read_as})"


def test_postings_are_counted_block_by_block_as_in_one_pass(tones_kb, monkeypatch):
    import numpy as np

    from kb.retrieval import lexical

    scores = tones_kb.lexical.index.model.scores
    rows = np.asarray(tones_kb.lexical.index.meta["language"]) != "en"
    indptr = np.asarray(scores["indptr"])
    marked = np.concatenate([[0], np.cumsum(rows[np.asarray(scores["indices"])])])
    reference = marked[indptr[1:]] - marked[indptr[:-1]]
    assert reference.sum() > 0 and (reference < np.diff(indptr)).any()  # English rows left out
    for block in (1, 3, lexical._BLOCK):  # blocks of 16, 48 and a million postings
        monkeypatch.setattr(lexical, "_BLOCK", block)
        assert np.array_equal(lexical._postings_in(scores, rows), reference)


def test_a_restored_question_is_judged_on_its_words_as_if_typed_with_tones(tones_kb):
    from kb.answers.abstention import ABSTAIN_WORD_COVERAGE, coverage, lexically_covered

    # asked in other words than the passage's: few of its syllable pairs are there, which is how
    # a question that could not be put back is judged, but its terms are
    question = read_question(tones_kb, "xe dap cua thanh pho da dung vi ly do gi")
    hits = search(tones_kb, question, k=4)
    assert hits[0].doc.doc_id == "bikes"
    assert coverage(tones_kb, question, hits, by_words=True) < ABSTAIN_WORD_COVERAGE
    assert lexically_covered(tones_kb, question, hits)
    # one that could not be put back still is judged by its words
    typed = Question.parse("xe dap cua thanh pho da dung vi ly do gi")
    assert typed.toneless and not lexically_covered(tones_kb, typed, hits)
