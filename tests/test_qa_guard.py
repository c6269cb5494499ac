"""A guard on a knowledge base nobody here wrote: the question-answer eval on a slice of xquad-dev.

Why: the golden and held-out sets were written by the same hands as the sample corpus and the
glossary, so a rule tuned on them can fit them and nothing else. xquad-dev (Wikipedia paragraphs
in Vietnamese and English, questions in both, near misses whose paragraph is withheld) is outside
data. This runs the real ingest and the real offline answerer on 10 questions of each (question
language, paragraph language, answerable) group, 80 in all, and fails when a figure falls below
a floor set from what was measured (evals/README.md, "Outside data"), so a later change cannot
quietly undo cross-language answering or abstention.

Measured on this slice when the floors were set: fact recall 0.95 same language / 0.70 other
language; first citation right 1.00 / 0.78; false abstention 0.05 of all answerable questions;
near-miss abstention 0.35. Measured again when they were raised (3 December, evening): fact
recall 1.00 / 0.75, first citation right 1.00 / 0.79, false abstention 0.025, near-miss
abstention 0.325. Near-miss abstention raised again (3 December, night) once a best passage
without most of the question's names and figures, or holding little of its wording in its
language, needs closer support: 0.475 on the slice (the code before, 0.325, fails the new
floor). Raised to 0.40 (4 December) once a best passage in the other language needs a
little more support: 0.50 on the slice. The floors leave room for the slice's noise (20
questions a kind).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import shared_data

from kb.evals.qa import run_qa_eval

XQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "xquad-dev" / "answers"
PER_GROUP = 10

FLOORS = {  # (kind, figure): the least it may be
    ("same", "fact_recall"): 0.85,
    ("cross", "fact_recall"): 0.60,
    ("cross", "first_citation_right"): 0.65,
}
MOST_FALSE_ABSTENTION = 0.075  # of all answerable questions (3 of 40)
LEAST_NEAR_MISS_ABSTENTION = 0.40  # of all near misses


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory, session_cache: Path):
    shared_data(XQUAD)
    from kb.settings import load_settings

    settings = load_settings(
        env={}, store=str(tmp_path_factory.mktemp("xquad")), cache_dir=str(session_cache)
    )
    return run_qa_eval(settings, XQUAD, limit_per_group=PER_GROUP)


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "figure"), sorted(FLOORS))
def test_figure_stays_above_its_floor(result, kind, figure):
    got = result["qa"]["by"]["kind"][kind][figure]
    assert got >= FLOORS[kind, figure], (kind, figure, got)


@pytest.mark.slow
def test_abstention_holds_on_outside_data(result):
    qa = result["qa"]
    assert qa["answerable"] == 4 * PER_GROUP and qa["near_misses"] == 4 * PER_GROUP
    assert qa["false_abstention"] <= MOST_FALSE_ABSTENTION, qa["false_abstention"]
    assert qa["near_miss_abstention"] >= LEAST_NEAR_MISS_ABSTENTION, qa["near_miss_abstention"]


@pytest.mark.slow
def test_other_language_answers_beat_the_afternoon_baseline(result):
    ours = result["qa"]["by"]["kind"]["cross"]["fact_recall"]
    theirs = result["baseline"]["by"]["kind"]["cross"]["fact_recall"]
    assert ours >= theirs + 0.10, (ours, theirs)
