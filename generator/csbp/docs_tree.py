"""Stage 5a, write: the rendered pages as a plain docs tree plus a generated mkdocs.yml.

This is the hand-off point to the site engine. The tree is ordinary Markdown, the config
inherits the handbook's own `mkdocs.yml` and adds only paths and the nav, so MkDocs or a
successor that reads the same files can build it. Files whose content is unchanged are
not rewritten (the live-reload server then rebuilds only what changed).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from csbp.config import RACY_NS, FileStamp, HandbookPaths, stamp_at, stamp_fields
from csbp.render import DocsTree, NavItem


@dataclass
class WriteStats:
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)


# What this process last wrote or found at each path: the content and the file's mtime and size.
# While the file still has that stamp, the new content is compared with it in memory, and a
# changed page is written without reading the old file first. `write_docs` skips even the stat
# for the very text object written last time (a page reused from the page cache) while no
# folder of the tree changed since its last write (`_known_listing`): another writer replacing
# files there moves a folder's stamp, and then every file is checked again. A hand edit of a
# file in place lasts in `csbp serve` until that page changes; every `csbp build` starts a new
# process, which compares each file.
_WRITTEN: dict[str, tuple[str | bytes, FileStamp]] = {}
# By docs tree, the pages this process last left there (each written or found holding its text):
# a page that is the very same text object is passed over without a lookup by path.
_LAST_TREE: dict[str, dict[str, str | bytes]] = {}


def write_if_changed(path: Path | str, content: str | bytes, exists: bool = True, in_place: bool = False) -> bool:
    """Write `content` unless the file already holds exactly it; True if written.

    An existing file is replaced atomically (a temporary file renamed over it), so a reader never
    sees half of it, or with `in_place` overwritten where it is, as most editors save: in a folder
    of thousands of files, creating a file's inode and freeing the old one costs ten times the
    write (ext4 searches for a free inode past the recently freed ones), and the folder is left
    as it was. With `exists=False` (the caller has just listed the folder) the file is created
    directly: nothing can read a page that is not there yet, and in a folder of thousands of
    entries every extra lookup costs."""
    name = os.fspath(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    if not exists:
        with open(name, "wb") as file:
            file.write(data)
        _remember(name, content)
        return True
    known = _WRITTEN.get(name)
    if known is not None and known[1] == stamp_at(name):
        if known[0] is content or known[0] == content:
            return False
    else:
        try:
            with open(name, "rb") as file:
                if file.read() == data:
                    _remember(name, content)
                    return False
        except FileNotFoundError:
            os.makedirs(os.path.dirname(name) or ".", exist_ok=True)
            return write_if_changed(name, content, exists=False)
    if in_place:
        try:
            with open(name, "r+b") as file:
                file.write(data)
                file.truncate()
        except FileNotFoundError:  # removed by another writer since
            return write_if_changed(name, content, exists=False)
    else:
        folder, base = os.path.split(name)
        temporary = os.path.join(folder, f".{base}.tmp")
        with open(temporary, "wb") as file:
            file.write(data)
        os.replace(temporary, name)
    _remember(name, content)
    return True


def _remember(name: str, content: str | bytes) -> None:
    stamp = stamp_at(name)
    if stamp is not None:
        _WRITTEN[name] = (content, stamp)
    else:
        _WRITTEN.pop(name, None)


def write_docs(
    tree: DocsTree,
    docs_dir: Path,
    found: Mapping[str, tuple[str | bytes, FileStamp]] | None = None,
    in_place: bool = False,
) -> WriteStats:
    """Make `docs_dir` hold exactly the tree's pages, touching only what differs. `found`: pages
    just read from the tree with the file's stamp then (`PageCache.found`): while the stamp holds,
    the file is not read again to be compared. `in_place`: changed pages are overwritten where
    they are (`csbp serve`); otherwise replaced by a rename, which moves their folder's stamp, so
    a `csbp serve` on the same tree notices another process's pages."""
    stats = WriteStats()
    root = os.fspath(docs_dir)
    for src, seen in (found or {}).items():
        _WRITTEN[os.path.join(root, src)] = seen
    known = _known_listing(root)
    existing = _remove_strays(tree, docs_dir, stats, known[0] if known is not None else None)
    folders: set[str] | None = None  # folders known to exist, worked out when a file is created
    todo: list[tuple[str, str, str | bytes, bool]] = []  # (src, path, content, exists)
    prefix = os.path.join(root, "")  # joined by hand: thousands of pages
    last = _LAST_TREE.pop(root, None) if known is not None else None
    pages = tree.pages.items()
    if last is not None:  # the very texts this process left there, in a tree no one else changed
        pages = [(src, content) for src, content in pages if last.get(src) is not content]
        stats.unchanged += len(tree.pages) - len(pages)
    for src, content in pages:
        name = prefix + src
        written = _WRITTEN.get(name) if known is not None else None
        if written is not None and written[0] is content:
            stats.unchanged += 1  # the very text this process wrote there, in a tree no one else changed
            continue
        exists = src in existing
        if not exists:
            if folders is None:  # the docs dir's own, those of the files left, and those made
                folders = {""} | {relative.rpartition("/")[0] for relative in existing}
            folder = src.rpartition("/")[0]
            if folder not in folders:
                os.makedirs(os.path.join(root, folder), exist_ok=True)
                folders.add(folder)
        todo.append((src, name, content, exists))
    todo.sort()
    for (src, *_item), written in zip(todo, _write_all([item[1:] for item in todo], in_place), strict=True):
        if written:
            stats.written.append(src)
        else:
            stats.unchanged += 1
    _LAST_TREE[root] = dict(tree.pages)
    if known is not None and folders is None and not stats.removed and (in_place or not stats.written):
        # No page created, removed or renamed over: every folder is as `_known_listing` found it.
        _LISTINGS[root] = (known[0], known[1], known[2])
    else:
        every = folders if folders is not None else {""} | {relative.rpartition("/")[0] for relative in existing}
        _remember_listing(root, tree.pages.keys(), every)
    return stats


# Many files are written by a few threads: creating a file is mostly the kernel's work (an inode,
# a folder entry), which runs in parallel for files of different folders. A few pages overwritten
# in place (`csbp serve` after an edit) are written faster than threads start.
WRITE_THREADS = 4
_THREADS_FROM = 64


def _write_all(todo: list[tuple[str, str | bytes, bool]], in_place: bool) -> list[bool]:
    """`write_if_changed` for each (path, content, exists), in order."""
    if len(todo) < _THREADS_FROM:
        return [write_if_changed(*item, in_place=in_place) for item in todo]
    with ThreadPoolExecutor(WRITE_THREADS) as pool:
        return list(pool.map(lambda item: write_if_changed(*item, in_place=in_place), todo))


# What this process last left in each docs tree: its files, the stamp of each of its folders
# then, and when the stamps were taken. While no folder's stamp moved, no file was added, removed
# or renamed in the tree, so the files are known without listing every folder again (`csbp
# serve` writes after every edit).
_LISTINGS: dict[str, tuple[frozenset[str], dict[str, FileStamp | None], int]] = {}


def _remember_listing(root: str, files: Iterable[str], folders: Iterable[str]) -> None:
    """Record the tree just written: its files, and the stamps of their folders and of every
    folder above them (a file planted in a folder that holds only folders moves its stamp too)."""
    every: set[str] = set()
    for folder in folders:
        while folder not in every:
            every.add(folder)
            folder = folder.rpartition("/")[0]
    taken = time.time_ns()
    stamps = {folder: stamp_at(os.path.join(root, folder)) for folder in every}
    _LISTINGS[root] = (frozenset(files), stamps, taken)


def _known_listing(root: str) -> tuple[frozenset[str], dict[str, FileStamp | None], int] | None:
    """The files this process last left in the tree at `root`, if no folder of it changed since,
    with the folders' stamps and when they were checked.

    A folder this process wrote in just before recording its stamp may have changed again within
    the same tick of the file system's clock, leaving the stamp as it was: such a folder is
    listed and compared with what was left there."""
    known = _LISTINGS.pop(root, None)
    if known is None:
        return None
    files, stamps, recorded = known
    checked = time.time_ns()
    racy: list[str] = []
    prefix = os.path.join(root, "")
    for folder, stamp in stamps.items():
        if stamp is None:
            return None
        try:
            status = os.stat(prefix + folder if folder else root)
        except OSError:
            return None
        if stamp != stamp_fields(status):
            return None
        if stamp.mtime_ns >= recorded - RACY_NS:
            racy.append(folder)
    if racy and not _folders_hold(root, racy, files, stamps.keys()):
        return None
    return files, stamps, checked


def _folders_hold(root: str, folders: list[str], files: frozenset[str], every: Iterable[str]) -> bool:
    """Whether each of `folders` holds exactly the files and subfolders this process left there."""
    expected: dict[str, set[str]] = {folder: set() for folder in folders}
    for path in [*files, *(folder for folder in every if folder)]:
        parent, _slash, name = path.rpartition("/")
        if parent in expected:
            expected[parent].add(name)
    for folder, names in expected.items():
        try:
            if set(os.listdir(os.path.join(root, folder))) != names:
                return False
        except OSError:
            return False
    return True


def _remove_strays(tree: DocsTree, docs_dir: Path, stats: WriteStats, known: frozenset[str] | None) -> AbstractSet[str]:
    """Delete files and emptied folders the tree does not hold; the files left, relative. With
    `known` (the files this process left there, no folder changed since), without a walk."""
    if known is not None:
        return _remove_known_strays(tree, docs_dir, known, stats)
    existing: set[str] = set()
    # os.walk, not rglob + is_file: directory entries carry their type, so no stat per file.
    for folder, _dirs, files in os.walk(docs_dir, topdown=False):
        prefix = Path(folder).relative_to(docs_dir).as_posix()
        for name in files:
            relative = name if prefix == "." else f"{prefix}/{name}"
            if relative in tree.pages:
                existing.add(relative)
            else:
                os.unlink(os.path.join(folder, name))
                stats.removed.append(relative)
        if prefix != "." and not os.listdir(folder):
            os.rmdir(folder)
    stats.removed.sort(reverse=True)
    docs_dir.mkdir(parents=True, exist_ok=True)
    return existing


def _remove_known_strays(tree: DocsTree, docs_dir: Path, known: frozenset[str], stats: WriteStats) -> AbstractSet[str]:
    """`_remove_strays` for a tree whose files are known: the pages gone since the last write."""
    root = os.fspath(docs_dir)
    gone = sorted(known - tree.pages.keys(), reverse=True)
    for src in gone:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(root, src))
        stats.removed.append(src)
    emptied = sorted({src.rpartition("/")[0] for src in gone} - {""}, key=lambda f: (-f.count("/"), f))
    for folder in emptied:  # deepest first, and up through parents left empty
        while folder:
            path = os.path.join(root, folder)
            try:
                if os.listdir(path):
                    break
                os.rmdir(path)
            except FileNotFoundError:
                pass
            folder = folder.rpartition("/")[0]
    return known - set(gone) if gone else known


def _nav(items: list[NavItem | tuple[str, list[NavItem]]]) -> list[Any]:
    nav: list[Any] = []
    for item in items:
        if isinstance(item, NavItem):
            nav.append({item.title: item.src})
        else:
            title, children = item
            nav.append({title: [{child.title: child.src} for child in children]})
    return nav


def escape_pattern(name: str) -> str:
    """A literal path as a gitignore-style pattern (`exclude_docs`, `not_in_nav`)."""
    return "".join("\\" + c if c in "\\*?[]!# " else c for c in name)


# The last reading of each config chain: the files read with their stats, and what was found.
_INHERITED: dict[tuple[Path, str], tuple[list[tuple[Path, FileStamp | None]], list[str] | None]] = {}


def inherited_lines(config: Path, key: str) -> list[str] | None:
    """The lines of a multi-line setting (`exclude_docs`, `not_in_nav`) that `config` has or
    inherits, followed through INHERIT; None when the chain cannot be read plainly (custom tags).
    Read again only when a file of the chain changed (`csbp serve` asks after every edit)."""
    known = _INHERITED.get((config, key))
    if known is not None and all(stamp_at(path) == stamp for path, stamp in known[0]):
        return known[1]
    read: list[tuple[Path, FileStamp | None]] = []
    found = _inherited_lines(config, key, read)
    _INHERITED[(config, key)] = (read, found)
    return found


def _inherited_lines(config: Path, key: str, read: list[tuple[Path, FileStamp | None]]) -> list[str] | None:
    seen: set[Path] = set()
    current = config
    while current not in seen:
        seen.add(current)
        read.append((current, stamp_at(current)))
        try:
            data = yaml.safe_load(current.read_text("utf-8"))
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            return None
        if not isinstance(data, dict):
            return None
        value = data.get(key)
        if isinstance(value, str):
            return value.splitlines()
        if value is not None:
            return None
        parent = data.get("INHERIT")
        if not isinstance(parent, str):
            return []
        current = (current.parent / parent).resolve()
    return None


_LAST_NOT_IN_NAV: list[Any] = [None, None, None, ""]  # the pages, the nav and own lines it was made for, and it


def _not_in_nav(tree: DocsTree, own: list[str]) -> str:
    """The pages deliberately left out of the nav (entries are reached through index pages), so the
    engine does not list thousands of them in its log at every build; the handbook's own first.
    The same pages, nav and lines as last time give the same text (`csbp serve` asks at every edit)."""
    pages, nav, lines, text = _LAST_NOT_IN_NAV
    if pages is not None and lines == own and nav == tree.nav and tree.pages.keys() == pages:
        return text
    text = _left_out(tree, own)
    _LAST_NOT_IN_NAV[:] = [frozenset(tree.pages), list(tree.nav), list(own), text]
    return text


def _left_out(tree: DocsTree, own: list[str]) -> str:
    in_nav = {item.src for item in tree.nav if isinstance(item, NavItem)}
    in_nav |= {child.src for item in tree.nav if not isinstance(item, NavItem) for child in item[1]}
    left_out = [src for src in tree.pages if src.endswith(".md") and src not in in_nav]
    folders = sorted({src.split("/", 1)[0] for src in left_out if "/" in src})
    files = sorted(src for src in left_out if "/" not in src)
    return "\n".join([*own, *(f"/{escape_pattern(f)}/" for f in folders), *(f"/{escape_pattern(f)}" for f in files)])


def config_text(tree: DocsTree, paths: HandbookPaths, audience: str) -> str:
    """The generated mkdocs.yml: inherits the handbook's own config, adds paths, the nav and the
    pages left out of it."""
    build = paths.build_dir
    config: dict[str, Any] = {
        "INHERIT": os.path.relpath(paths.base_config, build),
        "docs_dir": "docs",
        "site_dir": os.path.relpath(paths.site_dir, build),
        "theme": {"custom_dir": os.path.relpath(paths.overrides_dir, build)},
        "nav": _nav(tree.nav),
        "extra": {"csbp": {"audience": audience}},
    }
    own = inherited_lines(paths.base_config, "not_in_nav")
    if own is not None:
        config["not_in_nav"] = _not_in_nav(tree, own) + "\n"
    return _config_yaml(config)


_CONFIG_HEADER = "# Generated by `csbp build`: do not edit. Edit the handbook's own mkdocs.yml instead.\n"
_LAST_CONFIG: list[str] = ["", ""]  # the settings as JSON, and their YAML: `csbp serve` asks after every edit


def _config_yaml(config: dict[str, Any]) -> str:
    """The config as YAML; the same settings as last time are not dumped again (a dump of a nav and
    not_in_nav list of thousands of lines costs milliseconds, the JSON to compare them a tenth)."""
    settings = json.dumps(config, ensure_ascii=False)
    if settings != _LAST_CONFIG[0]:
        dumped = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=1000)
        _LAST_CONFIG[:] = [settings, _CONFIG_HEADER + dumped]
    return _LAST_CONFIG[1]


def write_tree(
    tree: DocsTree,
    paths: HandbookPaths,
    audience: str,
    found: Mapping[str, tuple[str | bytes, FileStamp]] | None = None,
    in_place: bool = False,
) -> WriteStats:
    """Write the docs tree and its mkdocs.yml under `<root>/build/` (`in_place`: as `write_docs`)."""
    stats = write_docs(tree, paths.docs_dir, found, in_place)
    if write_if_changed(paths.generated_config, config_text(tree, paths, audience)):
        stats.written.append("../mkdocs.yml")
    return stats
