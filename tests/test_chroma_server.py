"""The same ingest against a real Chroma server (``chroma run`` on loopback), and what a user sees
when that server goes away and comes back.

Why: a team shares one Chroma server; it must hold exactly what an embedded run holds, and an
outage must read as one plain line, not a traceback, and heal when the server returns.
"""

from __future__ import annotations

import json
from pathlib import Path

from kb.store.catalog import documents


def remote_args(server, settings) -> list[str]:
    return [
        "--chroma-url",
        server.url,
        "--cache-dir",
        settings.cache_dir,
        "--collection",
        "remote",
    ]


def without_times(docs: list[dict]) -> list[dict]:
    return sorted(({**d, "ingested_at": ""} for d in docs), key=lambda d: d["doc_id"])


def test_server_holds_what_an_embedded_run_holds(
    chroma_server, small_corpus: Path, small_kb, settings_factory, kb_cli
) -> None:
    args = remote_args(chroma_server, settings_factory())
    code, out, err = kb_cli("ingest", small_corpus, "--json", *args)
    assert code == 0, err
    report = json.loads(out)
    assert report["added"] == 7 and report["failed"] == []
    assert report["chunks"] == small_kb.store.count()

    code, out, _ = kb_cli("docs", "--json", *args)
    assert code == 0
    remote_docs = json.loads(out)["documents"]
    local_docs = [d.to_dict() for d in documents(small_kb)]
    assert without_times(remote_docs) == without_times(local_docs)

    code, out, _ = kb_cli("stats", "--json", *args)
    stats = json.loads(out)
    _, out_l, _ = kb_cli(
        "stats",
        "--json",
        "--store",
        small_kb.settings.store,
        "--cache-dir",
        small_kb.settings.cache_dir,
        "--collection",
        small_kb.settings.collection,
    )
    local = json.loads(out_l)
    assert {**stats, "last_ingested": ""} == {**local, "last_ingested": ""}

    code, out, _ = kb_cli("check", "--json", *args)
    assert code == 0 and json.loads(out)["ok"] is True

    code, out, _ = kb_cli("ingest", small_corpus, "--json", *args)
    assert json.loads(out)["unchanged"] == 7


def test_server_outage_is_one_plain_line_and_heals(
    chroma_server, small_corpus: Path, settings_factory, kb_cli
) -> None:
    settings = settings_factory()
    args = remote_args(chroma_server, settings)
    folder = small_corpus / "hanoi"
    code, _, err = kb_cli("ingest", folder, *args)
    assert code == 0, err

    chroma_server.stop()
    expected = f"store unreachable at {chroma_server.url}"
    for command in (
        ["docs", "--json", *args],  # a store opened earlier in this process
        ["stats", *args[:-1], "other-collection"],  # a store opened while the server is down
        ["ingest", folder, "--json", *args],
    ):
        code, out, err = kb_cli(*command)
        assert code == 1, command
        assert expected in err, (command, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert out == ""

    chroma_server.start()  # same port, same data folder
    code, out, err = kb_cli("docs", "--json", *args)
    assert code == 0, err
    ids = {d["doc_id"] for d in json.loads(out)["documents"]}
    assert ids == {"t-hn-iparking", "t-hn-iparking-en"}
    code, out, err = kb_cli("stats", "--json", *args[:-1], "other-collection")
    assert code == 0, err
    assert json.loads(out)["documents"] == 0
