"""Late interaction: MaxSim against a plain reference, and its rescoring of the best candidates.

Why: across languages BM25 reads only names and figures, so what lifts hybrid search above dense
there is the model's own word-by-word evidence (``kb.retrieval.interaction``). Its arithmetic is
checked against a loop, and its effect with the real model: an English question's words meet
their Vietnamese translations in the passage that answers it.
"""

from __future__ import annotations

import numpy as np
import pytest

from kb.retrieval.interaction import maxsim, rescore


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    rows = rng.normal(size=(n, 384)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_maxsim_is_each_question_tokens_best_match_averaged():
    rng = np.random.default_rng(3)
    question, passage = _unit(rng, 7), _unit(rng, 40)
    want = sum(max(float(q @ p) for p in passage) for q in question) / len(question)
    assert maxsim(question, passage) == pytest.approx(want, abs=1e-6)
    assert maxsim(question, passage[:0]) == 0.0


def test_rescore_keeps_the_scale_and_moves_by_the_matches():
    rng = np.random.default_rng(5)
    question = _unit(rng, 5)
    fused = np.array([3.0, 2.9, 1.0, 0.5], dtype=np.float32)
    same = [_unit(rng, 30)] * 4
    np.testing.assert_allclose(rescore(fused, question, same), fused, atol=1e-5)
    # the second candidate holds the question's own tokens: it overtakes the first
    passages = [
        _unit(rng, 30),
        np.vstack([question, _unit(rng, 25)]),
        _unit(rng, 30),
        _unit(rng, 30),
    ]
    got = rescore(fused, question, passages)
    assert int(np.argmax(got)) == 1
    assert got.mean() == pytest.approx(fused.mean(), abs=1e-4)  # standardised: no drift
    assert rescore(fused[:1], question, passages[:1]) == fused[:1]


def test_an_english_question_meets_the_vietnamese_passage_that_answers_it(session_cache):
    from kb.settings import load_settings
    from kb.store.embeddings import Embedder

    embedder = Embedder(load_settings(env={}, cache_dir=str(session_cache)))
    question = "How much water flooded the city in 2020?"
    answers = "Nước ngập sâu nửa mét trong thành phố năm 2020."
    other = "Điện bị cắt trong thành phố năm 2020."
    unrelated = "Lễ hội pháo hoa quốc tế thu hút nhiều du khách."
    states = embedder.token_states([answers, other, unrelated])
    q = embedder.query_states(question)
    assert maxsim(q, states[0]) > maxsim(q, states[1]) + 0.03
    fused = np.array([1.0, 1.2, 0.4], dtype=np.float32)
    got = rescore(fused, q, states)
    assert got[0] - got[1] > fused[0] - fused[1]  # the passage that answers gains on the other


@pytest.mark.parametrize("keep", [True, False])
def test_an_ingest_keeps_token_states_unless_told_not_to(settings_factory, keep):
    import uuid

    from ingest import Record, ingest_records
    from kb.knowledge_base import open_kb
    from kb.retrieval.search import search
    from kb.store.embeddings import states_key
    from kb.text import passage_text

    kb = open_kb(settings_factory(keep_token_states=keep))
    tag = uuid.uuid4().hex[:8]
    text = f"Trạm {tag} đo mực nước sông Hàn mỗi mười phút và gửi về trung tâm điều hành."
    ingest_records(kb, [Record(f"states-{tag}", text, "Trạm đo mực nước")])
    (hit,) = search(kb, f"Trạm {tag}", k=1)
    key = states_key(passage_text(hit.doc.title, hit.chunk.section, hit.chunk.text))
    assert (key in kb.embedder.cache.get_states([key])) is keep
    (rows,) = kb.embedder.token_states(
        [passage_text(hit.doc.title, hit.chunk.section, hit.chunk.text)]
    )
    assert len(rows) > 10 and key in kb.embedder.cache.get_states([key])  # made on first need


def test_states_kept_on_the_main_directions_rank_as_the_whole_states(session_cache):
    # kb.store.token_basis: half the bytes; MaxSim over the projected states must keep the order
    from kb.settings import load_settings
    from kb.store.embeddings import MODEL_ID, Embedder
    from kb.store.token_basis import basis, project

    embedder = Embedder(load_settings(env={}, cache_dir=str(session_cache)))
    found = basis(MODEL_ID)
    assert found is not None and found[2].shape == (192, 384)
    assert basis("another-model") is None  # a basis made for another model is never used
    texts = [
        "Nước ngập sâu nửa mét trong thành phố năm 2020.",
        "Điện bị cắt trong thành phố năm 2020.",
        "Lễ hội pháo hoa quốc tế thu hút nhiều du khách.",
    ]
    _, whole = embedder.backend.passage_states(texts)
    _, question = embedder.backend.query_states("How much water flooded the city in 2020?")
    full = [maxsim(question, rows) for rows in whole]
    kept = [maxsim(project(question, MODEL_ID), project(rows, MODEL_ID)) for rows in whole]
    assert np.argsort(full).tolist() == np.argsort(kept).tolist()
    np.testing.assert_allclose(np.linalg.norm(project(whole[0], MODEL_ID), axis=1), 1, atol=1e-5)


def test_late_interaction_reads_where_bm25_cannot_the_knowledge_base_or_its_filtered_part(
    small_kb, monkeypatch
):
    # the small corpus holds both languages: an English question is read by BM25 word by word,
    # unless the filters leave only Vietnamese documents, as a Vietnamese-only knowledge base
    from kb.retrieval import interaction
    from kb.retrieval.search import search
    from kb.types import Filters

    calls = []
    real = interaction.rescore

    def watched(fused, question, passages):
        calls.append(len(passages))
        return real(fused, question, passages)

    monkeypatch.setattr(interaction, "rescore", watched)
    question = "Why did Da Nang's public Wi-Fi become hard to maintain?"
    assert search(small_kb, question, k=5)
    assert calls == []
    hits = search(small_kb, question, k=5, filters=Filters(language=("vi",)))
    assert hits and {h.doc.language for h in hits} == {"vi"}
    assert calls and calls[0] >= 2
    calls.clear()
    assert search(small_kb, "Vì sao Wi-Fi công cộng ở Đà Nẵng khó duy trì?", k=5)
    assert calls == []  # a Vietnamese question: BM25 reads those passages
