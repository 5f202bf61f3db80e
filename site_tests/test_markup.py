"""Contributor text through the sanitiser and the double escape."""

from __future__ import annotations

import markdown
from hypothesis import example, given, settings
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


def test_a_dangerous_url_in_a_plain_sentence_is_removed_and_reported(monkeypatch):
    monkeypatch.setattr(markup, "_CONVERTER", None)  # the sentence takes the shortcut, not the converter
    html, removed = markup._render_and_cost("See [the notice](javascript:steal) and [data](data:text/html,x) first.")[0]
    assert "javascript:" not in html and "data:" not in html and "the notice" in html
    assert removed == ("a[href]",)


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
def converter_output(text: str) -> str:
    return markup._shift_headings(markup._CONVERTER.reset().convert(text), 2)


_MARKDOWN_ALPHABET = st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from(
    list("aZ 1.-+=:;'\"()/%$@^?,#*_`[]<>&|~!{}\\\t\r\n\xa0\u2028\u3000")
)


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet=_MARKDOWN_ALPHABET, max_size=30), st.booleans())
def test_a_plain_line_is_rendered_as_the_converter_renders_it(text, lead_with_a_letter):
    text = f"A{text}" if lead_with_a_letter else text
    assert markup._to_html(text, 2) == converter_output(text)


_PARAGRAPH_PIECES = st.sampled_from(
    ["**", "*", "a", "Bold", "1", "2.", " ", "  ", ".", ":", "'", "(x)", "-", "=", "\t", "\xa0", "_", "`", "[", "#"]
) | st.sampled_from(["\n", "\n\n", "\n\n\n", "\n ", "\n    ", "\n- ", "\n1. ", "\n> ", "\n<b>", "\n===", "\n---"])


@settings(max_examples=4000, deadline=None)
@given(st.lists(_PARAGRAPH_PIECES, max_size=14).map("".join))
def test_paragraphs_with_strong_spans_are_rendered_as_the_converter_renders_them(text):
    assert markup._to_html(text, 2) == converter_output(text)


_LINE = st.lists(
    st.sampled_from(
        ["a", "Bold", "1", "2.", " ", "  ", "**x**", "**two words**", "**", ".", ":", "(x)", "'", "-", "="]
    ),
    min_size=1,
    max_size=6,
).map("".join)


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.tuples(_LINE, st.sampled_from(["\n", "\n\n", "\n\n\n", ""])), min_size=2, max_size=6))
def test_text_of_several_plain_lines_is_rendered_as_the_converter_renders_it(lines):
    text = "".join(line + end for line, end in lines)
    assert markup._to_html(text, 2) == converter_output(text)


# Pieces of links and of near-links: whole links, their parts, and URLs the shortcut must leave alone.
_LINK_PIECES = (
    _PARAGRAPH_PIECES
    | st.sampled_from(["[", "]", "(", ")", "![", "\\[", "[a]", "[Guide](", "](", "[1.](", "[a ](", "[ a]("])
    | st.sampled_from(["[**a**](", "[two words](", "[a (b)](", "<u>", '"t"', "a%20b", "u_v__w", "u*v", "u&v"])
    | st.sampled_from(["https://e.org/p/1", "u\tv", "#f", "mailto:a@b.c", "javascript:x"])
    | st.sampled_from(["[a](u)", "[Guide](https://e.org/p/1)", "[a b](#f)", "[1](u.v)", "[x](javascript:x)"])
)


@settings(max_examples=4000, deadline=None)
@given(st.lists(_LINK_PIECES, max_size=14).map("".join))
@example("[**a**](a)")  # strong words in a link: found by this test, once
@example("**[a](b)**")
@example("**a**[b](c) and [d](e)**f**")
def test_paragraphs_with_inline_links_are_rendered_as_the_converter_renders_them(text):
    assert markup._to_html(text, 2) == converter_output(text)


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["See ", "", "**Note.** ", "Read ", "1 "]),
            st.text(alphabet=st.sampled_from(list("aB1 .:,;'()=-/?")), min_size=1, max_size=8),
            st.text(alphabet=st.sampled_from(list("aZ9:/._~%?=#+@,;-")), min_size=1, max_size=12),
            st.sampled_from([".", " and more", "", ", then", "(x)"]),
            st.sampled_from(["\n", "\n\n", " "]),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_sentences_with_links_are_rendered_as_the_converter_renders_them(sentences):
    text = "".join(f"{lead}[{words}]({url}){tail}{end}" for lead, words, url, tail, end in sentences)
    assert markup._to_html(text, 2) == converter_output(text)


def test_the_sanitiser_leaves_every_character_of_a_plain_line_as_it_is():
    # Why `_render` may skip the sanitiser for link-free shortcut output: every printable
    # character a plain line may hold comes back unchanged, inside <p> and <strong> alike.
    allowed = [
        chr(code)
        for code in range(0x20, 0x110000)
        if not 0xD800 <= code < 0xE000 and chr(code).isprintable() and markup._PLAIN_LINE.fullmatch(f"a{chr(code)}")
    ]
    assert len(allowed) > 100_000 and "'" in allowed and '"' in allowed
    fragment = "<p><strong>" + "".join(allowed) + "</strong>\n" + "".join(allowed) + "</p>\n<p>x</p>"
    assert markup.clean_html(fragment) == fragment


@settings(max_examples=1500, deadline=None)
@given(st.lists(_LINK_PIECES, max_size=14).map("".join))
def test_rendering_with_or_without_the_sanitiser_shortcut_agrees(text):
    rendered = converter_output(text)
    cleaned = markup.clean_html(rendered)
    assert markup._render_and_cost(text)[0] == (cleaned, tuple(markup._outline_removed(rendered, cleaned)))


def test_strong_spans_and_dates_take_the_shortcut(monkeypatch):
    texts = ["Use **bold** twice: **here** and**there**.", "**Care.** Check it", "2025-06-04", "3 gates"]
    texts.append("**Receive.** Agree how a change will be\nnotified, and keep a log.\n\nTest it **twice** a year.\n")
    texts.append("See the [published guidance](https://example.org/p/7) and [its annex](https://e.org/a#b).\n")
    expected = {text: converter_output(text) for text in texts}
    monkeypatch.setattr(markup, "_CONVERTER", None)  # a conversion would now fail
    for text in texts:
        assert markup._to_html(text, 2) == expected[text]


def test_plain_lines_take_the_shortcut_and_markup_does_not():
    assert markup._PLAIN_LINE.fullmatch("Check every pass at the gate, twice.")
    for text in ("1. item", "Use **bold**", "a <b>tag</b>", "- item", "# heading", "Tom & Jerry", "a | b"):
        assert not markup._PLAIN_LINE.fullmatch(text), text


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
def test_the_removed_markup_shortcut_agrees_with_the_full_outline_diff(text):
    rendered = markup._to_html(text, 2)
    cleaned = markup.clean_html(rendered)
    assert markup._diff_outline(rendered, cleaned) == markup._outline_removed(rendered, cleaned)
