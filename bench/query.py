"""Search latency p50/p95 per mode on generated stores of 1k and 10k chunks, query embedding
included (the scale benchmark without the ``ask`` timings).

    .venv/bin/python bench/query.py [--sizes 1000 10000] [--queries 40]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scale import main

if __name__ == "__main__":
    main(sizes=(1_000, 10_000), asks=0)
