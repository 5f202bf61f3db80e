"""A learner takes a self-check quiz in Chromium: feedback, score, retry, saved progress."""

from __future__ import annotations

import re

import pytest

from site_tests.browser.accessibility import wcag_violations

pytestmark = pytest.mark.browser

MODULE = "modules/frontage-basics/"


def question(page, qid: str):
    return page.locator(f'fieldset[data-question="{qid}"]')


def answer_ordering(page, qid: str, correctly: bool = True) -> None:
    items = question(page, qid).locator("ol.csbp-ordering li")
    count = items.count()
    for index in range(count):
        item = items.nth(index)
        rank = int(item.get_attribute("data-rank"))
        position = rank + 1 if correctly else count - rank
        item.locator("select").select_option(str(position))


def answer_quiz_correctly(page) -> None:
    """Every answer of the fixture module's quiz right, then Check answers."""
    page.wait_for_load_state("networkidle")
    question(page, "q1").get_by_label("Rated barriers").check()
    question(page, "q2").get_by_label("Identity").check()
    question(page, "q2").get_by_label("Employment history").check()
    question(page, "q3").get_by_label("False").check()
    answer_ordering(page, "q4")
    page.get_by_role("button", name="Check answers").click()


def test_a_learner_fails_reads_feedback_retries_passes_and_progress_is_kept(page, site_url):
    page.goto(site_url + MODULE)
    page.wait_for_load_state("networkidle")
    assert question(page, "q1").locator(".csbp-explanation").is_hidden()  # no peeking before answering

    question(page, "q1").get_by_label("Decorative planters").check()  # wrong
    question(page, "q2").get_by_label("Identity").check()
    question(page, "q2").get_by_label("Employment history").check()
    question(page, "q3").get_by_label("True").check()  # wrong
    answer_ordering(page, "q4")
    page.get_by_role("button", name="Check answers").click()

    result = page.locator(".csbp-quiz-result")
    assert result.inner_text() == (
        "You scored 2 of 4 (50%). The pass mark is 75%: not passed yet. "
        "Read the feedback and explanations, then try again."
    )
    wrong = question(page, "q1")
    assert wrong.locator(".csbp-option--wrong .csbp-feedback").inner_text() == (
        "Planters look protective but are usually unrated."
    )
    assert wrong.locator(".csbp-verdict").inner_text() == "Not quite."
    learn_more = wrong.locator(".csbp-learn-more a")
    assert learn_more.is_visible() and learn_more.get_attribute("href").endswith("practices/vehicle-barriers/")
    assert question(page, "q3").locator(".csbp-option--wrong .csbp-feedback").inner_text().startswith("No - a fixed")
    assert question(page, "q2").locator(".csbp-verdict").inner_text() == "Correct."
    assert page.evaluate("document.activeElement.classList.contains('csbp-quiz-result')")

    page.get_by_role("button", name="Try again").click()
    assert question(page, "q1").locator("input:checked").count() == 0
    answer_quiz_correctly(page)
    assert result.inner_text() == "You scored 4 of 4 (100%). The pass mark is 75%: passed."

    page.reload()
    page.wait_for_load_state("networkidle")
    status = page.locator(".csbp-quiz-status").inner_text()
    assert re.fullmatch(r"Your best score so far: 100% \(passed on \d{4}-\d\d-\d\d, 2 attempts\)\.", status), status

    page.goto(site_url + "modules/")
    row = page.locator("tr", has=page.locator('a[href="frontage-basics/"]'))
    assert row.locator(".csbp-progress").inner_text() == "Completed (best 100%)"
    page.goto(site_url + "modules/patrol-refresher/")
    assert page.locator('.csbp-progress[data-module="frontage-basics"]').inner_text().startswith("✓ Completed")
    page.goto(site_url + "paths/frontline-basics/")
    assert page.locator(".csbp-path-progress").first.inner_text() == "1 of 2 completed"
    assert page.js_errors == []


def test_a_wrong_order_is_marked_item_by_item(page, site_url):
    page.goto(site_url + MODULE)
    page.wait_for_load_state("networkidle")
    answer_ordering(page, "q4", correctly=False)
    page.get_by_role("button", name="Check answers").click()
    ordering = question(page, "q4")
    assert ordering.locator(".csbp-verdict").inner_text() == "Not quite."
    assert ordering.locator("li.csbp-option--wrong").count() >= 2
    assert question(page, "q1").locator(".csbp-verdict").inner_text() == "Not answered."


def test_the_whole_quiz_can_be_completed_with_the_keyboard_alone(page, site_url):
    page.goto(site_url + MODULE)
    page.wait_for_load_state("networkidle")
    inside = "document.activeElement && !!document.activeElement.closest('form.csbp-quiz')"
    for _ in range(300):  # Tab from the top of the page into the quiz
        page.keyboard.press("Tab")
        if page.evaluate(inside):
            break
    assert page.evaluate(inside), "the quiz cannot be reached with Tab"
    for _ in range(60):
        kind = page.evaluate("document.activeElement.type || document.activeElement.tagName.toLowerCase()")
        if kind == "submit":
            page.keyboard.press("Enter")
            break
        if kind in ("radio", "checkbox"):
            page.keyboard.press("Space")
        elif kind == "select-one":
            page.keyboard.press("1")  # jumps to the first position whose label starts with 1
        page.keyboard.press("Tab")
    result = page.locator(".csbp-quiz-result")
    result.wait_for()
    assert result.inner_text().startswith("You scored ")
    assert page.locator(".csbp-verdict", has_text="Not answered.").count() == 0
    assert page.evaluate("document.activeElement.getAttribute('role')") == "status"


def test_answer_order_is_shuffled_between_attempts(page, site_url):
    orders = set()
    for _ in range(8):
        page.goto(site_url + MODULE)
        page.wait_for_load_state("networkidle")
        labels = question(page, "q2").locator(".csbp-option label").all_inner_texts()
        orders.add(tuple(text.strip() for text in labels))
    assert len(orders) > 1  # 3 options: the chance of 8 identical shuffles is (1/6)^7


def test_module_and_path_pages_have_no_wcag_violations(page, site_url):
    for url in (MODULE, "modules/", "paths/frontline-basics/"):
        page.goto(site_url + url)
        page.wait_for_load_state("networkidle")
        assert wcag_violations(page) == [], url
    page.goto(site_url + MODULE)
    page.wait_for_load_state("networkidle")
    question(page, "q1").get_by_label("Decorative planters").check()
    page.get_by_role("button", name="Check answers").click()
    assert wcag_violations(page) == [], "after checking answers"
