"""Scanned copies of text PDFs, and how far OCR text is from the source.

Why: the OCR path must run for real in the tests, the sample corpus and ``bench/ocr.py``, on
pages that look like an agency's scan (greyscale, slightly rotated, speckled, JPEG-compressed),
made from text we know, so the recognised text can be scored against it.
Deterministic: the same PDF gives the same scan, byte for byte.
"""

from __future__ import annotations

import io
import random
import unicodedata
from datetime import UTC, datetime

FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC).timetuple()


def rasterise(pdf: bytes, dpi: int = 200, seed: int = 0, skew: float = 0.4) -> bytes:
    """An image-only PDF of ``pdf``'s pages: rendered at ``dpi``, turned by up to ``skew``
    degrees, with light noise, as a flatbed scanner would give."""
    import numpy as np
    import pypdfium2 as pdfium
    from PIL import Image

    rng = random.Random(seed)
    doc = pdfium.PdfDocument(pdf)
    pages = []
    try:
        for i in range(len(doc)):
            page = doc[i]
            image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            page.close()
            image = image.rotate(rng.uniform(-skew, skew), fillcolor=255, resample=Image.BICUBIC)
            noise = np.random.default_rng(seed + i).normal(0, 12, (image.height, image.width))
            pixels = np.clip(np.asarray(image, dtype=np.float32) + noise, 0, 255)
            pages.append(Image.fromarray(pixels.astype(np.uint8), mode="L"))
    finally:
        doc.close()
    out = io.BytesIO()
    pages[0].save(
        out,
        format="PDF",
        save_all=True,
        append_images=pages[1:],
        resolution=dpi,
        quality=80,
        creationDate=FIXED_DATE,
        modDate=FIXED_DATE,
    )
    return out.getvalue()


def _plain(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def char_error_rate(recognised: str, truth: str) -> float:
    """Edit distance between the two texts (whitespace runs as one space) over the truth's
    length: the usual OCR character error rate."""
    a, b = _plain(recognised), _plain(truth)
    if not b:
        return 0.0 if not a else 1.0
    prev = list(range(len(a) + 1))
    for j, cb in enumerate(b, start=1):
        cur = [j] + [0] * len(a)
        for i, ca in enumerate(a, start=1):
            cur[i] = min(prev[i] + 1, cur[i - 1] + 1, prev[i - 1] + (ca != cb))
        prev = cur
    return prev[-1] / len(b)
