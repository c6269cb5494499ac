"""A guard on a knowledge base written in one language and asked in the other.

Why: in a knowledge base of both languages a question is centred on its own language's passages
(``kb.retrieval.dense``); in one of Vietnamese reports asked in English there are none, and the
question kept its language: its support ran 0.065 lower than the floors were set for, and a
Vietnamese word that an English knowledge base cannot hold ("Pháp", France) counted as a name no
document has. Together they refused 0.15 (English questions) and 0.30 (Vietnamese questions) of
the answerable questions of xquad-dev's answers set cut to one language. This runs the real
ingest and answerer on 20 questions of each group of each half and fails when the
other-language questions are refused again.

Measured on these slices when the floors were set (4 December 2026, evening), other-language
questions, false abstention / near-miss abstention / fact recall: 0.00 / 0.60 / 0.85 over
Vietnamese paragraphs and 0.05 / 0.50 / 0.90 over English ones; the code before, 0.05 / 0.65 /
0.75 and 0.30 / 0.75 / 0.60 (the English half fails two floors).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import shared_data
from xquad_slice import XQUAD, answers_half

from kb.evals.qa import run_qa_eval

PER_GROUP = 20
MOST_FALSE_ABSTENTION = 0.15  # of the other-language answerable questions (3 of 20)
LEAST_NEAR_MISS_ABSTENTION = 0.35  # of the other-language near misses
LEAST_FACT_RECALL = 0.70


@pytest.fixture(scope="module", params=["vi", "en"])
def cross(request, tmp_path_factory: pytest.TempPathFactory, session_cache: Path):
    shared_data(XQUAD / "answers")
    from kb.settings import load_settings

    folder = answers_half(request.param, tmp_path_factory.mktemp(f"half-{request.param}"))
    settings = load_settings(
        env={}, store=str(tmp_path_factory.mktemp("store")), cache_dir=str(session_cache)
    )
    result = run_qa_eval(settings, folder, limit_per_group=PER_GROUP, baseline=False)
    return result["qa"]["by"]["kind"]["cross"]


@pytest.mark.slow
def test_other_language_questions_are_answered(cross):
    assert cross["false_abstention"] <= MOST_FALSE_ABSTENTION, cross
    assert cross["fact_recall"] >= LEAST_FACT_RECALL, cross


@pytest.mark.slow
def test_other_language_near_misses_are_still_refused(cross):
    assert cross["near_miss_abstention"] >= LEAST_NEAR_MISS_ABSTENTION, cross
