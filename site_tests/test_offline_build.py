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
from csbp.offline import OFFLINE_ZIP, file_url, offline_html
from csbp.site import SiteBuildError, build_site
from site_tests.support import FIXTURES, csbp

GREEN_ID = "green-sharing-practice"
GREEN_TITLE = "Community-only sharing arrangement"


def offline_zip(root: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(root / "site" / OFFLINE_ZIP) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("../practices/x/", "../practices/x/index.html"),
        ("../x/?group=a&amp;due=b#top", "../x/index.html?group=a&amp;due=b#top"),
        ("./", "./index.html"),
        (".", "./index.html"),
        ("..", "../index.html"),
        ("../..", "../../index.html"),
        ("../assets/css/csbp.css", "../assets/css/csbp.css"),  # a file stays as it is
        ("#section", "#section"),
        ("?modules=a", "?modules=a"),
        ("", ""),
        ("https://example.org/", "https://example.org/"),  # another host: not ours to rewrite
        ("mailto:desk@example.org", "mailto:desk@example.org"),
        ("/practices/", "/practices/"),  # root-absolute: no page of the copy has one (404.html is left out)
    ],
)
def test_links_to_directories_name_their_index_file(url, expected):
    assert file_url(url) == expected
    page = f'<a class="x" href="{url}">a</a><form data-target="{url}"></form>'
    assert (
        offline_html(page, "a/b/index.html")
        == f'<a class="x" href="{expected}">a</a><form data-target="{expected}"></form>'
    )


def test_a_public_builds_offline_zip_holds_none_of_the_community_builds_extra_entries(handbook, tmp_path):
    community = tmp_path / "community"
    shutil.copytree(handbook, community)
    assert csbp("build", "--root", str(community), "--audience", "community").returncode == 0
    assert f"csbp-handbook/practices/{GREEN_ID}/index.html" in offline_zip(community)

    assert csbp("build", "--root", str(handbook)).returncode == 0
    public = offline_zip(handbook)
    assert "csbp-handbook/practices/perimeter-patrols/index.html" in public
    assert not any(GREEN_ID in name for name in public)
    for name, data in public.items():
        assert GREEN_ID.encode() not in data and GREEN_TITLE.encode() not in data, name


def test_offline_build_writes_a_site_whose_pages_link_to_index_html_files(handbook):
    result = csbp("build", "--root", str(handbook), "--offline")
    assert result.returncode == 0, result.stderr
    site = handbook / "site"
    home = (site / "index.html").read_text("utf-8")
    assert 'href="practices/index.html"' in home
    assert 'href="browse/matrix/protect-physical/index.html">2' in home
    for page in site.rglob("*.html"):  # a link to a directory opens a file listing, not the page, from file://
        assert not re.search(r'href="(?![a-z]+:|#)[^"]*/(#[^"]*)?"', page.read_text("utf-8")), page
    practice = (site / "practices/vehicle-barriers/index.html").read_text("utf-8")
    assert 'href="../../lessons/frontage-attack/index.html"' in practice
    assert 'href="../perimeter-patrols/index.html"' in practice
    path_page = (site / "paths/frontline-basics/index.html").read_text("utf-8")
    assert '<a href="../../modules/frontage-basics/index.html">' in path_page
    redirect = (site / "practices/old-vehicle-barriers/index.html").read_text("utf-8")
    assert 'content="0; url=../vehicle-barriers/index.html"' in redirect
    assert (site / "search/search_index.js").read_text("utf-8").startswith("var __index = ")
    assert "unpkg.com" not in home and '<script src="assets/csbp-offline/iframe-worker.js">' in home
    assert '<script src="../../assets/csbp-offline/iframe-worker.js">' in practice
    assert "This is the offline copy of the handbook" in home and "Download the handbook" not in home
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
    assert f"leak: {OFFLINE_ZIP}!csbp-handbook/notes/index.html: practice 'amber-members-practice'" in result.stderr
    assert not (handbook / "site").exists()


def test_a_failure_writing_the_offline_copy_leaves_the_previous_site_untouched(handbook, monkeypatch):
    assert csbp("build", "--root", str(handbook)).returncode == 0
    snapshot = {p: p.read_bytes() for p in (handbook / "site").rglob("*") if p.is_file()}

    def disk_full(site: Path, epoch: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("csbp.site.pack_offline_copy", disk_full)
    with pytest.raises(SiteBuildError, match=r"could not write the offline copy.*No space left"):
        build_site(HandbookPaths.at(handbook), None, 0)
    assert {p: p.read_bytes() for p in (handbook / "site").rglob("*") if p.is_file()} == snapshot
    assert not list(handbook.glob(".site-*"))
