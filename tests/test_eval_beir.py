"""Retrieval evals on a small BEIR dataset: report shape, sanity of figures, reuse, CLI, errors.

Why: the eval report is how retrieval changes are judged; its shape is read by scripts and the
Markdown by people, a re-run must not re-embed the corpus, and a broken dataset must say which
file and line to fix instead of crashing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from kb.cli import main
from kb.evals import reports
from kb.evals import run as evals
from kb.evals.datasets import DatasetError
from kb.settings import load_settings
from kb.store.check import check
from kb.store.embeddings import get_embedder

METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "p50_ms", "p95_ms")
QUALITY = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")

CORPUS = [
    {
        "_id": "flood-hcmc",
        "title": "Hệ thống cảnh báo ngập lụt TP. Hồ Chí Minh",
        "text": "Thành phố lắp đặt cảm biến mực nước tại các điểm ngập và gửi cảnh báo qua tin "
        "nhắn cho người dân. Sau hai năm, thời gian phản ứng của lực lượng cứu hộ giảm đáng kể.",
        "metadata": {"city": "hcmc", "language": "vi", "year": 2021},
    },
    {
        "_id": "waste-danang",
        "title": "Smart waste collection in Da Nang",
        "text": "Sensors in rubbish bins report their fill level, so trucks only visit bins that "
        "are full. Collection routes became shorter and fuel costs fell.",
        "metadata": {"city": "danang", "language": "en", "year": 2020},
    },
    {
        "_id": "permits-hanoi",
        "title": "Cổng dịch vụ công trực tuyến Hà Nội",
        "text": "Người dân nộp hồ sơ xin giấy phép xây dựng qua mạng. Tỷ lệ hồ sơ nộp trực tuyến "
        "còn thấp vì thủ tục phức tạp và cán bộ vẫn yêu cầu bản giấy.",
        "metadata": {"city": "hanoi", "language": "vi", "year": 2019},
    },
    {
        "_id": "streetlights",
        "title": "LED street lighting retrofit",
        "text": "The city replaced sodium street lamps with LED fixtures that are dimmed and "
        "switched remotely, cutting electricity use by forty percent.",
        "metadata": {"city": "danang", "language": "en", "year": 2018},
    },
    {
        "_id": "bus-app",
        "title": "Ứng dụng xe buýt thông minh",
        "text": "Hành khách tra cứu lộ trình và vị trí xe buýt theo thời gian thực trên điện "
        "thoại, nhờ thiết bị định vị gắn trên mỗi xe.",
        "metadata": {"city": "hanoi", "language": "vi", "year": 2020},
    },
    {
        "_id": "air-quality",
        "title": "Air quality monitoring network",
        "text": "Low-cost sensors measure fine dust across districts every few minutes; the "
        "readings are published on an open dashboard for residents.",
        "metadata": {"city": "hanoi", "language": "en", "year": 2022},
    },
    {
        "_id": "health-records",
        "title": "Hồ sơ sức khỏe điện tử",
        "text": "Các bệnh viện số hóa hồ sơ bệnh án, nên bệnh nhân không phải mang theo giấy tờ "
        "khi tái khám hoặc chuyển viện.",
        "metadata": {"city": "hcmc", "language": "vi", "year": 2023},
    },
    {
        "_id": "DOC-Tourism",  # not a valid document id as it is: stored under a hash
        "title": "Tourist information kiosks",
        "text": "Touch-screen kiosks at the airport and along the beaches give visitors maps, "
        "events and hotel listings in four languages.",
        "metadata": {"city": "danang", "language": "en", "year": 2017},
    },
]

QUERIES = [
    ("q01", "cảm biến mực nước cảnh báo ngập", "vi", "same"),
    ("q02", "bins that report their fill level to garbage trucks", "en", "same"),
    ("q03", "online applications for building permits", "en", "cross"),
    ("q04", "đèn đường tiết kiệm điện", "vi", "cross"),
    ("q05", "real-time bus location on a phone", "en", "cross"),
    ("q06", "đo ô nhiễm bụi mịn trong không khí", "vi", "cross"),
    ("q07", "electronic medical records in hospitals", "en", "cross"),
    ("q08", "canh bao ngap lut", "vi", "nodiac"),
    ("q09", "tra cuu xe buyt theo thoi gian thuc", "vi", "nodiac"),
    ("q10", "tourist kiosks at the airport", "en", "same"),
    ("q11", "a question nobody judged", "en", "same"),  # no qrels: not counted
]

QRELS = [
    ("q01", "flood-hcmc", 2),
    ("q02", "waste-danang", 2),
    ("q03", "permits-hanoi", 2),
    ("q04", "streetlights", 2),
    ("q05", "bus-app", 2),
    ("q06", "air-quality", 2),
    ("q07", "health-records", 2),
    ("q08", "flood-hcmc", 2),
    ("q09", "bus-app", 2),
    ("q10", "DOC-Tourism", 2),
    ("q10", "streetlights", 0),  # judged not relevant
]


def write_dataset(folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in CORPUS), encoding="utf-8"
    )
    (folder / "queries.jsonl").write_text(
        "".join(
            json.dumps(
                {"_id": qid, "text": text, "metadata": {"lang": lang, "kind": kind}},
                ensure_ascii=False,
            )
            + "\n"
            for qid, text, lang, kind in QUERIES
        ),
        encoding="utf-8",
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{g}\n" for q, d, g in QRELS),
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("beir") / "mini")


@pytest.fixture(scope="module")
def eval_settings(tmp_path_factory, session_cache):
    store = tmp_path_factory.mktemp("beir-store")
    return load_settings(env={}, store=str(store), cache_dir=str(session_cache))


@pytest.fixture(scope="module")
def result(eval_settings, dataset):
    return evals.run_retrieval_eval(eval_settings, dataset, "all")


def _check_block(block: dict, n: int) -> None:
    assert set(block) == {*METRICS, "n"}
    assert block["n"] == n
    for key in QUALITY:
        assert isinstance(block[key], float)
        assert 0.0 <= block[key] <= 1.0, (key, block[key])
    assert 0.0 <= block["p50_ms"] <= block["p95_ms"]
    # recall can only grow with k
    assert block["recall@1"] <= block["recall@5"] <= block["recall@10"]
    # MRR is at least recall@1 (a hit at rank 1 scores 1)
    assert block["mrr@10"] >= block["recall@1"] - 1e-9


def test_result_shape(result, dataset):
    assert set(result) == {"dataset", "queries", "created_at", "kind", "modes"}
    assert result["dataset"] == str(dataset)
    assert result["kind"] == "retrieval"
    assert result["queries"] == 10  # q11 has no judgement
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", result["created_at"])
    assert set(result["modes"]) == {"hybrid", "dense", "bm25"}
    for mode, block in result["modes"].items():
        by = block["by"]
        _check_block({k: v for k, v in block.items() if k != "by"}, 10)
        assert set(by) == {"lang", "kind"}, mode
        assert set(by["lang"]) == {"vi", "en"}
        assert set(by["kind"]) == {"same", "cross", "nodiac"}
        sizes = {"vi": 5, "en": 5, "same": 3, "cross": 5, "nodiac": 2}
        for field in ("lang", "kind"):
            for value, sub in by[field].items():
                _check_block(sub, sizes[value])
                assert "by" not in sub
            # the overall figure is the size-weighted mean of the groups
            for key in QUALITY:
                mean = sum(s[key] * s["n"] for s in by[field].values()) / 10
                assert block[key] == pytest.approx(mean), (mode, field, key)
    json.dumps(result)  # serialisable as it is


def test_dense_beats_bm25_across_languages(result):
    cross = {m: result["modes"][m]["by"]["kind"]["cross"] for m in ("dense", "bm25", "hybrid")}
    assert cross["dense"]["recall@5"] > cross["bm25"]["recall@5"]
    assert cross["dense"]["mrr@10"] > cross["bm25"]["mrr@10"]
    assert cross["dense"]["ndcg@10"] > cross["bm25"]["ndcg@10"]
    assert cross["dense"]["recall@5"] >= 0.8
    assert cross["hybrid"]["recall@5"] >= cross["dense"]["recall@5"] - 0.2


def test_bm25_and_hybrid_find_unaccented_queries(result):
    nodiac = {m: result["modes"][m]["by"]["kind"]["nodiac"] for m in ("dense", "bm25", "hybrid")}
    assert nodiac["bm25"]["recall@5"] == 1.0
    # unaccented Vietnamese keeps full lexical weight in fusion
    assert nodiac["hybrid"]["mrr@10"] >= nodiac["dense"]["mrr@10"]
    assert nodiac["hybrid"]["recall@1"] == 1.0


def test_same_language_queries_are_easy(result):
    for mode in ("dense", "bm25", "hybrid"):
        same = result["modes"][mode]["by"]["kind"]["same"]
        assert same["recall@5"] == 1.0, mode  # includes the hashed id DOC-Tourism


def test_second_run_reuses_the_collection(eval_settings, dataset, result):
    digest = hashlib.sha256((dataset / "corpus.jsonl").read_bytes()).hexdigest()[:12]
    kb = evals.beir_kb(eval_settings, dataset)
    assert kb.settings.collection == f"beir-{digest}"
    registry = {d: (m.version, m.ingested_at) for d, m in kb.store.registry().items()}
    assert len(registry) == len(CORPUS)
    generation = kb.store.generation()
    collections = sorted(c.name for c in kb.store.client.list_collections())
    assert collections == [
        f"beir-{digest}",
        f"beir-{digest}-docs",
        f"beir-{digest}-lessons",
        f"beir-{digest}-sentences",
    ]
    embedder = get_embedder(eval_settings)
    before = embedder.embedded

    again = evals.run_retrieval_eval(eval_settings, dataset, "all")

    assert embedder.embedded == before, "the corpus was embedded again"
    assert sorted(c.name for c in kb.store.client.list_collections()) == collections
    assert kb.store.generation() == generation
    assert {d: (m.version, m.ingested_at) for d, m in kb.store.registry().items()} == registry
    for mode in ("dense", "bm25", "hybrid"):
        for key in QUALITY:
            assert again["modes"][mode][key] == result["modes"][mode][key], (mode, key)


def test_a_document_read_by_an_older_chunker_is_read_again(eval_settings, dataset, result):
    # a BEIR collection ingested before a CHUNKER_VERSION change holds the old chunks (and no
    # claims of the new kind): the next run brings it up to date instead of measuring stale data
    kb = evals.beir_kb(eval_settings, dataset)
    doc = next(iter(kb.store.registry().values()))
    current = doc.version
    kb.store.commit_document(replace(doc, version="older-chunker"))
    kb.store.bump_generation()  # as a writer does after a commit
    assert kb.store.document(doc.doc_id).version == "older-chunker"

    evals.run_retrieval_eval(eval_settings, dataset, "all")

    assert kb.store.document(doc.doc_id).version == current
    assert check(kb).ok


def test_single_mode(eval_settings, dataset):
    only = evals.run_retrieval_eval(eval_settings, dataset, "bm25")
    assert set(only["modes"]) == {"bm25"}
    assert only["queries"] == 10


def _md_row(md: str, *lead: str, width: int = 8) -> list[str]:
    """The cells after ``lead`` of the one table row that starts with ``lead``."""
    rows = []
    for line in md.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == len(lead) + width and tuple(cells[: len(lead)]) == lead:
            rows.append(cells[len(lead) :])
    assert len(rows) == 1, (lead, rows)
    return rows[0]


def test_write_report(result, tmp_path):
    json_path, md_path = reports.write_report(result, tmp_path / "reports" / "mini.txt")
    assert json_path == tmp_path / "reports" / "mini.json"
    assert md_path == tmp_path / "reports" / "mini.md"
    assert json.loads(json_path.read_text(encoding="utf-8")) == result
    md = md_path.read_text(encoding="utf-8")
    cols = ["recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "n", "p50_ms", "p95_ms"]
    assert "| mode | " + " | ".join(cols) + " |" in md
    for mode, block in result["modes"].items():
        cells = _md_row(md, mode)
        expected = [f"{block[c]:.3f}" if c != "n" else str(block[c]) for c in cols]
        assert cells == expected, mode
        for field in ("lang", "kind"):
            assert f"## By {field}" in md
            for value, sub in block["by"][field].items():
                cells = _md_row(md, mode, value)
                assert cells == [f"{sub[c]:.3f}" if c != "n" else str(sub[c]) for c in cols]


# -- CLI ----------------------------------------------------------------------------------------
@pytest.fixture
def run_cli(eval_settings, capsys, monkeypatch):
    for name in list(os.environ):
        if name.startswith("KB_"):
            monkeypatch.delenv(name)

    def run(*args: str) -> tuple[int, str, str]:
        store = ["--store", str(eval_settings.store), "--cache-dir", str(eval_settings.cache_dir)]
        code = main(["eval", *args, *store])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_eval_json(run_cli, dataset, result):
    code, out, err = run_cli("--beir", str(dataset), "--json")
    assert code == 0, err
    assert out.count("\n") == 1
    data = json.loads(out)
    assert set(data) == set(result)
    assert set(data["modes"]) == {"hybrid", "dense", "bm25"}
    for mode in data["modes"]:
        for key in QUALITY:
            assert data["modes"][mode][key] == result["modes"][mode][key]


def test_cli_eval_out_writes_both_files(run_cli, dataset, tmp_path):
    out_file = tmp_path / "out" / "run1"
    code, out, err = run_cli("--beir", str(dataset), "--mode", "dense", "--out", str(out_file))
    assert code == 0, err
    data = json.loads((tmp_path / "out" / "run1.json").read_text(encoding="utf-8"))
    assert set(data["modes"]) == {"dense"}
    md = (tmp_path / "out" / "run1.md").read_text(encoding="utf-8")
    assert md == reports.markdown(data)
    assert out.strip() == md.strip()  # without --json the Markdown is printed


# -- broken datasets ---------------------------------------------------------------------------
def _broken(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "broken")


def test_bad_json_line_names_file_and_line(tmp_path, eval_settings):
    folder = _broken(tmp_path)
    lines = (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    lines[2] = '{"_id": "q03", "text": "unterminated'
    (folder / "queries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError) as exc:
        evals.run_retrieval_eval(eval_settings, folder, "all")
    assert f"{folder / 'queries.jsonl'}:3:" in str(exc.value)
    assert "not valid JSON" in str(exc.value)


def test_corpus_line_without_text_names_file_and_line(tmp_path, eval_settings):
    folder = _broken(tmp_path)
    lines = (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    lines.insert(1, "")  # blank lines are skipped but still counted
    lines[4] = json.dumps({"_id": "no-text", "title": "x"})
    (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"corpus\.jsonl:5: .*\"text\""):
        evals.run_retrieval_eval(eval_settings, folder, "all")


def test_missing_qrels_file(tmp_path, eval_settings):
    folder = _broken(tmp_path)
    shutil.rmtree(folder / "qrels")
    with pytest.raises(DatasetError) as exc:
        evals.run_retrieval_eval(eval_settings, folder, "all")
    assert str(folder / "qrels" / "test.tsv") in str(exc.value)
    assert "not found" in str(exc.value)


def test_bad_qrels_score(tmp_path, eval_settings):
    folder = _broken(tmp_path)
    path = folder / "qrels" / "test.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = "q03\tpermits-hanoi\thigh"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"test\.tsv:4: score 'high'"):
        evals.run_retrieval_eval(eval_settings, folder, "all")
    lines[3] = "q03 permits-hanoi 2"  # spaces instead of tabs
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"test\.tsv:4: expected query-id"):
        evals.run_retrieval_eval(eval_settings, folder, "all")


def test_cli_broken_dataset_exits_2(run_cli, tmp_path):
    folder = _broken(tmp_path)
    with (folder / "queries.jsonl").open("a", encoding="utf-8") as f:
        f.write("not json at all\n")
    code, out, err = run_cli("--beir", str(folder), "--json")
    assert code == 2
    assert out == ""
    assert f"queries.jsonl:{len(QUERIES) + 1}:" in err
    assert "Traceback" not in err
    shutil.rmtree(folder / "qrels")
    code, out, err = run_cli("--beir", str(folder), "--json")
    assert code == 2 and out == ""
    assert "queries.jsonl" in err  # the first problem met is reported


def test_cli_missing_qrels_exits_2(run_cli, tmp_path):
    folder = _broken(tmp_path)
    (folder / "qrels" / "test.tsv").unlink()
    code, out, err = run_cli("--beir", str(folder))
    assert code == 2 and out == ""
    assert "test.tsv: file not found" in err
    assert "Traceback" not in err


def _query_set(folder: Path) -> Path:
    """A query set over the small test store's own document ids (no corpus file)."""
    (folder / "qrels").mkdir(parents=True)
    rows = [
        {"_id": "s1", "text": "Vì sao iParking ở Hà Nội thất bại?", "metadata": {"lang": "vi"}},
        {"_id": "s2", "text": "Da Nang free public Wi-Fi lessons", "metadata": {"lang": "en"}},
        {"_id": "s3", "text": "Recipe for phở bò broth", "metadata": {"lang": "en"}},
        # unjudged, and answered from the parking pilot's passages: a weak match
        {
            "_id": "s4",
            "text": "Why did Hanoi's parking attendants resist the new payment terminals?",
            "metadata": {"lang": "en"},
        },
    ]
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\ns1\tt-hn-iparking\t2\ns1\tt-hn-iparking-en\t1\n"
        "s2\tt-dn-wifi\t2\n",
        encoding="utf-8",
    )
    return folder


def test_query_set_runs_on_the_main_store(small_kb, tmp_path):
    folder = _query_set(tmp_path / "heldout")
    result = evals.run_retrieval_eval(small_kb.settings, None, "hybrid", query_set=folder)
    assert result["dataset"] == str(folder)
    assert result["queries"] == 2  # the unjudged query is left out of retrieval metrics
    assert result["modes"]["hybrid"]["recall@10"] == 1.0  # both judged documents are found
    answers = evals.run_answer_eval(small_kb.settings, None, query_set=folder)
    assert answers["queries"] == 4
    summary = answers["answers"]
    assert summary["abstention_accuracy"] == 0.5  # the phở question abstains, s4 does not
    assert summary["weak_on_unanswerable"] == 1.0  # but s4 is flagged
    # s1 too: the small corpus's Vietnamese iParking report never says "thất bại" (failed)
    assert summary["weak_on_answerable"] == 0.5
    assert "| weak_on_answerable | weak_on_unanswerable |" in reports.markdown(answers)
    # reports of a query set other than the golden set carry its name
    path = reports.default_report_path(small_kb.settings, result)
    assert path.name.endswith("-retrieval-heldout")
    golden = dict(result, dataset=str(evals.GOLDEN))
    assert reports.default_report_path(small_kb.settings, golden).name.endswith("-retrieval")


def test_cli_set_and_beir_together_exit_2(run_cli, dataset, tmp_path):
    code, out, err = run_cli("--beir", str(dataset), "--set", str(tmp_path), "--json")
    assert code == 2 and out == ""
    assert "--beir and --set" in err
