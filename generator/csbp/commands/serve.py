"""`csbp serve`: generate the docs tree, serve it with live reload, regenerate when a source changes.

The engine's own dev server (`mkdocs serve`) watches the generated docs tree; this command
watches the sources (`practices/`, `content/`, `mkdocs.yml`) and, after each change, runs the
stages again and rewrites only the pages whose text changed, so the engine rebuilds those and
the browser reloads. A broken edit is reported and the last good pages stay up.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.model import AUDIENCES
from csbp.pipeline import Progress, generate, print_report, validate_or_stop
from csbp.validate import SchemaSet

# From this many pages on, a full engine rebuild after every edit takes longer than a reader waits:
# the engine then rebuilds only the pages csbp rewrote (its dirty mode).
DIRTY_FROM_PAGES = 1000
# After the first change is noticed, how long to wait for more: an editor's save is often several
# events (a temporary file written, renamed over the old one, its mode set).
SETTLE_SECONDS = 0.05
WATCHED_FOLDERS = ("practices", "content")


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


@dataclass
class ServeSession:
    """What one `csbp serve` keeps while it runs: the handbook it serves, for whom, and the schemas."""

    paths: HandbookPaths
    audience: str
    quiet: bool
    schemas: SchemaSet = field(default_factory=SchemaSet)

    def regenerate(self) -> int | None:
        """Run the stages and write the docs tree; the number of pages, or None if it was left as it
        was (errors, which are printed)."""
        report = Report()
        progress = Progress(quiet=self.quiet)
        unchanged = "fix the errors above; the served pages are unchanged"
        corpus = validate_or_stop(self.paths, report, progress, unchanged, self.schemas)
        if corpus is None:
            return None
        generated = generate(self.paths, corpus, report, progress, audience=self.audience)
        print_report(report, self.paths)
        if report.errors:
            print(f"csbp: {unchanged}", file=sys.stderr)
            return None
        written = generated.stats.written
        if written and not self.quiet:
            print(f"csbp: updated {', '.join(written[:5])}{' …' if len(written) > 5 else ''}", file=sys.stderr)
        return len(generated.tree.pages)


class SourceWatch:
    """Tells when a source file may have changed: from the operating system's file events where it
    reports them (watchdog, which MkDocs already uses), else by comparing snapshots of the files'
    modification times every `poll` seconds (also with CSBP_NO_WATCH=1)."""

    def __init__(self, paths: HandbookPaths, poll: float) -> None:
        self.paths = paths
        self.poll = poll
        self.changed = threading.Event()
        self.observer = self._observe()
        self.snapshot = self._snapshot()

    def _observe(self) -> object | None:
        if os.environ.get("CSBP_NO_WATCH") or not all((self.paths.root / f).is_dir() for f in WATCHED_FOLDERS):
            return None
        try:
            from watchdog.events import FileSystemEvent, FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            return None
        changed = self.changed
        config = str(self.paths.root / "mkdocs.yml")

        class Handler(FileSystemEventHandler):
            def __init__(self, only: str | None = None) -> None:
                self.only = only  # the one file of a folder watched without its subfolders

            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return  # the file was read, not changed
                if self.only is None or self.only in (event.src_path, getattr(event, "dest_path", "")):
                    changed.set()

        observer = Observer()
        try:
            for folder in WATCHED_FOLDERS:
                observer.schedule(Handler(), str(self.paths.root / folder), recursive=True)
            observer.schedule(Handler(config), str(self.paths.root), recursive=False)
            observer.start()
        except OSError:
            return None
        return observer

    def _snapshot(self) -> dict[Path, float]:
        """Modification times of every source file the handbook is generated from."""
        files = [p for folder in WATCHED_FOLDERS for p in (self.paths.root / folder).rglob("*") if p.is_file()]
        files += [p for p in (self.paths.root / "mkdocs.yml",) if p.is_file()]
        times: dict[Path, float] = {}
        for path in files:
            with contextlib.suppress(OSError):
                times[path] = path.stat().st_mtime
        return times

    def wait(self) -> bool:
        """Wait up to one poll interval; True if a source changed (after letting a save settle)."""
        if self.observer is not None:
            if not self.changed.wait(self.poll):
                return False
            time.sleep(SETTLE_SECONDS)
            self.changed.clear()
            return True
        time.sleep(self.poll)
        current = self._snapshot()
        if current == self.snapshot:
            return False
        self.snapshot = current
        return True

    def close(self) -> None:
        if self.observer is not None:
            self.observer.stop()  # type: ignore[attr-defined]
            self.observer.join(timeout=5)  # type: ignore[attr-defined]


def run(args: argparse.Namespace) -> int:
    session = ServeSession(HandbookPaths.at(args.root), args.audience, args.quiet)
    watch = SourceWatch(session.paths, args.poll)  # before the first run: what changes during it is seen
    try:
        pages = session.regenerate()
        if pages is None:
            return 1
        return _serve(args, session, watch, pages)
    finally:
        watch.close()


def _serve(args: argparse.Namespace, session: ServeSession, watch: SourceWatch, pages: int) -> int:
    command = [
        sys.executable,
        "-m",
        "mkdocs",
        "serve",
        "--config-file",
        str(session.paths.generated_config),
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
    server = subprocess.Popen(command, cwd=session.paths.build_dir)
    # Stopping csbp (SIGTERM from a supervisor or test) must stop the engine's server too.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    print(f"csbp: serving on http://{args.dev_addr}/ (Ctrl+C to stop)", file=sys.stderr, flush=True)
    if watch.observer is None:
        print("csbp: watching the sources by polling", file=sys.stderr)
    try:
        while server.poll() is None:
            if watch.wait():
                session.regenerate()
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    return server.returncode or 0
