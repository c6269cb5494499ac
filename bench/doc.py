"""Legacy Word (.doc) through antiword: time per file and how much of the text survives.

    .venv/bin/python bench/doc.py [--runs 5] [FILE.docx ...]

Why: a .doc is read by Debian's antiword, a C program from 2005; whether it keeps Vietnamese
letters, and what it costs, has to be measured on real Word 97-2003 files. Each Word file
(default: the sample corpus's .docx files) is saved as Word 97-2003 by LibreOffice
(``soffice --headless --convert-to doc``, Debian ``libreoffice-writer-nogui``, needed by this
script only), read back by ``ingest.office.load_doc`` and compared with the text python-docx
reads from the original: the words that differ (edit operations over the word sequence) and
the letters with diacritics lost. Prints one line per file and the median time per file.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.office import load_doc, load_docx  # noqa: E402
from scripts.text_fidelity import fidelity  # noqa: E402


def to_doc(sources: list[Path], folder: Path) -> list[Path]:
    """The files saved as Word 97-2003 by LibreOffice, in ``folder``."""
    soffice = shutil.which("soffice")
    if soffice is None:
        sys.exit("needs LibreOffice: apt-get install libreoffice-writer-nogui")
    cmd = [soffice, "--headless", "--convert-to", "doc", "--outdir", str(folder)]
    subprocess.run([*cmd, *map(str, sources)], check=True, capture_output=True)
    return [folder / f"{s.stem}.doc" for s in sources]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sources = args.files or sorted((ROOT / "corpus").glob("*/*.docx"))
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for src, doc in zip(sources, to_doc(sources, Path(tmp)), strict=True):
            truth = load_docx(src.read_bytes(), src.name).text
            runs = []
            for _ in range(args.runs):
                start = time.perf_counter()
                text = load_doc(doc, 60).text
                runs.append(time.perf_counter() - start)
            took = statistics.median(runs)
            times.append(took)
            f = fidelity(text, truth)
            print(
                f"{src.name}: {doc.stat().st_size // 1024} KB, {took * 1000:.0f} ms,"
                f" {f.words} words, {f.words_differing} differing,"
                f" {f.marked} letters with diacritics, {f.marked_lost} lost"
            )
    print(f"median per file: {statistics.median(times) * 1000:.0f} ms over {len(times)} files")


if __name__ == "__main__":
    main()
