"""The published search index stays small: entry pages keep title, summary, keywords and id; listings
keep their first paragraph; hand-written pages and the glossary are kept whole."""

from __future__ import annotations

import gzip
import json
import shutil
import time

import pytest

from csbp.site_search import trim_search_index
from site_tests.support import FIXTURES

PRACTICE_TEXT = (
    '<p>Keep hostile vehicles away. <span class="csbp-keywords">Related terms: HVM</span></p> '
    "<ul><li>Pillar: Protect</li></ul>"
)
INDEX = {
    "config": {"lang": ["en"]},
    "docs": [
        {"location": "", "title": "Home", "text": "<p>Good practice.</p> <p>74 practices</p>"},
        {"location": "#practices-by-pillar-and-dimension", "title": "Matrix", "text": "<table>…</table>"},
        {"location": "practices/", "title": "Practices", "text": "<p>All practices.</p>"},
        {"location": "practices/#csbp-filter-title", "title": "Filter", "text": "<ul>every practice</ul>"},
        {"location": "practices/vehicle-barriers/", "title": "Vehicle barriers", "text": PRACTICE_TEXT, "boost": 2},
        {"location": "practices/vehicle-barriers/#context", "title": "Context", "text": "<p>Long body text.</p>"},
        {"location": "browse/threat/vbied/", "title": "Vehicle bombs", "text": "<p>Term.</p><ul>list</ul>"},
        {"location": "browse/threat/vbied/#practices", "title": "Practices", "text": "<ul>list</ul>"},
        {"location": "modules/insider-risk/trainer/", "title": "Trainer pack", "text": "<p>Notes</p>"},
        {"location": "glossary/", "title": "Glossary", "text": "<p>Terms</p> CCTV Closed-circuit television"},
        {"location": "about/#how-to-cite", "title": "How to cite", "text": "<p>Cite the entry.</p>"},
    ],
}


def test_entry_pages_keep_one_record_with_summary_keywords_and_id(tmp_path):
    (tmp_path / "search").mkdir()
    (tmp_path / "search" / "search_index.json").write_text(json.dumps(INDEX))
    before, after = trim_search_index(tmp_path, budget=0)
    assert after < before
    index = json.loads((tmp_path / "search" / "search_index.json").read_text())
    records = {record["location"]: record for record in index["docs"]}
    practice = records["practices/vehicle-barriers/"]
    assert "Keep hostile vehicles away." in practice["text"] and "Related terms: HVM" in practice["text"]
    assert "Id: vehicle-barriers" in practice["text"]
    assert "Pillar" not in practice["text"]  # the facet list is on the page, not needed to find it
    assert practice["boost"] == 2 and practice["title"] == "Vehicle barriers"
    assert "practices/vehicle-barriers/#context" not in records
    assert records[""]["text"] == "<p>Good practice.</p>"
    assert "#practices-by-pillar-and-dimension" not in records and "practices/#csbp-filter-title" not in records
    assert records["browse/threat/vbied/"]["text"] == "<p>Term.</p>"
    assert "browse/threat/vbied/#practices" not in records
    for kept in ("glossary/", "about/#how-to-cite", "modules/insider-risk/trainer/"):
        assert records[kept] == next(r for r in INDEX["docs"] if r["location"] == kept)
    assert index["config"] == INDEX["config"]


def test_a_missing_or_broken_index_is_left_alone(tmp_path):
    assert trim_search_index(tmp_path, budget=0) is None
    (tmp_path / "search").mkdir()
    (tmp_path / "search" / "search_index.json").write_text("{not json")
    assert trim_search_index(tmp_path, budget=0) is None
    assert (tmp_path / "search" / "search_index.json").read_text() == "{not json"


def test_a_small_handbook_keeps_full_text_search_and_a_large_one_is_trimmed(built_fixture, tmp_path):
    published = built_fixture / "site" / "search" / "search_index.json"
    index = json.loads(published.read_text())
    locations = {record["location"] for record in index["docs"]}
    assert "practices/perimeter-patrols/#pitfalls" in locations  # within budget: every section is searchable
    (tmp_path / "search").mkdir()
    (tmp_path / "search" / "search_index.json").write_bytes(published.read_bytes())
    assert trim_search_index(tmp_path, budget=len(published.read_bytes()) - 1) is not None
    trimmed = json.loads((tmp_path / "search" / "search_index.json").read_text())
    locations = {record["location"] for record in trimmed["docs"]}
    for practice in ("perimeter-patrols", "vehicle-barriers", "staff-vetting"):
        assert f"practices/{practice}/" in locations
        assert not any(location.startswith(f"practices/{practice}/#") for location in locations)
    assert len(gzip.compress(json.dumps(trimmed).encode())) < 60_000


def _engine_trimmed(index: dict) -> list[dict]:
    """What trimming keeps of the engine's own records (entry pages: their first section only)."""
    from csbp.site_search import _trimmed

    return [kept for record in index["docs"] if (kept := _trimmed(record)) is not None]


@pytest.mark.parametrize("audience", ["public", "members"])
def test_compact_records_equal_what_trimming_keeps_of_the_engines_own(handbook, monkeypatch, audience):
    # Built with the engine indexing every page, then with csbp writing the records of entry pages
    # and listings from the built pages: a retired entry (its notice), marked entries for members
    # (their banner), overdue reviews, the home page and browse pages.
    from csbp import cli, searchindex, site_search

    retired = handbook / "practices/staff-vetting.yaml"
    retired.write_text(
        retired.read_text().replace("status: approved", "status: retired\nreplaced_by: vehicle-barriers")
    )
    for path in (FIXTURES / "markings").glob("amber-*.yaml"):
        shutil.copy(path, handbook / "practices" / path.name)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(time.time()) // 86400 * 86400))
    build = ["build", "--root", str(handbook), "--audience", audience, "--quiet"]
    assert cli.main(build) == 0
    engine = json.loads((handbook / "site/search/search_index.json").read_text())

    monkeypatch.setattr(searchindex, "COMPACT_FROM_ENTRIES", 1)
    assert cli.main(build) == 0
    compact = json.loads((handbook / "site/search/search_index.json").read_text())
    front = (handbook / "build/docs/practices/vehicle-barriers.md").read_text()
    assert searchindex.COMPACT_MARK in front and "exclude: true" in front

    # A handbook with compact records is trimmed whatever its size: the engine's index, trimmed.
    expected = [kept for record in engine["docs"] if (kept := site_search._trimmed(record)) is not None]
    assert compact["config"] == engine["config"]
    assert [r["location"] for r in compact["docs"]] == [r["location"] for r in expected]
    for got, want in zip(compact["docs"], expected, strict=True):
        assert got == want
    texts = {r["location"]: r["text"] for r in compact["docs"]}
    assert "Retired entry" in texts["practices/staff-vetting/"]
    if audience == "members":
        assert "amber" in json.dumps(compact).lower()
