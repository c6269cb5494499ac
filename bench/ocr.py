"""OCR throughput on 2 cores, its accuracy, and what a re-ingest of scans costs.

    .venv/bin/python bench/ocr.py [--pages 8] [--dpi 200]

Scans are made from the sample corpus's own PDFs (scripts/scans.py: rendered at ``--dpi``,
skewed, speckled, JPEG-compressed), so the recognised text is scored against known text
(median character error rate per page). Prints: render time per page (pypdfium2 and, when
installed, poppler's pdftoppm), pages/s with 1 and 2 pages recognised at once, and a whole
``kb ingest`` of the scans, then a re-ingest with one sidecar changed (served from the OCR
cache) and an unchanged re-ingest.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest import ingest_paths  # noqa: E402
from ingest.files import load_file  # noqa: E402
from ingest.ocr import DPI, OcrOptions  # noqa: E402
from kb.knowledge_base import open_kb  # noqa: E402
from kb.settings import load_settings  # noqa: E402
from scripts.scans import char_error_rate, rasterise  # noqa: E402

SOURCES = sorted((ROOT / "corpus").glob("*/*.pdf"))


def make_scans(folder: Path, pages: int, dpi: int) -> dict[str, list[str]]:
    """Scans of the corpus's text PDFs, ``pages`` pages in all; returns each scan's source page
    texts."""
    from pypdf import PdfReader, PdfWriter

    from kb.text import nfc

    truth: dict[str, list[str]] = {}
    left = pages
    for i, src in enumerate(SOURCES):
        if left <= 0:
            break
        reader = PdfReader(src)
        if not (reader.pages[0].extract_text() or "").strip():
            continue  # already a scan (the corpus has three): no known text to score against
        writer = PdfWriter()
        texts = []
        for page in reader.pages[:left]:
            writer.add_page(page)
            texts.append(nfc(page.extract_text() or ""))
        left -= len(texts)
        tmp = folder / f"{src.stem}.src"
        with open(tmp, "wb") as f:
            writer.write(f)
        (folder / f"{src.stem}.pdf").write_bytes(rasterise(tmp.read_bytes(), dpi=dpi, seed=i))
        tmp.unlink()
        truth[f"{src.stem}.pdf"] = texts
    return truth


def render_times(scan: Path) -> None:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(scan.read_bytes())
    began = time.perf_counter()
    for i in range(len(pdf)):
        pdf[i].render(scale=DPI / 72, grayscale=True).to_pil()
    per = (time.perf_counter() - began) / len(pdf)
    print(f"render at {DPI} dpi, pypdfium2: {per * 1000:.0f} ms/page")
    if shutil.which("pdftoppm"):
        with tempfile.TemporaryDirectory() as tmp:
            began = time.perf_counter()
            subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", str(scan), f"{tmp}/p"], check=True)
            per = (time.perf_counter() - began) / len(pdf)
        print(f"render at {DPI} dpi, poppler pdftoppm (PGM files): {per * 1000:.0f} ms/page")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--dpi", type=int, default=200, help="resolution of the made scans")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "scans"
        folder.mkdir()
        truth = make_scans(folder, args.pages, args.dpi)
        total = sum(len(t) for t in truth.values())
        print(f"{total} scanned pages at {args.dpi} dpi from {len(truth)} corpus PDFs")
        render_times(next(iter(folder.glob("*.pdf"))))
        for threads in (1, 2):
            seconds = 0.0
            cers = []
            for name, texts in truth.items():
                began = time.perf_counter()
                loaded = load_file(folder / name, 2000, ocr=OcrOptions(threads=threads))
                seconds += time.perf_counter() - began
                for number, source in enumerate(texts, start=1):
                    got = "".join(
                        loaded.text[s.start : s.end] for s in loaded.segments if s.page == number
                    )
                    cers.append(char_error_rate(got, source))
            print(
                f"OCR, {threads} page(s) at once: {total / seconds:.2f} pages/s"
                f" ({seconds / total:.1f} s/page); character error rate median"
                f" {statistics.median(cers):.2%}, worst {max(cers):.2%}"
            )
        settings = load_settings(store=f"{tmp}/store", cache_dir=f"{tmp}/cache", collection="ocr")
        kb = open_kb(settings)
        kb.embedder.backend  # noqa: B018 - the model loads before timing
        for label in ("first ingest", "one sidecar changed", "unchanged re-ingest"):
            if label == "one sidecar changed":
                name = next(iter(truth))
                (folder / f"{name}.meta.yaml").write_text("year: 2020\n", encoding="utf-8")
            began = time.perf_counter()
            report = ingest_paths(kb, [folder])
            data = report.to_json()
            summary = {k: data[k] for k in ("added", "updated", "unchanged", "pages_ocr")}
            print(f"kb ingest, {label}: {time.perf_counter() - began:.1f} s {json.dumps(summary)}")


if __name__ == "__main__":
    main()
