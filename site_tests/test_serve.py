"""`csbp serve`: a YAML edit shows up in the served page without restarting."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from csbp.config import HandbookPaths
from csbp.watch import Watcher
from site_tests.support import csbp

SERVE = [sys.executable, "-m", "csbp", "serve"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode("utf-8")
    except OSError:
        return ""


def wait_for(url: str, needle: str, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if needle in fetch(url):
            return True
        time.sleep(0.3)
    return False


@pytest.mark.parametrize("watching", ["watcher", "polling"])
def test_serve_regenerates_a_page_when_its_yaml_changes(handbook, tmp_path, watching):
    """Told of the edit by the operating system (the watcher), or finding it by polling."""
    port = free_port()
    log = tmp_path / "serve.log"
    environment = {**os.environ, **({"CSBP_NO_WATCH": "1"} if watching == "polling" else {})}
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [*SERVE, "--root", str(handbook), "--dev-addr", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=environment,
        )
    try:
        url = f"http://127.0.0.1:{port}/practices/vehicle-barriers/"
        assert wait_for(url, "Vehicle barriers at crowded frontages")
        path = handbook / "practices/vehicle-barriers.yaml"
        path.write_text(path.read_text().replace("Use rated barriers designed", "Use impact-rated barriers designed"))
        assert wait_for(url, "Use impact-rated barriers designed")
        path.write_text("title: [broken\n")  # a broken edit keeps the last good page up
        time.sleep(2)
        assert "Use impact-rated barriers designed" in fetch(url)
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert fetch(url) == "", "stopping csbp serve must stop the engine's server too"
    text = log.read_text()
    assert "dirty" not in text, "a small handbook is rebuilt whole after an edit (--rebuild auto)"
    assert ("watching the sources by polling" in text) == (watching == "polling")
    assert _watchers_of(handbook) == [], "stopping csbp serve must stop its file watcher too"


def _watchers_of(root: Path) -> list[str]:
    """The command lines of running watcher processes of this handbook."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"csbp.watch" in command and os.fsencode(str(root)) in command:
            found.append(" ".join(os.fsdecode(part) for part in command))
    return found


def test_the_watcher_reports_changed_sources_and_nothing_else(handbook):
    """Each changed, added, renamed or deleted source path, at once; not the generated tree."""
    paths = HandbookPaths.at(handbook)
    watcher = Watcher.start(paths)
    assert watcher is not None, "watchdog's observer starts on this machine"
    try:
        practice = handbook / "practices" / "vehicle-barriers.yaml"
        practice.write_text(practice.read_text().replace("Use rated", "Use impact-rated"))
        assert _changes(watcher) == {practice}
        moved = handbook / "practices" / "rated-barriers.yaml"
        practice.rename(moved)
        assert _changes(watcher) == {practice, moved}
        moved.unlink()
        assert _changes(watcher) == {moved}
        (handbook / "mkdocs.yml").write_text("site_name: Watched\n")  # the handbook's own config
        assert _changes(watcher) == {handbook / "mkdocs.yml"}
        (handbook / "build" / "docs").mkdir(parents=True)
        (handbook / "build" / "docs" / "page.md").write_text("# Generated")
        (handbook / "README.txt").write_text("not a source")
        assert watcher.changes(1.0) == set()
    finally:
        watcher.close()
    assert watcher.process.poll() is not None


def _changes(watcher: Watcher) -> set[Path]:
    """What the watcher reports within a few seconds, until a quiet moment."""
    found: set[Path] = set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        reported = watcher.changes(0.5)
        assert reported is not None, "the watcher is still running"
        if not reported and found:
            return found
        found |= reported
    return found


def test_serve_refuses_to_start_on_a_broken_handbook(handbook):
    (handbook / "practices/broken.yaml").write_text("title: [broken\n")
    result = csbp("serve", "--root", str(handbook), "--dev-addr", f"127.0.0.1:{free_port()}")
    assert result.returncode == 1 and "practices/broken.yaml:" in result.stderr


def test_serve_can_have_the_engine_rebuild_only_the_pages_it_rewrote(handbook, tmp_path):
    # The default from DIRTY_FROM_PAGES pages on; asked for here on the small fixture handbook.
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [*SERVE, "--root", str(handbook), "--dev-addr", f"127.0.0.1:{port}", "--rebuild", "changed"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            url = f"http://127.0.0.1:{port}/practices/vehicle-barriers/"
            index = f"http://127.0.0.1:{port}/practices/"
            assert wait_for(url, "Vehicle barriers at crowded frontages")
            path = handbook / "practices/vehicle-barriers.yaml"
            path.write_text(path.read_text().replace("title: Vehicle barriers", "title: Rated vehicle barriers"))
            assert wait_for(url, "Rated vehicle barriers at crowded frontages")
            assert wait_for(index, "Rated vehicle barriers at crowded frontages"), "listings are rewritten too"
        finally:
            server.terminate()
            server.wait(timeout=20)
    text = log.read_text()
    assert "the engine rebuilds only the pages csbp rewrote" in text
    assert "A 'dirty' build is being performed" in text  # the engine's own word that it did
