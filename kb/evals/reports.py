"""Eval reports: JSON and Markdown side by side, in the history folder or where asked, for every
kind of eval (retrieval, answers, question-answer sets, lessons)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kb.evals import lessons, qa, run
from kb.settings import Settings


def markdown(result: dict[str, Any]) -> str:
    """A readable report with the same figures as the JSON."""
    kinds = {"qa": qa.markdown, "lessons": lessons.markdown}
    return kinds.get(result["kind"], run.markdown)(result)


def write_report(result: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """``out``.json and ``out``.md (any suffix of ``out`` is replaced)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out.with_suffix(".json"), out.with_suffix(".md")
    json_path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown(result), encoding="utf-8")
    return json_path, md_path


def default_report_path(settings: Settings, result: dict[str, Any]) -> Path:
    stamp = result["created_at"].replace(":", "").replace("-", "")[:15]
    dataset = Path(result["dataset"]).name
    suffix = "" if dataset == run.GOLDEN.name else f"-{dataset}"
    return settings.reports_dir / f"{stamp}-{result['kind']}{suffix}"
