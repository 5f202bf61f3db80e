"""Listing pages from their rows: after an edit, only the edited entry's rows are rendered again.

A listing page (the practices index, what's new, a term or matrix page) shows one row per
entry. Its page fingerprint changes whenever any listed entry changes, and rendering
thousands of rows is most of the cost of regenerating after an edit in `csbp serve`. So a
template renders each row with `{{ reuse(macro, entry, *args) }}` (or a whole list with
`{{ reuse_each(macro, entries) }}`). After the page is
rendered, the page cache records where each row stands in its text (`PageCache.put_parts`,
under the text's SHA-256); the next time the page must be rendered, a row whose key is
unchanged is cut from the previous text (kept in memory, or read back from the docs tree,
and only if it still hashes the same) instead of being rendered.

A row's key is the template and macro, the macro's arguments and the listed entry's source
digest; the page's setting (the page fingerprint base: code, templates, audience, date,
vocabularies; and the URL style) must match too. So the rule that makes this safe: a reused
macro may show only the entry's own fields and the vocabularies, never another entry (a row
showing the titles of related practices would go stale when those change). The
warm-equals-cold tests in site_tests/test_cache.py are the guard.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context, Macro
from markupsafe import Markup

from csbp.model import Entry
from csbp.pagecache import Fingerprints, PageCache, PartKey, Parts


class Rows:
    """The rows of one render of a docs tree: taken from the pages' previous texts or rendered."""

    def __init__(self, cache: tuple[Fingerprints, PageCache] | None, directory_urls: bool) -> None:
        self.cache = cache
        self.setting = f"{cache[0].base}:{directory_urls}" if cache is not None else ""
        self.previous: dict[str, dict[PartKey, str]] = {}  # by page: rows of its previous text
        self.emitted: dict[str, list[tuple[PartKey, str]]] = {}  # by page: rows this render put in it

    def row(self, page: str, macro: Macro, template: str | None, entry: Entry, args: tuple[Hashable, ...]) -> str:
        if self.cache is None:
            return macro(entry, *args)
        fingerprints, pages = self.cache
        key: PartKey = (f"{template}:{macro.name}", fingerprints.ident(entry), args)
        previous = self.previous.get(page)
        if previous is None:
            previous = self.previous[page] = pages.previous_parts(page, self.setting)
        row = previous.get(key)
        if row is None:
            row = macro(entry, *args)
        self.emitted.setdefault(page, []).append((key, row))
        return row

    def page_done(self, page: str, text: str) -> None:
        """Record where the rows of a page just rendered stand in its text."""
        self.previous.pop(page, None)
        emitted = self.emitted.pop(page, None)
        if not emitted or self.cache is None:
            return
        parts: Parts = {}
        position = 0
        for key, row in emitted:
            found = text.find(row, position)
            if found >= 0:  # always, unless a template filters the row after `reuse`: then it is not recorded
                parts[key] = (found, found + len(row))
                position = found + len(row)
        self.cache[1].put_parts(page, text, self.setting, parts)


@pass_context
def reuse(context: Context, macro: Macro, entry: Entry, *args: Hashable) -> Markup:
    """`macro(entry, *args)` for the page being rendered; its previous text when nothing it shows changed."""
    rows: Rows | None = context.get("rows")
    if rows is None:
        return macro(entry, *args)
    return Markup(rows.row(context["page_src"], macro, context.name, entry, args))


@pass_context
def reuse_each(context: Context, macro: Macro, items: Iterable[Entry | tuple[Any, ...]]) -> Markup:
    """`reuse(macro, entry, *args)` for each item (an entry, or a tuple of an entry and the
    macro's further arguments), one per line: a long listing without a template loop."""
    rows: Rows | None = context.get("rows")
    calls = [(item[0], tuple(item[1:])) if isinstance(item, tuple) else (item, ()) for item in items]
    if rows is None:
        return Markup("\n".join(macro(entry, *args) for entry, args in calls))
    page, template = context["page_src"], context.name
    return Markup("\n".join(rows.row(page, macro, template, entry, args) for entry, args in calls))
