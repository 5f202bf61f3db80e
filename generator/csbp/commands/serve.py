"""`csbp serve`: generate the docs tree, serve it with live reload, regenerate on YAML changes.

The engine's own dev server (`mkdocs serve`) watches the generated docs tree; this
command watches the sources and rewrites only the pages whose content changed, so the
browser reloads at once. A broken edit is reported and the last good pages stay up.
"""

from __future__ import annotations

import argparse
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.model import AUDIENCES
from csbp.pipeline import (
    Progress,
    collection_paused,
    generate,
    print_report,
    read_ahead,
    upkeep,
    validate_or_stop,
)
from csbp.validate import SchemaSet
from csbp.watch import Watcher


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dev-addr", default="127.0.0.1:8000", metavar="HOST:PORT", help="address to serve on (default 127.0.0.1:8000)"
    )
    parser.add_argument("--audience", choices=sorted(AUDIENCES), default="public", help="as for csbp build")
    parser.add_argument(
        "--poll",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="how often to look for changes where the operating system cannot report them (default 0.5)",
    )
    parser.add_argument(
        "--rebuild",
        choices=("auto", "changed", "all"),
        default="auto",
        help="after an edit, have the engine rebuild only the pages csbp rewrote (changed), every page "
        f"(all), or changed from {DIRTY_FROM_PAGES:,} pages on (auto, the default)",
    )


def _snapshot(paths: HandbookPaths) -> dict[Path, float]:
    """Modification times of every source file the handbook is generated from."""
    watched = [paths.root / "practices", paths.root / "content"]
    files = [p for folder in watched if folder.is_dir() for p in folder.rglob("*") if p.is_file()]
    files += [p for p in (paths.root / "mkdocs.yml",) if p.is_file()]
    return {p: p.stat().st_mtime for p in files}


def _take_in(seen: dict[Path, float], reported: set[Path]) -> None:
    """Update a snapshot (`_snapshot`) for the files the watcher reported."""
    for path in reported:
        try:
            status = path.stat()
        except OSError:
            seen.pop(path, None)
            continue
        if stat.S_ISREG(status.st_mode):
            seen[path] = status.st_mtime


# From this many pages on, a full engine rebuild after every edit takes longer than a reader waits
# (about 15 s at 1,000 pages): the engine then rebuilds only the pages csbp rewrote (its dirty mode).
DIRTY_FROM_PAGES = 1000


# Caches are saved and garbage collected once edits pause for this long, and at exit, not during
# every regeneration: saving several MB of signed JSON or walking every cached object would
# delay the reload for nothing.
UPKEEP_AFTER_SECONDS = 2.0


# With a watcher, the sources are still compared with a snapshot this often, so a change it did
# not report is found all the same (a full regeneration, without its list of changed files).
SNAPSHOT_EVERY_SECONDS = 5.0


def regenerate(
    paths: HandbookPaths,
    audience: str,
    schemas: SchemaSet,
    quiet: bool,
    changed: set[Path] | None = None,
) -> int | None:
    """One generation pass; the number of pages of the docs tree, or None if it was left as it
    was (errors). The caller saves the caches and collects garbage afterwards (`upkeep`): while
    the engine builds, after the first pass; once edits pause, after the others. `changed`: the
    source paths the watcher reported since the last pass (the others are taken as they were,
    without a stat)."""
    report = Report()
    progress = Progress(quiet=quiet)
    reported = {os.path.abspath(path) for path in changed} if changed is not None else None
    with collection_paused():
        corpus = validate_or_stop(
            paths, report, progress, "fix the errors above; the served pages are unchanged", schemas, reported
        )
        if corpus is None:
            return None
        generated = generate(paths, corpus, report, progress, audience=audience, save=False, in_place=True)
    print_report(report, paths)
    if report.errors:
        print("csbp: fix the errors above; the served pages are unchanged", file=sys.stderr)
        return None
    if generated.stats.written and not quiet:
        print(
            f"csbp: updated {', '.join(generated.stats.written[:5])}{' …' if len(generated.stats.written) > 5 else ''}",
            file=sys.stderr,
        )
    return len(generated.tree.pages)


def run(args: argparse.Namespace) -> int:
    paths = HandbookPaths.at(args.root)
    schemas = SchemaSet()
    watcher = Watcher.start(paths)  # before the first load: what changes during it is reported
    try:
        return _serve(args, paths, schemas, watcher)
    finally:
        if watcher is not None:
            watcher.close()


def _serve(args: argparse.Namespace, paths: HandbookPaths, schemas: SchemaSet, watcher: Watcher | None) -> int:
    pages = regenerate(paths, args.audience, schemas, args.quiet)
    if pages is None:
        return 1
    command = [
        sys.executable,
        "-m",
        "mkdocs",
        "serve",
        "--config-file",
        str(paths.generated_config),
        "--dev-addr",
        args.dev_addr,
    ]
    if args.rebuild == "changed" or (args.rebuild == "auto" and pages >= DIRTY_FROM_PAGES):
        command.append("--dirty")
        print(
            f"csbp: {pages:,} pages: after an edit the engine rebuilds only the pages csbp rewrote; "
            "until restarted, its search may miss pages or list one twice (--rebuild all rebuilds every page)",
            file=sys.stderr,
        )
    server = subprocess.Popen(command, cwd=paths.build_dir)
    # Stopping csbp (SIGTERM from a supervisor or test) must stop the engine's server too.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    print(f"csbp: serving on http://{args.dev_addr}/ (Ctrl+C to stop)", file=sys.stderr, flush=True)
    upkeep(paths)  # while the engine builds: the caches for the next build, then garbage
    read_ahead(paths)
    seen = _snapshot(paths)
    snapshot_at = time.monotonic()
    unsaved_since: float | None = None  # when the last regeneration whose caches are not saved ran
    if watcher is None:
        print("csbp: watching the sources by polling", file=sys.stderr)
    try:
        while server.poll() is None:
            reported = watcher.changes(args.poll) if watcher is not None else None
            if watcher is not None and reported is None:
                print("csbp: the file watcher stopped; watching the sources by polling", file=sys.stderr)
                watcher.close()
                watcher = None
            if reported:
                regenerate(paths, args.audience, schemas, args.quiet, changed=reported)
                _take_in(seen, reported)  # so the next snapshot does not find them again
                unsaved_since = time.monotonic()
                continue
            if watcher is None:
                time.sleep(args.poll)
            if watcher is None or time.monotonic() - snapshot_at >= SNAPSHOT_EVERY_SECONDS:
                current, snapshot_at = _snapshot(paths), time.monotonic()
                if current != seen:
                    seen = current
                    regenerate(paths, args.audience, schemas, args.quiet)
                    unsaved_since = time.monotonic()
                    continue
            if unsaved_since is not None and time.monotonic() - unsaved_since >= UPKEEP_AFTER_SECONDS:
                upkeep(paths)
                unsaved_since = None
    finally:
        if unsaved_since is not None:
            upkeep(paths)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    return server.returncode or 0
