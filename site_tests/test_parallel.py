"""A cold build split over several processes produces exactly what a one-process build does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from csbp import parallel
from site_tests.support import REPO
from site_tests.test_cache import GENERATE, tree_bytes

sys.path.insert(0, str(REPO / "benchmarks"))
import synth


def _square_with_pid(number: int) -> tuple[int, int]:
    return number * number, os.getpid()


# Run in a fresh interpreter: this test process may hold threads from other tests (the browser
# tests' HTTP servers), and fork_map rightly refuses to fork a threaded process.
FORK_IN_ORDER = """
import json, os
from csbp import parallel

def square_with_pid(number):
    return number * number, os.getpid()

items = list(range(parallel.MIN_ITEMS * 2))
results = parallel.fork_map(square_with_pid, items)
print(json.dumps({"parent": os.getpid(), "results": results, "forked": parallel.forked_calls}))
"""


def run_fresh(script: str, *args: str, **env: str) -> dict:
    """Run `script` in a new interpreter (no threads but its own); the JSON on its last line."""
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_fork_map_returns_results_in_order_from_several_processes():
    run = run_fresh(FORK_IN_ORDER, CSBP_WORKERS="2")
    items = range(parallel.MIN_ITEMS * 2)
    assert [square for square, _ in run["results"]] == [n * n for n in items]
    assert run["forked"] == 1
    # Every item ran in a worker; which of the two workers takes each chunk is the pool's choice.
    assert run["parent"] not in {pid for _, pid in run["results"]}


@pytest.mark.parametrize("reason", ["one worker configured", "short list", "another thread running"])
def test_fork_map_stays_in_process_when_forking_is_unsafe_or_not_worth_it(monkeypatch, reason):
    monkeypatch.setenv("CSBP_WORKERS", "1" if reason == "one worker configured" else "2")
    items = list(range(3 if reason == "short list" else parallel.MIN_ITEMS * 2))
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    if reason == "another thread running":
        other.start()
    try:
        results = parallel.fork_map(_square_with_pid, items)
    finally:
        stop.set()
    assert {pid for _, pid in results} == {os.getpid()}


FORK_WITH_ERROR = """
import json
from csbp import parallel

def fails(number):
    if number == 250:
        raise ValueError("item 250 is broken")
    return number

try:
    parallel.fork_map(fails, list(range(400)))
    print(json.dumps({"error": None, "forked": parallel.forked_calls}))
except ValueError as error:
    print(json.dumps({"error": str(error), "forked": parallel.forked_calls}))
"""


def test_an_error_in_a_worker_reaches_the_caller():
    run = run_fresh(FORK_WITH_ERROR, CSBP_WORKERS="2")
    assert run == {"error": "item 250 is broken", "forked": 1}


GENERATE_COUNTING_FORKS = (
    GENERATE
    + """
from csbp import parallel
print(json.dumps({"forked": parallel.forked_calls}))
"""
)


def test_a_cold_build_in_two_processes_equals_one_in_a_single_process(tmp_path):
    """Enough entries that the parallel path is taken; the output must not depend on it."""
    root = tmp_path / "handbook"
    synth.write_handbook(250, root, seed=3)
    trees, forks = {}, {}
    for count in ("1", "2"):
        environment = {"CSBP_CACHE_KEY_DIR": str(tmp_path / "key"), "CSBP_NO_CACHE": "1", "CSBP_WORKERS": count}
        forks[count] = run_fresh(GENERATE_COUNTING_FORKS, str(root), **environment)["forked"]
        trees[count] = tree_bytes(root)
    assert forks["1"] == 0 and forks["2"] >= 1
    assert len(trees["1"]) > parallel.MIN_ITEMS
    # The quiz exports are made in the same pool as the pages (`Renderer._render_queued`).
    assert sum(name.startswith("downloads/") and name.endswith("-qti.zip") for name in trees["1"]) > 2
    assert trees["1"] == trees["2"]
