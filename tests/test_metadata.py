"""Metadata: declared fields win (sidecar over front matter), bad values are refused by name, and
only reliable facts are inferred (language, city from the folder); nothing else is invented.

Why: filters (city, year, outcome) are only as good as this metadata; a silently wrong or made-up
field hides documents from the researchers who filter on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.files import load_file
from ingest.loaders import LoadError
from ingest.metadata import content_hash, resolve_metadata

VI_BODY = "## Bối cảnh\nHà Nội thí điểm ứng dụng đỗ xe thông minh trên các tuyến phố trung tâm.\n"
EN_BODY = "## Summary\nThe city piloted a smart parking application on central streets.\n"


def write(path: Path, text: str, sidecar: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if sidecar is not None:
        path.with_name(path.name + ".meta.yaml").write_text(sidecar, encoding="utf-8")
    return path


def meta_of(path: Path) -> dict:
    loaded = load_file(path, max_pages=100)
    return resolve_metadata(path, loaded, content_hash(path.read_bytes()))


def test_front_matter_fields_are_validated_and_normalised(tmp_path: Path) -> None:
    path = write(
        tmp_path / "misc" / "a.md",
        "---\nid: t-a\ntitle: Tiêu đề\ncity: Hà Nội\nyear: '2019'\noutcome: Failure\n"
        "domain: Traffic\nlanguage: vi\naccess: internal\n---\n" + VI_BODY,
    )
    meta = meta_of(path)
    assert meta == {
        "id": "t-a",
        "title": "Tiêu đề",
        "city": "hanoi",
        "year": 2019,
        "outcome": "failure",
        "domain": "traffic",
        "language": "vi",
        "access": "internal",
    }


def test_sidecar_wins_over_front_matter(tmp_path: Path) -> None:
    path = write(
        tmp_path / "misc" / "b.md",
        "---\nid: t-b\ncity: hanoi\nyear: 2018\noutcome: failure\n---\n" + EN_BODY,
        sidecar="city: danang\nyear: 2021\nproject: Parking\n",
    )
    meta = meta_of(path)
    assert meta["city"] == "danang"
    assert meta["year"] == 2021
    assert meta["project"] == "Parking"
    assert meta["outcome"] == "failure"  # not in the sidecar: the front matter's value stays
    assert meta["id"] == "t-b"


def test_sidecar_works_for_plain_text_and_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "misc" / "c.txt", "Plain report text about parking.\n", "year: 2015\n")
    assert meta_of(path)["year"] == 2015
    write(path, "Plain report text about parking.\n", "- just\n- a list\n")
    with pytest.raises(LoadError, match=r"sidecar c\.txt\.meta\.yaml is not a mapping"):
        meta_of(path)
    write(path, "Plain report text about parking.\n", "year: [2015\n")
    with pytest.raises(LoadError, match="not valid YAML"):
        meta_of(path)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("city", "paris"),
        ("year", "twenty"),
        ("year", "1850"),
        ("outcome", "meh"),
        ("language", "fr"),
        ("id", "Has Spaces"),
    ],
)
def test_bad_declared_value_names_the_field(tmp_path: Path, field: str, value: str) -> None:
    path = write(tmp_path / "misc" / "d.md", f"---\n{field}: '{value}'\n---\n" + EN_BODY)
    with pytest.raises(LoadError) as err:
        meta_of(path)
    assert f"metadata field '{field}'" in str(err.value)
    assert value in str(err.value)


def test_bad_value_in_sidecar_names_the_field(tmp_path: Path) -> None:
    path = write(tmp_path / "misc" / "e.md", EN_BODY, sidecar="outcome: great\n")
    with pytest.raises(LoadError, match=r"metadata field 'outcome'.*success, partial"):
        meta_of(path)


@pytest.mark.parametrize(("body", "lang"), [(VI_BODY, "vi"), (EN_BODY, "en")])
def test_language_is_detected_when_not_declared(tmp_path: Path, body: str, lang: str) -> None:
    assert meta_of(write(tmp_path / "misc" / "f.md", body))["language"] == lang


def test_declared_language_is_not_overridden(tmp_path: Path) -> None:
    path = write(tmp_path / "misc" / "g.md", "---\nlanguage: en\n---\n" + VI_BODY)
    assert meta_of(path)["language"] == "en"


@pytest.mark.parametrize(
    ("folder", "city"),
    [("hanoi", "hanoi"), ("HCMC", "hcmc"), ("ho-chi-minh", "hcmc"), ("da-nang", "danang")],
)
def test_city_is_inferred_from_the_folder(tmp_path: Path, folder: str, city: str) -> None:
    path = write(tmp_path / folder / "reports" / "h.md", EN_BODY)
    assert meta_of(path)["city"] == city


def test_declared_city_beats_the_folder(tmp_path: Path) -> None:
    path = write(tmp_path / "hanoi" / "i.md", "---\ncity: danang\n---\n" + EN_BODY)
    assert meta_of(path)["city"] == "danang"


def test_missing_fields_stay_missing(tmp_path: Path) -> None:
    """No city, year, outcome, domain, project, doc_type or source is invented."""
    path = write(tmp_path / "misc" / "j.md", EN_BODY)
    meta = meta_of(path)
    assert set(meta) == {"id", "title", "language", "access"}
    assert meta["access"] == "public"


def test_id_is_declared_or_derived_from_the_content(tmp_path: Path) -> None:
    declared = write(tmp_path / "misc" / "k.md", "---\nid: my-report.v2\n---\n" + EN_BODY)
    assert meta_of(declared)["id"] == "my-report.v2"
    plain = write(tmp_path / "misc" / "l.md", EN_BODY)
    derived = meta_of(plain)["id"]
    assert derived == "doc-" + content_hash(EN_BODY.encode())[:16]
    # The same bytes elsewhere give the same id; other bytes another one.
    copy = write(tmp_path / "other" / "renamed.md", EN_BODY)
    assert meta_of(copy)["id"] == derived
    changed = write(tmp_path / "misc" / "m.md", EN_BODY + "One more sentence.\n")
    assert meta_of(changed)["id"] != derived


def test_source_list_is_joined(tmp_path: Path) -> None:
    path = write(
        tmp_path / "misc" / "n.md",
        "---\nsource:\n  - https://example.org/a\n  - ''\n  - Báo cáo 2019\n---\n" + EN_BODY,
    )
    assert meta_of(path)["source"] == "https://example.org/a; Báo cáo 2019"


def test_title_comes_from_front_matter_then_heading_then_file_name(tmp_path: Path) -> None:
    assert (
        meta_of(write(tmp_path / "a" / "x.md", "---\ntitle: T1\n---\n# H1\ntext"))["title"] == "T1"
    )
    assert (
        meta_of(write(tmp_path / "a" / "y.md", "# H1 heading\ntext body"))["title"] == "H1 heading"
    )
    named = write(tmp_path / "a" / "smart_parking-report.md", "## Section\nbody text here")
    assert meta_of(named)["title"] == "smart parking report"
