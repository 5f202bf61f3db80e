"""Warm rebuilds: a page whose inputs are unchanged since the last build is not rendered again.

Each page gets a fingerprint of everything it is made from: the generator's code and
templates, the audience, the URL style, today's date (overdue notices), the vocabularies,
and the source digests of the entries it shows. An entry's page shows the entry and the
entries it links to or is linked from (titles, summaries), never entries two links away,
so its fingerprint covers the entry and its direct neighbours in the model. Index pages
cover every entry of the kinds they list (home and what's new: all; the training tools:
modules and paths; browse and glossary: none, only the vocabularies). A template that
starts showing data from further away must widen its page's fingerprint; the
warm-equals-cold tests in site_tests/test_cache.py are the guard.

Within one process (`csbp serve`) outputs are kept in memory. Across processes (repeated
`csbp build`) the signed cache file records each page's fingerprint and the SHA-256 of its
output; the page already in the docs tree is reused only if its bytes still hash to that.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from csbp import cachefile
from csbp.config import TEMPLATE_DIR
from csbp.model import Entry, Handbook, LessonPoint, PathStep, Question

VERSION = "2"


def _sha(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


@functools.cache
def code_stamp() -> str:
    """The generator's Python code: a changed module may change any page."""
    package = Path(__file__).resolve().parent
    return _sha(VERSION, *(path.read_bytes().hex() for path in sorted(package.rglob("*.py"))))


def templates_stamp() -> str:
    """The templates, read on every run: `csbp serve` picks up a template edited meanwhile."""
    files = sorted(path for path in TEMPLATE_DIR.rglob("*") if path.is_file())
    return _sha(
        *(f"{path.relative_to(TEMPLATE_DIR)}:{hashlib.sha256(path.read_bytes()).hexdigest()}" for path in files)
    )


def linked_entries(entry: Entry) -> list[tuple[str, list[Entry]]]:
    """The entries a page of `entry` may show besides itself, field by field, in model order."""
    linked: list[tuple[str, list[Entry]]] = []
    for name in _field_names(type(entry)):
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


def _bytes(content: str | bytes) -> bytes:
    return content if isinstance(content, bytes) else content.encode("utf-8")


@functools.cache
def _field_names(kind: type[Entry]) -> tuple[str, ...]:
    return tuple(item.name for item in dataclasses.fields(kind))


class Fingerprints:
    """Fingerprints of one handbook's pages, from the digests of its source files."""

    def __init__(self, handbook: Handbook, digests: Mapping[tuple[str, str], str], base: str) -> None:
        self.digests = digests
        self.base = _sha(base, code_stamp(), templates_stamp(), handbook.audience, handbook.today.isoformat())
        self.handbook = handbook
        self.everything = _sha(self.base, *(self.ident(e) for e in handbook.entries()))

    def ident(self, entry: Entry) -> str:
        return f"{entry.kind}/{entry.id}:{self.digests.get((entry.kind, entry.id), '?')}"

    def entry(self, entry: Entry) -> str:
        parts = [self.ident(entry)]
        for name, entries in linked_entries(entry):
            parts.append(name)
            parts.extend(self.ident(e) for e in entries)
        return _sha(self.base, "entry", *parts)

    def of_kinds(self, kinds: tuple[str, ...]) -> str:
        """Every entry of these kinds, for pages that list only them (the modules index, training tools)."""
        return self.listing(",".join(kinds), (e for e in self.handbook.entries() if e.kind in kinds))

    def listing(self, name: str, entries: Iterable[Entry]) -> str:
        return _sha(self.base, "listing", name, *(self.ident(e) for e in entries))


class PageCache:
    """Rendered pages of one docs tree by path, with the fingerprint they were rendered under."""

    def __init__(self, docs_dir: Path) -> None:
        self.docs_dir = docs_dir
        self.memory: dict[str, tuple[str, str | bytes]] = {}
        self.saved: dict[str, tuple[str, str, bool]] = {}  # from disk: (fingerprint, sha256 of the file, binary)
        self.used: set[str] = set()
        self.dirty = True

    def get(self, src: str, fingerprint: str) -> str | bytes | None:
        self.used.add(src)
        hit = self.memory.get(src)
        if hit is not None and hit[0] == fingerprint:
            return hit[1]
        saved = self.saved.get(src)
        if saved is None or saved[0] != fingerprint:
            return None
        try:
            data = (self.docs_dir / src).read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != saved[1]:
            return None
        content = data if saved[2] else data.decode("utf-8")
        self.memory[src] = (fingerprint, content)
        return content

    def put(self, src: str, fingerprint: str, text: str | bytes) -> None:
        self.used.add(src)
        self.memory[src] = (fingerprint, text)
        self.dirty = True

    def finish(self) -> None:
        """Forget pages this run did not produce (renamed or deleted entries)."""
        for src in set(self.memory) - self.used:
            del self.memory[src]
            self.dirty = True
        self.used = set()

    def load(self, path: Path) -> None:
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

    def save(self, path: Path) -> None:
        if not self.dirty:
            return
        self.dirty = False
        pages = {
            src: [fingerprint, hashlib.sha256(_bytes(content)).hexdigest(), isinstance(content, bytes)]
            for src, (fingerprint, content) in sorted(self.memory.items())
        }
        cachefile.write(path, VERSION, {"pages": pages})
