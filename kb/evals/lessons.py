"""How good the lesson records and their themes are, against a hand-labelled set
(``evals/lessons/labels.jsonl``: one record a line, ``doc``, exact ``text``, ``kind``, ``theme``).

Extraction is judged on the labelled documents only (their every lesson is labelled): precision
is the share of records extracted there that are labelled, recall the share of labels
extracted, a record matching a label when their words are the same (white space aside). Themes
are judged on the matched records: the adjusted Rand index and purity of the themes against the
labelled themes. Over the whole store: records, exact quotes, themes, themes spanning cities.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from kb.evals.datasets import DatasetError, json_objects
from kb.knowledge_base import KnowledgeBase
from kb.lessons.listing import lessons
from kb.lessons.records import Lesson
from kb.settings import Settings
from kb.text import fold

LABELS = Path("evals/lessons/labels.jsonl")


def read_labels(path: Path) -> list[dict[str, Any]]:
    """The labelled records; a line without its four fields raises :class:`DatasetError`."""
    rows = []
    for n, row in json_objects(path):
        if not all(
            isinstance(row.get(f), str) and row[f] for f in ("doc", "text", "kind", "theme")
        ):
            raise DatasetError(f'{path}:{n}: each line needs "doc", "text", "kind" and "theme"')
        rows.append(row)
    return rows


def _key(doc: str, text: str) -> tuple[str, str]:
    """What a label and a record are matched on: the words, with tones and punctuation
    folded away, since OCR of a scanned page may drop a tone ("Quang Nam")."""
    return doc, " ".join(re.findall(r"\w+", fold(text).lower()))


def adjusted_rand(truth: list[str], found: list[str]) -> float:
    """The adjusted Rand index of two partitions of the same items (1 same, about 0 random)."""

    def pairs(n: int) -> float:
        return n * (n - 1) / 2

    n = len(truth)
    if n < 2:
        return 1.0
    joint = Counter(zip(truth, found, strict=True))
    index = sum(pairs(c) for c in joint.values())
    a = sum(pairs(c) for c in Counter(truth).values())
    b = sum(pairs(c) for c in Counter(found).values())
    expected = a * b / pairs(n)
    top = (a + b) / 2
    return 1.0 if top == expected else (index - expected) / (top - expected)


def purity(truth: list[str], found: list[str]) -> float:
    """The share of items whose theme's most common label is their own."""
    if not truth:
        return 0.0
    by_theme: dict[str, Counter[str]] = {}
    for t, f in zip(truth, found, strict=True):
        by_theme.setdefault(f, Counter())[t] += 1
    return sum(c.most_common(1)[0][1] for c in by_theme.values()) / len(truth)


def exact_share(kb: KnowledgeBase, records: list[Lesson]) -> float:
    """The share of records whose text is exactly their chunk's text at their span."""
    chunks = kb.store.get_chunks(list({r.chunk_id for r in records}))
    exact = sum(
        r.chunk_id in chunks and chunks[r.chunk_id].chunk.text[r.start : r.end] == r.text
        for r in records
    )
    return exact / len(records) if records else 0.0


def run_lesson_eval(kb: KnowledgeBase, labels: Path = LABELS) -> dict[str, Any]:
    """The figures of ``kb eval --lessons``, as a report dict (``kind: "lessons"``)."""
    began = time.perf_counter()
    rows = read_labels(labels)
    labelled = {_key(r["doc"], r["text"]): r for r in rows}
    docs = {r["doc"] for r in rows}
    found = lessons(kb)
    records = found.lessons
    in_docs = {_key(x.doc_id, x.text): x for x in records if x.doc_id in docs}
    matched = [k for k in in_docs if k in labelled]
    truth = [labelled[k]["theme"] for k in matched]
    themes = [in_docs[k].theme for k in matched]
    spanning = [t for t in found.themes if len([c for c in t.cities if c != "multi"]) >= 2]
    return {
        "kind": "lessons",
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "labels": str(labels),
        "lessons": {
            "labelled": len(labelled),
            "labelled_docs": len(docs),
            "extracted_in_labelled_docs": len(in_docs),
            "precision": round(len(matched) / len(in_docs), 4) if in_docs else 0.0,
            "recall": round(len(matched) / len(labelled), 4) if labelled else 0.0,
            "kind_accuracy": round(
                sum(in_docs[k].kind == labelled[k]["kind"] for k in matched) / len(matched), 4
            )
            if matched
            else 0.0,
            "ari": round(adjusted_rand(truth, themes), 4),
            "purity": round(purity(truth, themes), 4),
            "labelled_themes": len(set(truth)),
            "found_themes_on_labelled": len(set(themes)),
            "total": len(records),
            "exact_quotes": round(exact_share(kb, records), 4),
            "themes": len(found.themes),
            "themes_2plus": sum(t.size >= 2 for t in found.themes),
            "themes_multi_city": len(spanning),
            "by_kind": dict(Counter(x.kind for x in records)),
            "by_city": dict(Counter(x.city for x in records)),
            "seconds": round(time.perf_counter() - began, 2),
        },
    }


def markdown(result: dict[str, Any]) -> str:
    """The report as Markdown (``kb eval --lessons`` without ``--json``)."""
    m = result["lessons"]
    lines = [
        "# Lesson records",
        "",
        f"Labelled set: {m['labelled']} lessons in {m['labelled_docs']} documents "
        f"({result['labels']}).",
        "",
        "| precision | recall | kind accuracy | ARI | purity | themes (labelled / found) |",
        "|---|---|---|---|---|---|",
        f"| {m['precision']:.3f} | {m['recall']:.3f} | {m['kind_accuracy']:.3f} | "
        f"{m['ari']:.3f} | {m['purity']:.3f} | {m['labelled_themes']} / "
        f"{m['found_themes_on_labelled']} |",
        "",
        f"Whole store: {m['total']} lessons, {m['exact_quotes']:.1%} exact quotes, "
        f"{m['themes']} themes ({m['themes_2plus']} with two lessons or more, "
        f"{m['themes_multi_city']} spanning two cities or more).",
    ]
    return "\n".join(lines)


def report_path(settings: Settings, result: dict[str, Any]) -> Path:
    """Where ``kb eval --lessons`` keeps its report, beside the other evals' history."""
    stamp = result["created_at"].replace(":", "").replace("-", "")[:15]
    return settings.reports_dir / f"{stamp}-lessons"
