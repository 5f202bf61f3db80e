"""The built site's search index, made small enough for a phone (the site stage's part of searchindex.py).

After the engine has built the site, a small handbook's index is trimmed if it is over the
full-text budget, and a large handbook's entry pages and listings, left out of the engine's
index, get the compact records `searchindex` describes, written from the built pages.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

from csbp.searchindex import ARTICLE, COMPACT_MARK, PARAGRAPH, kept_text, page_kind
from csbp.shards import engine_order
from csbp.urls import page_url

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _trimmed(record: dict[str, Any]) -> dict[str, Any] | None:
    """The record to keep in place of `record`, or None to drop it."""
    page, _, section = str(record.get("location", "")).partition("#")
    if page_kind(page) is None:
        return record
    if section:
        return None
    return {**record, "text": kept_text(page, PARAGRAPH.findall(str(record.get("text", ""))))}


# Up to this size (a few hundred entries) the index keeps every page's full text, so a word from
# any step or pitfall finds its practice; above it, entries are trimmed.
FULL_TEXT_BUDGET = 4_000_000


def trim_search_index(site: Path, budget: int = FULL_TEXT_BUDGET) -> tuple[int, int] | None:
    """Trim `site`'s search index in place if it is over `budget` bytes; (bytes before, bytes
    after), or None if there is none or it is within budget."""
    path = site / "search" / "search_index.json"
    try:
        raw = path.read_bytes()
        if len(raw) <= budget:
            return None
        index = json.loads(raw)
    except (OSError, ValueError):
        return None
    if not isinstance(index, dict) or not isinstance(index.get("docs"), list):
        return None
    kept = [trimmed for record in index["docs"] if (trimmed := _trimmed(record)) is not None]
    data = json.dumps({**index, "docs": kept}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    path.write_bytes(data)
    return len(raw), len(data)


def add_compact_records(site: Path, docs_dir: Path) -> int:
    """Add the record of every entry page marked compact to `site`'s search index, in page order
    (where the engine would have put its records); how many were added."""
    path = site / "search" / "search_index.json"
    if not path.is_file():
        return 0
    pages = [src for src in engine_order(docs_dir) if src.endswith(".md")]
    marked = {src: meta for src in pages if (meta := _compact_meta(docs_dir / src)) is not None}
    if not marked:
        return 0
    index = json.loads(path.read_bytes())
    by_page: dict[str, list[dict[str, Any]]] = {}
    for record in index["docs"]:
        by_page.setdefault(str(record.get("location", "")).partition("#")[0], []).append(record)
    made = [_compact_record(site, (page_url(src), meta)) for src, meta in marked.items()]
    compact = dict(zip(marked, made, strict=True))
    docs: list[dict[str, Any]] = []
    for src in pages:
        if src in compact:
            docs.append(compact[src])
        else:
            docs.extend(by_page.pop(page_url(src), []))
    docs.extend(record for records in by_page.values() for record in records)  # pages named otherwise
    path.write_text(json.dumps({**index, "docs": docs}, separators=(",", ":"), default=str), "utf-8")
    return len(marked)


def _compact_meta(source: Path) -> dict[str, Any] | None:
    """The front matter of a docs page marked compact, else None (read only as far as needed)."""
    with source.open(encoding="utf-8") as page:
        head = page.read(4096)
        if not head.startswith("---\n"):
            return None
        if "\n---\n" not in head:  # a long front matter
            head += page.read()
    front = head[4:].split("\n---\n", 1)[0]
    if COMPACT_MARK not in front:
        return None
    meta = yaml.load(front, Loader=_LOADER)
    return meta if isinstance(meta, dict) else None


def _compact_record(site: Path, page: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """The record of a page as `_trimmed` keeps it from the engine's: the page title, the paragraphs
    before the first section heading (a listing: the first), an entry's id; tags and boost from the
    front matter."""
    location, meta = page
    built = (site / location / "index.html").read_text("utf-8")
    content = built.split(ARTICLE, 1)[1].split("</article>", 1)[0]
    heading = re.search(r"<h1\b[^>]*>(.*?)</h1>", content, re.S)
    title = heading.group(1) if heading else ""
    first = content[heading.end() if heading else 0 :]
    section = re.search(r"<h[1-6]\b[^>]*\bid=", first)
    title_text = re.sub(r"<a class=\"headerlink\".*?</a>", "", title, flags=re.S)
    record: dict[str, Any] = {
        "location": location,
        "title": html.escape(html.unescape(re.sub(r"<[^>]+>", "", title_text)), quote=False).strip(),
        "text": kept_text(location, _paragraphs(first[: section.start()] if section else first)),
    }
    tags = meta.get("tags")
    if isinstance(tags, list):
        record["tags"] = [str(tag) for tag in tags if tag and isinstance(tag, (str, int, float, bool))]
    search = meta.get("search") or {}
    if "boost" in search:
        record["boost"] = search["boost"]
    return record


def _paragraphs(fragment: str) -> list[str]:
    """The paragraphs of an HTML fragment as the engine's index holds them (`<p>` and text).

    Only paragraphs survive trimming, and a paragraph holds no block, so each is read on its own
    (a page's head holds long lists of badges that need not be parsed). As the engine does, an
    empty paragraph is dropped unless a paragraph with text came before it."""
    kept: list[str] = []
    for raw in PARAGRAPH.findall(fragment):
        parser = _Paragraphs()
        parser.feed(raw)
        parser.close()
        text = "".join(parser.text).strip()
        if text == "<p></p>" or not text:
            if kept:
                kept.append("<p></p>")
            continue
        kept.extend(PARAGRAPH.findall(text))
    return kept


class _Paragraphs(HTMLParser):
    """A section's text as the engine's search indexes it: tags dropped but for paragraphs (and the
    few other tags Material keeps), whitespace collapsed, text escaped."""

    KEEP = frozenset({"p", "code", "pre", "li", "ol", "ul", "sub", "sup"})
    SKIP = frozenset({"script", "style", "object"})
    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param"})

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.context: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID or tag in ("source", "track", "wbr"):
            return
        self.context.append(tag)
        if tag in self.KEEP and not self.SKIP.intersection(self.context):
            self.text.append(f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if not self.context or self.context[-1] != tag:
            return
        self.context.pop()
        if tag in self.KEEP and not self.SKIP.intersection(self.context):
            opened = self.text.index(f"<{tag}>")  # the first, as the engine looks it up
            if all(part.isspace() for part in self.text[opened + 1 :]):
                del self.text[opened:]
            else:
                self.text.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self.SKIP.intersection(self.context):
            return
        if "pre" not in self.context:
            data = " " if data.isspace() else data.replace("\n", " ")
        if data.isspace():
            if not self.text or not self.text[-1].isspace() or "pre" in self.context:
                self.text.append(data)
        else:
            self.text.append(html.escape(data, quote=False))
