"""The glossary's phrase matcher finds exactly what the longest-first regular expression it
replaced found (leftmost, longest, whole words), on the eval questions and the corpus."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from kb.retrieval.glossary import default_glossary
from kb.text import nfc

ROOT = Path(__file__).resolve().parent.parent


def _regex(phrases: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(r"(?<!\w)(?:" + alternatives + r")(?!\w)")


def _texts() -> list[str]:
    texts = []
    for path in sorted(ROOT.glob("evals/*/queries.jsonl")):
        texts += [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()]
    for path in sorted((ROOT / "corpus").rglob("*.md"))[:20]:
        texts += [line for line in path.read_text("utf-8").splitlines() if line.strip()]
    return texts


def test_trie_finds_what_the_regex_found():
    glossary = default_glossary()
    rnd = random.Random(7)
    texts = _texts()
    for lang in ("vi", "en"):
        phrases = list(glossary.targets[lang])
        pattern = _regex(phrases)
        made = [
            rnd.choice(["", "_", "x", "("])
            + rnd.choice([" ", "", "-"]).join(rnd.choice(phrases) for _ in range(3))
            + rnd.choice(["", "s", " a", "_", "1", "đ"])
            for _ in range(500)
        ]
        for text in texts + made:
            folded = nfc(text).lower()
            want = [m.group(0) for m in pattern.finditer(folded)]
            assert glossary.patterns[lang].find(folded) == want, text
