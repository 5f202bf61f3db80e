"""Where things live in a handbook repository (`--root`), and the tool's own files."""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

PACKAGE_DIR = Path(__file__).resolve().parent
SCHEMA_DIR = PACKAGE_DIR / "schemas"
TEMPLATE_DIR = PACKAGE_DIR / "templates"
DEFAULTS_DIR = PACKAGE_DIR / "defaults"

# Entry kinds: the folder their YAML lives in (relative to the root) and their URL prefix.
KIND_DIRS = {
    "practice": Path("practices"),
    "lesson": Path("content/lessons"),
    "module": Path("content/modules"),
    "path": Path("content/paths"),
}
KIND_URL = {"practice": "practices", "lesson": "lessons", "module": "modules", "path": "paths"}

# A file or folder changed less than this before it was looked at may change again within the
# same tick of the file system's clock, leaving its mtime as it was (git's "racy clean"
# problem): its stat is not trusted, it is read or listed again next time.
RACY_NS = 2_000_000_000


def settled(mtime_ns: int) -> bool:
    """Whether a stat with this mtime may be trusted to show the next change."""
    return mtime_ns < time.time_ns() - RACY_NS


class FileStamp(NamedTuple):
    """What changes when a file or folder is written, replaced or moved (a folder: when an entry
    in it is added, removed or renamed): size, times, inode and device."""

    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int
    dev: int

    @classmethod
    def of(cls, status: os.stat_result) -> FileStamp:
        return cls(status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino, status.st_dev)


def stamp_fields(status: os.stat_result) -> tuple[int, int, int, int, int]:
    """`FileStamp.of(status)` as a plain tuple, which compares equal to it: for the loops that
    compare thousands of stats with kept stamps, without making a stamp of each."""
    return status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino, status.st_dev


def stamp_at(path: str | Path) -> FileStamp | None:
    """The stamp of what is at `path`; None if nothing is."""
    try:
        return FileStamp.of(os.stat(path))
    except OSError:
        return None


@dataclass(frozen=True)
class HandbookPaths:
    """Every path a command needs, derived from the handbook root."""

    root: Path

    @classmethod
    def at(cls, root: str | Path) -> HandbookPaths:
        return cls(Path(root).resolve())

    def kind_dir(self, kind: str) -> Path:
        return self.root / KIND_DIRS[kind]

    @property
    def vocabularies(self) -> Path:
        return self.root / "content" / "vocabularies.yaml"

    @property
    def pages_dir(self) -> Path:
        """Hand-written Markdown pages (about, PSeMS overview, contributing)."""
        return self.root / "content" / "pages"

    @property
    def build_dir(self) -> Path:
        """The generated docs tree and mkdocs.yml: the hand-off to MkDocs or a successor engine."""
        return self.root / "build"

    @property
    def docs_dir(self) -> Path:
        return self.build_dir / "docs"

    @property
    def generated_config(self) -> Path:
        return self.build_dir / "mkdocs.yml"

    @property
    def site_dir(self) -> Path:
        return self.root / "site"

    @property
    def base_config(self) -> Path:
        """The handbook's own mkdocs.yml, or the tool's default when the root has none."""
        own = self.root / "mkdocs.yml"
        return own if own.is_file() else DEFAULTS_DIR / "mkdocs.yml"

    @property
    def overrides_dir(self) -> Path:
        """Theme overrides: the root's own `overrides/`, else the ones shipped with this tool."""
        own = self.root / "overrides"
        return own if own.is_dir() else PACKAGE_DIR.parent.parent / "overrides"

    def entry_files(self, kind: str) -> list[Path]:
        """The folder's entry files (`*.yaml`), by name."""
        return _entry_folder(self.kind_dir(kind))[0]

    def listing_token(self, kind: str) -> object | None:
        """An object that stays the same while the entry folder's listing is the one last read
        (none when it is not kept): the caller may keep what it made of the listing until then.
        The folder's stamp is looked at first, as `entry_files` does."""
        _entry_folder(self.kind_dir(kind))
        return _LISTINGS.get(self.kind_dir(kind))

    def stray_files(self, kind: str) -> list[Path]:
        """Files in an entry folder that are not `.yaml` entries (e.g. `.yml`): never silently ignored."""
        return _entry_folder(self.kind_dir(kind))[1]


# The last listing of each entry folder, by the folder's stamp: `csbp serve` asks after every
# edit, and while no file was added, removed or renamed the folder's mtime stays put.
_LISTINGS: dict[Path, tuple[FileStamp, list[Path], list[Path]]] = {}


def _entry_folder(folder: Path) -> tuple[list[Path], list[Path]]:
    """(entry files named `*.yaml`, other visible files), each by name; nothing if not a folder."""
    try:
        status = os.stat(folder)
    except OSError:
        return [], []
    if not stat.S_ISDIR(status.st_mode):
        return [], []
    stamp = FileStamp.of(status)
    known = _LISTINGS.get(folder)
    if known is not None and known[0] == stamp:
        return list(known[1]), list(known[2])
    entries: list[str] = []
    strays: list[str] = []
    with os.scandir(folder) as listing:
        for item in listing:
            if item.name.endswith(".yaml"):
                entries.append(item.name)
            elif not item.name.startswith(".") and item.is_file():
                strays.append(item.name)
    found = [folder / name for name in sorted(entries)], [folder / name for name in sorted(strays)]
    if settled(status.st_mtime_ns):
        _LISTINGS[folder] = (stamp, *found)
    else:
        _LISTINGS.pop(folder, None)
    return list(found[0]), list(found[1])
