"""Retrieval and answer evals on datasets in BEIR format.

``corpus.jsonl`` ({_id, title, text, metadata?}), ``queries.jsonl`` ({_id, text, metadata?}),
``qrels/test.tsv`` (query-id, corpus-id, score). A BEIR corpus is ingested into its own
collection named from its content hash, so a re-run costs only the queries. The query sets in
``evals/golden`` (the golden set, used for tuning) and ``evals/heldout`` (never tuned on) have no
corpus file: their corpus ids are the main store's document ids.
"""

from __future__ import annotations

import hashlib
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kb.evals.datasets import DatasetError, Progress, json_objects
from kb.evals.metrics import doc_ranking, percentile, retrieval_metrics
from kb.knowledge_base import KnowledgeBase, open_kb
from kb.settings import Settings
from kb.types import Answer

GOLDEN = Path(__file__).resolve().parents[2] / "evals" / "golden"
HELDOUT = GOLDEN.parent / "heldout"
MODES = ("dense", "bm25", "hybrid")
K = 10


@dataclass(frozen=True)
class Query:
    qid: str
    text: str
    metadata: dict[str, Any]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, row in json_objects(path):
        if "_id" not in row or "text" not in row:
            raise DatasetError(f'{path}:{n}: each line needs "_id" and "text"')
        rows.append(row)
    return rows


def load_queries(folder: Path) -> list[Query]:
    return [
        Query(str(r["_id"]), str(r["text"]), dict(r.get("metadata") or {}))
        for r in _jsonl(folder / "queries.jsonl")
    ]


def load_qrels(folder: Path) -> dict[str, dict[str, int]]:
    path = folder / "qrels" / "test.tsv"
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.rstrip("\n").split("\t")
        if n == 1 and parts[0] == "query-id":
            continue
        if not line.strip():
            continue
        if len(parts) != 3:
            raise DatasetError(f"{path}:{n}: expected query-id<TAB>corpus-id<TAB>score")
        try:
            qrels[parts[0]][parts[1]] = int(float(parts[2]))
        except ValueError as exc:
            raise DatasetError(f"{path}:{n}: score {parts[2]!r} is not a number") from exc
    return dict(qrels)


def beir_kb(settings: Settings, folder: Path, progress: Progress | None = None) -> KnowledgeBase:
    """The dataset's own collection, brought up to date on every run: unchanged documents cost
    nothing, and a document read by an older chunker is chunked (and its claims embedded)
    again, so the figures are those of the code as it stands."""
    from ingest import Record, ingest_records

    corpus_file = folder / "corpus.jsonl"
    rows = _jsonl(corpus_file)
    digest = hashlib.sha256(corpus_file.read_bytes()).hexdigest()[:12]
    kb = open_kb(settings.with_overrides(collection=f"beir-{digest}"))
    records = [
        Record(
            doc_id=_safe_id(str(r["_id"])),
            text=str(r["text"]),
            title=str(r.get("title") or ""),
            metadata=dict(r.get("metadata") or {}),
        )
        for r in rows
    ]
    report = ingest_records(kb, records, progress=lambda _w, d, t: progress and progress(d, t))
    if report.failed:
        first = report.failed[0]
        raise DatasetError(f"{corpus_file}: document {first.path}: {first.error}")
    return kb


def _safe_id(raw: str) -> str:
    """Corpus ids as document ids (lowercase ids are used as they are; others get a hash)."""
    from ingest.metadata import _ID

    return raw if _ID.match(raw) else "b-" + hashlib.sha1(raw.encode()).hexdigest()[:16]


def open_dataset(
    settings: Settings, beir_dir: Path | None, query_set: Path = GOLDEN
) -> tuple[Path, KnowledgeBase, list[Query], dict[str, dict[str, int]]]:
    """A BEIR dataset in its own collection, or a query set over the main store."""
    folder = beir_dir or query_set
    queries = load_queries(folder)
    qrels = load_qrels(folder)
    if beir_dir is not None:
        kb = beir_kb(settings, folder)
        return (
            folder,
            kb,
            queries,
            {q: {_safe_id(d): g for d, g in r.items()} for q, r in qrels.items()},
        )
    kb = open_kb(settings)
    if not kb.store.registry():
        raise DatasetError(f"the store at {settings.where} is empty: run `kb ingest corpus/` first")
    return folder, kb, queries, qrels


def run_retrieval_eval(
    settings: Settings,
    beir_dir: Path | None = None,
    mode: str = "all",
    progress: Progress | None = None,
    query_set: Path = GOLDEN,
) -> dict[str, Any]:
    folder, kb, queries, qrels = open_dataset(settings, beir_dir, query_set)
    judged = [q for q in queries if qrels.get(q.qid)]
    modes = MODES if mode == "all" else (mode,)
    total = len(judged) * len(modes)
    result: dict[str, Any] = {
        "dataset": str(folder),
        "queries": len(judged),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "kind": "retrieval",
        "modes": {},
    }
    done = 0
    for m in modes:
        rows = []
        for q in judged:
            began = time.perf_counter()
            hits = _search(kb, q.text, m)
            ms = (time.perf_counter() - began) * 1000
            rows.append((q, doc_ranking([h.doc.doc_id for h in hits]), ms))
            done += 1
            if progress:
                progress(done, total)
        result["modes"][m] = _summarise(rows, qrels)
    return result


def _search(kb: KnowledgeBase, text: str, mode: str):
    from kb.retrieval.search import search

    return search(kb, text, k=K, mode=mode)


def _summarise(
    rows: list[tuple[Query, list[str], float]], qrels: dict[str, dict[str, int]]
) -> dict[str, Any]:
    def block(subset: list[tuple[Query, list[str], float]]) -> dict[str, Any]:
        metrics = retrieval_metrics([r for _, r, _ in subset], [qrels[q.qid] for q, _, _ in subset])
        times = [ms for _, _, ms in subset]
        metrics.update(p50_ms=percentile(times, 50), p95_ms=percentile(times, 95))
        return metrics

    out = block(rows)
    out["by"] = _breakdown(rows, block)
    return out


def _breakdown(rows: list, block: Callable) -> dict[str, dict[str, Any]]:
    """Metrics per value of each query metadata field present (lang, city, kind, ...)."""
    fields = sorted({k for q, *_ in rows for k, v in q.metadata.items() if isinstance(v, str)})
    by: dict[str, dict[str, Any]] = {}
    for field in fields:
        groups: dict[str, list] = defaultdict(list)
        for row in rows:
            value = row[0].metadata.get(field)
            if isinstance(value, str):
                groups[value].append(row)
        by[field] = {value: block(group) for value, group in sorted(groups.items())}
    return by


# -- answers -------------------------------------------------------------------------------
def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def run_answer_eval(
    settings: Settings,
    beir_dir: Path | None = None,
    progress: Progress | None = None,
    query_set: Path = GOLDEN,
) -> dict[str, Any]:
    """Citation precision, fact recall, abstention accuracy and false abstention."""
    from kb.answers.ask import ask

    folder, kb, queries, qrels = open_dataset(settings, beir_dir, query_set)
    rows = []
    for i, q in enumerate(queries, start=1):
        began = time.perf_counter()
        answer = ask(kb, q.text)
        ms = (time.perf_counter() - began) * 1000
        rows.append((q, answer, ms))
        if progress:
            progress(i, len(queries))

    def block(subset: list) -> dict[str, Any]:
        cited = [(q, c) for q, a, _ in subset for c in a.citations]
        good = sum(qrels.get(q.qid, {}).get(c.doc_id, 0) > 0 for q, c in cited)
        factual = [(q, a) for q, a, _ in subset if q.metadata.get("answer")]
        found = sum(any(_norm(v) in _norm(a.text) for v in _variants(q)) for q, a in factual)
        unanswerable = [a for q, a, _ in subset if not qrels.get(q.qid)]
        answerable = [a for q, a, _ in subset if qrels.get(q.qid)]
        times = [ms for *_, ms in subset]
        return {
            "citation_precision": good / len(cited) if cited else None,
            "fact_recall": found / len(factual) if factual else None,
            "abstention_accuracy": sum(a.abstained for a in unanswerable) / len(unanswerable)
            if unanswerable
            else None,
            "false_abstention": sum(a.abstained for a in answerable) / len(answerable)
            if answerable
            else None,
            # of the answers given, the share flagged as weak matches: high on the unanswerable
            # questions answered anyway, low on the answerable ones, is what the flag is for
            "weak_on_answerable": _weak_share(answerable),
            "weak_on_unanswerable": _weak_share(unanswerable),
            "n": len(subset),
            "p50_ms": percentile(times, 50),
            "p95_ms": percentile(times, 95),
        }

    summary = block(rows)
    summary["by"] = _breakdown(rows, block)
    return {
        "dataset": str(folder),
        "queries": len(rows),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "kind": "answers",
        "answerer": "llm" if settings.llm_url else "offline",
        "answers": summary,
    }


def _weak_share(answers: list[Answer]) -> float | None:
    given = [a for a in answers if not a.abstained]
    return sum(a.weak_match for a in given) / len(given) if given else None


def _variants(q: Query) -> list[str]:
    value = q.metadata.get("answer")
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


# -- reports -------------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(result: dict[str, Any]) -> str:
    """A readable report of a retrieval or answer eval, with the same figures as the JSON."""
    lines = [f"# {result['kind'].capitalize()} eval: {result['dataset']}", ""]
    lines.append(f"{result['queries']} queries, {result['created_at']}")
    if result["kind"] == "answers":
        cols = [
            "citation_precision",
            "fact_recall",
            "abstention_accuracy",
            "false_abstention",
            "weak_on_answerable",
            "weak_on_unanswerable",
            "n",
            "p50_ms",
            "p95_ms",
        ]
        blocks = {"all": result["answers"]}
    else:
        cols = ["recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "n", "p50_ms", "p95_ms"]
        blocks = result["modes"]
    lines += ["", "| mode | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, m in blocks.items():
        lines.append(f"| {name} | " + " | ".join(_fmt(m.get(c)) for c in cols) + " |")
    fields = sorted({f for m in blocks.values() for f in m.get("by", {})})
    for field in fields:
        lines += ["", f"## By {field}", "", f"| mode | {field} | " + " | ".join(cols) + " |"]
        lines.append("|---" * (len(cols) + 2) + "|")
        for name, m in blocks.items():
            for value, sub in m["by"].get(field, {}).items():
                lines.append(
                    f"| {name} | {value} | " + " | ".join(_fmt(sub.get(c)) for c in cols) + " |"
                )
    return "\n".join(lines) + "\n"
