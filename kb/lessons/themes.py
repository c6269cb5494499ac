"""Themes: the stored lessons grouped by the point they make, across cities and languages.

Derived data, like the BM25 index (``kb.retrieval.lexical``): computed from the lesson vectors in
Chroma, saved under the cache folder by the store's generation, rebuilt when it changes, deletable.

- Language-neutral: each vector has its language's centre taken out (``kb.retrieval.dense``) before
  the cosine, so a Vietnamese and an English lesson on the same point are near each other rather
  than each near its own language.
- The number of themes comes from the data: average-linkage agglomerative clustering stops
  merging when the groups' mean centred cosine falls below a floor set by the lessons
  themselves, ``SPREAD`` standard deviations above the mean similarity of all pairs (one rule for
  any knowledge base, whatever the spread of its model's cosines; how it was chosen:
  ``evals/README.md``, "Lessons").
- Stable ids: a theme keeps the id of the previous generation's theme it shares most of its
  members with (Jaccard at least ``KEEP_ID``); a new theme's id is a hash of its most central
  member's id, and lesson ids depend on their document and words only (``kb.lessons.extract``).
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.knowledge_base import KnowledgeBase
from kb.retrieval.dense import ALL, PRIOR

SPREAD = 1.5  # the merge floor, in standard deviations of the pairs' centred cosines
KEEP_ID = 0.5  # Jaccard overlap with a previous theme that keeps its id
FORMAT = "4"  # part of a saved map's name: a change to the clustering makes old saves unread


@dataclass(frozen=True)
class ThemeMap:
    """One generation's themes: each theme's members, most central first."""

    generation: str
    members: dict[str, list[str]]

    def assignment(self) -> dict[str, str]:
        return {lid: tid for tid, ids in self.members.items() for lid in ids}


def centred(
    vectors: np.ndarray, languages: list[str], passages: dict[str, np.ndarray]
) -> np.ndarray:
    """Unit vectors with their language's centre taken out (``kb.retrieval.dense``). A language's
    centre is the mean of its lessons, shrunk towards the centre of the knowledge base's passages in
    that language (as search centres them) as if ``PRIOR`` such passages were added: lessons are
    sentences, not passages, so their own mean fits them best, but a language with few lessons
    has a noisy one."""
    if not len(vectors):
        return vectors
    dim = vectors.shape[1]
    langs = np.array(languages)
    default = passages.get(ALL, np.zeros(dim, dtype=np.float32))
    centres = {}
    for lang in set(languages):
        rows = vectors[langs == lang]
        prior = passages.get(lang, default)
        centres[lang] = (rows.sum(axis=0) + PRIOR * prior) / (len(rows) + PRIOR)
    shifted = vectors - np.stack([centres[lang] for lang in languages])
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return (shifted / np.maximum(norms, 1e-6)).astype(np.float32)


def floor(unit: np.ndarray, spread: float = SPREAD) -> float:
    """The least mean similarity of two groups that merge: ``spread`` standard deviations
    above the mean similarity of all pairs of lessons."""
    if len(unit) < 3:
        return 1.0  # too few pairs to know what "near" means: every lesson is its own theme
    sims = (unit @ unit.T)[np.triu_indices(len(unit), 1)]
    return float(sims.mean() + spread * sims.std())


def cluster(unit: np.ndarray, min_similarity: float) -> list[list[int]]:
    """Average-linkage clusters of unit vectors, merged while their mean cosine is at least
    ``min_similarity``. Nearest-neighbour chain: O(n²) time and memory; average linkage is
    reducible, so a group whose nearest neighbour is below the floor is final."""
    n = len(unit)
    sim = (unit @ unit.T).astype(np.float64)
    np.fill_diagonal(sim, -np.inf)
    size = np.ones(n)
    groups: dict[int, list[int]] = {i: [i] for i in range(n)}
    active = np.ones(n, dtype=bool)
    done: list[list[int]] = []
    chain: list[int] = []
    while active.any():
        if not chain:
            chain.append(int(np.flatnonzero(active)[0]))
        a = chain[-1]
        row = np.where(active, sim[a], -np.inf)
        b = int(np.argmax(row))
        if len(chain) > 1 and row[chain[-2]] >= row[b]:
            b = chain[-2]  # ties go to the chain: it must end in a mutual pair
        if not np.isfinite(row[b]) or row[b] < min_similarity:
            done.append(groups.pop(a))  # nothing is close enough, now or after other merges
            active[a] = False
            chain.clear()
            continue
        if len(chain) > 1 and b == chain[-2]:
            chain.pop()
            chain.pop()
            merged = (size[a] * sim[a] + size[b] * sim[b]) / (size[a] + size[b])
            sim[a], sim[:, a] = merged, merged
            sim[a, a] = -np.inf
            size[a] += size[b]
            groups[a] += groups.pop(b)
            active[b] = False
            sim[b], sim[:, b] = -np.inf, -np.inf
        else:
            chain.append(b)
    return [sorted(g) for g in done]


def build(
    ids: list[str],
    unit: np.ndarray,
    generation: str,
    previous: ThemeMap | None = None,
) -> ThemeMap:
    """The themes of these lessons (their centred unit vectors), with ids carried over from
    ``previous`` where the membership is (mostly) the same."""
    groups = cluster(unit, floor(unit)) if len(ids) else []
    ordered: list[list[str]] = []
    for g in groups:
        block = unit[g] @ unit[g].T
        centrality = block.mean(axis=1)
        ordered.append([ids[g[i]] for i in np.argsort(-centrality, kind="stable")])
    ordered.sort(key=lambda members: (-len(members), members[0]))
    return ThemeMap(generation, _name(ordered, previous))


def _name(groups: list[list[str]], previous: ThemeMap | None) -> dict[str, list[str]]:
    """Each group's id: the previous theme it overlaps most (largest groups choose first),
    else a hash of its most central member."""
    old = {tid: set(members) for tid, members in (previous.members if previous else {}).items()}
    named: dict[str, list[str]] = {}
    for members in groups:
        mine = set(members)
        best, score = None, 0.0
        for tid, theirs in old.items():
            jaccard = len(mine & theirs) / len(mine | theirs)
            if jaccard > score or (jaccard == score and best is not None and tid < best):
                best, score = tid, jaccard
        if best is not None and score >= KEEP_ID:
            old.pop(best)
            named[best] = members
        else:
            named["t" + hashlib.sha1(members[0].encode()).hexdigest()[:8]] = members
    return named


class ThemeIndex:
    """The themes of one store, derived from its lesson vectors per generation."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.root = kb.settings.cache_dir / "lessons" / kb.settings.collection
        self._lock = threading.Lock()
        self._map: ThemeMap | None = None

    def current(self) -> ThemeMap:
        """The themes of the store's current generation (loaded, or built and saved)."""
        with self._lock:
            generation = self.kb.store.generation()
            if self._map is not None and self._map.generation == generation:
                return self._map
            found = self._load(self._path(generation))
            if found is None:
                found = self._build(generation)
                self._save(found)
            self._map = found
            return found

    def _build(self, generation: str) -> ThemeMap:
        store = self.kb.store
        registry = store.registry()
        rows = [
            (str(meta["lesson_id"]), str(meta.get("language", "")), vec)
            for _, _, meta, vec in store.iter_lesson_records(with_vectors=True)
            if vec is not None
            and getattr(registry.get(str(meta["doc_id"])), "lessons", None) == meta.get("version")
        ]
        rows.sort(key=lambda row: row[0])
        if not rows:
            return ThemeMap(generation, {})
        self.kb.lexical.refresh()  # the passages' language centres of this generation
        unit = centred(
            np.stack([r[2] for r in rows]), [r[1] for r in rows], self.kb.lexical.index.centres
        )
        return build([r[0] for r in rows], unit, generation, self._last())

    def _path(self, generation: str) -> Path:
        return self.root / f"{generation or 'empty'}-f{FORMAT}.json"

    def _load(self, path: Path) -> ThemeMap | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return ThemeMap(
                str(data["generation"]), {k: list(v) for k, v in data["members"].items()}
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def _last(self) -> ThemeMap | None:
        """The newest saved map of an earlier generation: where ids are carried over from."""
        if not self.root.is_dir():
            return None
        saved = sorted(self.root.glob(f"*-f{FORMAT}.json"), key=lambda p: p.stat().st_mtime)
        return self._load(saved[-1]) if saved else None

    def _save(self, found: ThemeMap) -> None:
        """Write the map, keep the one before it (ids carry over from it) and drop older ones."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            path = self._path(found.generation)
            tmp = path.with_suffix(".tmp")
            data = {"generation": found.generation, "members": found.members}
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            tmp.replace(path)
            saved = sorted(self.root.glob("*.json"), key=lambda p: p.stat().st_mtime)
            for old in saved[:-2]:
                old.unlink(missing_ok=True)
        except OSError:  # a read-only cache folder: the map is rebuilt next time instead
            return


_INDEXES: weakref.WeakKeyDictionary[KnowledgeBase, ThemeIndex] = weakref.WeakKeyDictionary()
_INDEXES_LOCK = threading.Lock()


def theme_index(kb: KnowledgeBase) -> ThemeIndex:
    """The process-wide theme index of a knowledge base."""
    with _INDEXES_LOCK:
        if kb not in _INDEXES:
            _INDEXES[kb] = ThemeIndex(kb)
        return _INDEXES[kb]
