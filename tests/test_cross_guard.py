"""A guard on questions asked in the other language of a knowledge base nobody here wrote.

Why: across languages BM25 reads only the names and figures written alike, so hybrid search can
beat dense search there only with the model's word-by-word evidence, late interaction
(``kb.retrieval.interaction``). This runs the real ingest and the BEIR retrieval eval on a slice
of each of xquad-dev's ``retrieval-vi`` (English questions over Vietnamese paragraphs) and
``retrieval-en`` (the reverse), and fails when hybrid search falls back to dense's level.

Measured on these slices (95 questions each) when the floor was set (4 December 2026, evening),
recall@1 hybrid / dense / BM25: 0.937 / 0.916 / 0.274 (English questions over Vietnamese
paragraphs) and 0.905 / 0.874 / 0.421 (the reverse); without late interaction hybrid tied dense
on the whole sets (0.806 / 0.802 and 0.804 / 0.806). The least gain asked, 0.01, leaves
room for a question or two lost to a later change elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import shared_data
from xquad_slice import XQUAD, retrieval_slice

from kb.evals.run import run_retrieval_eval

ARTICLES = tuple(f"x{i:02d}-" for i in range(6, 14))  # four articles of each set
LEAST_GAIN = 0.01  # of hybrid over dense, recall@1 (one question of 95)


@pytest.fixture(scope="module", params=["retrieval-vi", "retrieval-en"])
def cross(request, tmp_path_factory: pytest.TempPathFactory, session_cache: Path):
    name = request.param
    shared_data(XQUAD / name)
    from kb.settings import load_settings

    folder = retrieval_slice(name, tmp_path_factory.mktemp(name) / "slice", ARTICLES, ("cross",))
    settings = load_settings(
        env={}, store=str(tmp_path_factory.mktemp("store")), cache_dir=str(session_cache)
    )
    result = run_retrieval_eval(settings, folder, mode="all")
    return {m: r["recall@1"] for m, r in result["modes"].items()}, result["queries"]


@pytest.mark.slow
def test_hybrid_beats_dense_across_languages(cross):
    recall, n = cross
    assert n >= 40
    assert recall["hybrid"] >= recall["dense"] + LEAST_GAIN, recall
    assert recall["hybrid"] > recall["bm25"], recall
