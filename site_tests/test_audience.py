"""Audience builds: nothing above the audience's marking reaches any output byte."""

from __future__ import annotations

import gzip
import io
import shutil
import zipfile

import pytest

from site_tests.support import FIXTURES, csbp

LEVELS = {
    "public": {"TLP:CLEAR"},
    "community": {"TLP:CLEAR", "TLP:GREEN"},
    "members": {"TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT"},
}
MARKED_MODULE = ("green-liaison-module", "TLP:GREEN", "Community liaison drill module")
MARKED = {  # id -> (marking, title)
    "green-sharing-practice": ("TLP:GREEN", "Community-only sharing arrangement"),
    "amber-members-practice": ("TLP:AMBER", "Members-only berth liaison arrangement"),
    "amber-strict-practice": ("TLP:AMBER+STRICT", "Organisation-only escalation roster"),
    "red-named-recipients": ("TLP:RED", "Named-recipient threat briefing cycle"),
}


def unpacked(name: str, data: bytes) -> bytes:
    """The bytes of a file with gzip and zip members unpacked, zips inside zips included."""
    if name.endswith(".gz"):
        return gzip.decompress(data)
    if name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return b"\n".join(unpacked(member, archive.read(member)) for member in archive.namelist())
    return data


def every_output_byte(site):
    """All bytes of the site: pages, search index, sitemap, quiz exports and the offline zip."""
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        yield path, unpacked(path.name, path.read_bytes())


@pytest.fixture
def marked_handbook(handbook):
    for path in (FIXTURES / "markings").glob("*.yaml"):
        shutil.copy(path, handbook / "practices" / path.name)
    for path in (FIXTURES / "markings/modules").glob("*.yaml"):
        shutil.copy(path, handbook / "content/modules" / path.name)
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
    module_id, marking, title = MARKED_MODULE  # its page, trainer pack, exports and offline copy
    allowed = marking in LEVELS[audience]
    assert (site / "modules" / module_id / "trainer/index.html").exists() == allowed
    assert (site / "downloads" / f"{module_id}.gift").exists() == allowed
    for needle in (module_id, title, "green liaison feedback", "Green liaison trainer notes"):
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
