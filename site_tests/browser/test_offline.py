"""Offline and private: the site fetches nothing from other hosts, and its offline copy works from file://."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from site_tests.browser.test_quiz import answer_quiz_correctly
from site_tests.browser.test_search import open_first_result, search

pytestmark = pytest.mark.browser

OFFLINE_ZIP = "downloads/csbp-handbook-offline.zip"
PAGE_TYPES = {
    "home": "",
    "practices index": "practices/",
    "practice": "practices/perimeter-patrols/",
    "lesson": "lessons/frontage-attack/",
    "module": "modules/frontage-basics/",
    "path": "paths/frontline-basics/",
    "glossary": "glossary/",
}


def watch_requests(page, allowed) -> tuple[list[str], list[str]]:
    """Abort every request `allowed` rejects; return (requests to elsewhere, failed requests), filled as they occur."""
    elsewhere: list[str] = []
    failed: list[str] = []

    def route(route):
        if allowed(route.request.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.context.route("**/*", route)
    page.on("requestfailed", lambda request: failed.append(f"{request.url} ({request.failure})"))
    return elsewhere, failed


def test_every_page_type_loads_with_only_the_local_site_reachable(page, site_url):
    local = urlsplit(site_url).netloc
    elsewhere, failed = watch_requests(page, lambda url: urlsplit(url).netloc == local)
    for name, path in PAGE_TYPES.items():
        response = page.goto(site_url + path)
        assert response is not None and response.ok, name
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").count() >= 1, name
    results = search(page, "Perimeter patrols")  # search results: the worker and its index load too
    assert "Perimeter patrols with varied timing" in results.first.inner_text()
    page.wait_for_load_state("networkidle")
    assert elsewhere == []
    assert failed == []
    assert page.js_errors == []


@pytest.fixture
def unpacked_offline_copy(built_fixture, tmp_path) -> Path:
    """The offline zip as a reader downloads it from the built site, unpacked."""
    with zipfile.ZipFile(built_fixture / "site" / OFFLINE_ZIP) as archive:
        archive.extractall(tmp_path)
    return tmp_path / "csbp-handbook"


def test_offline_zip_unpacked_searches_and_navigates_from_file_url(page, unpacked_offline_copy):
    elsewhere, failed = watch_requests(page, lambda url: url.startswith("file://"))
    page.goto((unpacked_offline_copy / "index.html").as_uri())
    url = re.compile(r"/practices/perimeter-patrols/index\.html(\?h=.*)?$")
    open_first_result(page, "Perimeter patrols", "Perimeter patrols with varied timing", url)
    page.locator("article a", has_text="Vehicle attack on an airport frontage").first.click()
    page.wait_for_url(re.compile(r"/lessons/frontage-attack/index\.html$"))
    assert page.locator("h1").inner_text().rstrip("¶") == "Vehicle attack on an airport frontage"
    page.locator("a.md-tabs__link", has_text="Glossary").click()  # the site navigation works too
    page.wait_for_url(re.compile(r"/glossary/index\.html$"))
    assert elsewhere == []
    assert failed == []
    assert page.js_errors == []


def test_offline_copy_runs_the_quiz_keeps_progress_and_opens_an_assignment(page, unpacked_offline_copy):
    elsewhere, failed = watch_requests(page, lambda url: url.startswith("file://"))
    page.goto((unpacked_offline_copy / "modules" / "frontage-basics" / "index.html").as_uri())
    answer_quiz_correctly(page)
    assert page.locator(".csbp-quiz-result").inner_text().endswith("passed.")
    page.goto((unpacked_offline_copy / "modules" / "index.html").as_uri())
    row = page.locator("tr", has=page.locator('a[href="frontage-basics/index.html"]'))
    assert row.locator(".csbp-progress").inner_text() == "Completed (best 100%)"
    assignment = (unpacked_offline_copy / "training" / "assignment" / "index.html").as_uri()
    page.goto(assignment + "?modules=frontage-basics,patrol-refresher&group=Berth%204")
    assert page.locator(".csbp-assignment-count").inner_text() == "1 of 2 module(s) completed."
    page.locator(".csbp-assignment-list a", has_text="Patrol refresher").click()
    page.wait_for_url(re.compile(r"/modules/patrol-refresher/index\.html$"))
    assert elsewhere == []
    assert failed == []
    assert page.js_errors == []
