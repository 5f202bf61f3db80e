"""Audience builds: nothing above the audience's marking reaches any output byte."""

from __future__ import annotations

import gzip
import shutil
import zipfile

import pytest

from site_tests.support import FIXTURES, csbp

LEVELS = {
    "public": {"TLP:CLEAR"},
    "community": {"TLP:CLEAR", "TLP:GREEN"},
    "members": {"TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT"},
}
MARKED = {  # id -> (marking, title)
    "green-sharing-practice": ("TLP:GREEN", "Community-only sharing arrangement"),
    "amber-members-practice": ("TLP:AMBER", "Members-only berth liaison arrangement"),
    "amber-strict-practice": ("TLP:AMBER+STRICT", "Organisation-only escalation roster"),
    "red-named-recipients": ("TLP:RED", "Named-recipient threat briefing cycle"),
}


def every_output_byte(site):
    """All bytes of the site, with gzip and zip members unpacked."""
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                data = b"".join(archive.read(name) for name in archive.namelist())
        yield path, data


@pytest.fixture
def marked_handbook(handbook):
    for path in (FIXTURES / "markings").glob("*.yaml"):
        shutil.copy(path, handbook / "practices" / path.name)
    return handbook


@pytest.mark.parametrize("audience", sorted(LEVELS))
def test_each_audience_contains_exactly_its_markings(marked_handbook, audience):
    result = csbp("build", "--root", str(marked_handbook), "--audience", audience)
    assert result.returncode == 0, result.stderr
    site = marked_handbook / "site"
    blob = b"\n".join(data for _path, data in every_output_byte(site))
    for entry_id, (marking, title) in MARKED.items():
        allowed = marking in LEVELS[audience]
        assert (site / "practices" / entry_id / "index.html").exists() == allowed, entry_id
        for needle in (entry_id, title, f"Distinctive context of the {entry_id} fixture"):
            assert (needle.encode() in blob) == allowed, (audience, needle)


def test_restricted_builds_carry_their_marking_on_every_page(marked_handbook):
    assert csbp("build", "--root", str(marked_handbook), "--audience", "community").returncode == 0
    home = (marked_handbook / "site/index.html").read_text()
    assert 'class="csbp-tlp csbp-tlp--green"' in home and "TLP:GREEN" in home
    practice = (marked_handbook / "site/practices/green-sharing-practice/index.html").read_text()
    assert 'class="csbp-tlp csbp-tlp--green"' in practice


def test_a_planted_leak_fails_the_build_and_keeps_the_previous_site(marked_handbook):
    assert csbp("build", "--root", str(marked_handbook)).returncode == 0
    before = sorted(p.relative_to(marked_handbook) for p in (marked_handbook / "site").rglob("*"))
    (marked_handbook / "content/pages/notes.md").write_text(
        "# Notes\n\nSee the Members-only berth liaison arrangement for details.\n"
    )
    result = csbp("build", "--root", str(marked_handbook))
    assert result.returncode == 1
    assert "leak: notes/index.html: practice 'amber-members-practice' (title) appears" in result.stderr
    assert "leak: search/search_index.json" in result.stderr
    assert sorted(p.relative_to(marked_handbook) for p in (marked_handbook / "site").rglob("*")) == before


def test_two_builds_of_the_same_sources_are_byte_identical(handbook, tmp_path):
    assert csbp("build", "--root", str(handbook)).returncode == 0
    first = {p.relative_to(handbook / "site"): p.read_bytes() for p in (handbook / "site").rglob("*") if p.is_file()}
    shutil.rmtree(handbook / "build")
    assert csbp("build", "--root", str(handbook)).returncode == 0
    second = {p.relative_to(handbook / "site"): p.read_bytes() for p in (handbook / "site").rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []
