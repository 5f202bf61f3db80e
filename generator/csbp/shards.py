"""Engine shards: one site build split over the machine's cores through the engine's own config.

MkDocs renders pages one after another on one core, and at thousands of entries that is most of
a build. So the docs tree is cut into contiguous runs of pages, in the order the engine reads
them, and each run is built by an engine process of its own. A shard's config
(`build/.mkdocs-shard-<n>.yml`) inherits the generated `mkdocs.yml` and excludes every other run
with `exclude_docs`, a documented setting, so nothing here reaches into the engine's code; an
engine that knows no such setting would build every page in every shard, which the merge
accepts (same pages, same bytes), only slower.

The outputs are merged into one site. Each page and each copied file comes from the one shard
that built it; files every shard writes (theme assets, the 404 page) must be identical; the
search index and the sitemap, each shard's share of lists the engine writes in page order, are
joined in shard order, which is the engine's page order. The merged site equals a one-engine
build byte for byte (`site_tests/test_shards.py`). The split is checked before any engine starts:
the patterns, matched the way the engine matches them, must give every file to exactly one
shard and every page to its planned run; when they would not, the site is built by one engine.
"""

from __future__ import annotations

import gzip
import itertools
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

import pathspec
import yaml

from csbp.config import HandbookPaths
from csbp.docs_tree import escape_pattern, inherited_lines

# Below this many pages per shard, starting another engine costs more than it saves.
MIN_PAGES_PER_SHARD = 400
# The cost of a page for the split, as bytes of Markdown: what the theme and search index cost per page.
PAGE_COST = 12_000
SHARD_CONFIG = ".mkdocs-shard-{}.yml"
PAGE_SUFFIX = ".md"
SEARCH_INDEX = "search/search_index.json"
SITEMAP = "sitemap.xml"
JOINED = (SEARCH_INDEX, SITEMAP, SITEMAP + ".gz")
_FIRST_STEMS = ("index", "README")  # the engine reads these first in their folder
_DEFAULT_EXCLUDE = [".*", "/templates/"]  # what the engine always leaves out


class MergeError(Exception):
    """The shards' outputs do not fit together."""


def _cores() -> int:
    """How many engine processes may run at once: CSBP_WORKERS if set, else the cores this process
    may use, at most 4."""
    configured = os.environ.get("CSBP_WORKERS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def engine_order(docs_dir: Path) -> list[str]:
    """Every file of the docs tree (relative POSIX paths) in the order the engine reads them:
    folders top-down and sorted, `index`/`README` first in their folder, then by name."""
    order: list[str] = []
    for folder, dirs, files in os.walk(docs_dir, followlinks=True):
        dirs.sort()
        relative = os.path.relpath(folder, docs_dir)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        files.sort(key=lambda name: (os.path.splitext(name)[0] not in _FIRST_STEMS, name))
        order.extend(prefix + name for name in files)
    return order


@dataclass(frozen=True)
class Plan:
    """How a docs tree is split: per shard, the `exclude_docs` lines and the pages it builds."""

    excludes: list[list[str]]
    runs: list[list[str]]


def plan(paths: HandbookPaths, count: int | None = None) -> Plan | None:
    """The split of the docs tree over `count` engines (default: the usable cores), or None when one
    engine should build it: few pages, one core, or a split the engine's patterns cannot express."""
    files = engine_order(paths.docs_dir)
    own = inherited_lines(paths.generated_config, "exclude_docs")
    if own is None:
        return None
    excluded = pathspec.gitignore.GitIgnoreSpec.from_lines([*_DEFAULT_EXCLUDE, *own])
    pages = [name for name in files if name.endswith(PAGE_SUFFIX) and not excluded.match_file(name)]
    count = min(count or _cores(), len(pages) // MIN_PAGES_PER_SHARD)
    if count < 2:
        return None
    sizes = {name: (paths.docs_dir / name).stat().st_size + PAGE_COST for name in pages}
    cuts = _cuts(pages, sizes, count)
    if cuts is None:
        return None
    position = {name: index for index, name in enumerate(files)}
    bounds = [0, *(position[pages[cut]] for cut in cuts), len(files)]
    excludes = []
    for start, end in itertools.pairwise(bounds):
        lines = [*own]
        if start > 0:
            lines += _before(files, files[start])
        if end < len(files):
            # The folder's first-read files are before both boundaries when they share a folder.
            same_folder = start > 0 and posixpath.dirname(files[start]) == posixpath.dirname(files[end])
            lines += _after(files, files[end], keep_first=not same_folder)
        excludes.append(lines)
    runs = [pages[a:b] for a, b in zip([0, *cuts], [*cuts, len(pages)], strict=True)]
    result = Plan(excludes, runs)
    return result if _holds(result, files, pages) else None


def _cuts(pages: list[str], sizes: dict[str, int], count: int) -> list[int] | None:
    """Indexes of the first page of shards 2…count, balancing the pages' cost; a shard never
    starts at a folder's index page (it is read before the folder's other files)."""
    total = sum(sizes.values())
    cuts: list[int] = []
    running = 0
    for index, name in enumerate(pages):
        if len(cuts) == count - 1:
            break
        if running >= total * (len(cuts) + 1) / count and index > (cuts[-1] if cuts else 0):
            if _is_first(posixpath.basename(name)):
                continue
            cuts.append(index)
        running += sizes[name]
    return cuts if len(cuts) == count - 1 else None


def _is_first(name: str) -> bool:
    return os.path.splitext(name)[0] in _FIRST_STEMS


# --- gitignore patterns for "every file before / from this one on, in the engine's order" ---


def _one_of(chars: set[str]) -> list[str]:
    """Patterns fragments matching one of `chars`: one bracket of plain characters, escaped
    literals for the rest."""
    plain = sorted(c for c in chars if c.isascii() and (c.isalnum() or c in "._~+@"))
    fragments = [f"[{''.join(plain)}]"] if plain else []
    return fragments + [escape_pattern(c) for c in sorted(chars - set(plain))]


def _names_relative(names: list[str], boundary: str, later: bool) -> list[str]:
    """Patterns for the names in `names` after (`later`) or before `boundary`, by the engine's order,
    leaving out the folder's first-read files; built from the characters the names hold."""
    patterns: list[str] = []
    others = [n for n in names if not _is_first(n)]
    if later:
        patterns.append(escape_pattern(boundary) + "*")
    for i in range(len(boundary)):
        prefix = boundary[:i]
        if not later and i > 0 and prefix in others:
            patterns.append(escape_pattern(prefix))
        chars = {n[i] for n in others if len(n) > i and n.startswith(prefix)}
        chars = {c for c in chars if (c > boundary[i]) == later and c != boundary[i]}
        patterns.extend(escape_pattern(prefix) + fragment + "*" for fragment in _one_of(chars))
    return patterns


def _layout(files: list[str], boundary: str) -> tuple[list[str], str, dict[str, list[str]], dict[str, set[str]]]:
    """The boundary's folder parts and name, and per folder its files and sub-folders."""
    folder, name = posixpath.split(boundary)
    parts = folder.split("/") if folder else []
    names: dict[str, list[str]] = {}
    subdirs: dict[str, set[str]] = {}
    for path in files:
        parent, base = posixpath.split(path)
        names.setdefault(parent, []).append(base)
        ancestors = parent.split("/") if parent else []
        for depth in range(len(ancestors)):
            subdirs.setdefault("/".join(ancestors[:depth]), set()).add(ancestors[depth])
    return parts, name, names, subdirs


def _in(folder: str, rest: str) -> str:
    return "/" + (escape_pattern(folder) + "/" if folder else "") + rest


def _before(files: list[str], boundary: str) -> list[str]:
    """`exclude_docs` lines for every file the engine reads before `boundary`."""
    parts, name, names, subdirs = _layout(files, boundary)
    lines: list[str] = []
    for depth, child in enumerate(parts):
        above = "/".join(parts[:depth])
        lines += [_in(above, "*"), "!" + _in(above, "*/")]  # the folder's own files
        lines += [_in(above, escape_pattern(sub) + "/") for sub in sorted(subdirs.get(above, ())) if sub < child]
    folder = "/".join(parts)
    local = names.get(folder, [])
    lines += [_in(folder, pattern) for pattern in _names_relative(local, name, later=False)]
    lines += [_in(folder, escape_pattern(first)) for first in local if _is_first(first)]
    lines.append("!" + _in(folder, "*/"))
    return lines


def _after(files: list[str], boundary: str, keep_first: bool = True) -> list[str]:
    """`exclude_docs` lines for `boundary` and every file the engine reads after it; with `keep_first`,
    the boundary folder's first-read files (before it) are taken back in case a pattern caught them."""
    parts, name, names, subdirs = _layout(files, boundary)
    lines: list[str] = []
    for depth, child in enumerate(parts):
        above = "/".join(parts[:depth])
        lines += [_in(above, escape_pattern(sub) + "/") for sub in sorted(subdirs.get(above, ())) if sub > child]
    folder = "/".join(parts)
    local = names.get(folder, [])
    lines += [_in(folder, pattern) for pattern in _names_relative(local, name, later=True)]
    if keep_first:
        lines += ["!" + _in(folder, escape_pattern(first)) for first in local if _is_first(first)]
    lines.append(_in(folder, "*/"))
    return lines


def _holds(split: Plan, files: list[str], pages: list[str]) -> bool:
    """Whether the engine, matching the patterns as it does, gives every file it builds to exactly
    one shard and every page to its planned run."""
    included = []
    for lines in split.excludes:
        spec = pathspec.gitignore.GitIgnoreSpec.from_lines([*_DEFAULT_EXCLUDE, *lines])
        included.append({name for name in files if not spec.match_file(name)})
    everything = set().union(*included)
    if sum(len(files) for files in included) != len(everything):
        return False
    page_set = set(pages)
    return all(sorted(found & page_set) == sorted(run) for found, run in zip(included, split.runs, strict=True))


def write_configs(paths: HandbookPaths, split: Plan) -> list[Path]:
    """One config per shard beside the generated one (relative paths in it resolve the same)."""
    configs = []
    for number, lines in enumerate(split.excludes, start=1):
        config = paths.build_dir / SHARD_CONFIG.format(number)
        text = yaml.safe_dump({"INHERIT": paths.generated_config.name, "exclude_docs": "\n".join(lines) + "\n"})
        config.write_text("# Written by `csbp build` for one engine shard; removed after the build.\n" + text, "utf-8")
        configs.append(config)
    return configs


def remove_configs(paths: HandbookPaths) -> None:
    for config in paths.build_dir.glob(SHARD_CONFIG.format("*")):
        config.unlink(missing_ok=True)


# --- merging the shards' outputs ---


def merge(outputs: list[Path]) -> Path:
    """Merge the later shards' outputs into the first one's; return it."""
    site = outputs[0]
    for output in outputs[1:]:
        for folder, _dirs, names in os.walk(output):
            relative = os.path.relpath(folder, output)
            for name in names:
                member = name if relative == "." else f"{relative.replace(os.sep, '/')}/{name}"
                source, target = Path(folder) / name, site / member
                if member in JOINED:
                    continue
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(source, target)
                elif source.read_bytes() != target.read_bytes():
                    raise MergeError(f"two engine shards wrote different versions of {member}")
    _join_search_index(outputs)
    _join_sitemap(outputs)
    return site


def _join_search_index(outputs: list[Path]) -> None:
    """The search index is `{"config":…,"docs":[…]}` with the records in page order; the shards'
    records are joined as text (tens of MB at thousands of entries), the config must agree."""
    texts = [(output / SEARCH_INDEX).read_text("utf-8") for output in outputs if (output / SEARCH_INDEX).is_file()]
    if not texts:
        return
    if len(texts) != len(outputs):
        raise MergeError(f"only some engine shards wrote {SEARCH_INDEX}")
    heads, records = [], []
    for text in texts:
        start = text.find('"docs":[')  # the first key outside a JSON string: quotes in strings are escaped
        if start < 0 or not text.endswith("]}"):
            raise MergeError(f"{SEARCH_INDEX} of an engine shard is not laid out as expected")
        start += len('"docs":[')
        heads.append(text[:start])
        if text[start:-2]:
            records.append(text[start:-2])
    if len(set(heads)) != 1:
        raise MergeError(f"engine shards disagree on the settings in {SEARCH_INDEX}")
    (outputs[0] / SEARCH_INDEX).write_text(heads[0] + ",".join(records) + "]}", "utf-8")


def _join_sitemap(outputs: list[Path]) -> None:
    """Each shard lists its own pages between `<urlset …>` and `</urlset>`, in page order."""
    texts = [(output / SITEMAP).read_text("utf-8") for output in outputs if (output / SITEMAP).is_file()]
    if not texts:
        return
    if len(texts) != len(outputs):
        raise MergeError(f"only some engine shards wrote {SITEMAP}")
    heads, bodies, tails = set(), [], set()
    for text in texts:
        opening = text.find(">", text.find("<urlset")) + 1
        closing = text.rfind("</urlset>")
        if opening <= 0 or closing < opening:
            raise MergeError(f"{SITEMAP} of an engine shard is not laid out as expected")
        heads.add(text[:opening])
        bodies.append(text[opening:closing])
        tails.add(text[closing:])
    if len(heads) != 1 or len(tails) != 1:
        raise MergeError(f"engine shards disagree on the frame of {SITEMAP}")
    # Each body is its pages' `<url>` elements and then the whitespace before `</urlset>`: keep that once.
    ending = bodies[-1][len(bodies[-1].rstrip()) :]
    joined = heads.pop() + "".join(body.rstrip() for body in bodies) + ending + tails.pop()
    (outputs[0] / SITEMAP).write_text(joined, "utf-8")
    compressed = outputs[0] / (SITEMAP + ".gz")
    if compressed.is_file():
        header = compressed.read_bytes()[:10]
        mtime = int.from_bytes(header[4:8], "little")
        with (
            compressed.open("wb") as target,
            gzip.GzipFile(fileobj=target, filename=str(compressed), mode="wb", mtime=mtime) as archive,
        ):
            archive.write(joined.encode("utf-8"))
