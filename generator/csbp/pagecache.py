"""Warm rebuilds: a page whose inputs are unchanged since the last build is not rendered again.

Each page gets a fingerprint of everything it is made from: the generator's code and
templates, the audience, the URL style, today's date (overdue notices), the vocabularies,
and the source digests of the entries it shows. An entry's page shows the entry and the
entries it links to or is linked from (titles, summaries), never entries two links away,
so its fingerprint covers the entry and its direct neighbours in the model. Index pages
cover every entry of the kinds they list (the practices index: all; the training tools:
modules and paths; browse and glossary: none, only the vocabularies), or only the fields
they show of every entry (`Fingerprints.shown`: the home page's counts and recent entries,
what's new's histories, a vocabulary's term counts). A template that starts showing data
from further away must widen its page's fingerprint; the warm-equals-cold tests in
site_tests/test_cache.py are the guard.

In one process, an entry page's fingerprint is worked out again only around the entries
whose source changed since the last run (`EntryPrints`).

Within one process (`csbp serve`) outputs are kept in memory. Across processes (repeated
`csbp build`) the signed cache file records each page's fingerprint and the SHA-256 of its
output; the page already in the docs tree is reused only if its bytes still hash to that.

A listing page whose fingerprint changed is rendered again, but the rows of its unchanged
entries are cut from its previous text (`PageCache.previous_parts`, see fragments.py).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from csbp import cachefile
from csbp.config import TEMPLATE_DIR, FileStamp, settled
from csbp.model import Entry, Handbook, LessonPoint, PathStep, Question
from csbp.searchindex import compact_search

VERSION = "2"


def _sha(*parts: str) -> str:
    """SHA-256 of the parts, each followed by a NUL byte (joined first: one update, not two per part)."""
    return (
        hashlib.sha256(("\0".join(parts) + "\0").encode("utf-8")).hexdigest() if parts else hashlib.sha256().hexdigest()
    )


@functools.cache
def code_stamp() -> str:
    """The generator's Python code: a changed module may change any page."""
    package = Path(__file__).resolve().parent
    return _sha(VERSION, *(path.read_bytes().hex() for path in sorted(package.rglob("*.py"))))


# The templates' stat stamps at the last reading, and their stamp then.
_TEMPLATES: list[Any] = [None, ""]


def templates_stamp() -> str:
    """The templates, looked at on every run: `csbp serve` picks up a template edited meanwhile.
    They are read again only when a file's stat moved, as Jinja reloads a template it compiled."""
    files = sorted(path for path in TEMPLATE_DIR.rglob("*") if path.is_file())
    stats = [(path, path.stat()) for path in files]
    stamps = [(str(path), FileStamp.of(status)) for path, status in stats]
    if stamps == _TEMPLATES[0]:
        return _TEMPLATES[1]
    stamp = _sha(
        *(f"{path.relative_to(TEMPLATE_DIR)}:{hashlib.sha256(path.read_bytes()).hexdigest()}" for path in files)
    )
    trusted = all(settled(status.st_mtime_ns) for _path, status in stats)
    _TEMPLATES[:] = [stamps if trusted else None, stamp]
    return stamp


def linked_entries(entry: Entry) -> list[tuple[str, list[Entry]]]:
    """The entries a page of `entry` may show besides itself, field by field, in model order."""
    linked: list[tuple[str, list[Entry]]] = []
    for name in _link_fields(type(entry)):
        value = getattr(entry, name)
        found: list[Entry] = []
        for element in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(element, Entry):
                found.append(element)
            elif isinstance(element, LessonPoint):
                found.extend(element.practices)
            elif isinstance(element, PathStep):
                found.append(element.module)
            elif isinstance(element, Question) and element.practice is not None:
                found.append(element.practice)
        if found:
            linked.append((name, found))
    return linked


def _neighbour_keys(entry: Entry) -> list[EntryKey]:
    return [(e.kind, e.id) for _name, entries in linked_entries(entry) for e in entries]


def _bytes(content: str | bytes) -> bytes:
    return content if isinstance(content, bytes) else content.encode("utf-8")


_LINKING = (Entry, LessonPoint, PathStep, Question)  # the values `linked_entries` looks into


@functools.cache
def _link_fields(kind: type[Entry]) -> tuple[str, ...]:
    """The fields of an entry type whose declared type can hold a linking value, in model order:
    read from the type hints once, so fingerprinting does not look into every text field."""
    hints = typing.get_type_hints(kind)
    return tuple(item.name for item in dataclasses.fields(kind) if _can_link(hints[item.name]))


def _can_link(hint: Any) -> bool:
    if isinstance(hint, type) and issubclass(hint, _LINKING):
        return True
    return any(_can_link(argument) for argument in typing.get_args(hint))


EntryKey = tuple[str, str]  # (kind, id)


@dataclasses.dataclass
class EntryPrints:
    """The entry-page fingerprints of one run, with what each was made from: handed to the next
    run of the same process (`csbp serve`), which recomputes only those an edit can change."""

    base: str
    digests: Mapping[EntryKey, str]
    entries: dict[EntryKey, tuple[str, tuple[EntryKey, ...]]]  # fingerprint, the neighbours it covers
    # Listing keys by name: the very list they were worked out from, its entries, the key.
    listings: dict[str, tuple[list[Entry], frozenset[EntryKey], str]] = dataclasses.field(default_factory=dict)
    # What the renderer worked out from many entries, with what tells whether it still holds
    # (`Fingerprints.before`/`keep`).
    memo: dict[str, Any] = dataclasses.field(default_factory=dict)
    # The model's entry tables (the very dicts) and each entry's ident by id(): taken over while
    # the next run's model has the same tables (the same entry objects, kept alive by them).
    tables: tuple[Mapping[str, Entry], ...] = ()
    idents: dict[int, str] = dataclasses.field(default_factory=dict)


class Fingerprints:
    """Fingerprints of one handbook's pages, from the digests of its source files.

    With the `EntryPrints` of the previous run, an entry page's fingerprint is taken over unless
    its own source or a neighbour's changed, appeared or went: the fingerprint covers the entry and
    its direct neighbours, and links are symmetric in the model (a link's target lists its
    source), so the pages an edit of entry E can change are E's and those of its neighbours
    before and after the edit."""

    def __init__(
        self,
        handbook: Handbook,
        digests: Mapping[EntryKey, str],
        base: str,
        previous: EntryPrints | None = None,
    ) -> None:
        self.digests = digests
        self._idents: dict[int, str] = {}  # by id() of the entry: asked for tens of thousands of times
        compact = f"compact-search:{compact_search(len(handbook.entries()))}"  # changes every entry page's head
        self.base = _sha(base, code_stamp(), templates_stamp(), handbook.audience, handbook.today.isoformat(), compact)
        self.handbook = handbook
        self._of_kinds: dict[tuple[str, ...], str] = {}
        tables = (handbook.practices, handbook.lessons, handbook.modules, handbook.paths)
        self.prints = EntryPrints(self.base, digests, {}, tables=tables)
        self._previous: dict[EntryKey, tuple[str, tuple[EntryKey, ...]]] = {}
        self._stale: set[EntryKey] = set()
        self._changed: set[EntryKey] | None = None  # since `previous`, when it can be taken over
        self._listings: dict[str, tuple[list[Entry], frozenset[EntryKey], str]] = {}
        self._memo: dict[str, Any] = {}
        self._changed_entries: list[Entry] | None = None
        entries = handbook.entries()
        if previous is not None and previous.base == self.base and all(digests.values()):
            self._previous = previous.entries
            self._listings = previous.listings
            self._memo = previous.memo
            self._changed = {key for key, _digest in previous.digests.items() ^ digests.items()}
            self._stale = self._changed_around(previous, self._changed)
            if len(previous.tables) == len(tables) and all(
                a is b for a, b in zip(previous.tables, tables, strict=True)
            ):
                self._idents = dict(previous.idents)  # the same entry objects: only the edited ones differ
                for kind, eid in self._changed:
                    entry = handbook.of_kind(kind).get(eid)
                    if entry is not None:
                        self._idents.pop(id(entry), None)
                        self.ident(entry)
        if len(self._idents) != len(entries):
            self._idents = {}
            for entry in entries:
                self.ident(entry)
        self.prints.idents = self._idents
        self.everything = _sha(self.base, *map(self._idents.__getitem__, map(id, entries)))

    def _changed_around(self, previous: EntryPrints, changed: set[EntryKey]) -> set[EntryKey]:
        """The entries whose source changed, appeared or went since `previous` (`changed`), and
        their neighbours then and now."""
        stale = set(changed)
        for kind, eid in changed:
            before = previous.entries.get((kind, eid))
            if before is not None:
                stale.update(before[1])
            entry = self.handbook.of_kind(kind).get(eid)
            if entry is not None:
                stale.update(_neighbour_keys(entry))
        return stale

    def ident(self, entry: Entry) -> str:
        ident = self._idents.get(id(entry))
        if ident is None:
            ident = self._idents[id(entry)] = f"{entry.kind}/{entry.id}:{self.digests.get((entry.kind, entry.id), '?')}"
        return ident

    def entry(self, entry: Entry) -> str:
        key = (entry.kind, entry.id)
        known = self.prints.entries.get(key)
        if known is None:
            known = self._previous.get(key) if key not in self._stale else None
            if known is None:
                parts = [self.ident(entry)]
                neighbours: list[EntryKey] = []
                for name, entries in linked_entries(entry):
                    parts.append(name)
                    parts.extend(self.ident(e) for e in entries)
                    neighbours.extend((e.kind, e.id) for e in entries)
                known = (_sha(self.base, "entry", *parts), tuple(dict.fromkeys(neighbours)))
            self.prints.entries[key] = known
        return known[0]

    @property
    def changed(self) -> set[EntryKey] | None:
        """The entries whose source changed, appeared or went since the previous run of this
        process on the same setting; None when there is none to compare with."""
        return self._changed

    def stale(self, entry: Entry) -> bool:
        """Whether the entry or one of its neighbours (then or now) changed since the previous run."""
        return self._changed is None or (entry.kind, entry.id) in self._stale

    def changed_entries(self) -> list[Entry]:
        """The entries of this handbook among `changed` (none when there is no previous run)."""
        if self._changed_entries is None:
            of_kind = self.handbook.of_kind
            found = (of_kind(kind).get(eid) for kind, eid in sorted(self._changed or ()))
            self._changed_entries = [entry for entry in found if entry is not None]
        return self._changed_entries

    def stale_keys(self) -> set[EntryKey]:
        """The entries whose page fingerprint may differ from the previous run's (`stale`)."""
        return self._stale

    def carry_entries(self) -> None:
        """Take over every entry fingerprint of the previous run for the next one: the caller
        asks again (`entry`) for the stale ones, which are worked out anew."""
        carried = dict(self._previous)
        for key in self._stale:
            carried.pop(key, None)
        carried.update(self.prints.entries)
        self.prints.entries = carried

    def before(self, name: str) -> Any:
        """What the previous run kept under `name` (`keep`), if it ran on the same setting; else None."""
        return self._memo.get(name) if self._changed is not None else None

    def keep(self, name: str, value: Any) -> None:
        """Hand `value` on to the next run (`before`)."""
        self.prints.memo[name] = value

    def of_kinds(self, kinds: tuple[str, ...]) -> str:
        """Every entry of these kinds, for pages that list only them (the modules index, training
        tools); taken over while the model keeps the same entries of these kinds, none edited."""
        key = self._of_kinds.get(kinds)
        if key is not None:
            return key
        tables = tuple(
            self.handbook.of_kind(kind) for kind in ("practice", "lesson", "module", "path") if kind in kinds
        )
        name = ",".join(kinds)
        known = self.before(f"kinds:{name}")
        changed = self._changed or set()
        if (
            known is not None
            and all(a is b for a, b in zip(known[0], tables, strict=True))
            and not any(kind in kinds for kind, _eid in changed)
        ):
            key = known[1]
        else:
            key = self.listing(name, (entry for table in tables for entry in table.values()))
        self.keep(f"kinds:{name}", (tables, key))
        self._of_kinds[kinds] = key
        return key

    def listing(self, name: str, entries: Iterable[Entry]) -> str:
        """The key of a page or part that lists these entries. Taken over from the previous run
        for the very list it was worked out from (the model's indexes are kept while an edit
        changes no title, facet or link) when no entry of it changed: a term page of thousands
        of practices is not hashed again after an edit elsewhere."""
        if not isinstance(entries, list):
            return _sha(self.base, "listing", name, *self.idents(entries))
        known = self._listings.get(name)
        changed = self._changed
        if known is not None and known[0] is entries and changed is not None and changed.isdisjoint(known[1]):
            self.prints.listings[name] = known
            return known[2]
        key = _sha(self.base, "listing", name, *self.idents(entries))
        same = known is not None and known[0] is entries  # the same entries, one of them edited
        members = known[1] if same and known else frozenset((e.kind, e.id) for e in entries)
        self.prints.listings[name] = (entries, members, key)
        return key

    def idents(self, entries: Iterable[Entry]) -> list[str]:
        """`ident` of each entry; every entry's is known since `everything`, so looked up inline."""
        known = self._idents
        entries = entries if isinstance(entries, (list, tuple)) else list(entries)
        try:
            return list(map(known.__getitem__, map(id, entries)))
        except KeyError:
            return [self.ident(e) for e in entries]

    def shown(self, name: str, values: Any) -> str:
        """For a page that shows only these values of the entries (counts, titles, dates: plain
        data whose repr says all of it), besides the vocabularies and the setting in `base`."""
        return _sha(self.base, "shown", name, repr(values))


# A part of a page (a listing's row) by (template:macro, entry ident, macro arguments), and
# where it stands in the page's text.
PartKey = tuple[str, str, tuple[Any, ...]]
Parts = dict[PartKey, tuple[int, int]]
# The rows one `reuse_each` (or `reuse`) put in a page: their keys and texts, in order.
Block = tuple[list[PartKey], list[str]]


class PageCache:
    """Rendered pages of one docs tree by path, with the fingerprint they were rendered under.

    Listing pages also record where each row stands in their text (`parts`, see fragments.py):
    when such a page must be rendered again, the rows of unchanged entries are cut from its
    previous text instead of being rendered. Parts are saved in a file of their own, read only
    when a listing page is rendered again, so a warm build that changes nothing never reads it."""

    def __init__(self, docs_dir: Path) -> None:
        self.docs_dir = docs_dir
        self.memory: dict[str, tuple[str, str | bytes]] = {}
        self.saved: dict[str, tuple[str, str, bool]] = {}  # from disk: (fingerprint, sha256 of the file, binary)
        self.hashes: dict[str, str] = {}  # sha256 of the content in `memory`, when known
        self.used: set[str] = set()
        # Pages read back from the docs tree this run, with the file's stamp then: the writer need
        # not read them again to see that they hold their text (`docs_tree.write_docs`).
        self.found: dict[str, tuple[str | bytes, FileStamp]] = {}
        self.dirty = True
        self.parts: dict[str, tuple[str, str, Parts]] = {}  # by page: (sha256 of its text, setting, parts)
        # By page, the rows this process last rendered into it: (its text, setting, the blocks of
        # rows). A row is made from its key alone, so they hold whatever became
        # of the text; offsets into the text are worked out only when the parts are saved, so a
        # regeneration of `csbp serve` neither searches nor hashes its listings' texts.
        self.live: dict[str, tuple[str, str, list[Block]]] = {}
        self.saved_parts: dict[str, Any] = {}  # by page, as read from disk: checked when first asked for
        self.parts_file: Path | None = None  # not read yet; None when read or when there is none
        self.parts_dirty = False

    def get(self, src: str, fingerprint: str) -> str | bytes | None:
        self.used.add(src)
        hit = self.memory.get(src)
        if hit is not None and hit[0] == fingerprint:
            return hit[1]
        saved = self.saved.get(src)
        if saved is None or saved[0] != fingerprint:
            return None
        content = self._from_disk(src, saved)
        if content is not None:
            self.memory[src] = (fingerprint, content)
            self.hashes[src] = saved[1]
        return content

    def _from_disk(self, src: str, saved: tuple[str, str, bool]) -> str | bytes | None:
        """The page in the docs tree, if its bytes still hash to what was recorded; what was found
        there is noted with the file's stamp before the read (`found`)."""
        path = self.docs_dir / src
        try:
            status = os.stat(path)
            data = path.read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != saved[1]:
            return None
        content = data if saved[2] else data.decode("utf-8")
        self.found[src] = (content, FileStamp.of(status))
        return content

    def put(self, src: str, fingerprint: str, text: str | bytes) -> None:
        self.used.add(src)
        self.memory[src] = (fingerprint, text)
        self.hashes.pop(src, None)
        self.dirty = True

    def previous_parts(self, src: str, setting: str) -> dict[PartKey, str]:
        """The rows of the page by key: those this process last rendered into it, else the parts
        recorded in its previous text (from memory or the docs tree), only if that text is the
        one they were recorded in; under the same `setting`, else none."""
        live = self.live.get(src)
        if live is not None and live[1] == setting:
            return _rows_by_key(live[2])
        if self.parts_file is not None:
            self._load_parts()
        record = self.parts.get(src)
        if record is None and src in self.saved_parts:
            record = _parts_from_json(self.saved_parts.pop(src))
            if record is not None:
                self.parts[src] = record
        if record is None or record[1] != setting:
            return {}
        text = self._text(src, record[0])
        if text is None:
            return {}
        return {key: text[start:end] for key, (start, end) in record[2].items() if 0 <= start <= end <= len(text)}

    def block(self, src: str, index: int, setting: str) -> Block | None:
        """The keys and rows of the page's `index`-th block at its last rendering, under `setting`."""
        live = self.live.get(src)
        if live is None or live[1] != setting or index >= len(live[2]):
            return None
        return live[2][index]

    def put_rows(
        self,
        src: str,
        text: str,
        setting: str,
        blocks: list[Block],
    ) -> None:
        """Record the rows of a page just rendered into `text` (which `put` then keeps in memory)."""
        self.live[src] = (text, setting, blocks)
        self.parts.pop(src, None)
        self.parts_dirty = True

    def _text(self, src: str, digest: str) -> str | None:
        """The page's latest text (in memory, else in the docs tree) if it hashes to `digest`."""
        if src in self.memory:
            content = self.memory[src][1]
            return content if isinstance(content, str) and self._digest(src) == digest else None
        saved = self.saved.get(src)
        content = self._from_disk(src, saved) if saved is not None and saved[1] == digest else None
        return content if isinstance(content, str) else None

    def _digest(self, src: str) -> str:
        """SHA-256 of the page in memory."""
        digest = self.hashes.get(src)
        if digest is None:
            digest = self.hashes[src] = hashlib.sha256(_bytes(self.memory[src][1])).hexdigest()
        return digest

    def finish(self) -> None:
        """Forget pages this run did not produce (renamed or deleted entries)."""
        if not self.used.issuperset(self.saved.keys()):
            self.dirty = True  # the record on disk names them
        for src in self._forget_unused(self.memory):
            self.hashes.pop(src, None)
            self.dirty = True
        if self._forget_unused(self.parts) + self._forget_unused(self.live):
            self.parts_dirty = True
        self._forget_unused(self.saved_parts)
        self.used = set()

    def _forget_unused(self, table: dict[str, Any]) -> list[str]:
        """Drop from `table` the pages this run did not produce; the pages dropped. Most runs
        produce every page they have: the table is checked, not rebuilt."""
        if self.used.issuperset(table.keys()):
            return []
        gone = [src for src in table if src not in self.used]
        for src in gone:
            del table[src]
        return gone

    def load(self, path: Path, parts_path: Path | None = None) -> None:
        """Take over the record of the last run; its parts are read later, when first needed."""
        self.parts_file = parts_path
        data = cachefile.read(path, VERSION)
        pages = data.get("pages") if data is not None else None
        if not isinstance(pages, dict):
            return
        for src, item in pages.items():
            if (
                isinstance(item, list)
                and len(item) == 3
                and isinstance(item[0], str)
                and isinstance(item[1], str)
                and isinstance(item[2], bool)
            ):
                self.saved[src] = (item[0], item[1], item[2])
        self.dirty = False  # rewritten only once a page is rendered anew or one goes

    def read_parts(self) -> None:
        """Read and check every saved part now (`pipeline.read_ahead`), not page by page when asked for."""
        if self.parts_file is not None:
            self._load_parts()
        for src in list(self.saved_parts):
            record = _parts_from_json(self.saved_parts.pop(src))
            if record is not None and src not in self.live:
                self.parts[src] = record

    def _load_parts(self) -> None:
        """Parts from disk, for pages this process has not recorded parts of itself; each page's
        are checked only when asked for (a few pages change at a time)."""
        path, self.parts_file = self.parts_file, None
        data = cachefile.read(path, VERSION) if path is not None else None
        pages = data.get("parts") if data is not None else None
        if isinstance(pages, dict):
            self.saved_parts = {
                src: item for src, item in pages.items() if src not in self.parts and src not in self.live
            }

    def save(self, path: Path, parts_path: Path | None = None) -> None:
        if self.dirty:
            self.dirty = False
            pages = {}
            for src, (fingerprint, content) in sorted(self.memory.items()):
                pages[src] = [fingerprint, self._digest(src), isinstance(content, bytes)]
            cachefile.write(path, VERSION, {"pages": pages})
            self.saved = {src: (item[0], item[1], item[2]) for src, item in pages.items()}
        if self.parts_dirty and parts_path is not None:
            self.parts_dirty = False
            if self.parts_file is not None:
                self._load_parts()

            def current(src: str, digest: Any) -> bool:  # parts of the page as it now stands
                return src in self.memory and self._digest(src) == digest

            for src, (text, setting, blocks) in self.live.items():  # kept: the next edit reads them
                if src not in self.parts and src in self.memory and self.memory[src][1] is text:
                    self.parts[src] = (self._digest(src), setting, _offsets(text, _rows_by_key(blocks)))
            parts = {
                src: [digest, setting, [[*key[:2], list(key[2]), *offsets] for key, offsets in rows.items()]]
                for src, (digest, setting, rows) in self.parts.items()
                if current(src, digest)
            }
            for src, item in self.saved_parts.items():  # pages reused whole: their saved parts still hold
                if src not in parts and isinstance(item, list) and item and current(src, item[0]):
                    parts[src] = item
            cachefile.write(parts_path, VERSION, {"parts": dict(sorted(parts.items()))})


def _rows_by_key(blocks: list[Block]) -> dict[PartKey, str]:
    return {key: row for keys, rows in blocks for key, row in zip(keys, rows, strict=True)}


def _offsets(text: str, rows: dict[PartKey, str]) -> Parts:
    """Where each row stands in `text`, searched in the order the rows were rendered; a row not
    found (a template that filters a row after `reuse`) is left out."""
    parts: Parts = {}
    position = 0
    for key, row in rows.items():
        found = text.find(row, position)
        if found >= 0:
            parts[key] = (found, found + len(row))
            position = found + len(row)
    return parts


def _parts_from_json(item: Any) -> tuple[str, str, Parts] | None:
    """A saved [sha256 of the text, setting, [[name, ident, [args], start, end], ...]], or None if malformed."""
    if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str) and isinstance(item[1], str)):
        return None
    if not isinstance(item[2], list):
        return None
    parts: Parts = {}
    for row in item[2]:
        if not (
            isinstance(row, list)
            and len(row) == 5
            and isinstance(row[0], str)
            and isinstance(row[1], str)
            and isinstance(row[2], list)
            and all(isinstance(arg, (str, int)) for arg in row[2])
            and _is_offset(row[3])
            and _is_offset(row[4])
        ):
            return None
        parts[(row[0], row[1], tuple(row[2]))] = (row[3], row[4])
    return item[0], item[1], parts


def _is_offset(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
