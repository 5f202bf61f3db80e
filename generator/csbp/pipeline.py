"""The stages in order (load → validate → model → render → write), shared by every command.

Commands call these instead of wiring stages themselves, so check, build, serve and stats
see exactly the same handbook.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import os
import sys
import time
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path

from csbp import markup
from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.docs_tree import WriteStats, write_tree
from csbp.loader import SourceCache
from csbp.model import Handbook, build_model
from csbp.pagecache import EntryPrints, Fingerprints, PageCache
from csbp.render import DocsTree, render_handbook
from csbp.validate import Corpus, SchemaSet, load_sources, validate_sources

# Parsed files, validation results and rendered Markdown, kept for the life of the process
# (`csbp serve` regenerates after every edit) and saved under build/.cache by every write.
SOURCES = SourceCache()
_PAGE_CACHES: dict[str, PageCache] = {}  # by docs tree
_ENTRY_PRINTS: dict[str, EntryPrints] = {}  # by docs tree: the last run's entry-page fingerprints
_PRINTED_FROM: dict[str, Corpus] = {}  # by docs tree: the corpus of those fingerprints
_CACHES_READ: set[str] = set()


def _cache_dir(paths: HandbookPaths) -> Path:
    return paths.root / "build" / ".cache"


def read_caches(paths: HandbookPaths) -> None:
    """Take over what the last build of this handbook saved (once per process and handbook)."""
    if os.environ.get("CSBP_NO_CACHE") or str(paths.root) in _CACHES_READ:
        return
    _CACHES_READ.add(str(paths.root))
    SOURCES.load(_cache_dir(paths) / "sources.json")
    markup.CACHE.load(_cache_dir(paths) / "markdown.json")


def save_caches(paths: HandbookPaths) -> None:
    """Write what changed in the caches to build/.cache (a cache nothing was added to is not rewritten)."""
    if os.environ.get("CSBP_NO_CACHE"):
        return
    SOURCES.save(_cache_dir(paths) / "sources.json")
    markup.CACHE.save(_cache_dir(paths) / "markdown.json")
    cache = _PAGE_CACHES.get(str(paths.docs_dir))
    if cache is not None:
        cache.save(_page_cache_file(paths), _page_cache_file(paths, "rows"))


def read_ahead(paths: HandbookPaths) -> None:
    """Read now what a build that changed nothing left unread (saved Markdown renderings, the rows
    of listing pages): `csbp serve` calls this while the engine starts, so the first edit does not
    wait for it."""
    markup.CACHE.read()
    cache = _PAGE_CACHES.get(str(paths.docs_dir))
    if cache is not None:
        cache.read_parts()


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: around each stage of `validate` and `generate`, and
    one regeneration of `csbp serve`, whose caller collects once edits pause (`upkeep`).

    A build allocates hundreds of thousands of objects that live to its end (parsed sources,
    the model, renderings, pages) and little cyclic garbage; the collector's full passes walked
    all of them again and again: four passes, 0.27 s of a 1,000-entry first build. Forked
    workers inherit the pause."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def upkeep(paths: HandbookPaths) -> None:
    """What `csbp serve` leaves for a pause in the edits: save the caches, collect garbage."""
    save_caches(paths)
    gc.collect()


def _page_cache_file(paths: HandbookPaths, what: str = "pages") -> Path:
    """One file per docs tree: its pages, or the rows of its listings."""
    flavour = hashlib.sha256(str(paths.docs_dir.relative_to(paths.root)).encode()).hexdigest()[:12]
    return _cache_dir(paths) / f"{what}-{flavour}.json"


def page_cache(paths: HandbookPaths, corpus: Corpus, handbook: Handbook) -> tuple[Fingerprints, PageCache] | None:
    """Fingerprints of this handbook's pages and the pages of the last run on the same docs tree."""
    if os.environ.get("CSBP_NO_CACHE"):
        return None
    cache = _PAGE_CACHES.get(str(paths.docs_dir))
    if cache is None:
        cache = _PAGE_CACHES[str(paths.docs_dir)] = PageCache(paths.docs_dir)
        cache.load(_page_cache_file(paths), _page_cache_file(paths, "rows"))
    try:
        vocabularies = hashlib.sha256(paths.vocabularies.read_bytes()).hexdigest()
    except OSError:
        return None
    previous = _ENTRY_PRINTS.get(str(paths.docs_dir))
    last_corpus = _PRINTED_FROM.get(str(paths.docs_dir))
    if corpus.edited is not None and previous is not None and corpus.based_on == id(last_corpus):
        digests = dict(previous.digests)  # of the corpus this one patched, but the edited documents
        digests.update({(kind, eid): corpus.documents[kind][eid].digest for kind, eid in corpus.edited})
    else:
        digests = {(kind, eid): doc.digest for kind, docs in corpus.documents.items() for eid, doc in docs.items()}
    fingerprints = Fingerprints(handbook, digests, vocabularies, previous)
    _PRINTED_FROM[str(paths.docs_dir)] = corpus
    _ENTRY_PRINTS[str(paths.docs_dir)] = fingerprints.prints
    return fingerprints, cache


def build_date() -> dt.date:
    """Today, or the date of SOURCE_DATE_EPOCH so that builds are reproducible."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date()
    return dt.date.today()


@dataclass
class Progress:
    """One line per stage on stderr, with timings, so long work shows it is moving."""

    quiet: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    _start: float = field(default_factory=time.perf_counter)

    def step(self, name: str, detail: str = "") -> None:
        now = time.perf_counter()
        self.timings[name] = now - self._start
        self._start = now
        if not self.quiet:
            print(f"csbp: {name:<9} {self.timings[name] * 1000:7.0f} ms  {detail}", file=sys.stderr, flush=True)


def print_report(report: Report, paths: HandbookPaths) -> None:
    for diagnostic in report.sorted():
        print(diagnostic.format(paths.root), file=sys.stderr)
    if report.diagnostics:
        print(f"csbp: {len(report.errors)} error(s), {len(report.warnings)} warning(s)", file=sys.stderr)


def validate(
    paths: HandbookPaths,
    report: Report,
    progress: Progress,
    schemas: SchemaSet | None = None,
    changed: AbstractSet[str] | None = None,
) -> Corpus | None:
    """Load (stage 1) and validate (stage 2); files unchanged since the last run are not parsed
    again. `changed`: the source paths the operating system reported changed since the last run
    of this process (`csbp serve`'s watcher); the other files are not even stat'ed."""
    with collection_paused():
        read_caches(paths)
        sources = load_sources(paths, report, SOURCES, changed)
        loaded = sum(len(docs) for docs in sources.entries.values())
        progress.step("load", f"{loaded} entry files parsed or taken from the cache")
        corpus = validate_sources(sources, report, build_date(), schemas, SOURCES)
    count = sum(len(docs) for docs in corpus.documents.values()) if corpus else 0
    progress.step("validate", f"{count} valid entries, {len(report.errors)} error(s)")
    return corpus


def validate_or_stop(
    paths: HandbookPaths,
    report: Report,
    progress: Progress,
    stopped: str,
    schemas: SchemaSet | None = None,
    changed: AbstractSet[str] | None = None,
) -> Corpus | None:
    """`validate`, for commands that go on to write: on any error, print the report and what
    was left untouched (`stopped`), and return None."""
    corpus = validate(paths, report, progress, schemas, changed)
    if corpus is None or report.errors:
        print_report(report, paths)
        print(f"csbp: {stopped}", file=sys.stderr)
        return None
    return corpus


@dataclass
class Generated:
    handbook: Handbook
    tree: DocsTree
    stats: WriteStats


def render(
    paths: HandbookPaths,
    corpus: Corpus,
    report: Report,
    progress: Progress,
    audience: str = "public",
) -> tuple[Handbook, DocsTree]:
    """Model and render in memory: `check` stops here, `build` goes on to write."""
    handbook = build_model(corpus, audience, build_date(), report)
    progress.step(
        "model",
        f"{len(handbook.entries())} entries for the {audience} audience, {len(handbook.excluded)} left out by marking",
    )
    tree = render_handbook(handbook, report, paths.pages_dir, cache=page_cache(paths, corpus, handbook))
    progress.step("render", f"{len(tree.pages)} pages")
    return handbook, tree


def generate(
    paths: HandbookPaths,
    corpus: Corpus,
    report: Report,
    progress: Progress,
    audience: str = "public",
    save: bool = True,
    in_place: bool = False,
) -> Generated:
    """Render and write; then save the caches, unless the caller saves them later (`save=False`:
    `csbp serve` saves once edits pause and at exit, not after every regeneration). `in_place`:
    changed pages are overwritten where they are (`csbp serve`, see `docs_tree.write_docs`)."""
    with collection_paused():
        handbook, tree = render(paths, corpus, report, progress, audience)
        if report.errors:  # e.g. a broken link in a hand-written page: keep the last good tree
            return Generated(handbook, tree, WriteStats())
        cache = _PAGE_CACHES.get(str(paths.docs_dir))
        stats = write_tree(tree, paths, audience, cache.found if cache is not None else None, in_place)
        if cache is not None:
            cache.found = {}
        if save:
            save_caches(paths)
    progress.step("write", f"{len(stats.written)} written, {stats.unchanged} unchanged, {len(stats.removed)} removed")
    return Generated(handbook, tree, stats)
