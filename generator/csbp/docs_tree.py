"""Stage 5a, write: the rendered pages as a plain docs tree plus a generated mkdocs.yml.

This is the hand-off point to the site engine. The tree is ordinary Markdown, the config
inherits the handbook's own `mkdocs.yml` and adds only paths and the nav, so MkDocs or a
successor that reads the same files can build it. A file whose content is unchanged is not
rewritten, so the live-reload server rebuilds only what changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from csbp.config import HandbookPaths
from csbp.render import DocsTree, NavItem


@dataclass
class WriteStats:
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)


def write_if_changed(path: Path | str, content: str | bytes) -> bool:
    """Write `content` unless the file already holds exactly it; True if written. The file is
    replaced atomically (a temporary file renamed over it), so a reader never sees half of it."""
    name = os.fspath(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        with open(name, "rb") as file:
            if file.read() == data:
                return False
    except FileNotFoundError:
        os.makedirs(os.path.dirname(name) or ".", exist_ok=True)
    folder, base = os.path.split(name)
    temporary = os.path.join(folder, f".{base}.tmp")
    with open(temporary, "wb") as file:
        file.write(data)
    os.replace(temporary, name)
    return True


def write_docs(tree: DocsTree, docs_dir: Path) -> WriteStats:
    """Make `docs_dir` hold exactly the tree's pages, touching only what differs."""
    stats = WriteStats()
    docs_dir.mkdir(parents=True, exist_ok=True)
    for folder, _dirs, files in os.walk(docs_dir, topdown=False):
        prefix = Path(folder).relative_to(docs_dir).as_posix()
        for name in files:
            relative = name if prefix == "." else f"{prefix}/{name}"
            if relative not in tree.pages:
                os.unlink(os.path.join(folder, name))
                stats.removed.append(relative)
        if prefix != "." and not os.listdir(folder):
            os.rmdir(folder)
    stats.removed.sort(reverse=True)
    for src in sorted(tree.pages):
        if write_if_changed(docs_dir / src, tree.pages[src]):
            stats.written.append(src)
        else:
            stats.unchanged += 1
    return stats


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


def inherited_lines(config: Path, key: str) -> list[str] | None:
    """The lines of a multi-line setting (`exclude_docs`, `not_in_nav`) that `config` has or
    inherits, followed through INHERIT; None when the chain cannot be read plainly (custom tags)."""
    seen: set[Path] = set()
    current = config
    while current not in seen:
        seen.add(current)
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


def _not_in_nav(tree: DocsTree, own: list[str]) -> str:
    """The pages deliberately left out of the nav (entries are reached through index pages), so the
    engine does not list thousands of them in its log at every build; the handbook's own first."""
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


def _config_yaml(config: dict[str, Any]) -> str:
    return _CONFIG_HEADER + yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=1000)


def write_tree(tree: DocsTree, paths: HandbookPaths, audience: str) -> WriteStats:
    """Write the docs tree and its mkdocs.yml under `<root>/build/`."""
    stats = write_docs(tree, paths.docs_dir)
    if write_if_changed(paths.generated_config, config_text(tree, paths, audience)):
        stats.written.append("../mkdocs.yml")
    return stats
