"""A cold build split over several processes produces exactly what a one-process build does."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from csbp import parallel
from site_tests.support import REPO
from site_tests.test_cache import generate, tree_bytes

sys.path.insert(0, str(REPO / "benchmarks"))
import synth


def _square_with_pid(number: int) -> tuple[int, int]:
    return number * number, os.getpid()


def test_fork_map_returns_results_in_order_from_several_processes(monkeypatch):
    monkeypatch.setenv("CSBP_WORKERS", "2")
    items = list(range(parallel.MIN_ITEMS * 2))
    results = parallel.fork_map(_square_with_pid, items)
    assert [square for square, _ in results] == [n * n for n in items]
    assert len({pid for _, pid in results} - {os.getpid()}) == 2  # two workers, neither of them this process


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


def _fails(number: int) -> int:
    if number == 250:
        raise ValueError("item 250 is broken")
    return number


def test_an_error_in_a_worker_reaches_the_caller(monkeypatch):
    monkeypatch.setenv("CSBP_WORKERS", "2")
    with pytest.raises(ValueError, match="item 250 is broken"):
        parallel.fork_map(_fails, list(range(400)))


def test_a_cold_build_in_two_processes_equals_one_in_a_single_process(tmp_path):
    """Enough entries that Markdown conversion and page rendering both take the parallel path."""
    root = tmp_path / "handbook"
    synth.write_handbook(150, root, seed=3)
    trees = {}
    for count in ("1", "2"):
        generate(root, tmp_path / "key", CSBP_NO_CACHE="1", CSBP_WORKERS=count)
        trees[count] = tree_bytes(root)
    assert len(trees["1"]) > parallel.MIN_ITEMS
    assert trees["1"] == trees["2"]
