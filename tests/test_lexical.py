"""The BM25 index: unaccented queries, exact-over-folded scoring, freshness and filters.

Why: users type Vietnamese without tones, tones change meaning ("mở" open, "mỡ" fat), the index
is derived from the store and must never serve a deleted or replaced document, and filters must
be applied inside the search so narrow filters still fill a page of results.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from ingest import Record, ingest_paths, ingest_records
from kb.knowledge_base import open_kb
from kb.retrieval.lexical import LexicalIndex
from kb.retrieval.search import search
from kb.retrieval.tokenize import STEM_PREFIX
from kb.settings import load_settings
from kb.store.chroma import Store
from kb.types import Filters

MODES = ("hybrid", "dense", "bm25")


def doc_ids(results) -> list[str]:
    """Document ids of LexicalIndex.search results (chunk ids are doc#version#index)."""
    return [cid.split("#")[0] for cid, _ in results]


# -- unaccented queries on the small corpus ---------------------------------------------------
def test_unaccented_query_finds_the_accented_passage(small_kb):
    found = small_kb.lexical.search("du lieu mo", 5)
    assert found, "no BM25 match for an unaccented query"
    assert doc_ids(found)[0] == "t-hcm-data"  # "cổng dữ liệu mở", "bộ dữ liệu mở"
    found = small_kb.lexical.search("ha noi du lieu mo", 10)
    assert {"t-hcm-data", "t-hn-iparking"} <= set(doc_ids(found))
    hits = search(small_kb, "thanh toan khong dung tien mat", k=3, mode="bm25")
    assert hits[0].doc.doc_id == "t-hn-iparking"
    assert "không dùng tiền mặt" in hits[0].chunk.text


def test_unaccented_query_scores_like_its_folded_half(small_kb):
    # an unaccented query only meets folded tokens, so it scores half of what the accented
    # query's folded tokens add (FOLD_WEIGHT), and the accented query scores higher
    accented = dict(small_kb.lexical.search("dữ liệu mở", 20))
    unaccented = dict(small_kb.lexical.search("du lieu mo", 20))
    top = max(accented, key=accented.get)
    assert top in unaccented
    assert accented[top] > unaccented[top] > 0


def _kb_of(tmp_path_factory, session_cache, name: str, records: list[Record]):
    """A knowledge base of its own holding ``records``."""
    store = tmp_path_factory.mktemp(f"{name}-store")
    settings = load_settings(
        env={}, store=str(store), cache_dir=str(session_cache), collection=name
    )
    kb = open_kb(settings)
    report = ingest_records(kb, records)
    assert not report.failed, report.failed
    return kb


# -- exact over folded -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tone_kb(tmp_path_factory, session_cache):
    """Four one-line documents whose words differ only by their tones."""
    records = [
        Record("open", "Thành phố mở cổng dữ liệu cho người dân.", metadata={"language": "vi"}),
        Record("fat", "Giá mỡ lợn tăng tại chợ đầu mối.", metadata={"language": "vi"}),
        Record("peace", "Chương trình hòa nhập.", metadata={"language": "vi"}),  # old style
        Record("fire", "Chương trình hỏa hoạn.", metadata={"language": "vi"}),
    ]
    return _kb_of(tmp_path_factory, session_cache, "tones", records)


def test_exact_match_scores_above_a_folded_only_match(tone_kb):
    found = tone_kb.lexical.search("mở", 10)
    assert doc_ids(found) == ["open", "fat"]
    scores = dict(zip(doc_ids(found), (s for _, s in found), strict=True))
    assert scores["open"] > scores["fat"] > 0
    # and the other way round
    assert doc_ids(tone_kb.lexical.search("mỡ", 10)) == ["fat", "open"]
    # through the search API as well
    assert [h.doc.doc_id for h in search(tone_kb, "mở", k=2, mode="bm25")] == ["open", "fat"]


def test_unaccented_query_finds_both_tone_variants(tone_kb):
    found = tone_kb.lexical.search("mo", 10)
    assert set(doc_ids(found)) == {"open", "fat"}
    (_, s1), (_, s2) = found
    assert s1 > 0 and s2 > 0


def test_new_style_tone_query_prefers_the_same_word_in_old_style(tone_kb):
    by_doc = {cid.split("#")[0]: s for cid, s in tone_kb.lexical.search("hoà", 10)}
    assert "peace" in by_doc  # "hoà" and "hòa" are both the exact token "hoa2"
    assert by_doc["peace"] > by_doc.get("fire", 0.0)
    # so the new-style query scores exactly like the old-style spelling of the passage
    old_style = {cid.split("#")[0]: s for cid, s in tone_kb.lexical.search("hòa", 10)}
    assert by_doc == pytest.approx(old_style)


# -- English words ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def english_kb(tmp_path_factory, session_cache):
    """English passages, and a Vietnamese one with an English word in it."""
    same = "Twelve streets have sensors in the city of the future."
    records = [
        Record("installed", "The city installed parking sensors.", metadata={"language": "en"}),
        Record("same-en", same, metadata={"language": "en"}),
        Record("same-vi", same, metadata={"language": "vi"}),  # as if it were Vietnamese
        Record("vi", "Thành phố mở bãi parking thông minh.", metadata={"language": "vi"}),
    ]
    return _kb_of(tmp_path_factory, session_cache, "english", records)


def _bm25(kb, query: str, english: bool) -> dict[str, float]:
    index = kb.lexical.index
    scores = kb.lexical.scores(query, index, english=english)
    return {cid.split("#")[0]: float(s) for cid, s in zip(index.ids, scores, strict=True)}


def test_an_english_question_meets_other_forms_of_its_words(english_kb):
    # "sensor installation" is written nowhere: only the stems meet "installed parking sensors"
    assert _bm25(english_kb, "sensor installation", english=False)["installed"] == 0
    stemmed = _bm25(english_kb, "sensor installation", english=True)
    assert stemmed["installed"] > stemmed["same-en"] > 0  # both stems against one
    hits = search(english_kb, "Where was the sensor installation?", k=1, mode="bm25")
    assert hits[0].doc.doc_id == "installed"


def test_only_english_passages_are_read_by_stems(english_kb):
    # the Vietnamese passage has "parking" as written, not its stem
    scores = _bm25(english_kb, "parks", english=True)
    assert scores["installed"] > 0
    assert scores["vi"] == 0
    assert _bm25(english_kb, "parking", english=True)["vi"] > 0  # the word itself still meets
    index = english_kb.lexical.index
    assert not any(t.startswith(STEM_PREFIX) for t in index.term_df)  # words, not stems


def test_stems_do_not_make_a_passage_longer(english_kb):
    # the same text in an English and a "Vietnamese" passage: the English one also has stems,
    # which must not count in its length, so a question that is not English scores both alike
    scores = _bm25(english_kb, "streets sensors", english=False)
    assert scores["same-en"] == pytest.approx(scores["same-vi"]) and scores["same-en"] > 0


def test_an_english_question_is_read_as_words_not_phrases(english_kb):
    # bigrams of English words are phrases ("of_the"): word order must not change the scores
    assert _bm25(english_kb, "city of future", english=True) == pytest.approx(
        _bm25(english_kb, "future of city", english=True)
    )
    # where a Vietnamese reading (syllable pairs are words there) does see the order
    assert _bm25(english_kb, "city of future", english=False) != pytest.approx(
        _bm25(english_kb, "future of city", english=False)
    )


# -- freshness ---------------------------------------------------------------------------------
def _write(path: Path, doc_id: str, title: str, body: str) -> None:
    path.write_text(
        f"---\nid: {doc_id}\ntitle: {title}\ncity: hanoi\nyear: 2022\nlanguage: vi\n---\n"
        f"# {title}\n\n{body}\n",
        encoding="utf-8",
    )


def test_index_follows_deletes_and_replacements(tmp_path, settings_factory):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _write(
        corpus / "bikes.md",
        "lex-bikes",
        "Xe đạp công cộng",
        "Thành phố thí điểm xe đạp công cộng cho thuê theo giờ tại các bến gần ga.",
    )
    _write(
        corpus / "library.md",
        "lex-library",
        "Thư viện số",
        "Thư viện số cho phép học sinh mượn sách điện tử bằng thẻ căn cước.",
    )
    kb = open_kb(settings_factory(collection="lex-fresh"))
    assert not ingest_paths(kb, [corpus]).failed
    # another reader of the same store (a second app server), with its own cache folder
    other = LexicalIndex(Store(kb.settings), tmp_path / "other-cache")
    assert doc_ids(kb.lexical.search("xe đạp công cộng", 5))[0] == "lex-bikes"
    assert doc_ids(other.search("thư viện số", 5))[0] == "lex-library"
    gen_before = kb.store.generation()
    old_ids = set(kb.lexical.ids)
    assert len(old_ids) >= 2

    (corpus / "bikes.md").unlink()
    _write(
        corpus / "library.md",
        "lex-library",
        "Chợ nông sản",
        "Chợ nông sản trực tuyến kết nối nông dân với người mua trong thành phố.",
    )
    report = ingest_paths(kb, [corpus])
    assert report.removed == 1 and report.count("updated") == 1

    assert kb.store.generation() != gen_before
    assert kb.lexical.generation == kb.store.generation()
    assert not old_ids & set(kb.lexical.ids), "chunks of old versions are still indexed"
    # the saved folder is named by generation and tokenizer version; older saves are removed
    saved = kb.settings.cache_dir / "bm25" / "lex-fresh"
    current = kb.lexical._folder(kb.store.generation())
    assert current.is_dir()
    assert kb.lexical._folder(kb.store.generation()) == current
    assert not kb.lexical._folder(gen_before).exists()
    assert [f.name for f in saved.iterdir()] == [current.name]
    live = {d.doc_id: d.version for d in kb.store.registry().values()}
    assert set(live) == {"lex-library"}
    for index in (kb.lexical, other):
        assert index.search("xe đạp công cộng", 5) == []
        assert index.search("thư viện số", 5) == []
        found = index.search("chợ nông sản", 5)
        assert doc_ids(found) == ["lex-library"]
        assert all(cid.split("#")[1] == live["lex-library"][:12] for cid, _ in found)
    assert other.generation == kb.store.generation()
    for mode in MODES:
        hits = search(kb, "xe đạp công cộng cho thuê", k=5, mode=mode)
        assert hits, mode  # the library's passage ("công cộng"), never the deleted bikes
        assert all(h.doc.doc_id == "lex-library" for h in hits), mode
        assert all(h.chunk.chunk_id.split("#")[1] == live["lex-library"][:12] for h in hits)


def test_saved_index_is_reused_by_a_new_reader(tmp_path, settings_factory):
    kb = open_kb(settings_factory(collection="lex-reuse"))
    ingest_records(kb, [Record("reuse", "Đèn giao thông thông minh tại nút giao.")])
    reader = LexicalIndex(Store(kb.settings), kb.settings.cache_dir)
    assert reader.load_current()
    assert reader.generation == kb.store.generation()
    assert reader.ids == kb.lexical.ids
    assert doc_ids(reader.search("den giao thong", 3)) == ["reuse"]


def test_empty_store_has_an_empty_index(settings_factory):
    kb = open_kb(settings_factory(collection="lex-empty"))
    assert kb.lexical.search("dữ liệu", 10) == []
    assert search(kb, "dữ liệu", k=5) == []


# -- source lists ------------------------------------------------------------------------------
def test_source_list_chunks_are_never_searched(tmp_path, settings_factory):
    # the slug "den-giao-thong-thong-minh" matches the query, but a source list answers nothing
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    url = "https://example.gov.vn/tin-tuc/den-giao-thong-thong-minh-nut-giao-2022"
    _write(
        corpus / "sourced.md",
        "lex-sourced",
        "Thư viện số",
        f"Thư viện số cho phép học sinh mượn sách điện tử bằng thẻ căn cước.\n\n## Nguồn\n\n- {url}",
    )
    _write(
        corpus / "linked.md",
        "lex-linked",
        "Chợ nông sản",
        "Chợ nông sản trực tuyến kết nối nông dân với người mua.\n\n"
        f"## Liên kết\n\nĐèn giao thông thông minh tại nút giao: {url}",
    )
    kb = open_kb(settings_factory(collection="lex-sources"))
    assert not ingest_paths(kb, [corpus]).failed
    query = "đèn giao thông thông minh nút giao"
    kb.lexical.refresh()
    chunks = {sc.chunk.chunk_id: sc.chunk for sc, _ in kb.store.iter_chunks()}
    refs = [cid for cid, c in chunks.items() if c.is_reference]
    assert len(refs) == 1 and chunks[refs[0]].doc_id == "lex-sourced"
    assert chunks[refs[0]].section == "Nguồn" and url in chunks[refs[0]].text
    # the source-list chunk is indexed and its slug would match (folded tokens) ...
    ref_pos = kb.lexical.ids.index(refs[0])
    assert kb.lexical.scores(query)[ref_pos] > 0
    assert not kb.lexical.searchable[ref_pos]
    assert kb.lexical.searchable.sum() == len(kb.lexical.ids) - 1
    # ... but it is never returned, with or without filters
    found = kb.lexical.search(query, 20)
    assert found and refs[0] not in dict(found)
    assert set(doc_ids(found)) == {"lex-linked"}
    assert kb.lexical.search(query, 20, Filters.make(doc_ids=["lex-sourced"])) == []
    # a new reader loading the saved index keeps the mask
    reader = LexicalIndex(Store(kb.settings), kb.settings.cache_dir)
    assert reader.load_current()
    assert refs[0] not in dict(reader.search(query, 20))
    for mode in MODES:
        hits = search(kb, query, k=10, mode=mode)
        assert hits, mode
        assert all(not h.chunk.is_reference for h in hits), mode
        assert refs[0] not in {h.chunk.chunk_id for h in hits}, mode
    assert search(kb, query, k=1, mode="bm25")[0].doc.doc_id == "lex-linked"


# -- filters -----------------------------------------------------------------------------------
def test_filters_are_applied_inside_the_lexical_search(small_kb):
    unfiltered = small_kb.lexical.search("dữ liệu", 2)
    assert set(doc_ids(unfiltered)) == {"t-hcm-data"}
    narrow = small_kb.lexical.search("dữ liệu", 2, Filters.make(city="danang"))
    # the two best Đà Nẵng passages, not the Đà Nẵng share of the unfiltered top two (none)
    assert len(narrow) == 2
    assert set(doc_ids(narrow)) == {"t-dn-cameras"}


def test_filters_are_applied_inside_the_dense_search(small_kb):
    vector = small_kb.embedder.query("Đà Nẵng free Wi-Fi for tourists")
    unfiltered = small_kb.store.dense_query(vector, 3, None)
    assert all(sc.chunk.doc_id != "t-hcm-data" for sc, *_ in unfiltered[:1])
    narrow = small_kb.store.dense_query(vector, 3, Filters.make(city="hcmc", year_from=2020))
    assert len(narrow) == 3
    registry = small_kb.store.registry()
    assert all(registry[sc.chunk.doc_id].city == "hcmc" for sc, *_ in narrow)


@pytest.mark.parametrize("mode", MODES)
def test_city_filter_still_fills_k(small_kb, mode):
    hits = search(small_kb, "Đà Nẵng", k=5, mode=mode, filters=Filters.make(city="danang"))
    assert len(hits) == 5
    assert {h.doc.city for h in hits} == {"danang"}
    hits = search(small_kb, "dữ liệu mở", k=3, mode=mode, filters=Filters.make(city="hcmc"))
    assert {h.doc.city for h in hits} == {"hcmc"}
    # BM25 finds only passages holding a query word: two in HCMC (t-hcm-data's first two); the
    # other modes fill k
    assert len(hits) == (2 if mode == "bm25" else 3), [h.chunk.chunk_id for h in hits]
    assert hits[0].doc.doc_id == "t-hcm-data"


@pytest.mark.parametrize("mode", MODES)
def test_year_range_filter(small_kb, mode):
    filters = Filters.make(year_from=2019, year_to=2020)
    hits = search(small_kb, "dữ liệu data operations parking", k=4, mode=mode, filters=filters)
    assert hits
    assert all(h.doc.year is not None and 2019 <= h.doc.year <= 2020 for h in hits)
    if mode == "dense":
        assert len(hits) == 4  # six passages are from 2019-2020
    # an upper bound alone drops documents of unknown year (the untitled e-government text)
    query = "chính quyền điện tử Đà Nẵng"
    assert search(small_kb, query, k=3, mode=mode)[0].doc.year is None
    bounded = search(small_kb, query, k=10, mode=mode, filters=Filters.make(year_to=2030))
    assert bounded and all(h.doc.year is not None for h in bounded)
    # a lower bound alone as well
    bounded = search(small_kb, query, k=10, mode=mode, filters=Filters.make(year_from=2000))
    assert bounded and all(h.doc.year is not None for h in bounded)


def test_share_is_the_fraction_of_passages_with_a_folded_syllable(small_kb):
    lex = small_kb.lexical
    lex.refresh()
    assert lex.share("iparking") == lex.term_df["~iparking"] / len(lex.ids)
    assert 0 < lex.share("iparking") < 1
    assert lex.share("zzzunknown") == 0.0


def test_a_syllable_is_known_as_written_tones_included(small_kb):
    lex = small_kb.lexical
    lex.refresh()
    assert lex.has_syllable("lỏng")  # "lỏng lẻo" in the Vietnamese iParking report
    assert lex.has_syllable("lòng") is False  # the same letters, another word
    assert not lex.is_unknown("long")  # folded, both are "long"
    assert lex.has_syllable("hóa") and lex.has_syllable("hoá")  # old and new tone placement


def test_a_search_that_need_not_wait_is_answered_while_the_newer_index_is_built(
    tmp_path, settings_factory, monkeypatch
):
    # A second app server's index is one generation behind after another server's ingest.
    kb = open_kb(settings_factory(collection="lex-background"))
    ingest_records(kb, [Record("lights", "Đèn giao thông thông minh tại nút giao.")])
    other = LexicalIndex(Store(kb.settings), tmp_path / "other-cache")
    assert doc_ids(other.search("den giao thong", 3)) == ["lights"]
    ingest_records(kb, [Record("bikes", "Xe đạp công cộng cho thuê theo giờ.")])
    # hold the build until the stale answer has been checked (timing only: the build is real)
    release = threading.Event()
    build = other._build
    monkeypatch.setattr(other, "_build", lambda: (release.wait(30), build())[1])
    stale = other.search("xe dap cong cong", 3, wait=False)
    assert stale == [] and other.generation != kb.store.generation()
    release.set()
    other._pending.join(timeout=30)
    assert other.generation == kb.store.generation()
    assert doc_ids(other.search("xe dap cong cong", 3, wait=False)) == ["bikes"]
    # a search that must be current (BM25 alone) builds before it answers
    ingest_records(kb, [Record("parking", "Bãi đỗ xe thông minh thanh toán qua ứng dụng.")])
    assert doc_ids(other.search("bai do xe thong minh", 3))[0] == "parking"


def test_a_failed_background_rebuild_is_one_warning_and_the_next_search_retries(
    tmp_path, settings_factory, chroma_server, monkeypatch, caplog
):
    # The Chroma server went away while a rebuild ran in the background: that printed a
    # thread's traceback on the app server's console. A real `chroma run` is stopped here.
    kb = open_kb(settings_factory(collection="lex-background-fails", chroma_url=chroma_server.url))
    ingest_records(kb, [Record("lights", "Đèn giao thông thông minh tại nút giao.")])
    other = LexicalIndex(Store(kb.settings), tmp_path / "other-cache")
    assert doc_ids(other.search("den giao thong", 3)) == ["lights"]
    served = other.generation
    ingest_records(kb, [Record("bikes", "Xe đạp công cộng cho thuê theo giờ.")])
    # hold the background build until the server is down (timing only: the build is real)
    release = threading.Event()
    build = other._build
    monkeypatch.setattr(other, "_build", lambda: (release.wait(30), build())[1])
    crashed = []
    monkeypatch.setattr(threading, "excepthook", lambda args: crashed.append(args))
    assert doc_ids(other.search("den giao thong", 3, wait=False)) == ["lights"]
    assert other._pending is not None and other._pending.is_alive()
    chroma_server.stop()
    release.set()
    other._pending.join(timeout=60)
    assert not other._pending.is_alive()
    assert not crashed and other.generation == served  # the old index still serves
    warnings = [r for r in caplog.records if "BM25 index not rebuilt" in r.getMessage()]
    assert len(warnings) == 1, caplog.text
    assert f"store unreachable at {chroma_server.url}" in warnings[0].getMessage()
    chroma_server.start()  # the server is back (same port, same data): the next search rebuilds
    other.search("den giao thong", 3, wait=False)
    other._pending.join(timeout=60)
    assert other.generation == kb.store.generation() != served
    assert doc_ids(other.search("xe dap cong cong", 3, wait=False)) == ["bikes"]


def test_vectors_by_id_fall_back_to_paging_when_chroma_cannot_find_an_id(
    small_kb, monkeypatch: pytest.MonkeyPatch
):
    # Fault injection: embedded Chroma opened by two processes (the app, and kb ingest from a
    # shell) raised "Error finding id" for ids the other process wrote, and the index rebuild
    # that asked for them failed; the chunks are then read by pages instead
    from chromadb.errors import InternalError

    store = small_kb.store
    every = {sc.chunk.chunk_id: v for sc, v in store.iter_chunks(with_vectors=True)}
    ids = sorted(every)[:5]
    real_get = store.chunks.get

    def get(*args, **kwargs):
        if kwargs.get("ids"):
            raise InternalError("Error executing plan: Internal error: Error finding id")
        return real_get(*args, **kwargs)

    monkeypatch.setattr(store.chunks, "get", get)
    got = store.vectors(ids)
    assert sorted(got) == ids
    assert all(np.array_equal(got[c], every[c]) for c in ids)
