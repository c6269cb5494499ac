"""Hostile input: each file is read in a worker process bounded in time and memory, so a bomb
(PDF or OOXML zip), a file that parses for minutes or a reader crash costs that file only, and
the batch goes on.

Why: report folders are filled by many hands; one crafted or broken file must never hang an
overnight ingest, exhaust the machine's memory, or keep the good files beside it out.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from conftest import ROOT
from office_files import bomb_docx, encrypted, huge_sheet_xlsx, make_docx, make_pptx, make_xlsx

from ingest.loaders import load_markdown
from ingest.reader import Limits, Parsed, ReaderPool

PAGE = os.sysconf("SC_PAGE_SIZE")
TIMEOUT = 10  # KB_FILE_TIMEOUT for the hostile run


# -- hand-written PDFs --------------------------------------------------------------------------


def raw_pdf(objects: list[bytes]) -> bytes:
    """A minimal PDF: numbered objects (1 is the catalog), a correct xref table and trailer."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n%s\nendstream" % (len(data), extra, data)


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def pages_pdf(n: int, content: bytes) -> bytes:
    """``n`` pages sharing one content stream (object 3) and the Helvetica font (object 4)."""
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(n))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
    page += b"/Resources << /Font << /F1 4 0 R >> >> >>"
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n),
            stream(zlib.compress(content), b"/Filter /FlateDecode "),
            FONT,
        ]
        + [page] * n
    )


def text_op(text: bytes) -> bytes:
    return b"BT /F1 12 Tf 72 720 Td (%s) Tj ET\n" % text


def zeros_deflate(gigabytes: int) -> bytes:
    """A valid zlib stream of ``gigabytes`` GiB of zeros, made in milliseconds: after a sync
    flush every further MiB of zeros compresses to the same bytes, so they are repeated."""
    c = zlib.compressobj(9)
    block = bytes(1 << 20)
    first = c.compress(block) + c.flush(zlib.Z_SYNC_FLUSH)
    steady = c.compress(block) + c.flush(zlib.Z_SYNC_FLUSH)
    tail = c.flush()[:-4]  # the final empty block; its checksum is replaced below
    mib = gigabytes << 10
    adler = (((mib << 20) % 65521) << 16) | 1  # adler32 of n zero bytes
    return first + steady * (mib - 1) + tail + adler.to_bytes(4, "big")


def bomb_pdf() -> bytes:
    """A page whose content decompresses to 2 GiB (FlateDecode twice: the file is ~5 KB)."""
    data = zlib.compress(zeros_deflate(2), 9)
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            stream(data, b"/Filter [/FlateDecode /FlateDecode] "),
        ]
    )


def nested_pdf(depth: int, dictionaries: bool = False) -> bytes:
    """A catalog holding an array (or a dictionary chain) nested ``depth`` deep."""
    if dictionaries:
        nest = b"<< /A " * depth + b"1" + b" >>" * depth
    else:
        nest = b"[" * depth + b"]" * depth
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Nest %s >>" % nest,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        ]
    )


def slow_pdf(pages: int = 4) -> bytes:
    """~25 KB whose text extraction takes about half a minute per page: each page re-parses
    the same 8 MB content stream, under every limit pypdf has of its own."""
    op = text_op(b"Street lights")
    return pages_pdf(pages, op * (8 * 1024 * 1024 // len(op)))


# -- the folder ----------------------------------------------------------------------------------


def hostile_folder(folder: Path) -> tuple[dict[str, str], set[str]]:
    """Good files among bad ones; returns ({bad name: expected reason}, good names)."""
    folder.mkdir(parents=True)
    (folder / "good.md").write_text(
        "---\nid: t-hostile-good\ncity: hanoi\n---\n# Smart parking\n\n## Summary\n\n"
        "The parking sensors pilot cut search time for drivers in the old quarter.\n",
        encoding="utf-8",
    )
    (folder / "good.txt").write_text("Đèn đường thông minh giúp tiết kiệm điện.\n", "utf-8")
    sentence = b"Street lights cut power use in the pilot district by a third."
    (folder / "pages-400.pdf").write_bytes(pages_pdf(400, text_op(sentence)))
    good = {"good.md", "good.txt", "pages-400.pdf", "good.docx"}
    docx_raw = make_docx(folder / "good.docx").read_bytes()
    xlsx_raw = make_xlsx(folder / "_src" / "a.xlsx").read_bytes()
    pptx_raw = make_pptx(folder / "_src" / "a.pptx").read_bytes()
    (folder / "bomb.docx").write_bytes(bomb_docx(docx_raw, megabytes=200))
    (folder / "locked.xlsx").write_bytes(encrypted(xlsx_raw))
    (folder / "truncated.pptx").write_bytes(pptx_raw[: len(pptx_raw) // 3])
    (folder / "huge-sheet.xlsx").write_bytes(huge_sheet_xlsx(xlsx_raw))

    (folder / "zero.txt").write_bytes(b"")
    (folder / "zero.pdf").write_bytes(b"")
    (folder / "random.pdf").write_bytes(random.Random(3).randbytes(64_000))
    (folder / "bomb.pdf").write_bytes(bomb_pdf())
    (folder / "pages-3000.pdf").write_bytes(pages_pdf(3000, text_op(b"Page")))
    (folder / "nested-array.pdf").write_bytes(nested_pdf(100_000))
    (folder / "nested-dict.pdf").write_bytes(nested_pdf(100_000, dictionaries=True))
    (folder / "slow.pdf").write_bytes(slow_pdf())
    (folder / "latin1.txt").write_bytes(b"Caf\xe9 H\xe0 N\xf4i, b\xe1o c\xe1o\n")
    (folder / "bad-utf8.md").write_bytes(b"# Title\n\nValid start \xc3\x28 then broken.\n")
    (folder / "binary.md").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 40)
    (folder / "loop.md").symlink_to("loop.md")
    (folder / "dangling.txt").symlink_to(folder / "nowhere.txt")
    os.mkfifo(folder / "fifo.txt")
    with open(folder / "huge.txt", "wb") as f:
        f.truncate(200 * 1024 * 1024)  # sparse: no disk, no time; must never be read
    locked = folder / "locked.txt"
    locked.write_text("Readable only by its owner.\n", encoding="utf-8")
    locked.chmod(0)
    expected = {
        "zero.txt": "empty file",
        "zero.pdf": "empty file",
        "random.pdf": "corrupt or truncated PDF",
        # pypdf stops at 75 MB of output and finds the page blank; the page draws no image, so
        # pdfium (which would decompress all of it, and abort at the memory cap) never sees it
        "bomb.pdf": "PDF has no text layer and no image to recognise",
        "pages-3000.pdf": "PDF has 3000 pages, more than the limit of 500 (KB_MAX_PDF_PAGES)",
        "nested-array.pdf": "corrupt or truncated PDF",
        "nested-dict.pdf": "PDF has no text layer and no image to recognise",
        "slow.pdf": f"took longer than {TIMEOUT} s to read (KB_FILE_TIMEOUT)",
        "latin1.txt": "not valid UTF-8",
        "bad-utf8.md": "not valid UTF-8",
        "binary.md": "binary content",
        "loop.md": "broken or looping link",
        "dangling.txt": "broken or looping link",
        "fifo.txt": "not a regular file",
        "huge.txt": "file is 200 MB, over the limit of 50 MB (KB_MAX_FILE_MB)",
        "bomb.docx": "(a zip bomb?)",
        "locked.xlsx": "password-protected (encrypted) Excel (.xlsx) file",
        "truncated.pptx": "corrupt or truncated PowerPoint (.pptx) file",
        "huge-sheet.xlsx": "more than the limit of 2000000 cells",
    }
    if os.geteuid() == 0:
        good.add("locked.txt")  # root reads a mode-000 file: nothing to refuse here
    else:
        expected["locked.txt"] = "permission denied"
    return expected, good


def tree_rss(root: int) -> tuple[int, int]:
    """Resident bytes of a process and all its descendants (shared pages counted per process,
    so this over-states), and of the largest single process among them."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    total, largest, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        with contextlib.suppress(OSError, ValueError, IndexError):
            rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
            total += rss
            largest = max(largest, rss)
        todo += children.get(pid, [])
    return total, largest


@pytest.mark.slow
def test_hostile_folder_costs_bounded_time_and_memory(
    tmp_path: Path, session_cache: Path, small_kb
) -> None:
    """A real ``kb ingest`` over the folder: every bad file fails with its reason, the good ones
    are in, the run ends within files x timeout, and the process tree stays under 2 GB."""
    folder = tmp_path / "hostile"
    expected, good = hostile_folder(folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_FILE_TIMEOUT=str(TIMEOUT), KB_MAX_PDF_PAGES="500")
    cmd = [sys.executable, "-m", "kb.cli", "ingest", str(folder), "--json", "--workers", "2"]
    cmd += ["--store", str(tmp_path / "store"), "--cache-dir", str(session_cache)]
    began = time.monotonic()
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = largest = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, largest
        while not done.wait(0.05):
            total, single = tree_rss(proc.pid)
            peak, largest = max(peak, total), max(largest, single)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=len(expected) * TIMEOUT)
    finally:
        done.set()
        sampler.join()
        if proc.poll() is None:
            proc.kill()
    elapsed = time.monotonic() - began
    print(f"hostile ingest: {elapsed:.1f} s, process tree peak {peak / 2**20:.0f} MB (sampled)")
    print(f"largest single process: {largest / 2**20:.0f} MB (sampled)")
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    report = json.loads(out)
    failed = {Path(f["path"]).name: f["error"] for f in report["failed"]}
    print(json.dumps(failed, indent=1))
    assert set(failed) == set(expected)
    for name, reason in expected.items():
        assert reason and reason in failed[name], (name, failed[name])
    assert report["added"] == len(good)
    assert elapsed < len(expected) * TIMEOUT
    assert elapsed < 6 * TIMEOUT, "only slow.pdf may use its full time"
    assert peak < 2 * 2**30 and largest < 2 * 2**30


# -- the pool's limits, one at a time ------------------------------------------------------------


def test_a_slow_file_is_killed_and_the_next_file_read(tmp_path: Path) -> None:
    (tmp_path / "slow.pdf").write_bytes(slow_pdf())
    (tmp_path / "ok.txt").write_text("Plain words.\n", encoding="utf-8")
    began = time.monotonic()
    with ReaderPool(1, Limits(timeout=2)) as pool:
        slow, ok = pool.read([tmp_path / "slow.pdf", tmp_path / "ok.txt"])
    assert slow == "took longer than 2 s to read (KB_FILE_TIMEOUT)"
    assert isinstance(ok, Parsed) and ok.chunks[0].text == "Plain words."
    assert time.monotonic() - began < 15


def test_a_file_over_the_memory_cap_fails_alone(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"  # 40 MB: reading it is allowed, decoding it needs more than 64
    with open(big, "wb") as f:
        for _ in range(40):
            f.write(b"Smart city sensors report traffic every minute.\n" * 21_400)  # ~1 MB
    (tmp_path / "ok.md").write_text("# Title\n\nBody text.\n", encoding="utf-8")
    with ReaderPool(1, Limits(memory_mb=64)) as pool:
        results = list(pool.read([big, tmp_path / "ok.md"]))
    assert results[0] == "needed more than 64 MB to read (KB_MAX_FILE_MEMORY_MB)"
    assert isinstance(results[1], Parsed)


def test_a_crashed_reader_is_reported_and_replaced(tmp_path: Path) -> None:
    (tmp_path / "slow.pdf").write_bytes(slow_pdf())
    (tmp_path / "ok.txt").write_text("Plain words.\n", encoding="utf-8")
    with ReaderPool(1, Limits(timeout=60)) as pool:

        def crash_the_reader() -> None:  # what a segfault in a C parser looks like
            while not pool._live:
                time.sleep(0.05)
            time.sleep(1)
            (worker,) = tuple(pool._live)
            worker.process.kill()

        killer = threading.Thread(target=crash_the_reader)
        killer.start()
        crashed, ok = pool.read([tmp_path / "slow.pdf", tmp_path / "ok.txt"])
        killer.join()
    assert crashed == "the reader crashed (killed by SIGKILL)"
    assert isinstance(ok, Parsed)


def test_long_heading_lines_load_in_linear_time() -> None:
    """The heading pattern used to backtrack quadratically: 200 KB took minutes, in C code."""
    began = time.monotonic()
    loaded = load_markdown(b"# a" + b" " * 200_000 + b"b\n\nBody.\n", "x.md")
    assert time.monotonic() - began < 2
    assert loaded.title_hint.startswith("a") and loaded.title_hint.endswith("b")
