"""Contributor text to safe page text: the only way contributor words reach a page.

Contributor Markdown is untrusted. It is rendered with Python-Markdown and then cleaned
with nh3 (the maintained Rust `ammonia` sanitiser) against an allow-list, so no script,
event handler, style, frame or `javascript:`/`data:` URL survives. The result is emitted
as a raw HTML block that MkDocs passes through untouched.

Plain-text fields (titles, summaries, labels) that land in Markdown context are escaped
twice: for HTML and for Markdown, so `[x](javascript:…)` in a title stays literal text.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import re
from collections.abc import Callable, Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import markdown
import nh3
from markdown.extensions.tables import TableExtension
from markupsafe import Markup

from csbp import cachefile
from csbp.parallel import fork_map

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
# Renderings saved by a build are reused only by the same code: any change here invalidates them.
SOURCE_STAMP = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
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


# What `_paragraphs` checks a line as once its spans are matched: each `**strong**` span and each
# link one mark. A plain line may start with and hold a mark; link words may not (neither may they
# hold the <strong> the line becomes, so `[**a**](u)` goes to the converter). Printable lines, the
# only ones `_paragraphs` takes, never hold these control characters.
_STRONG_MARK, _LINK_MARK = "\x01", "\x02"
# One line of words and plain punctuation, starting with a letter or a digit (not a numbered list
# item): no character that starts a Markdown construct, an entity or HTML, nothing the converter
# normalises (tabs, odd spaces).
_PLAIN_LINE = re.compile(rf"(?!\d+\.)[A-Za-z0-9{_STRONG_MARK}{_LINK_MARK}][^\\`*_{{}}\[\]<>&#|~!\n]*")
# A `**strong**` span of such words, not touching another asterisk: the converter makes it
# <strong> wherever it stands in a line that is otherwise plain.
_STRONG = re.compile(r"(?<!\*)\*\*([A-Za-z0-9](?:[^\\`*_{}\[\]<>&#|~!\n]*[^\s\\`*_{}\[\]<>&#|~!])?)\*\*(?!\*)")
# An inline `[words](url)` link: words as in a plain line, a URL of characters the converter copies
# to the href unchanged (no space, quote, bracket, parenthesis, `&`, `<` or `*`). The sanitiser
# still judges the URL afterwards, as it does the converter's links.
_LINK = re.compile(
    rf"\[([A-Za-z0-9][^\\`*_{{}}\[\]<>&#|~!\n{_STRONG_MARK}{_LINK_MARK}]*)\]\(([A-Za-z0-9:/._~%?=#+@,;-]+)\)"
)
_BLANK_LINES = re.compile(r"\n\n+")
# Lines that are each a `_PLAIN_LINE`: a paragraph checked in one match.
_PLAIN_LINES = re.compile(rf"{_PLAIN_LINE.pattern}(?:\n{_PLAIN_LINE.pattern})*")


def _to_html(text: str, shift: int = 0) -> str:
    """Python-Markdown on one text, with one reused converter (building a converter costs more
    than converting a paragraph); headings shifted down by `shift` levels. Most entry text takes
    the `_shortcut` instead."""
    shortcut = _shortcut(text)
    if shortcut is not None:
        return shortcut
    return _shift_headings(_CONVERTER.reset().convert(text), shift)


def _shortcut(text: str) -> str | None:
    """The converter's output, without the converter, for a plain line (many list items and short
    fields are one) and for paragraphs of such lines with `**strong**` spans and inline links
    (most entry text); None for anything else. site_tests/test_markup.py holds it to the converter."""
    if _is_plain(text):
        line = text.removesuffix("\n")
        return f"<p>{line}</p>"
    return _paragraphs(text)


def _paragraphs(text: str) -> str | None:
    """The converter's output for paragraphs of plain lines with `**strong**` spans and `[inline](links)`,
    the shape of most entry text; None for anything else (a line that could start a list, a heading, a quote,
    code or HTML, a trailing space that could make a line break, a span across lines).

    Each paragraph is looked at whole: spans cannot cross a line (their patterns exclude line breaks),
    so marking them in the paragraph marks them in each of its lines."""
    paragraphs: list[str] = []
    for block in _BLANK_LINES.split(text.strip("\n")):
        if not block.replace("\n", " ").isprintable() or block.endswith(" ") or " \n" in block:
            return None
        pieces = _STRONG.split(block) if "**" in block else None  # words, span, words, span, …, words
        plain = _STRONG_MARK.join(pieces[::2]) if pieces is not None else block
        if "[" in plain:
            plain = _LINK.sub(_LINK_MARK, plain)
        if _PLAIN_LINES.fullmatch(plain) is None:
            return None
        if pieces is not None:
            pieces[1::2] = [f"<strong>{span}</strong>" for span in pieces[1::2]]
            block = "".join(pieces)
        if "[" in block:
            block = _LINK.sub(r'<a href="\2">\1</a>', block)
        paragraphs.append(f"<p>{block}</p>")
    return "\n".join(paragraphs)


def _is_plain(text: str) -> bool:
    line = text.removesuffix("\n")
    return line.isprintable() and _PLAIN_LINE.fullmatch(line) is not None


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


def _render_and_cost(text: str) -> tuple[tuple[str, tuple[str, ...]], bool]:
    """(sanitised HTML with headings from h3, names of what the sanitiser removed), and whether it
    was cheap: the shortcut's output for a text without a link is
    already clean (only <p> and <strong> around text with no `<`, `>` or `&`, which the sanitiser
    returns unchanged: a test feeds it every such character); a link's URL is always judged by
    the sanitiser. A cheap rendering costs less to make again than to save and read back."""
    if "[" not in text:
        shortcut = _shortcut(text)
        if shortcut is not None:
            return (shortcut, ()), True
    rendered = _to_html(text, 2)
    cleaned = clean_html(rendered)
    return (cleaned, tuple(_diff_outline(rendered, cleaned))), False


def _texts(value: Any) -> Iterator[str]:
    """Every text in nested data (dicts, lists, tuples), in order."""
    todo = [value]
    while todo:
        value = todo.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            todo.extend(reversed(value.values()))
        elif isinstance(value, list | tuple):
            todo.extend(reversed(value))


Rendering = tuple[str, tuple[str, tuple[str, ...]]]  # a text and its (HTML, removed markup)


class RenderCache:
    """Each contributor Markdown text rendered once per build, and across builds when saved.

    Validation needs the rendered text to warn about what the sanitiser strips; the pages need
    the same rendering. Both read it from here, keyed by the text itself, so no text is
    converted twice. `save` keeps what this run used and the renderings of every text still in
    the sources (`live`): a warm build validates and renders little, and must not forget the rest.
    Cheap renderings (`_render_and_cost`: most entry text) are not saved: made again when needed.
    """

    VERSION = "2"

    def __init__(self) -> None:
        self.rendered: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.cheap: set[str] = set()  # texts whose rendering is cheaper to make again than to save
        self.used: set[str] = set()
        self._journal: list[Rendering] | None = None  # see `journal`
        self.live: list[Any] = []  # the sources' data (nested), set by validation: their texts stay saved
        self.dirty = True  # saved only when a text was rendered or first used since the last save
        self.unread: Path | None = None  # a saved file not read yet (`load`)

    def get(self, text: str) -> tuple[str, tuple[str, ...]]:
        """(sanitised HTML with headings from h3, names of what the sanitiser removed)."""
        hit = self.rendered.get(text)
        if hit is None and self.unread is not None:
            self.read()
            hit = self.rendered.get(text)
        if hit is None:
            hit = self._store(text, *_render_and_cost(text))
        if text not in self.used:
            self.used.add(text)
            self.dirty = True
            if self._journal is not None:
                self._journal.append((text, hit))
        return hit

    @contextlib.contextmanager
    def journal(self) -> Iterator[list[Rendering]]:
        """The texts first used inside, with their renderings: what a forked worker hands back
        to the parent (`adopt`), whose cache would otherwise never hear of them."""
        self._journal = journal = []
        try:
            yield journal
        finally:
            self._journal = None

    def adopt(self, renderings: Iterable[Rendering]) -> None:
        """Take over texts a worker used (from its `journal`) as if this process had used them."""
        for text, hit in renderings:
            self.rendered.setdefault(text, hit)
            if text not in self.used:
                self.used.add(text)
                self.dirty = True

    def prefetch(self, values: Iterable[Any]) -> None:
        """Render ahead, across cores, every text in `values` (nested data) that may be Markdown and
        is not rendered yet: a cold build's conversions, before validation asks for them one by one.

        Which fields are Markdown is the schema's business; this takes every text that is not a
        plain line (those cost nothing), so a few non-Markdown texts are rendered in vain. Nothing
        here counts as used: only what `get` is asked for is saved."""
        candidates = [text for value in values for text in _texts(value) if not _is_plain(text)]
        if not candidates:  # nothing to validate anew: the saved renderings may stay unread
            return
        self.read()
        wanted = dict.fromkeys(text for text in candidates if text not in self.rendered)
        for text, (hit, cheap) in zip(wanted, fork_map(_render_and_cost, list(wanted)), strict=True):
            self._store(text, hit, cheap)

    def _store(self, text: str, hit: tuple[str, tuple[str, ...]], cheap: bool) -> tuple[str, tuple[str, ...]]:
        """Keep a rendering; a cheap one is not saved (`save`)."""
        self.rendered[text] = hit
        if cheap:
            self.cheap.add(text)
        return hit

    @staticmethod
    def _stamp() -> str:
        return f"{RenderCache.VERSION}:{markdown.__version__}:{getattr(nh3, '__version__', '')}:{SOURCE_STAMP}"

    def load(self, path: Path) -> None:
        """Take over renderings saved by an earlier build, when first needed: a build that renders no
        page anew (nothing changed) never reads them."""
        self.unread = path
        self.dirty = False

    def read(self) -> None:
        """Read the saved renderings now (before forking workers that will need them); a missing,
        forged, stale or malformed file is ignored.

        The file holds sanitised HTML that goes into pages as is, hence the signature check in `cachefile`.
        """
        if self.unread is None:
            return
        path, self.unread = self.unread, None
        data = cachefile.read(path, self._stamp())
        rendered = data.get("rendered") if data is not None else None
        if not isinstance(rendered, dict):
            return
        for text, item in rendered.items():
            if (
                isinstance(item, list)
                and len(item) == 2
                and isinstance(item[0], str)
                and isinstance(item[1], list)
                and all(isinstance(name, str) for name in item[1])
            ):
                self.rendered.setdefault(text, (item[0], tuple(item[1])))

    def save(self, path: Path) -> None:
        if not self.dirty:
            return
        self.read()  # the saved renderings of texts still in the sources are kept
        self.dirty = False
        wanted = self.used.union(text for text in _texts(self.live) if text in self.rendered) - self.cheap
        kept = {text: [self.rendered[text][0], list(self.rendered[text][1])] for text in sorted(wanted)}
        cachefile.write(path, self._stamp(), {"rendered": kept})


CACHE = RenderCache()
_PAGE_HTML: dict[str, str] = {}  # hand-written pages, sanitised, for the life of the process (`csbp serve`)


def removed_markup(text: str, tags: set[str] = ALLOWED_TAGS) -> list[str]:
    """What the sanitiser would strip from a Markdown field (tag and attribute names), so the
    validator can warn instead of contributor text vanishing silently."""
    if tags is ALLOWED_TAGS:
        return list(CACHE.get(text)[1])
    rendered = _to_html(text, 2)
    return _diff_outline(rendered, clean_html(rendered, tags))


def _shift_headings(rendered: str, shift: int) -> str:
    return _HEADING.sub(lambda m: f"<{m[1]}h{min(int(m[2]) + shift, 6)}", rendered) if shift else rendered


def markdown_block(text: str, css_class: str = "csbp-prose") -> Markup:
    """A Markdown field as a sanitised raw-HTML block; its headings start at h3 below the page's h2s."""
    body = CACHE.get(text)[0]
    return Markup(f'<div class="{css_class}">\n{body}\n</div>')


def markdown_inline(text: str) -> Markup:
    """A short Markdown item (list entry, feedback) as sanitised inline HTML without its <p> wrapper."""
    body = CACHE.get(text)[0].strip()
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
    rendered = _PAGE_HTML.get(text)
    if rendered is None:
        rendered = _PAGE_HTML[text] = clean_html(_to_html(text), PAGE_TAGS)
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
