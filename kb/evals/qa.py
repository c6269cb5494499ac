"""The question-answer eval: answers on a knowledge base the project was not tuned on.

A dataset is a folder with ``corpus/`` (documents of any format ``kb ingest`` reads, with
front matter ``id``, ``title``, ``language``) and ``questions.jsonl``, one question a line:
``{id, question, lang, doc_lang, answerable, doc, withheld_doc, gold}`` (the shape of
``xquad-dev/answers``). The corpus is ingested as in production (``ingest_paths``) into a
collection named from its content hash, so a re-run costs only the questions.

Figures, each beside the afternoon baseline (``kb.evals.baseline``): fact recall (a gold span
appears in the answer), first citation right, false abstention and abstention on near misses, with
latency;
overall, per kind (same / cross language) and per question language.
"""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kb.evals.datasets import DatasetError, Progress, json_objects
from kb.evals.metrics import percentile
from kb.knowledge_base import KnowledgeBase, open_kb
from kb.settings import Settings
from kb.types import Answer

Answerer = Callable[[KnowledgeBase, str], Answer]
NEAR_MISS = "near_miss"  # the kind of a near miss whose withheld document's language is unknown
FIGURES = ("fact_recall", "first_citation_right", "false_abstention", "near_miss_abstention")
_MARKER = re.compile(r"\s*\[\d+\]")


@dataclass(frozen=True)
class QAQuestion:
    qid: str
    question: str
    lang: str
    doc_lang: str | None
    answerable: bool
    doc: str | None
    withheld_doc: str | None
    gold: tuple[str, ...]
    line: int

    @property
    def kind(self) -> str:
        """same / cross: the question's language against the answering (or withheld) paragraph's."""
        if self.doc_lang is None:
            return NEAR_MISS
        return "same" if self.lang == self.doc_lang else "cross"


@dataclass(frozen=True)
class Outcome:
    """What the eval keeps of one answer (the project's or the baseline's) to one question."""

    abstained: bool
    first_doc: str | None
    fact_found: bool
    ms: float


# -- reading --------------------------------------------------------------------------------------
_FIELDS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "id": (str, "text"),
    "question": (str, "text"),
    "lang": (str, "text"),
    "doc_lang": ((str, type(None)), "text or null"),
    "answerable": (bool, "true or false"),
    "doc": ((str, type(None)), "text or null"),
    "withheld_doc": ((str, type(None)), "text or null"),
    "gold": (list, "a list of answer spans"),
}


def load_questions(path: Path) -> list[QAQuestion]:
    """Every question of ``questions.jsonl``; a malformed line raises :class:`DatasetError`
    naming the file and line."""
    out: list[QAQuestion] = []
    seen: dict[str, int] = {}
    for n, row in json_objects(path):
        for name, (kind, what) in _FIELDS.items():
            if name not in row:
                raise DatasetError(f'{path}:{n}: missing field "{name}"')
            if not isinstance(row[name], kind):
                raise DatasetError(f'{path}:{n}: field "{name}" must be {what}, got {row[name]!r}')
        for name in ("id", "question", "lang"):
            if not row[name].strip():
                raise DatasetError(f'{path}:{n}: field "{name}" is empty')
        gold = row["gold"]
        if not all(isinstance(g, str) and g.strip() for g in gold):
            raise DatasetError(f'{path}:{n}: field "gold" must hold non-empty strings only')
        if row["answerable"]:
            for name in ("doc", "doc_lang"):
                if not row[name]:
                    raise DatasetError(f'{path}:{n}: an answerable question needs "{name}"')
            if not gold:
                raise DatasetError(f'{path}:{n}: an answerable question needs a "gold" span')
        qid = row["id"]
        if qid in seen:
            raise DatasetError(f"{path}:{n}: id {qid!r} already used on line {seen[qid]}")
        seen[qid] = n
        out.append(
            QAQuestion(
                qid=qid,
                question=row["question"],
                lang=row["lang"],
                doc_lang=row["doc_lang"] or None,
                answerable=row["answerable"],
                doc=row["doc"] if row["answerable"] else None,
                withheld_doc=row["withheld_doc"],
                gold=tuple(gold),
                line=n,
            )
        )
    if not out:
        raise DatasetError(f"{path}: no questions")
    return out


def stratified(questions: list[QAQuestion], per_group: int) -> list[QAQuestion]:
    """A deterministic subset: ``per_group`` questions of each (question language, paragraph
    language, answerable) group, spread evenly over the group so that every part of the
    corpus is touched, in file order."""
    groups: dict[tuple[str, str, bool], list[QAQuestion]] = defaultdict(list)
    for q in questions:
        groups[(q.lang, q.doc_lang or NEAR_MISS, q.answerable)].append(q)
    chosen: set[str] = set()
    for group in groups.values():
        take = min(per_group, len(group))
        chosen.update(group[i * len(group) // take].qid for i in range(take))
    return [q for q in questions if q.qid in chosen]


def qa_kb(
    settings: Settings, corpus: Path, progress: Progress | None = None
) -> tuple[KnowledgeBase, dict[str, str]]:
    """The corpus's own collection (named by its content hash) brought up to date with the
    production ingest, and the document id of each name a question may use for a document:
    the front matter ``id`` (kept by ingest), or the file's stem."""
    from ingest import ingest_paths

    if not corpus.is_dir():
        raise DatasetError(f"{corpus}: folder not found")
    files = sorted(p for p in corpus.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for p in files:
        digest.update(p.relative_to(corpus).as_posix().encode() + b"\x00" + p.read_bytes())
    kb = open_kb(settings.with_overrides(collection=f"qa-{digest.hexdigest()[:12]}"))
    report = ingest_paths(
        kb, [corpus], progress=(lambda _w, d, t: progress(d, t)) if progress else None
    )
    if report.failed:
        first = report.failed[0]
        raise DatasetError(f"{corpus / first.path}: {first.error}")
    if not kb.store.registry():
        raise DatasetError(f"{corpus}: no documents to ingest")
    ids = {d: d for d in kb.store.registry()}
    for f in report.files:
        ids.setdefault(Path(f.path).stem, f.doc_id)
    return kb, ids


# -- running ---------------------------------------------------------------------------------
def normalise(text: str) -> str:
    """NFC, case-folded, white space collapsed: how gold spans are matched."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def fact_found(gold: tuple[str, ...], answer_text: str) -> bool:
    """A gold span appears in the answer. Citation markers are taken out first, so that a
    gold "2" is not found in "[2]"."""
    text = normalise(_MARKER.sub("", answer_text))
    return any(normalise(g) in text for g in gold)


def _default_answer(kb: KnowledgeBase, question: str) -> Answer:
    from kb.answers.ask import ask

    return ask(kb, question)


def run_qa_eval(
    settings: Settings,
    folder: Path,
    progress: Progress | None = None,
    limit_per_group: int | None = None,
    answer: Answerer = _default_answer,
    baseline: bool = True,
) -> dict[str, Any]:
    """Ask every question (or a stratified subset) and score the answers and the baseline's."""
    from kb.evals.baseline import afternoon_answer, threshold_for

    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: folder not found")
    questions_file = folder / "questions.jsonl"
    questions = load_questions(questions_file)
    if limit_per_group is not None:
        if limit_per_group < 1:
            raise DatasetError(f"the limit per group must be at least 1, got {limit_per_group}")
        questions = stratified(questions, limit_per_group)
    kb, ids = qa_kb(settings, folder / "corpus")
    for q in questions:
        if q.answerable and q.doc not in ids:
            raise DatasetError(
                f"{questions_file}:{q.line}: doc {q.doc!r} is not a document of {folder / 'corpus'}"
            )
    answer(kb, questions[0].question)  # untimed: loads the model and the lexical index
    rows: list[dict[str, Any]] = []
    ours: list[Outcome] = []
    drafts = []
    for i, q in enumerate(questions, start=1):
        began = time.perf_counter()
        got = answer(kb, q.question)
        ms = (time.perf_counter() - began) * 1000
        first = got.citations[0].doc_id if got.citations and not got.abstained else None
        found = q.answerable and not got.abstained and fact_found(q.gold, got.text)
        ours.append(Outcome(got.abstained, first, found, ms))
        if baseline:
            began = time.perf_counter()
            drafts.append((afternoon_answer(kb, q.question), (time.perf_counter() - began) * 1000))
        if progress:
            progress(i, len(questions))
    expected = [ids.get(q.doc) if q.doc else None for q in questions]
    result: dict[str, Any] = {
        "dataset": str(folder),
        "queries": len(questions),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "kind": "qa",
        "answerer": "llm" if settings.llm_url else "offline",
        "collection": kb.settings.collection,
        "limit_per_group": limit_per_group,
        "qa": summarise(questions, ours, expected),
        "baseline": None,
    }
    theirs: list[Outcome] = []
    if baseline:
        threshold = threshold_for(
            [d.score for (d, _), q in zip(drafts, questions, strict=True) if q.answerable]
        )
        for (draft, ms), q in zip(drafts, questions, strict=True):
            abstained = draft.score < threshold
            theirs.append(
                Outcome(
                    abstained=abstained,
                    first_doc=None if abstained or not draft.doc_ids else draft.doc_ids[0],
                    fact_found=q.answerable and not abstained and fact_found(q.gold, draft.text),
                    ms=ms,
                )
            )
        result["baseline"] = {
            "name": "afternoon: dense top-2 paragraphs, their 2 nearest sentences, one threshold",
            "threshold": threshold,
            **summarise(questions, theirs, expected),
        }
    for n, (q, o) in enumerate(zip(questions, ours, strict=True)):
        row = {
            "id": q.qid,
            "kind": q.kind,
            "lang": q.lang,
            "answerable": q.answerable,
            "doc": q.doc,
            **asdict(o),
        }
        row["ms"] = round(o.ms, 1)
        if theirs:
            b = theirs[n]
            row["baseline"] = {
                "abstained": b.abstained,
                "first_doc": b.first_doc,
                "fact_found": b.fact_found,
                "score": round(drafts[n][0].score, 4),
            }
        rows.append(row)
    result["questions"] = rows
    return result


def summarise(
    questions: list[QAQuestion], outcomes: list[Outcome], expected: list[str | None]
) -> dict[str, Any]:
    """The figures overall and ``by`` kind, question language and language pair."""
    rows = list(zip(questions, outcomes, expected, strict=True))
    out = block(rows)
    groups: dict[str, dict[str, list]] = {"kind": {}, "lang": {}, "pair": {}}
    for row in rows:
        q = row[0]
        pair = f"{q.lang}→{q.doc_lang}" if q.doc_lang else NEAR_MISS
        for field, value in (("kind", q.kind), ("lang", q.lang), ("pair", pair)):
            groups[field].setdefault(value, []).append(row)
    out["by"] = {
        field: {value: block(group) for value, group in sorted(values.items())}
        for field, values in groups.items()
    }
    return out


def _rate(hits: int, of: int) -> float | None:
    return hits / of if of else None


def block(rows: list[tuple[QAQuestion, Outcome, str | None]]) -> dict[str, Any]:
    """The four figures (None where nothing is counted), what they count, and latency."""
    answerable = [(o, doc) for q, o, doc in rows if q.answerable]
    answered = [(o, doc) for o, doc in answerable if not o.abstained]
    near = [o for q, o, _ in rows if not q.answerable]
    found = sum(o.fact_found for o, _ in answerable)
    right = sum(o.first_doc == doc for o, doc in answered)
    refused = sum(o.abstained for o, _ in answerable)
    caught = sum(o.abstained for o in near)
    times = [o.ms for _, o, _ in rows]
    return {
        "fact_recall": _rate(found, len(answerable)),
        "first_citation_right": _rate(right, len(answered)),
        "false_abstention": _rate(refused, len(answerable)),
        "near_miss_abstention": _rate(caught, len(near)),
        "n": len(rows),
        "answerable": len(answerable),
        "answered": len(answered),
        "near_misses": len(near),
        "facts_found": found,
        "first_right": right,
        "false_abstained": refused,
        "near_misses_abstained": caught,
        "p50_ms": percentile(times, 50),
        "p95_ms": percentile(times, 95),
    }


# -- reports ---------------------------------------------------------------------------------
_LABELS = {
    "fact_recall": "fact recall",
    "first_citation_right": "first citation right",
    "false_abstention": "false abstention",
    "near_miss_abstention": "near-miss abstention",
}


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(result: dict[str, Any]) -> str:
    """Figures by kind and by question language, each beside the baseline's, with latency."""
    qa, base = result["qa"], result.get("baseline")
    subset = (
        f", {result['limit_per_group']} per group"
        if result.get("limit_per_group") is not None
        else ""
    )
    lines = [
        f"# QA eval: {result['dataset']}",
        "",
        f"{result['queries']} questions{subset}, {result['created_at']}, "
        f"answerer {result.get('answerer', '?')}",
    ]
    if base:
        lines.append(
            f"\nbaseline: {base['name']} (abstains below similarity {base['threshold']:.4f})"
        )
    cols = ["group", "n"]
    for f in FIGURES:
        cols += [_LABELS[f], "baseline"] if base else [_LABELS[f]]
    cols += ["p50 ms", "p95 ms"] + (["baseline p50 ms"] if base else [])
    lines += ["", "| " + " | ".join(cols) + " |", "|---" * len(cols) + "|"]

    def row(name: str, ours: dict[str, Any], theirs: dict[str, Any] | None) -> str:
        cells = [name, str(ours["n"])]
        for f in FIGURES:
            cells.append(_cell(ours.get(f)))
            if theirs is not None:
                cells.append(_cell(theirs.get(f)))
        cells += [f"{ours['p50_ms']:.0f}", f"{ours['p95_ms']:.0f}"]
        if theirs is not None:
            cells.append(f"{theirs['p50_ms']:.0f}")
        return "| " + " | ".join(cells) + " |"

    lines.append(row("all", qa, base))
    for field, title in (("kind", "kind"), ("lang", "question language"), ("pair", "languages")):
        for value, sub in qa["by"].get(field, {}).items():
            lines.append(row(f"{title}: {value}", sub, base["by"][field][value] if base else None))
    return "\n".join(lines) + "\n"


def report_path(settings: Settings, result: dict[str, Any]) -> Path:
    """``evals/reports/<time>-qa-<parent>-<folder>[-limitN]``: the dataset shows in the name
    (``xquad-dev/answers`` gives ``...-qa-xquad-dev-answers``)."""
    stamp = result["created_at"].replace(":", "").replace("-", "")[:15]
    folder = Path(result["dataset"]).resolve()
    name = f"{folder.parent.name}-{folder.name}" if folder.parent.name else folder.name
    limit = result.get("limit_per_group")
    suffix = f"-limit{limit}" if limit is not None else ""
    return settings.reports_dir / f"{stamp}-qa-{name}{suffix}"
