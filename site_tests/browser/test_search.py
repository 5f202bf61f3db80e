"""A reader searches for a practice by its title and follows the result."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def search(page, query: str):
    """Type into Material's search box as a person does, once its index has loaded."""
    page.wait_for_load_state("networkidle")
    page.locator("label.md-search__icon, .md-search__input").first.click()
    page.keyboard.type(query, delay=20)
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=10_000)
    listing = page.locator(".md-search-result")
    shown = None
    for _ in range(40):  # results refresh as each letter is typed: wait until they settle
        page.wait_for_timeout(150)
        current = listing.inner_text()
        if current == shown:
            break
        shown = current
    return results


def open_first_result(page, query: str, title: str, url: re.Pattern[str]) -> None:
    """Search `query`, check the first result is the page titled `title`, follow it to `url`."""
    first = search(page, query).first.locator("a").first
    assert title in first.inner_text()
    first.click()
    page.wait_for_url(url)
    assert page.locator("h1").inner_text().rstrip("¶") == title


def test_search_a_practice_title_and_follow_the_result(page, site_url):
    page.goto(site_url)
    url = re.compile(r"/practices/perimeter-patrols/(\?h=.*)?$")
    open_first_result(page, "Perimeter patrols", "Perimeter patrols with varied timing", url)
    assert page.js_errors == []


def test_home_matrix_link_opens_the_cell_page(page, site_url):
    page.goto(site_url)
    page.locator("a.csbp-cell", has_text="2").first.click()
    page.wait_for_url("**/browse/matrix/**")
    assert page.locator("h1").inner_text().count("×") == 1


@pytest.fixture(scope="module")
def large_site(tmp_path_factory):
    """A synthetic handbook big enough that entry pages carry compact search records."""
    import sys

    from csbp.searchindex import COMPACT_FROM_ENTRIES
    from site_tests.browser.conftest import serve
    from site_tests.support import REPO, csbp

    sys.path.insert(0, str(REPO / "benchmarks"))
    import synth

    root = tmp_path_factory.mktemp("large") / "handbook"
    plan = synth.write_handbook(COMPACT_FROM_ENTRIES, root, seed=5)
    result = csbp("build", "--root", str(root))
    assert result.returncode == 0, result.stderr
    server, url = serve(root / "site")
    yield root, url, plan
    server.shutdown()


def test_search_in_a_large_handbook_finds_a_practice_by_title_and_by_id(page, large_site):
    root, url, plan = large_site
    practice = sorted(plan.practices)[len(plan.practices) // 2]
    source = (root / "build/docs/practices" / f"{practice}.md").read_text("utf-8")
    assert "csbp_search: compact" in source, "the engine was told to leave this page to csbp"
    title = re.search(r"^# (.+)$", source, re.M).group(1).replace("\\", "")
    page.goto(url)
    target = re.compile(rf"/practices/{practice}/(\?h=.*)?$")
    open_first_result(page, title, title, target)
    page.goto(url)
    number = practice.rsplit("-", 1)[1]  # the distinctive part: every synthetic id starts "practice-"
    assert f"/practices/{practice}/" in search(page, number).first.locator("a").first.get_attribute("href")
    assert page.js_errors == []
