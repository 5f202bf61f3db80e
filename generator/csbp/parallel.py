"""CPU-bound work of a cold build, split over the machine's cores.

A cold build converts thousands of Markdown texts and renders thousands of pages, each
independent of the others, while the other cores sit idle. `fork_map` runs such a list in
forked worker processes: a fork shares the parent's loaded model, templates and converter
without pickling them, and only the results travel back. Results come back in order, so the
output is the same as a serial run's, byte for byte.

It falls back to a plain loop where forking is unsafe or not worth it: a short list, one core,
a platform without `fork`, a process with other threads running (a forked child would inherit
their locks held), or `CSBP_WORKERS=1`.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

MIN_ITEMS = 200  # below this, starting workers costs more than it saves
# Each worker takes several chunks in turn, so one slow chunk (a run of long listings) does not
# leave the other workers idle at the end.
CHUNKS_PER_WORKER = 8

# The work of the current `fork_map`, inherited by its forked workers (never pickled).
_WORK: tuple[Callable[[Any], Any], Sequence[Any]] | None = None

# How many `fork_map` calls in this process used worker processes: the tests read it to tell a
# parallel run from a fallback that happens to give the same output.
forked_calls = 0


def workers() -> int:
    """How many processes to use: `CSBP_WORKERS` if set, else the cores this process may use (at most 4)."""
    configured = os.environ.get("CSBP_WORKERS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def fork_map(work: Callable[[Item], Result], items: Sequence[Item]) -> list[Result]:
    """`[work(item) for item in items]`, in forked workers when that is safe and worth it."""
    count = workers()
    if (
        count < 2
        or len(items) < MIN_ITEMS
        or "fork" not in multiprocessing.get_all_start_methods()
        or threading.active_count() > 1
    ):
        return [work(item) for item in items]
    global _WORK, forked_calls
    forked_calls += 1
    _WORK = (work, items)
    try:
        size = -(-len(items) // (count * CHUNKS_PER_WORKER))
        bounds = [(start, min(start + size, len(items))) for start in range(0, len(items), size)]
        # Frozen objects are left alone by the workers' garbage collector, which would otherwise
        # touch, and so copy, every page of memory they share with this process.
        gc.freeze()
        with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork")) as pool:
            chunks = list(pool.map(_run, bounds))
    finally:
        gc.unfreeze()
        _WORK = None
    return [result for chunk in chunks for result in chunk]


def _run(bounds: tuple[int, int]) -> list[Any]:
    assert _WORK is not None, "fork_map's work is inherited by forked workers only"
    work, items = _WORK
    return [work(items[index]) for index in range(*bounds)]
