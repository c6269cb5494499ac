"""The installable package: a wheel holds every module the CLI and the app import, and the data
they read (a package left out of pyproject.toml works in the editable checkout, not installed)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_holds_every_module_and_the_glossary(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    assert "absent from the `packages` configuration" not in build.stderr
    (wheel,) = tmp_path.glob("lessons_kb-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {
        p.relative_to(ROOT).as_posix()
        for package in ("kb", "ingest")
        for p in (ROOT / package).rglob("*.py")
    }
    assert sources <= names, sorted(sources - names)
    assert "kb/data/glossary.tsv" in names
