"""Which source files changed, as the operating system tells it: `csbp serve` regenerates at once.

Polling every source file for a change costs a stat of each (thousands) at every poll and up to
a poll interval of waiting. The watcher is a child process running watchdog's observer (the
library MkDocs itself depends on: inotify on Linux, FSEvents on macOS, ReadDirectoryChangesW
on Windows) over `practices/`, `content/` and the handbook's `mkdocs.yml`; it writes each
changed path to its output as soon as it is told. A process, not a thread: `csbp serve`'s own
regenerations may fork workers (`parallel.fork_map`), which is unsafe while threads run.

The serve loop still takes a full snapshot now and then, so a change the watcher did not
report (an overflowing event queue, a file system without notifications) is found all the same.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

from csbp.config import HandbookPaths

READY = b"ready\0"
_WATCHED_FOLDERS = ("practices", "content")
# Events that leave a file's content as it was (watchdog reports opening and reading on inotify).
_QUIET_EVENTS = {"opened", "closed_no_write"}
# After the first event, how long to collect more: an editor's save is often several events
# (a temporary file written, renamed over the old one, its mode set).
SETTLE_SECONDS = 0.03


class Watcher:
    """The watcher child process of one handbook, and what it reported."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self._buffer = b""

    @classmethod
    def start(cls, paths: HandbookPaths, timeout: float = 20.0) -> Watcher | None:
        """A watcher of the handbook's sources, once it watches; None where there can be none
        (no watchdog, a source folder missing, the child not ready in time): then poll."""
        if os.environ.get("CSBP_NO_WATCH") or not all((paths.root / f).is_dir() for f in _WATCHED_FOLDERS):
            return None
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "csbp.watch", str(paths.root)],
                stdin=subprocess.PIPE,  # closed when this process ends: the child then ends too
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return None
        watcher = cls(process)
        deadline = time.monotonic() + timeout
        while READY not in watcher._buffer:
            if not watcher._read(max(0.0, deadline - time.monotonic())):
                watcher.close()
                return None
        watcher._buffer = watcher._buffer.split(READY, 1)[1]
        return watcher

    def changes(self, timeout: float) -> set[Path] | None:
        """The source paths reported within `timeout` seconds (empty: none), collected until they
        settle; None when the watcher has ended and the caller must poll instead."""
        if not self._buffer and not self._read(timeout):
            return None if self.process.poll() is not None else set()
        while self._read(SETTLE_SECONDS):
            pass
        *complete, self._buffer = self._buffer.split(b"\0")
        if self.process.poll() is not None and not complete:
            return None
        return {Path(os.fsdecode(name)) for name in complete if name}

    def _read(self, timeout: float) -> bool:
        """Read what the child wrote within `timeout`; False if nothing came (or it ended)."""
        stdout = self.process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], timeout)
        if not ready:
            return False
        data = os.read(stdout.fileno(), 65536)
        self._buffer += data
        return bool(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _watch(root: Path) -> None:
    """The child: report every changed source path (NUL-terminated) until the parent goes."""
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    out = sys.stdout.buffer
    lock = threading.Lock()
    config = os.fsencode(root / "mkdocs.yml")

    def report(*names: str | bytes) -> None:
        with lock:
            for name in names:
                out.write(os.fsencode(name) + b"\0")
            out.flush()

    class Reporter(FileSystemEventHandler):
        def __init__(self, only: bytes | None = None) -> None:
            self.only = only  # the one file of a folder watched without its subfolders

        def on_any_event(self, event: FileSystemEvent) -> None:
            if event.event_type in _QUIET_EVENTS or (event.is_directory and event.event_type == "modified"):
                return  # a folder is "modified" when its files are, which are reported themselves
            names = [event.src_path, *([event.dest_path] if getattr(event, "dest_path", "") else [])]
            if self.only is not None:
                names = [name for name in names if os.fsencode(name) == self.only]
            if names:
                report(*names)

    observer = Observer()
    for folder in _WATCHED_FOLDERS:
        observer.schedule(Reporter(), str(root / folder), recursive=True)
    observer.schedule(Reporter(config), str(root), recursive=False)
    observer.start()
    report(READY.rstrip(b"\0"))
    try:
        sys.stdin.buffer.read()  # until the parent closes it, or ends
    except (OSError, KeyboardInterrupt):
        pass
    finally:
        observer.stop()
        observer.join(timeout=5)


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        _watch(Path(sys.argv[1]))
