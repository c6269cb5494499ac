"""The embedding cache: no text is embedded twice, moved files cost nothing, and a shipped cache
(seed) is used only when it provably comes from this model.

Why: embedding is the slow part of ingest (a few passages per second on 2 cores); a wrong vector
from a foreign or tampered seed would silently corrupt search.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import numpy as np
import pytest

from ingest import ingest_paths
from ingest.job import SEED_NAME
from ingest.seed import export_folder
from kb.knowledge_base import open_kb
from kb.store.embed_cache import SeedCacheError
from kb.text import passage_text


def test_same_text_is_embedded_once(settings_factory) -> None:
    kb = open_kb(settings_factory())
    tag = uuid.uuid4().hex[:8]
    a, b = f"Trạm quan trắc {tag} đo mực nước.", f"Sensor {tag} measures the water level."
    before = kb.embedder.embedded
    first = kb.embedder.passages([a, a, b])
    assert kb.embedder.embedded - before == 2
    np.testing.assert_array_equal(first[0], first[1])
    again = kb.embedder.passages([b, a])
    assert kb.embedder.embedded - before == 2
    np.testing.assert_array_equal(again[0], first[2])
    assert abs(float(np.linalg.norm(first[2])) - 1.0) < 1e-3


def test_moved_and_renamed_file_keeps_its_id_and_is_not_reembedded(
    tmp_path: Path, small_corpus: Path, settings_factory
) -> None:
    folder = tmp_path / "corpus"
    shutil.copytree(small_corpus / "danang", folder / "danang")
    kb = open_kb(settings_factory())
    ingest_paths(kb, [folder])
    ids_before = {d.doc_id: d for d in kb.store.registry().values()}
    egov = next(d for d in ids_before.values() if d.path.endswith("egov.txt"))
    chunks_before = [c.text for c in kb.store.live_chunks(egov.doc_id)]

    (folder / "danang" / "archive").mkdir()
    moved = folder / "danang" / "archive" / "chinh-quyen-dien-tu.txt"
    (folder / "danang" / "egov.txt").rename(moved)
    (folder / "danang" / "wifi.md").rename(folder / "danang" / "wifi-2014.md")
    report = ingest_paths(kb, [folder])

    assert report.embedded == 0
    assert report.removed == 0 and not report.failed
    assert {f.status for f in report.files} == {"unchanged"}
    after = kb.store.registry()
    assert set(after) == set(ids_before)
    assert after[egov.doc_id].path == str(moved)
    assert after["t-dn-wifi"].path == str(folder / "danang" / "wifi-2014.md")
    assert [c.text for c in kb.store.live_chunks(egov.doc_id)] == chunks_before
    assert report.chunks == sum(d.n_chunks for d in ids_before.values())


def test_file_moved_to_another_city_folder_takes_that_city(
    tmp_path: Path, small_corpus: Path, settings_factory
) -> None:
    """City is inferred from the folder, so moving the file must move the document too."""
    folder = tmp_path / "corpus"
    shutil.copytree(
        small_corpus / "danang", folder / "danang", ignore=shutil.ignore_patterns("*.pdf*")
    )
    kb = open_kb(settings_factory())
    ingest_paths(kb, [folder])
    (folder / "hanoi").mkdir()
    (folder / "danang" / "egov.txt").rename(folder / "hanoi" / "egov.txt")
    report = ingest_paths(kb, [folder])
    assert report.embedded == 0
    egov = next(d for d in kb.store.registry().values() if d.path.endswith("egov.txt"))
    assert egov.city == "hanoi"
    assert {sc.chunk.doc_id for sc, _ in kb.store.iter_chunks(where={"city": "hanoi"})} == {
        egov.doc_id
    }


# -- seed (shipped) cache ---------------------------------------------------------------------

SEED_DOCS = {
    "a.md": "---\nid: t-seed-a\ntitle: Seed A\n---\n## Context\nBus lanes were painted on "
    "four avenues in {tag}.\n\n## Lessons learned\nEnforcement cameras came too late.\n",
    "b.md": "---\nid: t-seed-b\ntitle: Seed B\n---\n## Context\nA bike share with {tag} "
    "docks opened downtown.\n\n## Root causes\nDocks were placed far from bus stops.\n",
}


@pytest.fixture(scope="module")
def seeded_folder(tmp_path_factory: pytest.TempPathFactory, session_cache: Path, small_kb):
    """A folder ingested once with the session cache, and its exported embeddings."""
    from kb.settings import load_settings

    folder = tmp_path_factory.mktemp("seeded") / "docs"
    folder.mkdir()
    tag = uuid.uuid4().hex[:8]  # texts no other cache holds
    for name, text in SEED_DOCS.items():
        (folder / name).write_text(text.format(tag=tag), encoding="utf-8")
    settings = load_settings(
        env={}, store=str(folder.parent / "store"), cache_dir=str(session_cache), collection="seed"
    )
    kb = open_kb(settings)
    assert not ingest_paths(kb, [folder]).failed
    export = folder.parent / "export.npz"
    assert kb.store.count() == 4
    # the 4 passages and their 4 claims (kb.store.claims); the 2 lesson records are claims too
    assert export_folder(kb, folder, export) == 8
    return folder, export


def with_seed(tmp_path: Path, folder: Path, seed: Path) -> Path:
    copy = tmp_path / "docs"
    shutil.copytree(folder, copy)
    shutil.copy(seed, copy / SEED_NAME)
    return copy


def rewrite_npz(src: Path, dest: Path, **changes) -> Path:
    with np.load(src) as data:
        arrays = {k: data[k] for k in data.files}
    arrays.update(changes)
    np.savez(dest, **arrays)
    return dest


def test_valid_seed_means_zero_embeddings(
    tmp_path: Path, seeded_folder, settings_factory, fresh_cache: Path, kb_cli
) -> None:
    folder, export = seeded_folder
    docs = with_seed(tmp_path, folder, export)
    settings = settings_factory(cache_dir=str(fresh_cache))
    kb = open_kb(settings)
    assert len(kb.embedder.cache) == 0
    report = ingest_paths(kb, [docs])
    assert not report.warnings and not report.failed
    assert report.count("added") == 2
    assert report.embedded == 0
    assert len(kb.embedder.cache) == 8
    # The stored vectors are the model's: a fresh embedding of a chunk matches.
    sc, vec = next(kb.store.iter_chunks(with_vectors=True))
    doc = kb.store.document(sc.chunk.doc_id)
    fresh = kb.embedder.backend.passage([passage_text(doc.title, sc.chunk.section, sc.chunk.text)])
    assert float(fresh[0] @ vec) > 0.999


def test_seed_from_another_model_is_refused(
    tmp_path: Path, seeded_folder, settings_factory, fresh_cache: Path, kb_cli
) -> None:
    folder, export = seeded_folder
    foreign = rewrite_npz(export, tmp_path / "foreign.npz", model_id=np.array("other-model/v9"))
    settings = settings_factory(cache_dir=str(fresh_cache))
    kb = open_kb(settings)
    with pytest.raises(SeedCacheError, match="other-model/v9"):
        kb.embedder.import_seed(foreign)
    assert len(kb.embedder.cache) == 0

    docs = with_seed(tmp_path, folder, foreign)
    code, out, err = kb_cli(
        "ingest",
        docs,
        "--store",
        settings.store,
        "--cache-dir",
        fresh_cache,
        "--collection",
        "test",
    )
    assert code == 0
    assert "warning: shipped embedding cache not used" in err and "other-model/v9" in err
    assert "Traceback" not in err
    assert "embedded 8 new texts" in out  # nothing came from the refused file


def test_tampered_seed_is_refused(
    tmp_path: Path, seeded_folder, settings_factory, fresh_cache: Path
) -> None:
    folder, export = seeded_folder
    rng = np.random.default_rng(7)
    with np.load(export) as data:
        shape_v, shape_p = data["vectors"].shape, data["probe_vectors"].shape

    def unit(shape):
        v = rng.standard_normal(shape).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    tampered = rewrite_npz(
        export, tmp_path / "t.npz", vectors=unit(shape_v), probe_vectors=unit(shape_p)
    )
    kb = open_kb(settings_factory(cache_dir=str(fresh_cache)))
    report = ingest_paths(kb, [with_seed(tmp_path, folder, tampered)])
    assert len(report.warnings) == 1 and "do not match this model" in report.warnings[0]
    assert report.embedded == 8  # every passage and claim embedded for real, none from the file
    stored = {sc.chunk.chunk_id: v for sc, v in kb.store.iter_chunks(with_vectors=True)}
    with np.load(tampered) as data:
        bad = data["vectors"]
    for vec in stored.values():
        assert float(np.max(bad @ vec)) < 0.5


def test_stale_seed_entry_is_never_used(
    tmp_path: Path, seeded_folder, settings_factory, fresh_cache: Path
) -> None:
    folder, export = seeded_folder
    docs = with_seed(tmp_path, folder, export)
    a = docs / "a.md"
    a.write_text(
        a.read_text(encoding="utf-8").replace("came too late", "came two years late"),
        encoding="utf-8",
    )
    kb = open_kb(settings_factory(cache_dir=str(fresh_cache)))
    report = ingest_paths(kb, [docs])
    assert not report.warnings
    assert report.embedded == 2  # only the changed lessons passage and its sentence
    (lesson,) = [c for c in kb.store.live_chunks("t-seed-a") if c.is_lesson]
    assert "two years late" in lesson.text
    vec = next(v for sc, v in kb.store.iter_chunks(with_vectors=True) if sc.chunk == lesson)
    text = passage_text("Seed A", lesson.section, lesson.text)
    fresh = kb.embedder.backend.passage([text])[0]
    assert float(fresh @ vec) > 0.999


def test_store_vectors_are_looked_up_only_when_the_store_held_chunks(
    tmp_path: Path, small_corpus: Path, settings_factory, monkeypatch
) -> None:
    """A run into an empty store finds no stored vector to reuse (each chunk it writes has its
    vector in the cache), so it does not ask Chroma for each document; a run into a store that
    holds chunks does."""
    folder = tmp_path / "corpus"
    shutil.copytree(small_corpus / "danang", folder / "danang")
    kb = open_kb(settings_factory())
    asked: list[int] = []
    lookup = type(kb.store).vectors_by_hash
    monkeypatch.setattr(
        type(kb.store),
        "vectors_by_hash",
        lambda self, hashes: (asked.append(len(hashes)), lookup(self, hashes))[1],
    )
    ingest_paths(kb, [folder])
    assert asked == []

    kb.embedder.cache._db.execute("DELETE FROM emb")  # a wiped cache: the store's vectors help
    kb.embedder.cache._db.commit()
    changed = next(f for f in (folder / "danang").iterdir() if f.suffix in (".md", ".txt"))
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nMột đoạn mới.\n", "utf-8")
    report = ingest_paths(kb, [folder])
    assert asked and not report.failed
    assert report.count("updated") == 1
