"""Listing pages from their rows: after an edit, only the edited entry's rows are rendered again.

A listing page (the practices index, what's new, a term or matrix page) shows one row per
entry. Its page fingerprint changes whenever any listed entry changes, and rendering
thousands of rows is most of the cost of regenerating after an edit in `csbp serve`. So a
template renders each row with `{{ reuse(macro, entry, *args) }}` (or a whole list with
`{{ reuse_each(macro, entries) }}`). After the page is rendered, the page cache keeps its rows
in memory (`PageCache.put_rows`) and, when it saves them, records where each stands in the
page's text, under the text's SHA-256. The next time the page must be rendered, a row whose
key is unchanged is taken from memory or cut from the previous text (read back from the docs
tree, and only if it still hashes the same) instead of being rendered.

A row's key is the template and macro, the macro's arguments and the listed entry's source
digest; the page's setting (the page fingerprint base: code, templates, audience, date,
vocabularies; and the URL style) must match too. So the rule that makes this safe: a reused
macro may show only the entry's own fields and the vocabularies, never another entry (a row
showing the titles of related practices would go stale when those change). The
warm-equals-cold tests in site_tests/test_cache.py are the guard.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context, Macro
from markupsafe import Markup

from csbp.model import Entry
from csbp.pagecache import Block, Fingerprints, PageCache, PartKey

_RENDER_DIRECTLY = 4


class Rows:
    """The rows of one render of a docs tree: taken from the pages' previous texts or rendered."""

    def __init__(self, cache: tuple[Fingerprints, PageCache] | None, directory_urls: bool) -> None:
        self.cache = cache
        self.setting = f"{cache[0].base}:{directory_urls}" if cache is not None else ""
        self.previous: dict[str, dict[PartKey, str]] = {}  # by page: rows of its previous text
        self.emitted: dict[str, list[Block]] = {}  # by page: the blocks of rows this render put in it

    def row(self, page: str, macro: RowMaker, template: str | None, entry: Entry, args: tuple[Hashable, ...]) -> str:
        return self.rows(page, macro, template, [entry], [args])[0]

    def rows(
        self,
        page: str,
        macro: RowMaker,
        template: str | None,
        entries: list[Entry],
        args: list[tuple[Hashable, ...]] | None = None,
    ) -> list[str]:
        """`row` for each entry of a listing (thousands per page), with its further arguments
        (`args`, one tuple per entry; none: no arguments). When the page's block at this place
        last listed as many rows, only the rows whose key changed are looked up: an edit changes
        one row of a long listing. Keys are built and compared without a Python loop per row."""
        calls = args if args is not None else itertools.repeat(())
        if self.cache is None:
            return [macro(entry, *extra) for entry, extra in zip(entries, calls, strict=False)]
        fingerprints, pages = self.cache
        name = f"{template}:{macro.name}"
        blocks = self.emitted.setdefault(page, [])
        before = pages.block(page, len(blocks), self.setting)
        memo = f"rows:{page}:{len(blocks)}"
        patched = self._patched(memo, before, name, entries, args, macro)
        if patched is not None:
            blocks.append(patched)
            fingerprints.keep(memo, (entries, name, patched[0]))
            return patched[1]
        keys: list[PartKey] = list(zip(itertools.repeat(name), fingerprints.idents(entries), calls, strict=False))
        if args is None:
            fingerprints.keep(memo, (entries, name, keys))
        if before is not None and len(before[0]) == len(keys):
            made = list(before[1])
            if before[0] != keys:
                differ = list(itertools.compress(itertools.count(), map(operator.ne, before[0], keys)))
                # An edited entry's row has a key no earlier text holds: a few are rendered
                # directly; many (a listing reordered) are looked for in the previous text first.
                look_up = len(differ) > _RENDER_DIRECTLY
                for index in differ:
                    key = keys[index]
                    made[index] = (
                        self._row(page, macro, key, entries[index]) if look_up else macro(entries[index], *key[2])
                    )
        else:
            made = [self._row(page, macro, key, entry) for key, entry in zip(keys, entries, strict=True)]
        blocks.append((keys, made))
        return made

    def _patched(
        self,
        memo: str,
        before: Block | None,
        name: str,
        entries: list[Entry],
        args: list[tuple[Hashable, ...]] | None,
        macro: RowMaker,
    ) -> Block | None:
        """The block's keys and rows when it lists the very list of entries it listed last run
        (a model index kept by `csbp serve`): those of the last run, with the rows of the edited
        entries made anew, found by their place in the list, not by comparing every key."""
        assert self.cache is not None
        fingerprints = self.cache[0]
        known: tuple[list[Entry], str, list[PartKey]] | None = fingerprints.before(memo)
        if args is not None or known is None or before is None:
            return None
        if known[0] is not entries or known[1] != name or before[0] is not known[2]:
            return None
        keys, made = list(before[0]), list(before[1])
        for entry in fingerprints.changed_entries():
            if entry not in entries:  # by identity first: the same objects
                continue
            if entries.count(entry) != 1:
                return None
            index = entries.index(entry)
            keys[index] = (name, fingerprints.ident(entry), ())
            made[index] = macro(entry)
        return keys, made

    def _row(self, page: str, macro: RowMaker, key: PartKey, entry: Entry) -> str:
        """One row: from the page's previous text if a row of that key stands there, else rendered."""
        previous = self.previous.get(page)
        if previous is None:
            previous = self.previous[page] = self.cache[1].previous_parts(page, self.setting) if self.cache else {}
        row = previous.get(key)
        return row if row is not None else macro(entry, *key[2])

    def page_done(self, page: str, text: str) -> None:
        """Record the rows of a page just rendered into `text`, for its next rendering."""
        self.previous.pop(page, None)
        blocks = self.emitted.pop(page, None)
        if not blocks or self.cache is None:
            return
        self.cache[1].put_rows(page, text, self.setting, blocks)


class _Piece:
    """A row maker written in Python (snippets.py) bound to the page being rendered: called and
    named as `Rows` calls and names a macro."""

    def __init__(self, make: Callable[..., Any], context: Context) -> None:
        self.make, self.context, self.name = make, context, make.__name__

    def __call__(self, entry: Entry, *args: Hashable) -> Any:
        return self.make(self.context, entry, *args)


RowMaker = Macro | _Piece


def _row_maker(context: Context, macro: Macro | Callable[..., Any]) -> RowMaker:
    """A template's macro as it is; a Python row maker (snippets.py: the render context first) bound to the page."""
    return macro if isinstance(macro, Macro) else _Piece(macro, context)


@pass_context
def reuse(context: Context, macro: Macro | Callable[..., Any], entry: Entry, *args: Hashable) -> Markup:
    """`macro(entry, *args)` for the page being rendered; its previous text when nothing it shows changed."""
    macro = _row_maker(context, macro)
    rows: Rows | None = context.get("rows")
    if rows is None:
        return macro(entry, *args)
    return Markup(rows.row(context["page_src"], macro, context.name, entry, args))


@pass_context
def reuse_each(context: Context, macro: Macro | Callable[..., Any], items: Iterable[Entry | tuple[Any, ...]]) -> Markup:
    """`reuse(macro, entry, *args)` for each item (entries, or tuples of an entry and the macro's
    further arguments: one or the other for the whole list), one per line: a long listing
    without a template loop."""
    macro = _row_maker(context, macro)
    rows: Rows | None = context.get("rows")
    items = items if isinstance(items, list) else list(items)
    if items and isinstance(items[0], tuple):
        entries = [item[0] for item in items]
        args: list[tuple[Hashable, ...]] | None = [tuple(item[1:]) for item in items]
    else:
        entries, args = items, None  # type: ignore[assignment]
    if rows is None:
        calls = args if args is not None else itertools.repeat(())
        return Markup("\n".join(macro(entry, *extra) for entry, extra in zip(entries, calls, strict=False)))
    return Markup("\n".join(rows.rows(context["page_src"], macro, context.name, entries, args)))
