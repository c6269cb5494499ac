"""The Streamlit app's pages, driven headless with ``streamlit.testing.v1.AppTest``.

The app reads its settings from ``KB_*`` variables, so each test points it at a store with
``monkeypatch.setenv``; the model and the store are opened once per process (cache_resource).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
IPARKING_VI = "Vì sao iParking không thành công?"

XSS_DOC = """---
id: t-xss
title: Smart lighting <b>pilot</b> <script>window.__pwned=2</script>
city: hanoi
project: Smart lighting
domain: infrastructure
year: 2022
doc_type: report
outcome: ongoing
language: en
---
# Smart lighting pilot

## Notes
The smart lighting pilot in Hanoi replaced old street lamps with LED lamps.
<script>window.__pwned=1</script> See [click me](javascript:alert(1)) and **not bold**.

## Lessons learned
Street lighting contracts should include ten years of lamp maintenance, because many lamps
failed after three years.
"""


# -- helpers -------------------------------------------------------------------------------------
def point_at(monkeypatch: pytest.MonkeyPatch, settings, tmp_path: Path) -> None:
    """Make the app use ``settings``' store, with reports and feedback in ``tmp_path``."""
    for var in ("KB_CHROMA_URL", "KB_PUBLIC_ONLY", "KB_LLM_URL", "KB_LLM_MODEL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KB_STORE", str(settings.store))
    monkeypatch.setenv("KB_CACHE_DIR", str(settings.cache_dir))
    monkeypatch.setenv("KB_COLLECTION", settings.collection)
    monkeypatch.setenv("KB_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("KB_FEEDBACK_FILE", str(tmp_path / "feedback.jsonl"))


def make_app(**params: str):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=180)
    for key, value in params.items():
        at.query_params[key] = value
    return at


def run(at):
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def bodies(at) -> list[str]:
    return [h.proto.body for h in at.get("html")]


def page_html(at) -> str:
    return "\n".join(bodies(at))


def all_text(at) -> str:
    parts = [page_html(at)]
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "code"):
        parts += [str(e.value) for e in at.get(kind)]
    parts += [str(e.proto.body) for e in at.get("subheader")]
    return "\n".join(parts)


def cited_doc_ids(html: str) -> set[str]:
    return set(re.findall(r'class="kb-num" href="\?page=documents&amp;doc=([^&"]+)', html))


@pytest.fixture
def app_env(monkeypatch, small_kb, tmp_path):
    point_at(monkeypatch, small_kb.settings, tmp_path)
    return tmp_path


# -- pure helpers ----------------------------------------------------------------------------------
def test_highlight_escapes_and_marks_terms():
    from kb.ui.highlight import highlight, highlight_span, query_terms

    terms = query_terms("Vì sao iParking ở Hà Nội không thành công?")
    assert "iparking" in terms and "vì" not in terms and "sao" not in terms
    out = highlight("<script>x</script> iParking [a](javascript:1)", terms)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert '<mark class="kb-term">iParking</mark>' in out
    assert "[a](javascript:1)" in out
    # toneless query terms also meet toned text; toned ones only the same tones
    assert "<mark" in highlight("Hà Nội", query_terms("ha noi"))
    assert "<mark" not in highlight("cổng dữ liệu", query_terms("công"))
    # Vietnamese syllables are marked as the words they make together: "triển khai" does not
    # mark the "khai" of "công khai"
    terms = query_terms("Hà Nội có những khó khăn gì khi triển khai iHanoi?")
    assert terms == ["hà nội", "khó khăn", "triển khai", "ihanoi"]
    assert "<mark" not in highlight("cần công khai chỉ số", terms)
    assert '<mark class="kb-term">triển khai</mark>' in highlight("Việc triển khai chậm", terms)
    span = highlight_span("abc <b> def", 4, 7)
    assert span == 'abc <mark class="kb-cited" id="kb-cited-mark">&lt;b&gt;</mark> def'
    assert highlight_span("abc", 10, 20) == "abc"


def test_feedback_record_and_load(tmp_path):
    import threading

    from kb.settings import load_settings
    from kb.store import feedback
    from kb.types import Answer, Citation

    s = load_settings(env={}, feedback_file=str(tmp_path / "fb" / "f.jsonl"))
    assert feedback.load(s) == []
    cit = Citation(1, "d", "d#1", "T", "hanoi", None, "q", 0, 1)
    feedback.record(s, "q?", Answer("a [1]", False, [cit]), useful=True, comment="good")
    threads = [
        threading.Thread(target=feedback.record, args=(s, f"q{i}", "x" * 5000, False))
        for i in range(8)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    with open(s.feedback_file, "a", encoding="utf-8") as fh:
        fh.write('{"torn": ')  # a torn line is skipped
    recs = feedback.load(s)
    assert len(recs) == 9
    assert recs[0]["useful"] is True and recs[0]["comment"] == "good"
    assert recs[0]["citations"] == [{"n": 1, "doc_id": "d", "chunk_id": "d#1"}]
    assert all(r["answer"] == "x" * 5000 for r in recs[1:])


# -- Ask -------------------------------------------------------------------------------------------
def test_ask_first_visit_shows_examples(app_env):
    at = run(make_app())
    labels = [b.label for b in at.button]
    assert "Vì sao iParking ở Hà Nội không thành công?" in labels
    assert "How did the three cities build their operations centres?" in labels
    assert at.title[0].value == "Hỏi kho bài học"


def test_ask_answers_with_citations(app_env):
    at = run(make_app(q=IPARKING_VI))
    html = page_html(at)
    assert 'class="kb-answer"' in html
    assert re.search(r'class="kb-marker" href="\?page=documents&amp;doc=t-hn-iparking', html)
    assert "t-hn-iparking" in cited_doc_ids(html)
    assert 'class="kb-card"' in html and "kb-out-failure" in html  # outcome badge
    assert "Nguồn trích dẫn" in [s.value for s in at.subheader]
    assert at.text_input(key="q_input").value == IPARKING_VI


def test_question_terms_are_highlighted_in_quotes(app_env):
    at = run(make_app(q="Vì sao người dân không dùng iParking?"))
    cards = [b for b in bodies(at) if 'class="kb-card"' in b]
    # the word, both its syllables
    assert cards and '<mark class="kb-term">người dân</mark>' in cards[0]


def test_example_button_asks(app_env):
    at = run(make_app())
    at.button(key="ex_0").click()
    run(at)
    assert at.query_params["q"] == "Vì sao iParking ở Hà Nội không thành công?"
    assert "t-hn-iparking" in page_html(at)


def test_ask_form_submit(app_env):
    at = run(make_app())
    at.text_input(key="q_input").set_value("free public Wi-Fi in Da Nang")
    at.get("form_submit_button")[0].click()
    run(at)
    assert "t-dn-wifi" in cited_doc_ids(page_html(at))


def test_ask_abstains_with_nearest(app_env):
    at = run(make_app(q="Chương trình du hành vũ trụ lên sao Hỏa năm 2040 tốn bao nhiêu?"))
    assert any("không có câu trả lời" in w.value for w in at.warning)
    assert 'class="kb-answer"' not in page_html(at)


def test_an_abstention_names_what_no_document_mentions(app_env):
    at = run(make_app(q="Did Huế copy Da Nang's free public Wi-Fi?"))
    assert any("không có câu trả lời" in w.value for w in at.warning)
    # the reason in the interface's language (Vietnamese), not the question's
    assert any(m.value == "Không tài liệu nào nhắc đến: Huế." for m in at.markdown)


def test_a_weak_match_is_said_before_the_answer(app_env):
    # the parking pilot's passages say nothing of resisting or of terminals
    at = run(make_app(q="Why did Hanoi's parking attendants resist the new payment terminals?"))
    assert 'class="kb-answer"' in page_html(at)
    assert [w.value for w in at.warning if w.value.startswith("Khớp yếu:")]  # interface language
    at = run(make_app(q="Why did Hanoi's smart parking pilot see low adoption?"))
    assert 'class="kb-answer"' in page_html(at) and not at.warning


def test_a_toneless_question_shows_how_it_was_read(app_env):
    at = run(make_app(q="bai hoc iparking ha noi"))
    assert 'class="kb-answer"' in page_html(at)
    read = [c.value for c in at.caption if c.value.startswith("Câu hỏi gõ không dấu")]
    assert read == ["Câu hỏi gõ không dấu, được đọc là: “bài học iParking Hà Nội”"]
    at = run(make_app(q=IPARKING_VI))  # typed with its tones: nothing to say
    assert not [c.value for c in at.caption if c.value.startswith("Câu hỏi gõ không dấu")]


def test_city_filter_limits_sources(app_env, small_kb):
    city_of = {d.doc_id: d.city for d in small_kb.store.registry().values()}
    at = run(make_app(q="What lessons did the cities learn about public Wi-Fi and connectivity?"))
    # unfiltered, other cities are cited too: the filter has something to remove
    assert {city_of[d] for d in cited_doc_ids(page_html(at))} > {"danang"}
    at.sidebar.multiselect(key="f_city").set_value(["danang"])
    run(at)
    cited = cited_doc_ids(page_html(at))
    assert cited and {city_of[d] for d in cited} == {"danang"}
    assert any("Đang lọc" in c.value for c in at.caption)
    at.sidebar.multiselect(key="f_outcome").set_value(["success"])
    at.sidebar.slider(key="f_years").set_range(2014, 2016)  # the corpus spans 2014-2021
    run(at)
    assert any("2014–2016" in c.value for c in at.caption)  # the year filter is on
    # the only successful Đà Nẵng document of 2014-2016 answers, and is the only one cited
    assert 'class="kb-answer"' in page_html(at), [w.value for w in at.warning]
    assert cited_doc_ids(page_html(at)) == {"t-dn-wifi"}


def test_compare_view_has_three_columns(app_env):
    at = run(make_app(q="Bài học về dữ liệu và chính quyền điện tử"))
    at.toggle(key="compare").set_value(True)
    run(at)
    heads = [b for b in bodies(at) if b.startswith('<div class="kb-city-head">')]
    assert [re.sub("<[^>]+>", "", h) for h in heads] == ["Hà Nội", "TP. Hồ Chí Minh", "Đà Nẵng"]


def test_answer_parts_shown_per_city(app_env, small_kb):
    """A comparison of two cities, answered by the real offline answerer on the small corpus
    (no LLM): one column per city with its part, each marker linking to its cited passage, and
    the cited PDF page on its card."""
    from html import escape
    from urllib.parse import urlencode

    from kb.answers.ask import ask
    from kb.types import Filters

    question = "So sánh Hà Nội và Đà Nẵng về chi phí vận hành"
    # what the app must show: the same answer, for an anonymous viewer (public documents only)
    answer = ask(small_kb, question, filters=Filters.make(public_only=True))
    assert not answer.abstained, answer.text
    assert list(answer.parts) == ["hanoi", "danang"], answer.parts
    paged = [c for c in answer.citations if c.page is not None]
    assert paged, answer.citations  # a passage of the cameras PDF
    at = run(make_app(q=question))
    html = page_html(at)
    columns = [b for b in bodies(at) if b.startswith('<div class="kb-city-head">')]
    heads = [re.match('<div class="kb-city-head">(.*?)</div>', c).group(1) for c in columns]
    assert heads == ["Hà Nội", "Đà Nẵng"]
    for column, part in zip(columns, answer.parts.values(), strict=True):
        first = part.split(" [", 1)[0]  # the part's first sentence, before its marker
        assert first and escape(first) in column, (first, column)
    for c in answer.citations:
        params = {"page": "documents", "doc": c.doc_id, "chunk": c.chunk_id, "s": c.start}
        href = "?" + urlencode({**params, "e": c.end})
        assert f'class="kb-marker" href="{escape(href)}' in html, href
    assert f"Trang {paged[0].page}" in html


def test_internal_documents_hidden_from_anonymous_users(app_env):
    at = run(make_app(q="HCMC operations centre data formats"))
    # answered from public documents; signed in, the same question cites t-hcm-ioc (below)
    assert cited_doc_ids(page_html(at)), [w.value for w in at.warning]
    assert "t-hcm-ioc" not in page_html(at)
    at = run(make_app(page="documents", doc="t-hcm-ioc"))
    assert any("t-hcm-ioc" in w.value for w in at.warning)
    assert "Root causes" not in page_html(at)


def test_feedback_is_recorded(app_env):
    at = run(make_app(q=IPARKING_VI))
    keys = [b.key for b in at.button if b.key and b.key.startswith("fb_up_")]
    assert keys
    at.text_input(key=keys[0].replace("fb_up_", "fb_comment_")).set_value("rõ ràng")
    at.button(key=keys[0]).click()
    run(at)
    lines = (app_env / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[-1])
    assert rec["useful"] is True and rec["comment"] == "rõ ràng"
    assert rec["question"] == IPARKING_VI and rec["citations"]
    assert any("Cảm ơn" in s.value for s in at.success)


# -- language
# ----------------------------------------------------------------------------------------
def test_language_switch_to_english(app_env):
    at = run(make_app(q=IPARKING_VI))
    assert at.title[0].value == "Hỏi kho bài học"
    at.sidebar.segmented_control(key="ui_lang").set_value("en")
    run(at)
    assert at.title[0].value == "Ask the lessons"
    assert at.query_params["lang"] == "en"
    assert "Sources" in [s.value for s in at.subheader]
    assert "lang=en" in page_html(at)  # citation links keep the language
    radio = at.sidebar.radio(key="ui_page")
    assert "Documents" in " ".join(radio.options)


def test_lang_query_param(app_env):
    at = run(make_app(page="corpus", lang="en"))
    assert at.title[0].value == "Corpus"


# -- Documents
# ---------------------------------------------------------------------------------------
def test_documents_table_lists_public_documents(app_env):
    at = run(make_app(page="documents"))
    frame = at.dataframe[0].value
    assert set(frame["doc_id"]) >= {"t-hn-iparking", "t-hn-iparking-en", "t-dn-wifi", "t-hcm-data"}
    assert "t-hcm-ioc" not in set(frame["doc_id"])
    row = frame[frame["doc_id"] == "t-hn-iparking"].iloc[0]
    assert row["city"] == "Hà Nội" and row["outcome"] == "Thất bại" and row["year"] == 2017
    at.multiselect(key="doc_f_language").set_value(["en"])
    run(at)
    assert set(at.dataframe[0].value["doc_id"]) == {"t-hn-iparking-en", "t-dn-wifi"}
    at.text_input(key="doc_search").set_value("wi-fi")
    run(at)
    assert list(at.dataframe[0].value["doc_id"]) == ["t-dn-wifi"]


def test_navigation_to_documents_page(app_env):
    at = run(make_app())
    at.sidebar.radio(key="ui_page").set_value("documents")
    run(at)
    assert at.query_params["page"] == "documents"
    assert at.title[0].value == "Tài liệu"
    at.sidebar.radio(key="ui_page").set_value("corpus")
    run(at)
    assert at.query_params["page"] == "corpus" and at.title[0].value == "Kho dữ liệu"


def test_url_change_in_a_session_moves_the_page(app_env):
    """The browser's back/forward buttons change the URL within a session."""
    at = run(make_app(page="documents"))
    at.query_params["page"] = "corpus"
    at.query_params["lang"] = "en"
    run(at)
    assert at.title[0].value == "Corpus"
    assert at.sidebar.radio(key="ui_page").value == "corpus"


def test_back_to_ask_keeps_the_answer(app_env):
    at = run(make_app(q=IPARKING_VI))
    at.sidebar.radio(key="ui_page").set_value("evals")
    run(at)
    assert "q" not in at.query_params
    at.sidebar.radio(key="ui_page").set_value("ask")
    run(at)
    assert at.query_params["q"] == IPARKING_VI
    assert 'class="kb-answer"' in page_html(at)


def test_document_view_at_cited_passage(app_env, small_kb):
    chunks = small_kb.store.live_chunks("t-hn-iparking")
    lesson = next(c for c in chunks if "Nguyên nhân chính" in c.text)
    start = lesson.text.index("Nguyên nhân chính")
    end = lesson.text.index(".", start) + 1
    at = run(
        make_app(
            page="documents",
            doc="t-hn-iparking",
            chunk=lesson.chunk_id,
            s=str(start),
            e=str(end),
            q=IPARKING_VI,
        )
    )
    html = page_html(at)
    assert "<h2>Hậu kiểm dự án iParking Hà Nội</h2>" in html
    assert 'id="kb-cited"' in html
    cited = re.search(r'<mark class="kb-cited" id="kb-cited-mark">(.*?)</mark>', html).group(1)
    assert re.sub("<[^>]+>", "", cited) == lesson.text[start:end]
    assert "Số người dùng thấp hơn" in html  # the rest of the document is there too
    assert any(c.proto.unsafe_allow_javascript for c in at.get("html"))  # scroll into view
    chunk_frame = at.dataframe[0].value
    assert len(chunk_frame) == len(chunks)
    assert any(quote(lesson.chunk_id, safe="") in c.value for c in at.code)  # shareable link
    assert at.get("download_button")  # the original file is reachable


def test_document_view_by_page_for_pdfs(app_env):
    at = run(make_app(page="documents", doc="t-dn-cameras"))
    html = page_html(at)
    assert "<h4>Trang 1</h4>" in html and "<h4>Trang 3</h4>" in html
    at.segmented_control(key="doc_group_by").set_value("section")
    run(at)
    assert "<h4>Trang 1</h4>" not in page_html(at)


def test_back_to_document_list(app_env):
    at = run(make_app(page="documents", doc="t-dn-wifi"))
    at.button[0].click()
    run(at)
    assert "doc" not in at.query_params
    assert at.dataframe[0].value is not None


def test_unknown_document(app_env):
    at = run(make_app(page="documents", doc="nope"))
    assert any("nope" in w.value for w in at.warning)


# -- Evals
# -------------------------------------------------------------------------------------------
def _metrics(base: float) -> dict:
    return {
        "recall@1": base,
        "recall@5": base + 0.1,
        "recall@10": base + 0.2,
        "mrr@10": base + 0.05,
        "ndcg@10": base + 0.07,
        "p50_ms": 30.0,
        "p95_ms": 80.0,
    }


def write_report(
    folder: Path, name: str, created: str, base: float, dataset: str = "evals/golden"
) -> None:
    modes = {}
    for mode, off in (("dense", 0.0), ("bm25", -0.1), ("hybrid", 0.05)):
        m = _metrics(base + off)
        m["by"] = {
            "lang": {"vi": _metrics(base + off), "en": _metrics(base + off - 0.05)},
            "city": {"hanoi": _metrics(base), "hcmc": _metrics(base - 0.1)},
            "kind": {"factual": _metrics(base), "lesson": _metrics(base - 0.2)},
        }
        modes[mode] = m
    report = {"dataset": dataset, "queries": 42, "created_at": created, "modes": modes}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(report), encoding="utf-8")


def answer_metrics(base: float | None) -> dict:
    rates = ("citation_precision", "fact_recall", "abstention_accuracy", "false_abstention")
    out: dict = {k: None if base is None else round(base + 0.1 * i, 3) for i, k in enumerate(rates)}
    out.update(weak_on_answerable=0.04, weak_on_unanswerable=0.8)
    out.update(n=10, p50_ms=40.0, p95_ms=95.0)
    return out


def write_answer_report(folder: Path, name: str, created: str, base: float) -> None:
    answers = answer_metrics(base)
    answers["false_abstention"] = None  # values may be missing
    answers["by"] = {
        "lang": {"vi": answer_metrics(base), "en": answer_metrics(None)},
        "city": {"hanoi": answer_metrics(base - 0.1)},
    }
    report = {
        "dataset": "evals/golden",
        "queries": 30,
        "created_at": created,
        "kind": "answers",
        "answerer": "offline",
        "answers": answers,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(report), encoding="utf-8")


def frame_with(at, column: str):
    return [d.value for d in at.dataframe if column in d.value.columns]


def test_evals_page_shows_latest_report_history_and_feedback(app_env):
    from kb.settings import load_settings
    from kb.store import feedback

    reports = app_env / "reports"
    write_report(reports, "old", "2026-01-01T10:00:00+00:00", 0.4)
    write_report(reports, "new", "2026-02-01T10:00:00+00:00", 0.6)
    write_answer_report(reports, "ans-old", "2026-01-05T10:00:00+00:00", 0.3)
    write_answer_report(reports, "ans-new", "2026-02-05T10:00:00+00:00", 0.5)
    (reports / "notes.json").write_text('{"kind": "answers"}', encoding="utf-8")
    (reports / "broken.json").write_text("{", encoding="utf-8")
    feedback.record(load_settings(), "Câu hỏi?", "Trả lời", useful=False, comment="thiếu nguồn")
    at = run(make_app(page="evals"))
    metrics = [(m.label, m.value) for m in at.metric]
    retrieval, answers, fb_metrics = metrics[:3], metrics[3:7], dict(metrics[7:])
    assert retrieval[1] == ("Số câu hỏi", "42") and retrieval[2][1] == "2026-02-01"
    assert answers[1:3] == [("Số câu hỏi", "30"), ("Bộ trả lời", "offline")]
    assert answers[3][1] == "2026-02-05"
    modes = at.dataframe[0].value
    assert list(modes["Chế độ"]) == ["dense", "bm25", "hybrid"]
    assert modes[modes["Chế độ"] == "hybrid"]["ndcg@10"].iloc[0] == pytest.approx(0.72)
    tabs = [tab.label for tab in at.tabs]
    assert tabs[:2] == ["Tìm kiếm", "Thành phố"]  # retrieval tab, then its breakdown
    assert tabs[2:5] == ["Loại câu hỏi", "Ngôn ngữ", "Câu trả lời"]
    assert tabs[5:] == ["Thành phố", "Ngôn ngữ"]  # the answers' breakdown
    city = at.dataframe[1].value
    assert list(city["Giá trị"]) == ["Hà Nội", "TP. Hồ Chí Minh"]
    history = next(d.value for d in at.dataframe if "file" in d.value.columns)
    assert list(history["file"]) == ["new.json", "old.json"]

    # answers: the latest report's metrics (missing ones empty), breakdowns, history
    latest, *breakdowns = frame_with(at, "citation_precision")[:3]
    assert latest["citation_precision"].iloc[0] == pytest.approx(0.5)
    assert latest["fact_recall"].iloc[0] == pytest.approx(0.6)
    assert latest["false_abstention"].isna().all()
    assert latest["weak_on_unanswerable"].iloc[0] == pytest.approx(0.8)  # the weak-match shares
    assert list(breakdowns[0]["Giá trị"]) == ["Hà Nội"]
    assert list(breakdowns[1]["Giá trị"]) == ["Tiếng Việt", "Tiếng Anh"]
    assert breakdowns[1]["fact_recall"].isna().tolist() == [False, True]
    answer_history = [f for f in frame_with(at, "file") if "citation_precision" in f.columns]
    assert list(answer_history[0]["file"]) == ["ans-new.json", "ans-old.json"]
    charts = at.get("vega_lite_chart")
    assert len(charts) >= 6  # retrieval: modes + history; answers: latest, 2 breakdowns, history

    fb = at.dataframe[-1].value
    assert fb["Góp ý"].iloc[0] == "thiếu nguồn"
    assert fb_metrics["Không hữu ích"] == "1"


def test_evals_page_keeps_query_sets_apart(app_env):
    reports = app_env / "reports"
    write_report(reports, "golden-old", "2026-01-01T10:00:00+00:00", 0.4)
    write_report(reports, "golden-new", "2026-02-01T10:00:00+00:00", 0.6)
    write_report(reports, "heldout", "2026-03-01T10:00:00+00:00", 0.3, "evals/heldout")
    at = run(make_app(page="evals"))
    chooser = at.radio(key="set_retrieval")
    assert chooser.options == ["heldout", "golden"] and chooser.value == "golden"
    history = next(d.value for d in at.dataframe if "file" in d.value.columns)
    assert list(history["file"]) == ["golden-new.json", "golden-old.json"]
    chooser.set_value("heldout")
    run(at)
    assert {m.label: m.value for m in at.metric}["Bộ dữ liệu"] == "heldout"
    history = next(d.value for d in at.dataframe if "file" in d.value.columns)
    assert list(history["file"]) == ["heldout.json"]


def test_evals_page_without_reports(app_env):
    at = run(make_app(page="evals", lang="en"))
    assert any("No eval report" in i.value for i in at.info)
    assert any("No answer eval report" in i.value for i in at.info)
    assert any("No feedback yet" in c.value for c in at.caption)


def test_evals_page_shows_the_lesson_eval(app_env):
    reports = app_env / "reports"
    reports.mkdir(exist_ok=True)
    figures = {"precision": 0.95, "recall": 0.85, "kind_accuracy": 1.0, "ari": 0.2, "purity": 0.6}
    counts = {"labelled": 130, "labelled_docs": 13, "total": 436, "exact_quotes": 1.0}
    counts |= {"themes": 90, "themes_multi_city": 53}
    report = {"kind": "lessons", "created_at": "2026-03-01T10:00:00", "labels": "labels.jsonl"}
    report["lessons"] = figures | counts
    (reports / "lessons.json").write_text(json.dumps(report), encoding="utf-8")
    # a newer report of the held-out set: the main set is still the one shown first
    heldout = {**report, "labels": "heldout.jsonl", "created_at": "2026-03-02T10:00:00"}
    heldout["lessons"] = {**report["lessons"], "precision": 0.5}
    (reports / "heldout.json").write_text(json.dumps(heldout), encoding="utf-8")
    at = run(make_app(page="evals", lang="en"))
    assert at.radio(key="set_lessons").options == ["labels", "heldout"]
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Precision"], metrics["Recall"], metrics["Theme ARI"]) == (
        "0.950",
        "0.850",
        "0.200",
    )
    assert any("436 lessons, 100.0% exact quotes, 90 themes" in c.value for c in at.caption)
    at = run(make_app(page="evals"))  # (switching a radio in AppTest needs the default language)
    at.radio(key="set_lessons").set_value("heldout")
    run(at)
    assert {m.label: m.value for m in at.metric}["Độ chính xác"] == "0.500"
    (reports / "lessons.json").unlink()
    (reports / "heldout.json").unlink()
    at = run(make_app(page="evals", lang="en"))
    assert any("No lesson report" in c.value for c in at.caption)


def golden_judged() -> int:
    """The golden queries with relevance judgements (what the retrieval eval counts)."""
    lines = (ROOT / "evals" / "golden" / "qrels" / "test.tsv").read_text().splitlines()[1:]
    return len({line.split("\t")[0] for line in lines if line.strip()})


def test_run_eval_buttons_save_reports(app_env):
    """The buttons run the real golden-set evals, here over the small test corpus (whose document
    ids the golden judgements do not name: its retrieval figures are 0, its latencies and the
    answers' abstention figures are not), save the reports and show them."""
    reports = app_env / "reports"
    at = run(make_app(page="evals"))
    assert not list(reports.glob("*.json"))
    at.button(key="run_retrieval").click()
    run(at)
    (saved,) = reports.glob("*-retrieval.json")
    assert saved.with_suffix(".md").is_file()
    report = json.loads(saved.read_text(encoding="utf-8"))
    assert Path(report["dataset"]) == ROOT / "evals" / "golden"
    assert report["queries"] == golden_judged()
    assert any(saved.name in s.value for s in at.success)
    shown = at.dataframe[0].value.set_index("Chế độ")
    assert list(shown.index) == ["dense", "bm25", "hybrid"] == list(report["modes"])
    for mode, metrics in report["modes"].items():
        assert metrics["p50_ms"] > 0
        for column in shown.columns:
            assert shown.loc[mode, column] == pytest.approx(metrics[column]), (mode, column)

    at.button(key="run_answers").click()
    run(at)
    (saved,) = reports.glob("*-answers.json")
    report = json.loads(saved.read_text(encoding="utf-8"))
    queries = (ROOT / "evals" / "golden" / "queries.jsonl").read_text().splitlines()
    assert report["answerer"] == "offline" and report["queries"] == len(queries)
    assert report["answers"]["abstention_accuracy"] > 0  # the unanswerable questions abstain
    assert any(saved.name in s.value for s in at.success)
    assert at.session_state["eval_tabs"] == "Câu trả lời"  # the new report's tab is open
    latest = frame_with(at, "citation_precision")[0]
    for key in ("abstention_accuracy", "false_abstention", "weak_on_answerable"):
        assert latest[key].iloc[0] == pytest.approx(report["answers"][key]), key


# -- Corpus
# ------------------------------------------------------------------------------------------
def test_corpus_page(app_env, small_kb):
    at = run(make_app(page="corpus"))
    metrics = {m.label: m.value for m in at.metric}
    public = [d for d in small_kb.store.registry().values() if d.access == "public"]
    assert metrics["Tài liệu"] == str(len(public))
    assert metrics["Đoạn văn bản"] == str(sum(d.n_chunks for d in public))
    assert len(at.get("vega_lite_chart")) >= 6  # five fields and the years
    timeline = at.dataframe[0].value
    assert set(timeline["Mã tài liệu"]) == {d.doc_id for d in public}


# -- store problems
# ------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", ["ask", "documents", "corpus"])
def test_empty_store_says_what_to_run(monkeypatch, settings_factory, tmp_path, page):
    point_at(monkeypatch, settings_factory(collection="empty"), tmp_path)
    at = run(make_app(page=page))
    assert any("kb ingest corpus/" in c.value for c in at.code)
    assert not at.error


def test_unreachable_store_says_what_to_do(monkeypatch, settings_factory, tmp_path):
    from conftest import free_port

    point_at(monkeypatch, settings_factory(collection="gone"), tmp_path)
    monkeypatch.setenv("KB_CHROMA_URL", f"http://127.0.0.1:{free_port()}")
    at = run(make_app(page="documents"))
    assert any("unreachable" in e.value for e in at.error)
    assert at.code
    assert "Traceback" not in all_text(at)


# -- untrusted text
# ------------------------------------------------------------------------------------
@pytest.fixture
def xss_env(monkeypatch, settings_factory, tmp_path):
    from ingest import ingest_paths
    from kb.knowledge_base import open_kb

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "xss.md").write_text(XSS_DOC, encoding="utf-8")
    settings = settings_factory(collection="xss")
    report = ingest_paths(open_kb(settings), [corpus])
    assert not report.failed
    point_at(monkeypatch, settings, tmp_path)
    return settings


def test_script_in_documents_is_shown_as_text(xss_env):
    at = run(make_app(q="smart lighting lamps maintenance lessons"))
    html = page_html(at)
    assert "t-xss" in cited_doc_ids(html)
    assert "<script>window" not in html and "<b>pilot" not in html
    assert "&lt;b&gt;pilot&lt;/b&gt; &lt;script&gt;window.__pwned=2&lt;/script&gt;" in html

    at = run(make_app(page="documents", doc="t-xss"))
    html = page_html(at)
    assert "<script>window" not in html and "<b>pilot" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "[click me](javascript:alert(1))" in html  # a Markdown link stays text
    assert "**not bold**" in html
    assert "<h2>Smart lighting &lt;b&gt;pilot&lt;/b&gt;" in html
    scripts = [c.proto.body for c in at.get("html") if c.proto.unsafe_allow_javascript]
    assert all("pwned" not in s for s in scripts)

    at = run(make_app(page="documents"))
    assert "<script>window.__pwned=2</script>" in " ".join(at.dataframe[0].value["title"])


# -- sign-in
# --------------------------------------------------------------------------------------------
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret-not-a-real-one",
    "client_id": "lessons-kb",
    "client_secret": "test-client-secret",
    "server_metadata_url": "http://127.0.0.1:9400/.well-known/openid-configuration",
}
ALICE = {"is_logged_in": True, "name": "Alice Nguyễn", "email": "alice@example.org", "sub": "a"}


def auth_app(user: dict | None, **params: str):
    at = make_app(**params)
    at.secrets["auth"] = dict(AUTH)
    at.user = dict(user) if user is not None else {"is_logged_in": False}
    return at


def sidebar_buttons(at) -> dict[str, str]:
    return {b.key: b.label for b in at.sidebar.button if b.key}


def test_no_sign_in_without_auth_config(app_env):
    at = make_app(page="documents")
    at.user = dict(ALICE)  # whatever st.user says, without [auth] nobody is signed in
    run(at)
    assert "sign_in" not in sidebar_buttons(at) and "sign_out" not in sidebar_buttons(at)
    assert "t-hcm-ioc" not in set(at.dataframe[0].value["doc_id"])


def test_anonymous_with_auth_sees_public_only_and_a_sign_in_button(app_env, small_kb):
    at = run(auth_app(None, page="documents"))
    assert sidebar_buttons(at)["sign_in"] == "Đăng nhập"
    assert "t-hcm-ioc" not in set(at.dataframe[0].value["doc_id"])
    at = run(auth_app(None, page="documents", doc="t-hcm-ioc", lang="en"))
    assert sidebar_buttons(at)["sign_in"] == "Sign in"
    assert any("t-hcm-ioc" in w.value and "not found" in w.value for w in at.warning)
    assert "Root causes" not in page_html(at)
    at = run(auth_app(None, page="corpus"))
    public = [d for d in small_kb.store.registry().values() if d.access == "public"]
    assert {m.label: m.value for m in at.metric}["Tài liệu"] == str(len(public))


def test_signed_in_user_sees_internal_documents(app_env, small_kb):
    at = run(auth_app(ALICE, page="documents"))
    assert sidebar_buttons(at)["sign_out"] == "Đăng xuất"
    assert any("Alice Nguyễn" in b for b in bodies(at))
    assert "t-hcm-ioc" in set(at.dataframe[0].value["doc_id"])
    at = run(auth_app(ALICE, page="documents", doc="t-hcm-ioc", lang="en"))
    assert sidebar_buttons(at)["sign_out"] == "Sign out"
    assert not at.warning and "kb-internal" in page_html(at)
    at = run(auth_app(ALICE, page="corpus"))
    assert {m.label: m.value for m in at.metric}["Tài liệu"] == str(len(small_kb.store.registry()))
    at = run(auth_app(ALICE, q="HCMC operations centre data formats"))
    assert "t-hcm-ioc" in cited_doc_ids(page_html(at))


def test_sign_out_returns_to_public_only(app_env):
    at = run(auth_app(ALICE, page="documents"))
    at.sidebar.button(key="sign_out").click()
    run(at)
    assert "sign_in" in sidebar_buttons(at)
    assert "t-hcm-ioc" not in set(at.dataframe[0].value["doc_id"])


def test_feedback_citing_internal_documents_is_hidden_from_anonymous_users(app_env):
    from kb.settings import load_settings
    from kb.store import feedback
    from kb.types import Answer, Citation

    s = load_settings()
    internal = Citation(1, "t-hcm-ioc", "t-hcm-ioc#1", "IOC", "hcmc", None, "secret", 0, 6)
    public = Citation(1, "t-dn-wifi", "t-dn-wifi#1", "Wi-Fi", "danang", None, "quote", 0, 5)
    feedback.record(s, "internal?", Answer("secret [1]", False, [internal]), useful=True)
    feedback.record(s, "public?", Answer("quote [1]", False, [public]), useful=True)
    at = run(auth_app(None, page="evals"))
    assert list(at.dataframe[-1].value["Câu hỏi"]) == ["public?"]
    assert at.button(key="run_retrieval").disabled  # anonymous users cannot start evals
    at = run(auth_app(ALICE, page="evals"))
    assert list(at.dataframe[-1].value["Câu hỏi"]) == ["public?", "internal?"]
    assert not at.button(key="run_retrieval").disabled


# -- a store server that goes away and comes back
# ------------------------------------------------------
@pytest.mark.slow
def test_store_server_down_then_back(monkeypatch, tmp_path, small_corpus, session_cache):
    from conftest import ChromaServer

    from ingest import ingest_paths
    from kb.knowledge_base import open_kb
    from kb.settings import load_settings

    server = ChromaServer(tmp_path / "chroma-data")
    server.start()
    try:
        settings = load_settings(
            env={}, chroma_url=server.url, cache_dir=str(session_cache), collection="remote"
        )
        report = ingest_paths(open_kb(settings), [small_corpus / "danang"])
        assert not report.failed
        point_at(monkeypatch, settings, tmp_path)
        monkeypatch.setenv("KB_CHROMA_URL", server.url)
        at = run(make_app(page="documents"))
        assert "t-dn-wifi" in set(at.dataframe[0].value["doc_id"])

        server.stop()
        run(at)  # the next interaction
        assert any(f"store unreachable at {server.url}" in e.value for e in at.error)
        hint = "\n".join(c.value for c in at.code)
        assert (
            f"chroma run --path /path/to/chroma-data --host 127.0.0.1 --port {server.port}" in hint
        )
        assert "unset KB_CHROMA_URL" in hint
        assert "Traceback" not in all_text(at)
        at.sidebar.radio(key="ui_page").set_value("ask")
        run(at)
        assert any("store unreachable" in e.value for e in at.error)

        server.start()  # same port and data: the app reconnects by itself
        at.query_params["q"] = "free public Wi-Fi in Da Nang"
        run(at)
        assert not at.error
        assert "t-dn-wifi" in cited_doc_ids(page_html(at))
        at.sidebar.radio(key="ui_page").set_value("documents")
        run(at)
        assert not at.error and "t-dn-wifi" in set(at.dataframe[0].value["doc_id"])

        # a server restarted on other (here: empty) data is met with a fresh client too
        server.stop()
        run(at)
        assert any("store unreachable" in e.value for e in at.error)
        server.path = tmp_path / "other-data"
        server.start()
        run(at)
        assert not at.error and any("kb ingest corpus/" in c.value for c in at.code)
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("question", "said", "columns"),
    [
        # no document of the small corpus mentions JICA: each city's column says so
        ("Bài học từ dự án JICA về dữ liệu", "Không tài liệu nào nhắc đến: JICA.", 3),
        # Hà Nội's column is answered from the parking pilot's passages, which say nothing of
        # resisting or of terminals: a weak match; the other cities' columns abstain
        ("Why did Hanoi's parking attendants resist the new payment terminals?", "Khớp yếu:", 1),
        pytest.param(
            "Why did Hanoi's parking attendants resist the new payment terminals?",
            "Không có tài liệu nào về thành phố này trả lời câu hỏi.",
            2,
            marks=pytest.mark.xfail(
                strict=True,
                reason="Đà Nẵng's public passages here are Vietnamese, which lexical signals do "
                "not read, and on 16 passages the language centres are too shrunk to keep the "
                "model's support under its floor: the column is answered (and, since a weak "
                "match across languages would rest on the glossary alone, not flagged)",
            ),
        ),
    ],
)
def test_compare_view_says_what_each_column_lacks(app_env, question, said, columns):
    at = run(make_app(q=question))
    at.toggle(key="compare").set_value(True)
    run(at)
    assert sum(said in c.value for c in at.caption) == columns


# -- Lessons
# -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lessons_store(tmp_path_factory, session_cache):
    """The lesson tests' documents: one lesson learned in Hà Nội (2020, English) and again in Đà
    Nẵng (2021, Vietnamese), and an internal HCMC review."""
    from test_lessons import write_corpus

    from ingest import ingest_paths
    from kb.knowledge_base import open_kb
    from kb.settings import load_settings

    root = tmp_path_factory.mktemp("lessons-app")
    settings = load_settings(
        env={}, store=str(root / "store"), cache_dir=str(session_cache), collection="lessons-app"
    )
    kb = open_kb(settings)
    report = ingest_paths(kb, [write_corpus(root / "corpus")])
    assert not report.failed, report.failed
    return kb


@pytest.fixture
def lessons_env(monkeypatch, lessons_store, tmp_path):
    point_at(monkeypatch, lessons_store.settings, tmp_path)
    return lessons_store


def theme_blocks(at) -> list[str]:
    return [b for b in bodies(at) if 'class="kb-theme"' in b]


def test_lessons_page_side_by_side_with_recurrence_and_links_to_passages(lessons_env):
    from html import escape

    from test_lessons import INTERNAL, PAY_EN, PAY_VI

    from kb.lessons.listing import lessons
    from kb.ui.render import doc_href

    at = run(make_app(page="lessons"))
    assert at.title[0].value == "Bài học theo chủ đề"
    pair = next(b for b in theme_blocks(at) if escape(PAY_EN) in b)
    assert escape(PAY_VI) in pair  # one theme, two languages
    assert "Rút ra ở Hà Nội năm 2020 và lại gặp ở Đà Nẵng năm 2021." in pair
    heads = re.findall(r'class="kb-city-head">([^<]+)<', pair)
    assert heads == ["Hà Nội", "Đà Nẵng"]
    assert "repeat(2, minmax(0, 1fr))" in pair  # a column per city
    # every lesson links to its document at its passage, as a citation card does
    public = lessons(lessons_env, public_only=True)
    html = page_html(at)
    for x in public.lessons:
        assert f'href="{escape(doc_href(x.doc_id, x.chunk_id, x.start, x.end, lang="vi"))}"' in html
    # not signed in (no sign-in configured): no internal lesson, nor its city, anywhere
    assert escape(INTERNAL) not in html and "TP. Hồ Chí Minh" not in html
    assert any(
        c.value == f"{len(public.lessons)} bài học trong {len(public.themes)} chủ đề"
        for c in at.caption
    )
    assert {b.proto.label for b in at.get("download_button")} == {"Markdown", "CSV", "XLSX"}

    at = run(make_app(page="lessons", lang="en"))
    pair = next(b for b in theme_blocks(at) if escape(PAY_EN) in b)
    assert "Learned in Hà Nội 2020 and again in Đà Nẵng 2021." in pair


def test_lessons_grid_counts_link_to_a_theme_in_a_city(lessons_env):
    from test_lessons import PAY_EN

    from kb.lessons.listing import lessons

    pay = next(x.theme for x in lessons(lessons_env).lessons if x.text == PAY_EN)
    at = run(make_app(page="lessons", kind="lesson"))
    grid = next(b for b in bodies(at) if 'class="kb-grid"' in b)
    cell = re.search(
        rf'href="(\?page=lessons&amp;kind=lesson&amp;theme={pay}&amp;city=danang)"', grid
    )
    assert cell, grid
    # following the link (a new session at that URL) filters the page to that cell
    at = run(make_app(page="lessons", kind="lesson", theme=pay, city="danang"))
    assert at.multiselect(key="les_theme").value == [pay]
    assert at.multiselect(key="les_city").value == ["danang"]
    blocks = theme_blocks(at)
    assert len(blocks) == 1 and re.findall(r'class="kb-city-head">([^<]+)<', blocks[0]) == [
        "Đà Nẵng"
    ]


def test_lessons_filters_come_from_and_go_into_the_url(lessons_env):
    at = run(make_app(page="lessons", city="danang", kind="recommendation"))
    html = page_html(at)
    assert "Công bố số giao dịch" in html and "Mở nhiều kênh thanh toán" not in html
    at.multiselect(key="les_kind").set_value([])
    at.multiselect(key="les_language").set_value(["vi"])
    run(at)
    assert at.query_params["city"] == "danang"  # one value: a string; several: a list
    assert at.query_params["language"] == "vi" and "kind" not in at.query_params
    assert "Mở nhiều kênh thanh toán" in page_html(at)
    # values the viewer's lessons do not have are dropped, not an error
    at = run(make_app(page="lessons", city="paris", theme="t0000"))
    assert at.multiselect(key="les_city").value == [] and theme_blocks(at)


def test_lessons_search_box_ranks_themes(lessons_env):
    from html import escape

    from test_lessons import PAY_EN

    at = run(make_app(page="lessons", q="kênh thanh toán cho bãi đỗ xe"))
    assert at.text_input(key="les_q").value == "kênh thanh toán cho bãi đỗ xe"
    first = theme_blocks(at)[0]
    assert escape(PAY_EN) in first
    assert '<mark class="kb-term">kênh thanh toán</mark>' in first  # the question's words


def test_lessons_signed_in_user_sees_internal_lessons(lessons_env):
    from html import escape

    from test_lessons import INTERNAL

    at = run(auth_app(ALICE, page="lessons"))
    assert escape(INTERNAL) in page_html(at) and "TP. Hồ Chí Minh" in page_html(at)
    at = run(auth_app(None, page="lessons"))
    assert "sign_in" in sidebar_buttons(at)
    assert escape(INTERNAL) not in page_html(at) and "TP. Hồ Chí Minh" not in page_html(at)
