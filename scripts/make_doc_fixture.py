#!/usr/bin/env python3
"""Make a Word 97-2003 test file from a text file: tests/data/doc/den-led-da-nang.doc.

Why: antiword must be measured on real binary .doc files, and no tool here writes them but
LibreOffice. The text (``# ``/``## `` lines as headings, ``a | b`` lines as table rows, other
lines as paragraphs) is written as a .docx by python-docx, then saved as Word 97-2003 by
LibreOffice (Debian ``libreoffice-writer-nogui``, needed by this script only).

Usage: python scripts/make_doc_fixture.py tests/data/doc/den-led-da-nang.txt
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import docx


def write_docx(text: str, out: Path) -> None:
    d = docx.Document()
    rows: list[list[str]] = []

    def flush() -> None:
        if rows:
            table = d.add_table(rows=len(rows), cols=len(rows[0]))
            for i, row in enumerate(rows):
                for j, value in enumerate(row):
                    table.cell(i, j).text = value
            rows.clear()

    for line in text.splitlines():
        if " | " in line:
            rows.append(line.split(" | "))
            continue
        flush()
        if line.startswith(("# ", "## ")):
            level = len(line.split(" ", 1)[0])
            d.add_heading(line[level + 1 :], level)
        elif line:
            d.add_paragraph(line)
    flush()
    d.save(str(out))


def main(source: Path) -> None:
    soffice = shutil.which("soffice")
    if soffice is None:
        sys.exit("needs LibreOffice: apt-get install libreoffice-writer-nogui")
    with tempfile.TemporaryDirectory() as tmp:
        made = Path(tmp) / f"{source.stem}.docx"
        write_docx(source.read_text(encoding="utf-8"), made)
        cmd = [soffice, "--headless", "--convert-to", "doc", "--outdir", str(source.parent)]
        subprocess.run([*cmd, str(made)], check=True, capture_output=True)
    print(source.with_suffix(".doc"))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
