"""A slice of one of xquad-dev's BEIR retrieval sets, for the guards that run in CI."""

from __future__ import annotations

import json
from pathlib import Path

XQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "xquad-dev"


def retrieval_slice(
    name: str, out: Path, articles: tuple[str, ...], kinds: tuple[str, ...]
) -> Path:
    """The articles' paragraphs of ``XQUAD/name``, with their questions of ``kinds`` (the part
    of a query id before its first "-": native, cross, nodiac) and their judgements."""
    source = XQUAD / name
    out.mkdir(parents=True)
    (out / "qrels").mkdir()
    corpus = [
        line
        for line in (source / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
        if json.loads(line)["_id"].startswith(articles)
    ]
    (out / "corpus.jsonl").write_text("\n".join(corpus) + "\n", encoding="utf-8")
    qrels = (source / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()
    kept = [
        row
        for row in qrels[1:]
        if row.split("\t")[1].startswith(articles) and row.split("-", 1)[0] in kinds
    ]
    (out / "qrels" / "test.tsv").write_text("\n".join([qrels[0], *kept]) + "\n")
    wanted = {row.split("\t")[0] for row in kept}
    queries = [
        line
        for line in (source / "queries.jsonl").read_text(encoding="utf-8").splitlines()
        if json.loads(line)["_id"] in wanted
    ]
    (out / "queries.jsonl").write_text("\n".join(queries) + "\n", encoding="utf-8")
    return out


def answers_half(language: str, out: Path) -> Path:
    """xquad-dev's answers set cut to a knowledge base in one language: its paragraphs in
    ``language`` and the questions (both languages, near misses included) on them."""
    source = XQUAD / "answers"
    (out / "corpus").mkdir(parents=True)
    for doc in sorted((source / "corpus").iterdir()):
        if f"\nlanguage: {language}\n" in doc.read_text(encoding="utf-8"):
            (out / "corpus" / doc.name).write_bytes(doc.read_bytes())
    lines = (source / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if json.loads(line)["doc_lang"] == language]
    (out / "questions.jsonl").write_text("\n".join(kept) + "\n", encoding="utf-8")
    return out
