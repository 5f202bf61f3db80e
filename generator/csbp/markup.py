"""Contributor text to safe page text: the only way contributor words reach a page.

Contributor Markdown is untrusted. It is rendered with Python-Markdown and then cleaned
with nh3 (the maintained Rust `ammonia` sanitiser) against an allow-list, so no script,
event handler, style, frame or `javascript:`/`data:` URL survives. The result is emitted
as a raw HTML block that MkDocs passes through untouched.

Plain-text fields (titles, summaries, labels) that land in Markdown context are escaped
twice: for HTML and for Markdown, so `[x](javascript:…)` in a title stays literal text.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser

import markdown
import nh3
from markdown.extensions.tables import TableExtension
from markupsafe import Markup

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}
_MARKDOWN_EXTENSIONS = [
    TableExtension(use_align_attribute=True),  # `align`, not a style attribute
    "sane_lists",
    "fenced_code",
]
_CONVERTER = markdown.Markdown(extensions=_MARKDOWN_EXTENSIONS, output_format="html")
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
_HEADING = re.compile(r"<(/?)h([1-6])\b")


PAGE_TAGS = ALLOWED_TAGS | {"h1", "h2"}


def clean_html(fragment: str, tags: set[str] = ALLOWED_TAGS) -> str:
    """Sanitise an HTML fragment against the allow-list (links get rel=noopener noreferrer)."""
    return nh3.clean(
        fragment,
        tags=tags,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


class _MarkupOutline(HTMLParser):
    """The tags and attributes of an HTML fragment, to compare it before and after cleaning."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.items.append(tag)
        self.items.extend(f"{tag}[{name}={value}]" for name, value in sorted(attrs) if name != "rel")

    def handle_comment(self, data: str) -> None:
        self.items.append("comment")


def _outline(fragment: str) -> list[str]:
    parser = _MarkupOutline()
    parser.feed(fragment)
    parser.close()
    return parser.items


def _to_html(text: str, shift: int = 0) -> str:
    """Python-Markdown on one text, with one reused converter; headings shifted down by `shift` levels."""
    return _shift_headings(_CONVERTER.reset().convert(text), shift)


_LINK_REL = ' rel="noopener noreferrer"'  # what clean_html adds to every link


def _diff_outline(rendered: str, cleaned: str) -> list[str]:
    if cleaned == rendered or (_LINK_REL in cleaned and cleaned.replace(_LINK_REL, "") == rendered):
        # Equal but for the rel links get: that string is the rel attribute or plain text (the
        # sanitiser's output escapes < in text and " in attribute values), neither in the outline.
        return []
    return _outline_removed(rendered, cleaned)


def _outline_removed(rendered: str, cleaned: str) -> list[str]:
    """Names of the tags and attributes in `rendered` that `cleaned` lacks, in order of appearance."""
    before, after = _outline(rendered), _outline(cleaned)
    removed: list[str] = []
    for item in before:
        if item in after:
            after.remove(item)
            continue
        name = re.sub(r"=.*\]$", "]", item)
        if name not in removed:
            removed.append(name)
    return removed


@dataclass(frozen=True)
class Rendered:
    """A contributor Markdown text as it goes into a page: sanitised HTML with headings from h3,
    and the names of the tags and attributes the sanitiser removed (for the validator's warning)."""

    html: str
    removed: tuple[str, ...]


@functools.lru_cache(maxsize=1 << 18)
def render_markdown(text: str) -> Rendered:
    """Render and sanitise one text. Memoised by the text alone: validation and every page that
    shows the text ask for the same rendering, which is converted once."""
    rendered = _to_html(text, 2)
    cleaned = clean_html(rendered)
    return Rendered(cleaned, tuple(_diff_outline(rendered, cleaned)))


def removed_markup(text: str, tags: set[str] = ALLOWED_TAGS) -> list[str]:
    """What the sanitiser would strip from a Markdown field (tag and attribute names), so the
    validator can warn instead of contributor text vanishing silently."""
    if tags is ALLOWED_TAGS:
        return list(render_markdown(text).removed)
    rendered = _to_html(text, 2)
    return _diff_outline(rendered, clean_html(rendered, tags))


def _shift_headings(rendered: str, shift: int) -> str:
    return _HEADING.sub(lambda m: f"<{m[1]}h{min(int(m[2]) + shift, 6)}", rendered) if shift else rendered


def markdown_block(text: str, css_class: str = "csbp-prose") -> Markup:
    """A Markdown field as a sanitised raw-HTML block; its headings start at h3 below the page's h2s."""
    body = render_markdown(text).html
    return Markup(f'<div class="{css_class}">\n{body}\n</div>')


def markdown_inline(text: str) -> Markup:
    """A short Markdown item (list entry, feedback) as sanitised inline HTML without its <p> wrapper."""
    body = render_markdown(text).html.strip()
    if body.startswith("<p>") and body.endswith("</p>") and body.count("<p>") == 1:
        body = body[3:-4]
    return Markup(body)


def plain(text: str) -> str:
    """Collapse whitespace of a plain-text field (summaries folded over lines in YAML)."""
    return " ".join(str(text).split())


def md_text(value: object) -> Markup:
    """Plain text made safe for Markdown context: HTML-escaped, then Markdown-escaped."""
    if isinstance(value, Markup):
        return value
    escaped = html.escape(re.sub(r"\s+", " ", str(value)), quote=True)
    return Markup(_MARKDOWN_SPECIALS.sub(r"\\\1", escaped))


def page_markdown(text: str, rewrite_href: Callable[[str], str] | None = None) -> str:
    """A hand-written Markdown page, sanitised, with its headings kept as Markdown headings.

    Headings stay Markdown so MkDocs builds the table of contents and search sections;
    everything between them becomes sanitised raw HTML. Because the engine does not
    rewrite links inside raw HTML, `rewrite_href` turns links to `.md` files into URLs.
    """
    rendered = clean_html(_to_html(text), PAGE_TAGS)
    if rewrite_href is not None:
        rendered = re.sub(
            r'href="([^"]*)"',
            lambda m: f'href="{html.escape(rewrite_href(html.unescape(m.group(1))), quote=True)}"',
            rendered,
        )
    parts = re.split(r"<h([1-6])>(.*?)</h\1>", rendered, flags=re.S)
    out: list[str] = []
    for index in range(0, len(parts), 3):
        chunk = parts[index].strip()
        if chunk:
            out.append(f'<div class="csbp-prose" markdown="0">\n{chunk}\n</div>')
        if index + 2 < len(parts):
            level, inner = int(parts[index + 1]), parts[index + 2]
            words = html.unescape(re.sub(r"<[^>]+>", "", inner))
            out.append("#" * level + " " + md_text(words))
    return "\n\n".join(out) + "\n"
