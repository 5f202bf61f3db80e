"""Trainers and learners use the training tools in Chromium: assignment links, My progress
(export, import, completion record), the trainer pack and the printable handout."""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from site_tests.browser.accessibility import wcag_violations
from site_tests.browser.test_quiz import answer_quiz_correctly

pytestmark = pytest.mark.browser

MODULE = "modules/frontage-basics/"


def pass_quiz(page, site_url: str) -> None:
    page.goto(site_url + MODULE)
    answer_quiz_correctly(page)
    assert page.locator(".csbp-quiz-result").inner_text().endswith("passed.")


def make_assignment(page, site_url: str, group: str, due: str, modules: list[str]) -> str:
    page.goto(site_url + "training/assign/")
    page.wait_for_load_state("networkidle")
    page.get_by_label("Group name").fill(group)
    page.get_by_label("Due date").fill(due)
    for title in modules:
        page.get_by_label(title).check()
    page.get_by_role("button", name="Make the link").click()
    return page.get_by_label("Link to send").input_value()


def test_a_completed_module_shows_as_done_in_the_assignment_link_that_includes_it(page, site_url):
    pass_quiz(page, site_url)
    group = 'Night shift <b id="injected">B</b>'
    link = make_assignment(page, site_url, group, "2020-01-31", ["Frontage security basics", "Patrol refresher"])
    query = parse_qs(urlsplit(link).query)
    assert query == {"group": [group], "due": ["2020-01-31"], "modules": ["frontage-basics,patrol-refresher"]}
    assert "2 module(s)" in page.locator(".csbp-assign-result").inner_text()

    page.goto(link)
    page.wait_for_load_state("networkidle")
    checklist = page.locator(".csbp-assignment-list li")
    assert checklist.count() == 2
    assert checklist.nth(0).locator("a").inner_text() == "Frontage security basics"
    assert checklist.nth(0).locator(".csbp-progress").inner_text() == "Completed (best 100%)"
    assert checklist.nth(1).locator(".csbp-progress").inner_text() == "Not started"
    assert page.locator(".csbp-assignment-count").inner_text() == "1 of 2 module(s) completed."
    assert page.get_by_text("Due 2020-01-31: the due date has passed.").is_visible()
    assert page.get_by_text(f"Group: {group}.").is_visible()  # shown as text, never as markup
    assert page.locator("#injected").count() == 0
    checklist.nth(1).locator("a").click()
    page.wait_for_url(re.compile(r"/modules/patrol-refresher/$"))
    assert page.js_errors == []


def test_an_assignment_link_naming_unknown_modules_says_so_and_keeps_the_rest(page, site_url):
    page.goto(site_url + "training/assignment/?modules=frontage-basics,secret-module,frontage-basics&due=not-a-date")
    page.wait_for_load_state("networkidle")
    assert page.locator(".csbp-assignment-list li").count() == 1
    assert "secret-module" in page.locator(".csbp-assignment-unknown").inner_text()
    assert page.locator('[data-field="due"]').inner_text() == ""
    assert page.locator(".csbp-assignment-count").inner_text() == "0 of 1 module(s) completed."


def test_a_learning_path_preselects_its_modules_for_an_assignment(page, site_url):
    page.goto(site_url + "training/assign/")
    page.wait_for_load_state("networkidle")
    page.locator("button[data-path-modules]").first.click()
    page.get_by_role("button", name="Make the link").click()
    link = page.get_by_label("Link to send").input_value()
    assert parse_qs(urlsplit(link).query)["modules"] == ["frontage-basics,patrol-refresher"]


def test_progress_survives_export_clearing_the_browser_and_import(page, site_url, tmp_path):
    pass_quiz(page, site_url)
    page.goto(site_url + "training/progress/")
    page.wait_for_load_state("networkidle")
    row = page.locator('tr[data-module="frontage-basics"]')
    assert row.locator(".csbp-progress").inner_text() == "Completed (best 100%)"
    assert row.locator('[data-field="attempts"]').inner_text() == "1"
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download my progress file").click()
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    data = json.loads(saved.read_text("utf-8"))
    assert data["format"] == "csbp-progress" and data["modules"]["frontage-basics"]["passed"] is True

    page.evaluate("localStorage.clear()")
    page.reload()
    page.wait_for_load_state("networkidle")
    assert row.locator(".csbp-progress").inner_text() == "Not started"
    page.get_by_label("Load a progress file").set_input_files(str(saved))
    expect_status = page.locator('[data-tool="progress-file"] .csbp-tool-status')
    expect_status.filter(has_text="Loaded results for 1 module(s).").wait_for()
    assert row.locator(".csbp-progress").inner_text() == "Completed (best 100%)"

    broken = tmp_path / "broken.json"
    broken.write_text('{"modules": {}}', "utf-8")
    page.get_by_label("Load a progress file").set_input_files(str(broken))
    expect_status.filter(has_text="not a CSBP progress file").wait_for()
    assert row.locator(".csbp-progress").inner_text() == "Completed (best 100%)"
    assert page.js_errors == []


def test_the_completion_record_prints_the_learners_name_and_completed_modules_only(page, site_url):
    pass_quiz(page, site_url)
    page.goto(site_url + "training/progress/")
    page.wait_for_load_state("networkidle")
    page.get_by_label("Your name, as it should appear on the record").fill("A. Officer")
    record = page.locator(".csbp-record")
    assert record.locator('[data-field="learner"]').inner_text() == "A. Officer"
    rows = record.locator("tbody tr")
    assert rows.count() == 1
    cells = rows.first.locator("td").all_inner_texts()
    assert cells[:3] == ["Frontage security basics", "100%", "75%"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", cells[3]) and dt.date.fromisoformat(cells[3])
    page.evaluate("document.body.classList.add('csbp-printing-record')")
    page.emulate_media(media="print")
    assert record.is_visible()
    assert page.locator(".csbp-progress-table").is_hidden()
    assert page.get_by_role("button", name="Print the record").is_hidden()
    page.reload()  # the name is remembered with the progress
    page.wait_for_load_state("networkidle")
    assert page.get_by_label("Your name, as it should appear on the record").input_value() == "A. Officer"


def test_the_trainer_pack_holds_the_answer_key_and_the_module_page_does_not(page, site_url):
    page.goto(site_url + MODULE)
    assert page.locator(".csbp-answer-key").count() == 0
    page.get_by_role("link", name="Trainer pack").click()
    page.wait_for_url(re.compile(r"/modules/frontage-basics/trainer/$"))
    key = page.locator(".csbp-answer-key > li")
    assert key.count() == 4
    assert "Answer: Rated barriers" in key.first.inner_text()
    assert page.locator(".csbp-discussion-guide").is_visible()
    page.get_by_role("link", name="Learner handout").click()
    page.wait_for_url(re.compile(r"/modules/frontage-basics/handout/$"))
    page.evaluate("window.print = () => { window.printed = true; }")
    page.get_by_role("button", name="Print this handout").click()
    assert page.evaluate("window.printed === true")
    page.emulate_media(media="print")
    assert page.locator(".csbp-handout-name").is_visible()
    assert page.locator(".md-header").is_hidden() and page.locator(".md-sidebar--primary").is_hidden()


def test_training_pages_have_no_wcag_violations(page, site_url):
    for url in (
        MODULE + "trainer/",
        MODULE + "handout/",
        "training/progress/",
        "training/assign/",
        "training/assignment/?modules=frontage-basics&group=Team%20A&due=2030-01-01",
    ):
        page.goto(site_url + url)
        page.wait_for_load_state("networkidle")
        assert wcag_violations(page) == [], url
    make_assignment(page, site_url, "Team A", "2030-01-01", ["Frontage security basics"])
    page.wait_for_timeout(500)  # focusing the result scrolls; let Material's header tabs finish fading out
    assert wcag_violations(page) == [], "assign page with a link made"
