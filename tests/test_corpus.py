"""The sample corpus: every document ingests, the mix is what corpus/README.md promises, the
shipped embeddings cover it, and the golden set's judgements point at real documents."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ingest import ingest_paths
from kb.evals.run import GOLDEN, HELDOUT, load_qrels, load_queries
from kb.knowledge_base import open_kb

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@pytest.fixture(scope="module")
def corpus_kb(tmp_path_factory, session_cache):
    from kb.settings import load_settings

    store = tmp_path_factory.mktemp("corpus-store")
    cache = tmp_path_factory.mktemp("corpus-cache")  # empty: everything must come from the seed
    for built in session_cache.glob("*.onnx"):
        (cache / built.name).symlink_to(built)
    settings = load_settings(env={}, store=str(store), cache_dir=str(cache), collection="corpus")
    kb = open_kb(settings)
    report = ingest_paths(kb, [CORPUS])
    return kb, report


def test_every_document_ingests_from_the_shipped_embeddings(corpus_kb):
    _kb, report = corpus_kb
    assert not report.failed, report.failed
    assert not report.warnings, report.warnings
    assert report.count("added") >= 45
    assert report.embedded == 0, (
        "corpus/kb-embeddings.npz is stale: run `kb export-embeddings corpus/`"
    )


def test_cities_languages_formats_and_kinds(corpus_kb):
    kb, _ = corpus_kb
    docs = list(kb.store.registry().values())
    cities = Counter(d.city for d in docs)
    assert all(cities[c] >= 12 for c in ("hanoi", "hcmc", "danang")) and cities["multi"] >= 3
    langs = Counter(d.language for d in docs)
    assert langs["vi"] / len(docs) >= 0.4 and langs["en"] / len(docs) >= 0.3
    assert Counter(d.fmt for d in docs)["pdf"] >= 12
    assert {d.outcome for d in docs} == {"success", "partial", "failure", "ongoing"}
    assert all(d.source and d.title and d.year and d.domain and d.doc_type for d in docs)
    multi_page = [d for d in docs if d.fmt == "pdf" and d.n_pages >= 3]
    assert multi_page
    late_lessons = [
        c
        for d in multi_page
        for c in kb.store.live_chunks(d.doc_id)
        if c.is_lesson and (c.page or 0) >= 3
    ]
    assert late_lessons, "multi-page PDFs should carry lessons on a later page"


PROBES = GOLDEN.parent / "probes"
JUDGED_KINDS = {
    "factual",
    "lesson",
    "comparison",
    "cross-language",
    "no-diacritics",
    "unanswerable",
}
PROBE_KINDS = {"open", "paraphrase", "cross-language", "unanswerable"}


@pytest.mark.parametrize(
    ("query_set", "least", "per_city", "kinds"),
    [
        (GOLDEN, 150, 40, JUDGED_KINDS),
        (HELDOUT, 70, 15, JUDGED_KINDS),
        (PROBES, 110, 15, PROBE_KINDS),
    ],
)
def test_query_sets_point_at_existing_documents(corpus_kb, query_set, least, per_city, kinds):
    kb, _ = corpus_kb
    ids = set(kb.store.registry())
    queries = load_queries(query_set)
    qrels = load_qrels(query_set)
    assert len(queries) >= least
    assert {q.qid for q in queries} >= set(qrels)
    assert all(doc in ids for rel in qrels.values() for doc in rel)
    by_city = Counter(q.metadata["city"] for q in queries)
    assert all(by_city[c] >= per_city for c in ("hanoi", "hcmc", "danang"))
    assert set(Counter(q.metadata["kind"] for q in queries)) == kinds
    for q in queries:
        assert q.metadata["lang"] in ("vi", "en")
        if q.metadata["kind"] == "unanswerable":
            assert q.qid not in qrels
        else:
            assert max(qrels[q.qid].values()) == 2
        if q.metadata["kind"] == "factual":
            assert q.metadata.get("answer"), q.qid


@pytest.mark.parametrize("query_set", [GOLDEN, HELDOUT, PROBES])
def test_factual_answers_occur_in_a_relevant_document(corpus_kb, query_set):
    kb, _ = corpus_kb
    qrels = load_qrels(query_set)
    text_of = {
        doc_id: " ".join(c.text for c in kb.store.live_chunks(doc_id)).casefold()
        for doc_id in kb.store.registry()
    }
    for q in load_queries(query_set):
        answers = q.metadata.get("answer") or []
        if answers:
            relevant = [d for d, g in qrels[q.qid].items() if g > 0]
            assert any(a.casefold() in text_of[d] for a in answers for d in relevant), (
                q.qid,
                answers,
            )


def test_corpus_readme_counts_match(corpus_kb):
    kb, _ = corpus_kb
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# The sample corpus")
    assert f"\n{len(kb.store.registry())} reports" in readme


def test_a_cross_city_review_answers_a_comparison_first(corpus_kb):
    from kb.answers.ask import ask

    kb, _ = corpus_kb
    answer = ask(
        kb,
        "In the World Bank ICT Development Project, how did the roles of Hanoi, Da Nang and HCMC "
        "differ?",
    )
    assert next(iter(answer.parts)) == "multi"
    assert answer.citations[0].doc_id == "multi-wb-ict-development-project"
    assert answer.text.startswith("3 cities: ")
    # a comparison within one city's projects gets no cross-city part
    within = ask(kb, "So sánh iParking Hà Nội với bãi đỗ xe thông minh TP.HCM")
    assert "multi" not in within.parts


# Behaviour the answer path of 3 December 2026 traded away to hold on outside data (evals/README.md,
# "Outside data"): the previous rules read other-language passages through the glossary and
# refused on what it lacked. Strict: a fix makes these pass and must then drop the mark.
NEAR_MISS = pytest.mark.xfail(
    strict=True,
    reason="a near miss whose passage gives a figure of the right kind for a neighbouring fact: "
    "without the glossary's veto across languages, telling them apart needs entailment",
)


@pytest.mark.parametrize(
    ("question", "report"),
    [
        ("Which outages hit Hanoi's public service portal?", "hn-online-public-services-review"),
        pytest.param(
            "What went wrong with Da Nang's free Wi-Fi after it was built?",
            "dn-wifi-cong-cong-hau-kiem",
            marks=pytest.mark.xfail(
                strict=True,
                reason="two English reviews that discuss Da Nang's Wi-Fi (Hanoi's, the World "
                "Bank project's) are nearer to the question in meaning; the glossary's dense "
                "view that lifted the Vietnamese report is gone",
            ),
        ),
        (
            "What did the evaluation of Hanoi's metro 2A electronic ticketing find?",
            "hn-metro-2a-eid-ticketing",
        ),
    ],
)
def test_an_english_question_finds_the_vietnamese_report_first(corpus_kb, question, report):
    # Each answer is in a Vietnamese report only; before the glossary-translated dense view,
    # an English report on a neighbouring project ranked first for each of these questions.
    from kb.retrieval.search import search

    kb, _ = corpus_kb
    assert search(kb, question, k=5)[0].doc.doc_id == report


@pytest.mark.parametrize(
    ("question", "reports"),
    [
        (
            "What went wrong with Hanoi's smart parking?",
            {"hn-iparking-evaluation-brief", "hn-iparking-postmortem"},
        ),
        ("Hà Nội có những khó khăn gì khi triển khai iHanoi?", {"hn-ihanoi-evaluation"}),
    ],
)
def test_what_went_wrong_is_answered_from_the_projects_reports(corpus_kb, question, reports):
    # the reports say what failed, never "went wrong" nor "khó khăn" (difficulties): counted as
    # words a passage must hold, those made a weak match of them, and the neighbour's floor
    # refused the question
    from kb.answers.ask import ask

    kb, _ = corpus_kb
    answer = ask(kb, question)
    assert not answer.abstained and not answer.weak_match
    cited = {c.doc_id for c in answer.citations}
    assert cited and cited <= reports


def test_a_title_page_is_not_an_answer_but_its_document_is(corpus_kb):
    # The draft scheme is a PDF whose best passage for this question is its wrapped title: no
    # claim there, so the answer reads the rest of the document instead of quoting the title
    # or giving up.
    from kb.answers.ask import ask
    from kb.answers.passages import answer_passages
    from kb.answers.sentences import pick_sentences
    from kb.retrieval.search import read_question, search

    kb, _ = corpus_kb
    question = read_question(kb, "du thao de an do thi thong minh tphcm 2026 2030")
    hits = search(kb, question, k=6, filters=question.scope(None))
    best = answer_passages(kb, question, hits)
    assert {h.doc.doc_id for h in best} == {"hcm-du-thao-de-an-dttm-2026-2030"}
    title = kb.store.registry()["hcm-du-thao-de-an-dttm-2026-2030"].title
    assert title.startswith(best[0].chunk.text)  # the best passage is the title's first line
    picked = pick_sentences(kb, question, best, lesson_first=False)
    assert picked and all(s.hit.chunk.chunk_id != best[0].chunk.chunk_id for s in picked)
    answer = ask(kb, question.text)
    assert not answer.abstained
    assert {c.doc_id for c in answer.citations} == {"hcm-du-thao-de-an-dttm-2026-2030"}
    assert all(c.quote not in title for c in answer.citations)


def test_a_comparison_of_funding_quotes_sums_of_money(corpus_kb):
    # The issue's own example. Without the preference for sentences that give a sum, every part
    # was about the centres' plans and timelines and none said what paid for them.
    from kb.answers.ask import ask
    from kb.retrieval.answer_type import MONEY, gives

    kb, _ = corpus_kb
    question = "How did the three cities fund their operations centres?"
    answer = ask(kb, question)
    assert len(answer.parts) >= 2
    assert any(gives(MONEY, c.quote, question) for c in answer.citations)


@pytest.mark.parametrize(
    "question",
    [
        # typed without tones: folded syllables matched ("gia" is also giá, già, gia)
        "gia xang hom nay tang hay giam",
        # the nearest passages are about the city: only its name matched
        "Giá thuê căn hộ ở Đà Nẵng là bao nhiêu?",
        # a price is money: a count of metro gates is no answer
        "What is the price of a Hanoi metro ticket?",
        # near misses: the line's investment is no fare, API calls are no visits, "nhận"
        # (receive) is no "nhân viên" (staff), and 33 cities are no staff
        "Giá vé tuyến BRT Kim Mã – Yên Nghĩa là bao nhiêu?",
        "Cổng dữ liệu mở Đà Nẵng có bao nhiêu lượt truy cập mỗi tháng?",
        pytest.param("Trung tâm IOC Hà Nội có bao nhiêu nhân viên?", marks=NEAR_MISS),
        "How many staff work at Đà Nẵng's IOC?",
    ],
)
def test_a_question_the_corpus_does_not_answer_abstains(corpus_kb, question):
    # Each was answered with unrelated sentences before this session's checks.
    from kb.answers.ask import ask

    kb, _ = corpus_kb
    answer = ask(kb, question)
    assert answer.abstained, answer.text


def _read_and_searched(kb, question: str):
    """The question as the answer path reads it, and the passages it starts from."""
    from kb.answers.evidence import CANDIDATE_HITS
    from kb.retrieval.search import read_question, search

    parsed = read_question(kb, question)
    return parsed, search(kb, parsed, k=CANDIDATE_HITS, filters=parsed.scope(None))


@pytest.mark.parametrize(
    "question",
    [
        # the nearest passages are about other projects of the same city: no Old Quarter, no
        # Viettel contract, no 5G, and a support above the ordinary floor
        "How did Hà Nội's digital twin of the Old Quarter perform?",
        "What is the uptime guarantee in Viettel's contract for Đà Nẵng's data centre?",
        "TP.HCM đã triển khai 5G cho xe tự lái ở đâu?",
    ],
)
def test_a_best_passage_without_the_questions_names_needs_closer_support(corpus_kb, question):
    from kb.answers import abstention
    from kb.answers.ask import ask

    kb, _ = corpus_kb
    parsed, hits = _read_and_searched(kb, question)
    names = abstention.known_names(kb, parsed, across=not abstention.own_language(parsed, hits))
    assert names and abstention.missing_names(names, hits[0]) == names
    # the ordinary floor would answer it: the missing names are what refuses it
    support = abstention.support(kb, parsed, hits)
    assert abstention.SUPPORT_FLOOR <= support < abstention.NEIGHBOUR_SUPPORT_FLOOR
    answer = ask(kb, question)
    assert answer.abstained
    assert answer.lacked and answer.to_json()["lacked"] == answer.lacked  # and says why


def test_a_weak_match_in_the_questions_language_needs_closer_support(corpus_kb):
    # food traceability: no document; the HCMC passages found hold under 0.45 of its words, and
    # its best sentence reaches the ordinary floor, not the neighbour's
    from kb.answers import abstention
    from kb.answers.ask import ask

    kb, _ = corpus_kb
    question = "Hệ thống truy xuất nguồn gốc thực phẩm của TP.HCM hoạt động thế nào?"
    parsed, hits = _read_and_searched(kb, question)
    assert abstention.own_language(parsed, hits) and abstention.weak_match(kb, parsed, hits)
    assert not abstention.lacked_names(kb, parsed, hits)
    support = abstention.support(kb, parsed, hits)
    assert abstention.SUPPORT_FLOOR <= support < abstention.NEIGHBOUR_SUPPORT_FLOOR
    assert ask(kb, question).abstained


@pytest.mark.parametrize(
    "question",
    [
        # no document covers either; the best passages are English ones on other topics (the
        # emergency numbers, IBM's review), whose words a Vietnamese question cannot be checked
        # against, and their best sentence reaches the ordinary floor
        "Mạng cảm biến ngập của TP.HCM có bao nhiêu điểm đo?",
        "Đà Nẵng xử lý rác thải bằng cảm biến thông minh như thế nào?",
    ],
)
def test_a_best_passage_in_the_other_language_needs_a_little_more_support(corpus_kb, question):
    from kb.answers import abstention
    from kb.answers.ask import ask

    kb, _ = corpus_kb
    parsed, hits = _read_and_searched(kb, question)
    assert not abstention.own_language(parsed, hits)
    assert not abstention.lacked_names(kb, parsed, hits) and not abstention.unknown_words(
        kb, parsed
    )
    support = abstention.support(kb, parsed, hits)
    floor = abstention.SUPPORT_FLOOR
    assert floor <= support < floor + abstention.ACROSS_MARGIN
    assert ask(kb, question).abstained


def test_an_abstention_names_what_the_closest_passage_lacks(corpus_kb):
    from kb.answers.ask import ask

    kb, _ = corpus_kb
    answer = ask(kb, "How did Hà Nội's digital twin of the Old Quarter perform?")
    assert answer.lacked == ["Old Quarter"]  # adjacent names as the question writes them
    assert "The closest passage does not mention: Old Quarter." in answer.text
    answer = ask(kb, "TP.HCM đã triển khai 5G cho xe tự lái ở đâu?")
    assert "Đoạn văn gần nhất không nhắc đến: 5G." in answer.text


def test_a_best_passage_with_most_of_the_questions_names_is_answered(corpus_kb):
    # "October" is "tháng 10" in the Vietnamese evaluation: one name of three missing
    from kb.answers.ask import ask

    kb, _ = corpus_kb
    answer = ask(kb, "How many iHanoi accounts were there by the end of October 2024?")
    assert not answer.abstained
    assert answer.citations[0].doc_id == "hn-ihanoi-evaluation"


def test_a_toneless_question_is_answered_below_the_similarity_floor(corpus_kb):
    # e5 reads Vietnamese without tones poorly: the nearest passage is at 0.827, under the
    # 0.83 floor for other questions, and the answer was "no document answers this".
    from kb.answers.ask import ask

    kb, _ = corpus_kb
    answer = ask(
        kb, "da nang chuyen giao ma nguon chinh quyen dien tu cho cac tinh khac nhu the nao"
    )
    assert not answer.abstained
    assert {c.doc_id for c in answer.citations} <= {
        "dn-egov-he-thong-chinh-quyen-dien-tu",
        "dn-egov-platform-evaluation",
    }


def test_a_comparison_of_two_projects_in_one_city_has_a_part_for_each(corpus_kb):
    # No city named: the answer used to give one part per city, citing the HCMC citizen app
    # and Đà Nẵng's e-government for a question about two Hà Nội projects.
    from kb.answers.ask import ask

    kb, _ = corpus_kb
    answer = ask(kb, "So sánh iParking với soát vé định danh trên metro 2A")
    assert set(answer.parts) == {"iParking", "Metro 2A e-ID ticketing"}
    assert {c.city for c in answer.citations} == {"hanoi"}


@pytest.mark.parametrize(
    ("question", "doc_id", "figure"),
    [
        # The count is in the Vietnamese report, whose score is 94% of the English brief's; with
        # only the documents within 5% read, the answer was "no document answers this".
        (
            "How many AI cameras does the HCMC traffic control centre use?",
            "hcm-camera-va-trung-tam-giao-thong",
            "31",
        ),
        # The share is only in the Vietnamese review, below 92% of the best (English) document:
        # found by the second look in the other language; before, "the nearest documents do not
        # give the share asked for".
        (
            "What share of Hanoi's public services were online at the end of 2017?",
            "hn-online-public-services-review",
            "32%",
        ),
    ],
)
def test_a_figure_in_a_document_below_the_best_is_found(corpus_kb, question, doc_id, figure):
    from kb.answers.ask import ask

    kb, _ = corpus_kb
    answer = ask(kb, question)
    assert not answer.abstained, answer.text
    assert answer.citations[0].doc_id == doc_id
    assert figure in answer.citations[0].quote


def test_the_llm_is_given_the_figure_written_only_in_the_other_language(corpus_kb):
    # The LLM reads the passages the offline answerer reads; without the second look it was
    # given English passages without the share, and could only reply NO_ANSWER.
    from dataclasses import replace

    from kb.answers.ask import ask
    from tests.scripted_llm import ScriptedLLM

    kb, _ = corpus_kb
    server = ScriptedLLM()
    server.thread.start()
    try:
        llm_kb = open_kb(replace(kb.settings, llm_url=server.url, llm_model="scripted"))
        ask(llm_kb, "What share of Hanoi's public services were online at the end of 2017?")
    finally:
        server.server.shutdown()
    assert "32% dịch vụ công" in server.prompts[-1]


@NEAR_MISS
def test_a_count_from_the_other_language_must_name_what_it_counts(corpus_kb):
    # The second look in the other language reached the Vietnamese Wi-Fi report, and "spaces",
    # which the glossary does not know, was given the benefit of the doubt: 170 access points
    # answered how many parking spaces the sensors cover.
    from kb.answers.ask import ask

    kb, _ = corpus_kb
    question = "What smart-parking sensors did Đà Nẵng install and how many spaces do they cover?"
    answer = ask(kb, question)
    assert answer.abstained, answer.text
    assert answer.wanted == "count"


def test_a_question_naming_a_rare_acronym_is_answered_from_the_passages_that_name_it(corpus_kb):
    # USTDA is named only in the English brief; the Vietnamese scheme documents ranked above it
    # never name it, and the answer was "no document answers this".
    from kb.answers.ask import ask

    kb, _ = corpus_kb
    answer = ask(
        kb, "USTDA đã tài trợ bao nhiêu tiền cho trung tâm điều hành thông minh của TP.HCM?"
    )
    assert not answer.abstained, answer.text
    assert answer.citations[0].doc_id == "hcm-ioc-technology-brief"
    assert "USTDA" in answer.citations[0].quote


@pytest.mark.xfail(
    strict=True,
    reason="since English BM25 reads stems (3 December 2026, night), the Hà Nội part's two "
    "passages of the BRT record are its scope and relevance sections, which lack 'lines' and "
    "'went wrong': coverage 0.17 refuses that part, and the answer is given whole from HCMC's "
    "BRT record (evals/README.md, fifth round)",
)
def test_each_part_of_a_comparison_comes_from_that_citys_best_documents(corpus_kb):
    # Each city's part used to take its second sentence from any of the city's passages: the
    # HCMC part of this answer quoted the report on emergency numbers ("The bottleneck was
    # procedural, not technical.").
    from kb.answers.ask import ask

    kb, _ = corpus_kb
    answer = ask(kb, "Compare what went wrong with the BRT lines in Hanoi and Ho Chi Minh City")
    assert set(answer.parts) == {"hanoi", "hcmc"}
    cited = {city: {c.doc_id for c in answer.citations if f"[{c.n}]" in part}
             for city, part in answer.parts.items()}  # fmt: skip
    assert cited == {"hanoi": {"hn-brt-01-lessons"}, "hcmc": {"hcm-brt-line-1-green-transport"}}


def test_one_fact_about_the_three_cities_is_answered_directly(corpus_kb):
    # "the three cities" made this a comparison: one part per city, and the Hà Nội part quoted
    # the air-quality report ("Mạng lưới gồm 10 trạm", a network of stations)
    from kb.answers.ask import ask
    from kb.retrieval.question import Question

    kb, _ = corpus_kb
    question = "When did the three cities join the ASEAN Smart Cities Network?"
    assert Question.parse(question).kind == "direct"
    answer = ask(kb, question)
    assert not answer.abstained and not answer.parts
    assert {c.doc_id for c in answer.citations} == {"multi-ascn-vietnam-cities-review"}
    assert (
        Question.parse("How did the three cities fund their operations centres?").kind == "compare"
    )


def test_each_part_of_a_comparison_names_the_rare_acronym_asked_about(corpus_kb):
    # only HCMC's documents name USTDA; the Đà Nẵng part used to quote its open data portal
    from kb.answers.ask import ask

    kb, _ = corpus_kb
    answer = ask(kb, "How did the three cities work with USTDA?")
    assert not answer.abstained and answer.citations
    assert all("USTDA" in c.quote for c in answer.citations)


def test_a_generic_acronym_does_not_keep_the_answer_to_passages_that_spell_it(corpus_kb):
    # "e-ID" kept only passages that write "ID": the Vietnamese report on the metro's ticketing
    # says "định danh điện tử", and the answer came from the iParking brief, which has no plan
    from kb.answers.ask import ask

    kb, _ = corpus_kb
    answer = ask(kb, "Under which plan was e-ID ticketing rolled out on metro line 2A?")
    assert not answer.abstained
    assert "428" in answer.text
    assert answer.citations[0].doc_id == "hn-metro-2a-eid-ticketing"


def test_an_abstention_on_a_figure_says_which_kind_is_missing(corpus_kb):
    # the iHanoi report exists but gives no cost: the reader learns that, not just "no answer"
    from kb.answers.ask import ask

    kb, _ = corpus_kb
    answer = ask(kb, "Tổng kinh phí xây dựng ứng dụng iHanoi là bao nhiêu tỷ đồng?")
    assert answer.abstained and not answer.missing and answer.wanted == "money"
    assert "Các tài liệu gần nhất không nêu số tiền được hỏi." in answer.text
    assert answer.nearest[0].doc_id == "hn-ihanoi-evaluation"
    assert "(3 cities)" not in answer.text  # the cross-city label in the question's language
