"""The question-answer eval (``kb eval --qa``) on a tiny bilingual set written here.

Why: its figures decide whether cross-language answers and abstention hold on a knowledge base
nobody here wrote, so each must count what the dataset's README says (and a span that cannot
appear must count as a miss); a subset for CI must be the same every time and cover every
group; and a broken dataset must name the file and line to fix, with exit code 2.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from kb.cli import main
from kb.evals import qa as qa_eval
from kb.settings import load_settings
from kb.types import Answer, Citation

DOCS = {
    "qa-solar.md": (
        "id: qa-solar\ntitle: Solar street lamps in Hoi An\nlanguage: en",
        "In 2019 the town of Hoi An installed 420 solar street lamps along the Thu Bon river. "
        "Each lamp stores energy in a battery that lasts twelve hours.",
    ),
    "qa-ferry.md": (
        "id: qa-ferry\ntitle: Phà điện trên sông Hàn\nlanguage: vi",
        "Năm 2021, Đà Nẵng đưa vào hoạt động 3 chiếc phà chạy điện trên sông Hàn. Mỗi chiếc phà "
        "chở được 60 hành khách. Vé đi phà có giá 15.000 đồng một lượt.",
    ),
    "qa-library.md": (
        "id: qa-library\ntitle: Thư viện số Thừa Thiên Huế\nlanguage: vi",
        "Thư viện tổng hợp Thừa Thiên Huế đã số hóa 12.000 cuốn sách cổ trong hai năm. Bạn đọc "
        "tra cứu miễn phí qua cổng thông tin của tỉnh.",
    ),
    "qa-market.md": (
        "id: qa-market\ntitle: Cashless payments at Ben Thanh market\nlanguage: en",
        "Since 2020, 80 percent of the stalls at Ben Thanh market accept QR-code payments. "
        "Traders were trained by the city's banks in two weeks.",
    ),
    # no id in its front matter: ingest names it by its content hash, questions by its file name
    "rain-gauges.md": (
        "title: Rain gauges in Hue\nlanguage: en",
        "Hue placed 35 automatic rain gauges in low-lying wards to warn residents of floods.",
    ),
}


def _q(qid, question, lang, doc_lang, doc, gold, withheld=None) -> dict:
    return {
        "id": qid,
        "question": question,
        "lang": lang,
        "doc_lang": doc_lang,
        "answerable": doc is not None,
        "doc": doc,
        "withheld_doc": withheld,
        "gold": gold,
    }


QUESTIONS = [
    _q("s1", "How many solar street lamps did Hoi An install?", "en", "en", "qa-solar", ["420"]),
    _q("c1", "Hội An đã lắp bao nhiêu đèn đường năng lượng mặt trời?", "vi", "en", "qa-solar", ["420"]),
    _q("c2", "How much is a ticket on the Han river electric ferry?", "en", "vi", "qa-ferry", ["15.000 đồng"]),
    _q("s2", "Đà Nẵng có bao nhiêu chiếc phà điện?", "vi", "vi", "qa-ferry", ["3 chiếc"]),
    # the document writes 12.000: this gold span cannot appear in any answer
    _q("s3", "Thư viện Huế đã số hóa bao nhiêu cuốn sách cổ?", "vi", "vi", "qa-library", ["mười hai nghìn"]),
    _q("s4", "How many rain gauges did Hue place?", "en", "en", "rain-gauges", ["35"]),
    _q("n1", "Which company made the batteries of Hoi An's solar lamps?", "en", "en", None, ["Panasonic"], "qa-solar-2"),
    _q("n2", "Ai đóng những chiếc phà điện của Đà Nẵng?", "vi", "en", None, ["Song Thu"], "qa-ferry-2"),
    _q("n3", "How many staff run Hue's digital library?", "en", None, None, ["twelve"]),
]  # fmt: skip


def write_set(folder: Path, questions: list[dict] = QUESTIONS) -> Path:
    corpus = folder / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for name, (front, body) in DOCS.items():
        (corpus / name).write_text(f"---\n{front}\n---\n{body}\n", encoding="utf-8")
    (folder / "questions.jsonl").write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in questions), encoding="utf-8"
    )
    return folder


@pytest.fixture(scope="module")
def qa_set(tmp_path_factory) -> Path:
    return write_set(tmp_path_factory.mktemp("qa") / "tiny-qa")


@pytest.fixture(scope="module")
def qa_settings(tmp_path_factory, session_cache):
    store = tmp_path_factory.mktemp("qa-store")
    return load_settings(
        env={},
        store=str(store),
        cache_dir=str(session_cache),
        reports_dir=str(store / "reports"),
    )


def _cite(doc_id: str) -> Citation:
    return Citation(1, doc_id, f"{doc_id}#0", "", "", None, "", 0, 0)


def scripted(kb, question: str) -> Answer:
    """Fixed answers, so that every figure below is known in advance."""
    rain = next(d.doc_id for d in kb.store.registry().values() if d.title == "Rain gauges in Hue")
    said = {
        "How many solar street lamps": ("Hoi An installed 420 solar street lamps [1].", "qa-solar"),
        # the fact, but the first citation is the wrong document
        "Hội An đã lắp": ("Hội An lắp 420 đèn [1].", "qa-market"),
        "How much is a ticket": None,  # a false abstention
        # case and white space differ from the gold span
        "Đà Nẵng có bao nhiêu": ("Đà Nẵng có 3   CHIẾC phà chạy điện [1].", "qa-ferry"),
        "Thư viện Huế": ("Thư viện đã số hóa 12.000 cuốn sách cổ [1].", "qa-library"),
        "How many rain gauges": ("Hue placed 35 rain gauges [1].", rain),
        "Which company": None,  # a near miss caught
        "Ai đóng": ("Những chiếc phà chở 60 hành khách [1].", "qa-ferry"),  # one answered
        "How many staff": None,
    }
    for start, reply in said.items():
        if question.startswith(start):
            if reply is None:
                return Answer(text="No document answers this.", abstained=True)
            return Answer(text=reply[0], abstained=False, citations=[_cite(reply[1])])
    raise AssertionError(f"unscripted question {question!r}")


@pytest.fixture(scope="module")
def scored(qa_settings, qa_set):
    return qa_eval.run_qa_eval(qa_settings, qa_set, answer=scripted)


FIGURES = ("fact_recall", "first_citation_right", "false_abstention", "near_miss_abstention")


def _figures(block: dict) -> tuple:
    return tuple(block[f] for f in FIGURES)


def test_figures_count_what_the_readme_says(scored):
    qa = scored["qa"]
    # 6 answerable: found s1 c1 s2 s4 (s3's span cannot appear, c2 abstained); answered 5, of
    # which c1 cites the wrong document first; 3 near misses, n1 and n3 abstained
    assert _figures(qa) == pytest.approx((4 / 6, 4 / 5, 1 / 6, 2 / 3))
    assert (qa["n"], qa["answerable"], qa["answered"], qa["near_misses"]) == (9, 6, 5, 3)
    by = qa["by"]
    assert set(by) == {"kind", "lang", "pair"}
    assert set(by["kind"]) == {"same", "cross", "near_miss"}
    assert _figures(by["kind"]["same"]) == pytest.approx((0.75, 1.0, 0.0, 1.0))
    assert _figures(by["kind"]["cross"]) == pytest.approx((0.5, 0.0, 0.5, 0.0))
    # a near miss whose withheld paragraph's language is unknown has a group of its own
    assert _figures(by["kind"]["near_miss"]) == (None, None, None, 1.0)
    assert _figures(by["lang"]["en"]) == pytest.approx((2 / 3, 1.0, 1 / 3, 1.0))
    assert _figures(by["lang"]["vi"]) == pytest.approx((2 / 3, 2 / 3, 0.0, 0.0))
    assert set(by["pair"]) == {"en→en", "en→vi", "vi→en", "vi→vi", "near_miss"}
    assert by["pair"]["vi→en"]["n"] == 2  # c1 and the near miss n2
    for block in (qa, *by["kind"].values(), *by["lang"].values()):
        assert 0.0 <= block["p50_ms"] <= block["p95_ms"]


def test_per_question_rows(scored):
    rows = {r["id"]: r for r in scored["questions"]}
    assert list(rows) == [q["id"] for q in QUESTIONS]
    s3 = rows["s3"]
    assert s3["kind"] == "same" and s3["lang"] == "vi" and s3["answerable"]
    assert (s3["abstained"], s3["first_doc"], s3["fact_found"]) == (False, "qa-library", False)
    assert rows["c1"]["first_doc"] == "qa-market" and rows["c1"]["fact_found"]
    assert rows["c2"]["abstained"] and rows["c2"]["first_doc"] is None
    assert rows["n2"]["kind"] == "cross" and not rows["n2"]["abstained"]
    assert rows["n3"]["kind"] == "near_miss"
    assert all(r["ms"] >= 0 for r in rows.values())
    # the document without an id in its front matter is matched through its file name
    assert rows["s4"]["first_doc"].startswith("doc-")
    assert scored["qa"]["by"]["pair"]["en→en"]["first_citation_right"] == 1.0


def test_baseline_is_scored_beside(scored):
    base = scored["baseline"]
    assert set(base["by"]) == {"kind", "lang", "pair"}
    # its one threshold is set so that 5% of answerable questions abstain: of 6, the lowest
    assert base["false_abstained"] == 1
    scores = sorted(r["baseline"]["score"] for r in scored["questions"] if r["answerable"])
    assert scores[0] < base["threshold"] <= scores[1]
    rows = {r["id"]: r["baseline"] for r in scored["questions"]}
    # an easy same-language question: the right paragraph, and its sentence holds the figure
    assert not rows["s1"]["abstained"], rows["s1"]
    assert rows["s1"]["first_doc"] == "qa-solar" and rows["s1"]["fact_found"]
    assert not rows["s3"]["fact_found"]  # its gold span cannot appear


def test_fact_found_ignores_citation_markers():
    assert qa_eval.fact_found(("2",), "Traders were trained in two weeks [2].") is False
    assert qa_eval.fact_found(("Hội An",), "HỘI  AN [1]")  # case folded, spaces collapsed
    assert qa_eval.fact_found(("Hội An",), "Hoi An") is False  # tones are kept


def test_real_answerer_and_the_reused_collection(qa_settings, qa_set, scored):
    from kb.store.embeddings import get_embedder

    embedder = get_embedder(qa_settings)
    before = embedder.embedded
    result = qa_eval.run_qa_eval(qa_settings, qa_set, baseline=False)
    assert result["collection"] == scored["collection"]
    assert result["collection"].startswith("qa-")
    assert result["baseline"] is None
    rows = {r["id"]: r for r in result["questions"]}
    assert not rows["s3"]["fact_found"]  # whatever the answer, the span cannot be in it
    # an easy same-language question is answered from its paragraph
    assert (rows["s1"]["first_doc"], rows["s1"]["fact_found"]) == ("qa-solar", True)
    # the corpus was not embedded again (only questions and answer sentences may be)
    kb, _ids = qa_eval.qa_kb(qa_settings, qa_set / "corpus")
    chunks = sum(d.n_chunks for d in kb.store.registry().values())
    assert embedder.embedded - before < chunks + 2 * len(QUESTIONS)


def test_stratified_subset(qa_set):
    questions = qa_eval.load_questions(qa_set / "questions.jsonl")
    one = qa_eval.stratified(questions, 1)
    assert [q.qid for q in one] == [q.qid for q in qa_eval.stratified(questions, 1)]
    groups = {(q.lang, q.doc_lang, q.answerable) for q in questions}
    assert {(q.lang, q.doc_lang, q.answerable) for q in one} == groups
    assert len(one) == len(groups)
    assert len(qa_eval.stratified(questions, 50)) == len(questions)


def test_markdown_and_report_name(scored, qa_settings):
    md = qa_eval.markdown(scored)
    assert "| all | 9 | 0.667 |" in md
    assert "| kind: cross | 3 |" in md and "| question language: vi | 4 |" in md
    path = qa_eval.report_path(qa_settings, scored)
    assert path.parent == qa_settings.reports_dir
    assert "-qa-" in path.name and path.name.endswith("-tiny-qa")


# -- CLI ----------------------------------------------------------------------------------------
@pytest.fixture
def run_cli(qa_settings, capsys, monkeypatch):
    for name in list(os.environ):
        if name.startswith("KB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KB_REPORTS_DIR", str(qa_settings.reports_dir))

    def run(*args: str) -> tuple[int, str, str]:
        store = ["--store", str(qa_settings.store), "--cache-dir", str(qa_settings.cache_dir)]
        capsys.readouterr()
        code = main(["eval", *args, *store])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_json_and_saved_report(run_cli, qa_set, qa_settings):
    code, out, err = run_cli("--qa", str(qa_set), "--json", "--limit", "1")
    assert code == 0, err
    assert out.count("\n") == 1
    data = json.loads(out)
    assert {"dataset", "queries", "created_at", "kind", "qa", "baseline", "questions"} <= set(data)
    assert data["kind"] == "qa" and data["limit_per_group"] == 1
    assert data["queries"] == len(data["questions"]) == 7  # one of each group
    for block in (data["qa"], data["baseline"]):
        assert {*FIGURES, "n", "p50_ms", "p95_ms", "by"} <= set(block)
    assert set(data["questions"][0]) >= {"id", "kind", "lang", "abstained", "first_doc", "ms"}
    saved = Path(err.split("report saved: ", 1)[1].split()[0])
    assert saved.parent == qa_settings.reports_dir and "-qa-" in saved.name
    assert saved.name.endswith("tiny-qa-limit1.json")
    assert json.loads(saved.read_text(encoding="utf-8")) == data
    assert saved.with_suffix(".md").read_text(encoding="utf-8").startswith("# QA eval")


def _replace_line(folder: Path, n: int, text: str) -> None:
    path = folder / "questions.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[n - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _row(n: int, **change) -> str:
    row = dict(QUESTIONS[n - 1], **change)
    return json.dumps({k: v for k, v in row.items() if v != "DROP"}, ensure_ascii=False)


BROKEN = [
    ("bad JSON", 3, '{"id": "c2", "question": "unterminated', "not valid JSON"),
    ("not an object", 2, '["s1"]', "JSON object"),
    ("missing field", 4, _row(4, gold="DROP"), 'missing field "gold"'),
    ("wrong type", 5, _row(5, answerable="yes"), 'field "answerable" must be true or false'),
    ("gold not a list", 1, _row(1, gold="420"), 'field "gold" must be a list'),
    ("gold not text", 1, _row(1, gold=[420]), 'field "gold" must hold non-empty strings'),
    ("answerable without doc", 6, _row(6, doc=None), 'needs "doc"'),
    ("repeated id", 7, _row(7, id="s1"), "'s1' already used on line 1"),
    ("unknown doc", 2, _row(2, doc="qa-nowhere"), "'qa-nowhere' is not a document"),
]


@pytest.mark.parametrize(("case", "line", "text", "says"), BROKEN, ids=[b[0] for b in BROKEN])
def test_cli_malformed_line_exits_2(run_cli, tmp_path, case, line, text, says):
    folder = write_set(tmp_path / "broken")
    _replace_line(folder, line, text)
    code, out, err = run_cli("--qa", str(folder))
    assert code == 2 and out == ""
    assert f"{folder / 'questions.jsonl'}:{line}:" in err, err
    assert says in err
    assert "Traceback" not in err


def test_cli_missing_parts_exit_2(run_cli, tmp_path):
    code, out, err = run_cli("--qa", str(tmp_path / "nowhere"))
    assert code == 2 and out == "" and f"{tmp_path / 'nowhere'}: folder not found" in err
    folder = write_set(tmp_path / "parts")
    shutil.rmtree(folder / "corpus")
    code, out, err = run_cli("--qa", str(folder))
    assert code == 2 and f"{folder / 'corpus'}: folder not found" in err
    (folder / "questions.jsonl").unlink()
    code, out, err = run_cli("--qa", str(folder))
    assert code == 2 and f"{folder / 'questions.jsonl'}: file not found" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("other", [["--beir", "x"], ["--set", "x"], ["--answers"]])
def test_cli_qa_alone(run_cli, qa_set, other):
    code, out, err = run_cli("--qa", str(qa_set), *other)
    assert code == 2 and out == ""
    assert "--qa cannot be combined" in err


def test_cli_limit_needs_qa(run_cli):
    code, out, err = run_cli("--answers", "--limit", "2")
    assert code == 2 and out == "" and "--limit" in err


# -- the Evals page -------------------------------------------------------------------------------
def test_evals_page_shows_qa_reports(scored, small_kb, tmp_path, monkeypatch):
    """The page reads the saved reports (it runs nothing): the latest run of the chosen set,
    one row per group with the baseline beside each figure, and the set's history."""
    from streamlit.testing.v1 import AppTest

    from kb.evals.reports import write_report

    for var in [n for n in os.environ if n.startswith("KB_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("KB_STORE", str(small_kb.settings.store))
    monkeypatch.setenv("KB_CACHE_DIR", str(small_kb.settings.cache_dir))
    monkeypatch.setenv("KB_COLLECTION", small_kb.settings.collection)
    monkeypatch.setenv("KB_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("KB_FEEDBACK_FILE", str(tmp_path / "feedback.jsonl"))
    older = dict(scored, created_at="2026-01-01T00:00:00+00:00")
    older["qa"] = dict(scored["qa"], fact_recall=0.1)
    subset = dict(scored, created_at="2026-12-31T00:00:00+00:00", limit_per_group=1)
    for name, report in (("new", scored), ("old", older), ("subset", subset)):
        write_report(report, tmp_path / "reports" / f"qa-{name}")

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"))
    at.query_params["page"] = "evals"
    at.query_params["lang"] = "en"
    at.run(timeout=180)
    assert not at.exception, [e.value for e in at.exception]
    # the whole set by default, though a subset ran later (it keeps its own history line)
    chooser = at.radio(key="set_qa")
    assert chooser.options == ["qa0/tiny-qa", "qa0/tiny-qa (1 per group)"]
    groups = next(d.value for d in at.dataframe if "fact_recall_baseline" in d.value.columns)
    assert list(groups["Group"]) == [
        "All", "Other language", "Near misses", "Same language", "English", "Vietnamese"
    ]  # fmt: skip
    first = groups.iloc[0]
    assert first["fact_recall"] == pytest.approx(scored["qa"]["fact_recall"])
    assert first["fact_recall_baseline"] == pytest.approx(scored["baseline"]["fact_recall"])
    assert first["p95_ms"] == pytest.approx(scored["qa"]["p95_ms"])
    rows = next(d.value for d in at.dataframe if "first_doc" in d.value.columns)
    assert list(rows["id"]) == [q["id"] for q in QUESTIONS]
    history = next(
        d.value for d in at.dataframe if "file" in d.value.columns and "fact_recall" in d.value
    )
    assert list(history["file"]) == ["qa-new.json", "qa-old.json"]
    assert list(history["fact_recall"]) == pytest.approx([scored["qa"]["fact_recall"], 0.1])
