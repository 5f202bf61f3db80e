"""Contributor text through the sanitiser and the double escape."""

from __future__ import annotations

import markdown
from hypothesis import given, settings
from hypothesis import strategies as st

from csbp import markup
from csbp.markup import markdown_block, markdown_inline, md_text, page_markdown


def test_script_event_handlers_and_dangerous_urls_are_removed():
    html = markdown_block(
        "Hi <script>alert(1)</script><img src=x onerror=alert(2)> [a](javascript:alert(3)) "
        '[b](data:text/html,x) <iframe src="https://e.invalid"></iframe> <b style="color:red">c</b>'
    )
    for bad in ("<script", "onerror", "javascript:", "data:", "<iframe", "style=", "<img"):
        assert bad not in html


def test_a_dangerous_url_in_a_plain_sentence_is_removed_and_reported():
    rendered = markup.render_markdown("See [the notice](javascript:steal) and [data](data:text/html,x) first.")
    assert "javascript:" not in rendered.html and "data:" not in rendered.html and "the notice" in rendered.html
    assert rendered.removed == ("a[href]",)


def test_links_keep_safe_schemes_and_get_noopener():
    html = markdown_block("[ISPS](https://www.imo.org/) and [mail](mailto:a@b.c)")
    assert 'href="https://www.imo.org/"' in html and 'rel="noopener noreferrer"' in html
    assert 'href="mailto:a@b.c"' in html


def test_headings_in_fields_sit_below_the_page_sections():
    assert "<h3>" in markdown_block("# Top\n\ntext") and "<h1>" not in markdown_block("# Top")


def test_inline_items_lose_only_their_paragraph():
    assert markdown_inline("**bold** item") == "<strong>bold</strong> item"


def test_plain_text_cannot_become_markdown_or_html():
    title = "[x](javascript:alert(1)) <b>*y*</b>"
    rendered = markdown.markdown(f"# {md_text(title)}")
    assert "<a" not in rendered and "<b>" not in rendered and "<em>" not in rendered
    assert "[x](javascript:alert(1))" in rendered.replace("&lt;", "<").replace("&gt;", ">")


def test_sanitised_html_is_never_reparsed_as_markdown():
    # An escaped link in contributor Markdown must stay text after the page is rendered again.
    block = markdown_block(r"\[x\](javascript:alert(1))")
    page = markdown.markdown(f"## Section\n\n{block}\n", extensions=["md_in_html"])
    assert "<a" not in page


def test_hand_written_pages_keep_headings_and_lose_scripts():
    page = page_markdown("Intro <script>x()</script>\n\n## Who *writes* it\n\nPeople.\n")
    assert "## Who writes it" in page and "<script" not in page and "People." in page


# Shortcuts in the conversion and in the removed-markup check must change nothing.
_HTML_PIECES = st.sampled_from(
    [
        "text",
        " ",
        "\n\n",
        "**b**",
        "<b>x</b>",
        "<span>",
        '<a href="https://e.org" rel="noopener noreferrer">x</a>',
        ' rel="noopener noreferrer"',
        "[l](https://e.org)",
        "[j](javascript:x)",
        "<!-- c -->",
        '<img src="x">',
        '"',
        "&",
        "<",
        "<p title='x'>",
        "`code <i>`",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_HTML_PIECES, max_size=8).map("".join))
def test_what_the_validator_reports_removed_is_what_the_sanitiser_removed(text):
    rendered = markup._to_html(text, 2)
    cleaned = markup.clean_html(rendered)
    assert markup._diff_outline(rendered, cleaned) == markup._outline_removed(rendered, cleaned)
