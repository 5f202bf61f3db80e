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

from csbp.commands.serve import SourceWatch
from csbp.config import HandbookPaths
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
        path.write_text("title: [broken\n")  # a broken edit is reported and keeps the last good page up
        assert _wait_for_log(log, "YAML syntax error")
        assert "fix the errors above; the served pages are unchanged" in log.read_text()
        assert "Use impact-rated barriers designed" in fetch(url)
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert fetch(url) == "", "stopping csbp serve must stop the engine's server too"
    text = log.read_text()
    assert "dirty" not in text, "a small handbook is rebuilt whole after an edit (--rebuild auto)"
    assert ("watching the sources by polling" in text) == (watching == "polling")


def _wait_for_log(log: Path, needle: str, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if needle in log.read_text():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("watching", ["watcher", "polling"])
def test_the_source_watch_sees_changed_sources_and_nothing_else(handbook, monkeypatch, watching):
    """An edited, renamed or deleted source, or the handbook's own mkdocs.yml; not the generated tree."""
    if watching == "polling":
        monkeypatch.setenv("CSBP_NO_WATCH", "1")
    watch = SourceWatch(HandbookPaths.at(handbook), poll=0.2)
    assert (watch.observer is None) == (watching == "polling")
    try:
        assert not _changed(watch, seconds=1), "nothing changed yet"
        (handbook / "build" / "docs").mkdir(parents=True)
        (handbook / "build" / "docs" / "page.md").write_text("# Generated")
        (handbook / "README.txt").write_text("not a source")
        assert not _changed(watch, seconds=1)
        practice = handbook / "practices" / "vehicle-barriers.yaml"
        practice.write_text(practice.read_text().replace("Use rated", "Use impact-rated"))
        assert _changed(watch)
        moved = handbook / "practices" / "rated-barriers.yaml"
        practice.rename(moved)
        assert _changed(watch)
        moved.unlink()
        assert _changed(watch)
        time.sleep(0.05)  # a new modification time for the config, even on a coarse clock
        (handbook / "mkdocs.yml").write_text("site_name: Watched\n")
        assert _changed(watch)
    finally:
        watch.close()


def _changed(watch: SourceWatch, seconds: float = 10) -> bool:
    """Whether the watch reports a change within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if watch.wait():
            return True
    return False


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
