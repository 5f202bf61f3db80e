"""An officer reads the handbook: narrows the practices index by facet, finds a practice by an
abbreviation it only spells out, prints a page, reads on a 360 px phone, and every page type
passes axe-core's WCAG 2.1 A and AA rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from playwright.sync_api import expect

from site_tests.browser.accessibility import wcag_violations
from site_tests.browser.test_search import search
from site_tests.support import csbp, make_handbook

pytestmark = pytest.mark.browser

FACET_FIELDS = {  # URL parameter / form field -> the practice YAML field holding its term ids
    "pillar": "pillars",
    "dimension": "dimensions",
    "sector": "sectors",
    "environment": "environments",
    "threat": "threats",
    "psems": "psems",
}
LONG_URL = "https://www.example.org/guidance/" + "-".join(["hostile-vehicle-mitigation-and-crowded-places"] * 4)
LONG_WORD = "Stand" + "off" * 40  # one unbroken token far wider than a phone
PAGES = {  # one page of every type a reader studies
    "home": "",
    "practices index": "practices/",
    "practice": "practices/vehicle-barriers/",
    "lesson": "lessons/frontage-attack/",
    "module": "modules/frontage-basics/",
}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, f"{path.name} no longer holds {old!r}: update the test's edit"
    path.write_text(text.replace(old, new), "utf-8")


@pytest.fixture(scope="module")
def reading(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The fixture handbook with what these tests need: practices that spell out 'hostile vehicle
    mitigation' and 'Port Facility Security Officer' without their abbreviations, a lesson source
    with a URL, and a long reference URL and unbroken word that must wrap on a phone."""
    from site_tests.browser.conftest import serve

    root = make_handbook(tmp_path_factory.mktemp("reading") / "handbook")
    barriers = root / "practices/vehicle-barriers.yaml"
    edit(barriers, "rated barriers, known as HVM.", "rated barriers, a form of hostile vehicle mitigation.")
    edit(
        barriers, "context: Frontages gather crowds next to traffic.", f"context: Frontages gather crowds. {LONG_WORD}."
    )
    edit(barriers, "    type: international-code", f"    type: international-code\n    url: {LONG_URL}")
    patrols = root / "practices/perimeter-patrols.yaml"
    edit(patrols, "Plan routes with the security officer.", "Plan routes with the Port Facility Security Officer.")
    lesson = root / "content/lessons/frontage-attack.yaml"
    edit(
        lesson, "    type: independent-review", "    type: independent-review\n    url: https://www.example.gov/review"
    )
    result = csbp("build", "--root", str(root))
    assert result.returncode == 0, result.stderr
    server, url = serve(root / "site")
    yield root, url
    server.shutdown()


def published_practices(root: Path) -> dict[str, dict]:
    """Practice YAML by id, as the public build publishes them (TLP:CLEAR only)."""
    found = {path.stem: yaml.safe_load(path.read_text("utf-8")) for path in sorted((root / "practices").glob("*.yaml"))}
    return {pid: data for pid, data in found.items() if data["tlp"] == "TLP:CLEAR"}


def term_ids(data: dict, facet: str) -> list[str]:
    return [data["evidence"]["level"]] if facet == "evidence" else list(data[FACET_FIELDS[facet]])


def expected_titles(practices: dict[str, dict], chosen: dict[str, set[str]]) -> set[str]:
    """OR within a facet, AND across facets, computed from the YAML."""
    return {
        data["title"]
        for data in practices.values()
        if all(set(term_ids(data, facet)) & ids for facet, ids in chosen.items() if ids)
    }


def shown_titles(page) -> set[str]:
    return set(page.locator(".csbp-practice-list li:visible > a").all_inner_texts())


def tick(page, facet: str, term_id: str, checked: bool = True) -> None:
    page.locator(f'.csbp-filter input[name="{facet}"][value="{term_id}"]').set_checked(checked)


def test_filter_combination_narrows_to_matching_practices_and_reload_restores_it(page, reading):
    root, url = reading
    practices = published_practices(root)
    page.goto(url + "practices/")
    page.wait_for_load_state("networkidle")
    count = page.locator(".csbp-filter__count")
    assert count.inner_text() == f"{len(practices)} of {len(practices)} practices shown"
    assert shown_titles(page) == {data["title"] for data in practices.values()}

    steps = [("pillar", "protect"), ("pillar", "prevent"), ("threat", "transnational-crime"), ("sector", "maritime")]
    chosen: dict[str, set[str]] = {}
    for facet, term_id in steps:
        tick(page, facet, term_id)
        chosen.setdefault(facet, set()).add(term_id)
        expected = expected_titles(practices, chosen)
        assert shown_titles(page) == expected, chosen
        assert count.inner_text() == f"{len(expected)} of {len(practices)} practices shown"
    assert 0 < len(expected) < len(practices), "the steps no longer narrow the fixture: choose other terms"
    assert {k: set(v) for k, v in parse_qs(urlsplit(page.url).query).items()} == chosen

    page.reload()
    page.wait_for_load_state("networkidle")
    assert shown_titles(page) == expected
    ticked = page.locator(".csbp-filter input:checked")
    assert {(box.get_attribute("name"), box.get_attribute("value")) for box in ticked.all()} == {
        (facet, term_id) for facet, term_id in steps
    }

    tick(page, "evidence", "regulatory")  # nothing left: the reader is told so
    none = expected_titles(practices, {**chosen, "evidence": {"regulatory"}})
    assert shown_titles(page) == none
    assert page.locator(".csbp-filter__empty").is_visible() == (not none)

    page.get_by_role("button", name="Clear filters").click()
    page.wait_for_function("!document.querySelector('.csbp-filter input:checked')")
    assert shown_titles(page) == {data["title"] for data in practices.values()}
    assert urlsplit(page.url).query == ""
    assert page.js_errors == []


def test_a_shared_filter_link_opens_the_filtered_list(page, reading):
    root, url = reading
    practices = published_practices(root)
    page.goto(url + "practices/?environment=airport-landside,airport-airside&evidence=lessons-learned")
    page.wait_for_load_state("networkidle")
    expected = expected_titles(
        practices, {"environment": {"airport-landside", "airport-airside"}, "evidence": {"lessons-learned"}}
    )
    assert 0 < len(expected) < len(practices)
    assert shown_titles(page) == expected


def test_without_javascript_the_index_lists_every_practice_and_no_dead_controls(browser, reading):
    root, url = reading
    context = browser.new_context(java_script_enabled=False)
    try:
        tab = context.new_page()
        tab.goto(url + "practices/?pillar=protect")
        assert shown_titles(tab) == {data["title"] for data in published_practices(root).values()}
        assert tab.locator(".csbp-filter").is_hidden()
    finally:
        context.close()


@pytest.mark.parametrize(("abbreviation", "practice"), [("HVM", "vehicle-barriers"), ("PFSO", "perimeter-patrols")])
def test_searching_an_abbreviation_finds_the_practice_that_spells_it_out(page, reading, abbreviation, practice):
    root, url = reading
    data = published_practices(root)[practice]
    assert abbreviation not in (root / f"practices/{practice}.yaml").read_text("utf-8")  # spelled out only
    page.goto(url)
    results = search(page, abbreviation)
    first = results.first
    # results refresh as each letter is typed: wait for the ones for the whole abbreviation
    expect(first.locator("h1")).to_have_text(data["title"])  # the practice itself comes first
    assert data["summary"] in first.inner_text()  # and its summary is shown
    first.locator("a").first.click()
    page.wait_for_url(re.compile(rf"/practices/{practice}/(\?h=.*)?$"))
    assert page.js_errors == []


def hidden(page, selector: str) -> bool:
    """True when no element matches or every match is not displayed."""
    return page.evaluate(
        "s => [...document.querySelectorAll(s)].every(e => !e.offsetParent && getComputedStyle(e).position !== 'fixed'"
        " || getComputedStyle(e).display === 'none')",
        selector,
    )


@pytest.mark.parametrize("kind", ["practice", "lesson", "module"])
def test_practice_page_prints_without_navigation_and_with_reference_urls(page, reading, kind):
    _root, url = reading
    page.emulate_media(media="print")
    page.goto(url + PAGES[kind])
    page.wait_for_load_state("networkidle")
    for chrome in (".md-header", ".md-tabs", ".md-sidebar", ".md-footer", ".md-search", ".md-top", ".headerlink"):
        assert page.locator(chrome).count() == 0 or hidden(page, chrome), f"{chrome} prints on the {kind} page"
    assert page.locator("article h1").is_visible()
    links = page.locator("a.csbp-ref-link")
    printed = page.locator(".csbp-print-url")
    if kind != "module":  # practices and lessons cite sources with URLs (a module cites entries)
        assert links.count() > 0
    assert [a.get_attribute("href") for a in links.all()] == printed.all_inner_texts()
    assert all(span.is_visible() for span in printed.all())
    page.emulate_media(media="screen")
    assert printed.count() == 0 or not printed.first.is_visible()


OUTSIDE_THE_SCREEN = """() => {
  const inScroller = el => { for (let p = el.parentElement; p; p = p.parentElement) {
    if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return true; } return false; };
  return [...document.querySelectorAll('article *')]
    .filter(el => el.getClientRects().length && el.getBoundingClientRect().right > innerWidth + 1 && !inScroller(el))
    .map(el => el.tagName + '.' + el.className).slice(0, 5);
}"""  # text or boxes cut off at the right edge, unless inside their own scrolling box


def test_pages_fit_a_360px_phone_screen(browser, reading, tmp_path):
    _root, url = reading
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=1)
    try:
        tab = context.new_page()
        wide: dict[str, int] = {}
        clipped: dict[str, list[str]] = {}
        for name, path in {**PAGES, "filtered index": "practices/?pillar=protect"}.items():
            tab.goto(url + path)
            tab.wait_for_load_state("networkidle")
            tab.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")  # folded parts too
            tab.screenshot(path=tmp_path / f"{name.replace(' ', '-')}.png", full_page=True)
            width = tab.evaluate("document.documentElement.scrollWidth")
            if width > 360:
                wide[name] = width
            if tab.evaluate(OUTSIDE_THE_SCREEN):
                clipped[name] = tab.evaluate(OUTSIDE_THE_SCREEN)
        assert wide == {}, f"horizontal scrolling at 360 px; screenshots in {tmp_path}"
        assert clipped == {}, f"content beyond the right edge at 360 px; screenshots in {tmp_path}"
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_type_has_no_wcag_violations(browser, reading, scheme):
    _root, url = reading
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    try:
        tab = context.new_page()
        found: dict[str, list[str]] = {}
        for name, path in {**PAGES, "filtered index": "practices/?pillar=protect&sector=aviation"}.items():
            tab.goto(url + path)
            tab.wait_for_load_state("networkidle")
            found[name] = wcag_violations(tab)
        tab.goto(url)
        search(tab, "barriers")
        tab.wait_for_timeout(300)  # let the result list settle
        found["search results"] = wcag_violations(tab)
        assert {name: v for name, v in found.items() if v} == {}
    finally:
        context.close()
