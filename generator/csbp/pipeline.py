"""The stages in order (load → validate → model → render → write), shared by every command.

Commands call these instead of wiring stages themselves, so check, build, serve and stats
see exactly the same handbook.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from dataclasses import dataclass, field

from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.docs_tree import WriteStats, write_tree
from csbp.loader import load_sources
from csbp.model import Handbook, build_model
from csbp.render import DocsTree, render_handbook
from csbp.validate import Corpus, SchemaSet, validate_sources


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
    paths: HandbookPaths, report: Report, progress: Progress, schemas: SchemaSet | None = None
) -> Corpus | None:
    """Load (stage 1) and validate (stage 2) every file of the handbook."""
    sources = load_sources(paths, report)
    loaded = sum(len(docs) for docs in sources.entries.values())
    progress.step("load", f"{loaded} entry files parsed")
    corpus = validate_sources(sources, report, build_date(), schemas)
    count = sum(len(docs) for docs in corpus.documents.values()) if corpus else 0
    progress.step("validate", f"{count} valid entries, {len(report.errors)} error(s)")
    return corpus


def validate_or_stop(
    paths: HandbookPaths, report: Report, progress: Progress, stopped: str, schemas: SchemaSet | None = None
) -> Corpus | None:
    """`validate`, for commands that go on to write: on any error, print the report and what
    was left untouched (`stopped`), and return None."""
    corpus = validate(paths, report, progress, schemas)
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
    paths: HandbookPaths, corpus: Corpus, report: Report, progress: Progress, audience: str = "public"
) -> tuple[Handbook, DocsTree]:
    """Model (stage 3) and render (stage 4) in memory: `check` stops here, `build` goes on to write."""
    handbook = build_model(corpus, audience, build_date(), report)
    progress.step(
        "model",
        f"{len(handbook.entries())} entries for the {audience} audience, {len(handbook.excluded)} left out by marking",
    )
    tree = render_handbook(handbook, report, paths.pages_dir)
    progress.step("render", f"{len(tree.pages)} pages")
    return handbook, tree


def generate(
    paths: HandbookPaths, corpus: Corpus, report: Report, progress: Progress, audience: str = "public"
) -> Generated:
    """Render and write the docs tree (stage 5a); on a rendering error (a broken link in a
    hand-written page) the last tree is left as it was."""
    handbook, tree = render(paths, corpus, report, progress, audience)
    if report.errors:
        return Generated(handbook, tree, WriteStats())
    stats = write_tree(tree, paths, audience)
    progress.step("write", f"{len(stats.written)} written, {stats.unchanged} unchanged, {len(stats.removed)} removed")
    return Generated(handbook, tree, stats)
