"""Where things live in a handbook repository (`--root`), and the tool's own files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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
KINDS = tuple(KIND_DIRS)
KIND_URL = {"practice": "practices", "lesson": "lessons", "module": "modules", "path": "paths"}


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

    def stray_files(self, kind: str) -> list[Path]:
        """Files in an entry folder that are not `.yaml` entries (e.g. `.yml`): never silently ignored."""
        return _entry_folder(self.kind_dir(kind))[1]


def _entry_folder(folder: Path) -> tuple[list[Path], list[Path]]:
    """(entry files named `*.yaml`, other visible files), each by name; nothing if not a folder."""
    if not folder.is_dir():
        return [], []
    entries: list[str] = []
    strays: list[str] = []
    with os.scandir(folder) as listing:
        for item in listing:
            if item.name.endswith(".yaml"):
                entries.append(item.name)
            elif not item.name.startswith(".") and item.is_file():
                strays.append(item.name)
    return [folder / name for name in sorted(entries)], [folder / name for name in sorted(strays)]
