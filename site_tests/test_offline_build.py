"""The offline copy: `csbp build --offline`, and the zip every build publishes, per audience and checked."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from csbp.config import HandbookPaths
from csbp.leakcheck import Needle, scan
from csbp.site import OFFLINE_ZIP, SiteBuildError, build_site
from site_tests.support import FIXTURES, csbp

GREEN_ID = "green-sharing-practice"
GREEN_TITLE = "Community-only sharing arrangement"


def offline_zip(root: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(root / "site" / OFFLINE_ZIP) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_public_builds_offline_zip_holds_none_of_the_community_builds_extra_entries(handbook, tmp_path):
    community = tmp_path / "community"
    shutil.copytree(handbook, community)
    assert csbp("build", "--root", str(community), "--audience", "community").returncode == 0
    assert f"csbp-handbook/practices/{GREEN_ID}.html" in offline_zip(community)

    assert csbp("build", "--root", str(handbook)).returncode == 0
    public = offline_zip(handbook)
    assert "csbp-handbook/practices/perimeter-patrols.html" in public
    assert not any(GREEN_ID in name for name in public)
    for name, data in public.items():
        assert GREEN_ID.encode() not in data and GREEN_TITLE.encode() not in data, name


def test_offline_build_writes_a_site_whose_pages_link_to_html_files(handbook):
    result = csbp("build", "--root", str(handbook), "--offline")
    assert result.returncode == 0, result.stderr
    site = handbook / "site"
    home = (site / "index.html").read_text("utf-8")
    assert 'href="practices/index.html"' in home
    assert 'href="browse/matrix/protect-physical.html">2' in home
    for page in site.rglob("*.html"):  # a link to a directory opens a file listing, not the page, from file://
        assert not re.search(r'href="(?![a-z]+:|#)[^"]*/(#[^"]*)?"', page.read_text("utf-8")), page
    practice = (site / "practices/vehicle-barriers.html").read_text("utf-8")
    assert 'href="../lessons/frontage-attack.html"' in practice
    assert 'href="perimeter-patrols.html"' in practice
    assert '<a href="../modules/frontage-basics.html">' in (site / "paths/frontline-basics.html").read_text("utf-8")
    redirect = (site / "practices/old-vehicle-barriers/index.html").read_text("utf-8")
    assert 'content="0; url=../vehicle-barriers.html"' in redirect
    assert (site / "search/search_index.js").read_text("utf-8").startswith("var __index = ")
    assert "unpkg.com" not in home and "assets/csbp-offline/iframe-worker.js" in home
    assert not (site / OFFLINE_ZIP).exists()  # the copy does not carry a copy of itself


def test_the_normal_site_links_its_offline_zip_from_the_home_page(built_fixture):
    home = (built_fixture / "site/index.html").read_text("utf-8")
    assert f'<a href="{OFFLINE_ZIP}" download>Download the handbook for offline use</a>' in home
    members = offline_zip(built_fixture)
    assert "csbp-handbook/index.html" in members and "csbp-handbook/search/search_index.js" in members
    assert not any(name.endswith(".map") for name in members)


# Markup a browser fetches on its own from another host (an `<a href>` is only followed on a click).
FETCHED_ELSEWHERE = re.compile(
    r"<(?:script|link|img|iframe|frame|source|video|audio|track|embed|object|input|image|use)\b[^>]*?"
    r"\b(?:src|href|srcset|data|poster|xlink:href)\s*=\s*[\"']?\s*(?:https?:)?//",
    re.IGNORECASE,
)
CSS_ELSEWHERE = re.compile(r"(?:url\(|@import)\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE)


def test_no_page_of_the_site_or_its_offline_copy_fetches_from_another_host(built_fixture):
    files = {
        p.relative_to(built_fixture).as_posix(): p.read_bytes()
        for p in (built_fixture / "site").rglob("*")
        if p.is_file()
    }
    files.update(offline_zip(built_fixture))
    assert FETCHED_ELSEWHERE.search('<script defer src="https://unpkg.com/iframe-worker/shim">')  # the pattern bites
    checked = 0
    for name, data in files.items():
        if name.endswith((".html", ".css")):
            text = data.decode("utf-8", errors="replace")
            assert not FETCHED_ELSEWHERE.search(text) and not CSS_ELSEWHERE.search(text), name
            checked += 1
    assert checked > 50


def test_the_offline_zip_is_deterministic_sorted_with_fixed_times(built_fixture):
    with zipfile.ZipFile(built_fixture / "site" / OFFLINE_ZIP) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert len({i.date_time for i in infos}) == 1


def test_the_leak_check_reads_zip_members_and_zips_inside_zips(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("page.html", f"<p>{GREEN_TITLE}</p>")
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("copy/downloads/quiz-qti.zip", inner.getvalue())
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads/offline.zip").write_bytes(outer.getvalue())
    problems = scan(tmp_path, [Needle("practice 'green'", "title", GREEN_TITLE.lower())])
    assert problems == [
        "leak: downloads/offline.zip!copy/downloads/quiz-qti.zip!page.html: "
        f"practice 'green' (title) appears: \"{GREEN_TITLE.lower()}\""
    ]


def test_a_leak_in_the_offline_copy_fails_the_build(handbook):
    for path in (FIXTURES / "markings").glob("*.yaml"):
        shutil.copy(path, handbook / "practices" / path.name)
    (handbook / "content/pages/notes.md").write_text("# Notes\n\nSee the Members-only berth liaison arrangement.\n")
    result = csbp("build", "--root", str(handbook))
    assert result.returncode == 1
    assert f"leak: {OFFLINE_ZIP}!csbp-handbook/notes.html: practice 'amber-members-practice'" in result.stderr
    assert not (handbook / "site").exists()


class BrokenConfig(HandbookPaths):
    """Paths whose engine config is not valid YAML: the offline engine fails."""

    @property
    def generated_config(self) -> Path:
        return self.build_dir / "offline.yml"


def test_a_failing_offline_copy_leaves_the_previous_site_untouched(handbook):
    assert csbp("build", "--root", str(handbook)).returncode == 0
    snapshot = {p: p.read_bytes() for p in (handbook / "site").rglob("*") if p.is_file()}
    paths = HandbookPaths.at(handbook)

    def broken_copy() -> HandbookPaths:
        paths.generated_config.with_name("offline.yml").write_text("site_name: x\nnot_an_option: [\n")
        return BrokenConfig(paths.root)

    with pytest.raises(SiteBuildError):
        build_site(paths, None, 0, broken_copy)
    assert {p: p.read_bytes() for p in (handbook / "site").rglob("*") if p.is_file()} == snapshot
    assert not list(handbook.glob(".site-*"))
