"""The performance benchmark: synthetic handbooks of N entries, timed stage by stage.

For each N this writes a synthetic handbook (benchmarks/synth.py) and measures the generator
stages (cold and with build/.cache), one-entry regeneration, the full `csbp build`, a plain
`mkdocs build` of the same generated Markdown with a minimal configuration, peak memory,
site, page and search-index sizes. It prints a table with each target beside its figure and
writes every figure as JSON.

    .venv/bin/python benchmarks/run.py --sizes 100,1000,5000 --json benchmarks/out/results.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth

PYTHON = sys.executable
TARGETS = {
    "generator_s_at_1000": 0.5,
    "build_ratio_at_1000": 1.3,
    "build_s_at_5000": 60.0,
    "peak_mb_at_5000": 1024.0,
    "practice_page_drift": 0.10,
    "one_change_ms": 50.0,
    "search_first_result_gzip_mb": 1.0,
}


# --- child: the generator stages, in a process of their own so the in-memory caches start empty ---


def stage_child(root: Path, change: bool) -> dict[str, Any]:
    """The generator stages as `csbp build` and `csbp serve` run them (load, validate, model, render,
    write the docs tree), then, timed apart, saving build/.cache for the next build, which both
    commands do while the engine builds the site."""
    from csbp.config import HandbookPaths
    from csbp.diagnostics import Report
    from csbp.pipeline import Progress, generate, save_caches, validate

    paths = HandbookPaths.at(root)
    report, progress = Report(), Progress(quiet=True)
    started = time.perf_counter()
    corpus = validate(paths, report, progress)
    assert corpus is not None and not report.errors, [d.format(root) for d in report.errors]
    generated = generate(paths, corpus, report, progress, save=False)
    generator_s = time.perf_counter() - started
    save_caches(paths)
    result: dict[str, Any] = {
        "stages_s": dict(progress.timings),
        "generator_s": generator_s,
        "cache_save_s": time.perf_counter() - started - generator_s,
        "pages": len(generated.tree.pages),
        "written": len(generated.stats.written),
    }
    if change:
        result["one_change"] = one_change(paths, generated)
    return result


# Edits of each kind: the first after start is reported as it is; the target is judged on the
# median, as a single edit's time varies by a fifth from one run to the next on this machine.
EDITS = 5
# Generator runs of each kind (first build, repeated build), each in a fresh process: the figure is
# the median run, with every run's time beside it (this shared machine's speed wanders within minutes).
GENERATOR_RUNS = 3


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run whose generator time is the median, with every run's time."""
    ordered = sorted(runs, key=lambda run: run["generator_s"])
    return {**ordered[len(ordered) // 2], "runs_s": [run["generator_s"] for run in runs]}


def one_change(paths: Any, before: Any) -> dict[str, Any]:
    """Edit one practice as a contributor would in `csbp serve` and regenerate as serve does after
    each edit: first its summary, EDITS times (text: no link changes), then its related practices,
    EDITS times (a link: the model is relinked and the page of each practice it gains changes
    too); then put it back."""
    from csbp.pipeline import read_ahead

    read_ahead(paths)  # as `csbp serve` does while the engine starts, before any edit
    practices = sorted(before.handbook.practices)
    practice = practices[len(practices) // 2]
    source = paths.root / "practices" / f"{practice}.yaml"
    original = source.read_text("utf-8")
    data = yaml.safe_load(original)
    summary = data["summary"].rstrip(".")
    candidates = [p for p in reversed(practices) if p != practice and p not in data.get("related", [])]
    try:
        texts = []
        for number in range(EDITS):
            data["summary"] = f"{summary} and record every exception ({number + 1})."
            texts.append(_regenerate_after(paths, source, data))
        links = []
        for gained in candidates[:EDITS]:
            data["related"] = [*data.get("related", []), gained]
            links.append({"gained": gained, **_regenerate_after(paths, source, data)})
    finally:
        source.write_text(original, "utf-8")
    return {"entry": practice, **_edits(texts), "link": _edits(links), "machine_loop_ms": machine_loop_ms()}


def machine_loop_ms() -> float:
    """The best of three runs of a fixed pure-Python loop: how fast this shared machine runs at the
    moment (it varies by up to 1.7x within minutes), to read the edit times beside."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for number in range(1_000_000):
            total += number
        best = min(best, time.perf_counter() - started)
    return best * 1000


def _edits(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The first edit's figures, with the median and every time of the edits of one kind."""
    times = [run["ms"] for run in runs]
    return {**runs[0], "first_ms": times[0], "ms": statistics.median(times), "runs_ms": times}


def _regenerate_after(paths: Any, source: Path, data: dict[str, Any]) -> dict[str, Any]:
    from csbp.diagnostics import Report
    from csbp.pipeline import Progress, collection_paused, generate, upkeep, validate

    upkeep(paths)  # what `csbp serve` does once edits pause (caches saved, garbage collected): between edits
    source.write_text(yaml.dump(data, Dumper=synth._Dumper, sort_keys=False, allow_unicode=True, width=100), "utf-8")
    report, progress = Report(), Progress(quiet=True)
    started = time.perf_counter()
    # As `csbp serve` regenerates: caches saved and garbage collected once edits pause, not in between.
    # As `csbp serve` regenerates when its watcher reports the edited file: the other sources are
    # taken as they were, without a stat (serve.py; when it must poll, each is stat'ed).
    with collection_paused():
        corpus = validate(paths, report, progress, changed={os.path.abspath(source)})
        generated = generate(paths, corpus, report, progress, save=False, in_place=True)
        elapsed = time.perf_counter() - started
    assert corpus is not None and not report.errors, [d.format(paths.root) for d in report.errors]
    return {
        "ms": elapsed * 1000,
        "stages_ms": {k: v * 1000 for k, v in progress.timings.items()},
        "rewritten": generated.stats.written,
    }


# --- parent: processes, memory, sizes ---


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _memory_kb(pid: int) -> tuple[int, int]:
    """(proportional set size, resident set size) of a process, in kB.

    PSS splits a page shared by n processes into n parts, so the PSS of a parent and its forked
    workers adds up to the memory they use together; their RSS counts every shared page once
    per process. Where `smaps_rollup` is missing (kernels before 4.14), PSS falls back to RSS."""
    pss = rss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
    except OSError:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    pss = rss = int(line.split()[1])
        except OSError:
            pass
    return pss or rss, rss


def timed(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a command; wall time and the peak memory (summed PSS, and RSS) of it and all its descendants."""
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env or {})}
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = [0, 0]  # summed PSS, summed RSS

    def sample() -> None:
        while process.poll() is None:
            figures = [_memory_kb(pid) for pid in _descendants(process.pid)]
            peak[0] = max(peak[0], sum(pss for pss, _ in figures))
            peak[1] = max(peak[1], sum(rss for _, rss in figures))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = process.communicate()[0].decode("utf-8", "replace")
    elapsed = time.perf_counter() - started
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"failed ({process.returncode}): {' '.join(command)}\n{output[-4000:]}")
    return {"s": elapsed, "peak_mb": peak[0] / 1024, "peak_rss_mb": peak[1] / 1024, "output": output}


_STAGE_LINE = re.compile(r"^csbp: (\w+)\s+(\d+) ms", re.M)


def build_stages(output: str) -> dict[str, float]:
    """The stage times `csbp build` prints (load … write, engine, offline, check, site), in s."""
    return {name: int(ms) / 1000 for name, ms in _STAGE_LINE.findall(output)}


def serve_reload(root: Path) -> dict[str, Any]:
    """`csbp serve` as a contributor runs it: seconds until the first page is served, then after
    one practice's summary is edited, until its page and the practices index show the edit."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}/"
    source = sorted((root / "practices").glob("*.yaml"))[len(list((root / "practices").glob("*.yaml"))) // 3]
    page, index = f"{base}practices/{source.stem}/", f"{base}practices/"
    command = [PYTHON, "-m", "csbp", "serve", "--root", str(root), "--dev-addr", f"127.0.0.1:{port}", "--quiet"]
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    # A file, not a pipe: the engine's log of a first build would fill a pipe, and then it blocks.
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        server = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=log)
        first, page_s, index_s = _edit_while_serving(server, source, page, index, started)
        log.seek(0)
        errors = log.read()
    return {
        "first_page_s": first,
        "reload_page_s": page_s,
        "reload_index_s": index_s,
        "dirty": b"rebuilds only the pages csbp rewrote" in errors,
    }


def _edit_while_serving(
    server: subprocess.Popen[bytes], source: Path, page: str, index: str, started: float
) -> tuple[float, float, float]:
    """Seconds to the first page, then from one summary edit to the page and to the index showing it."""
    original = source.read_text("utf-8")
    marker = "checked again at every shift change"
    try:
        _wait_for(page, "</html>", server)
        first = time.perf_counter() - started
        time.sleep(3)  # let the engine's watcher settle after the first build
        data = yaml.safe_load(original)
        data["summary"] = f"{data['summary'].rstrip('.')}, {marker}."
        source.write_text(yaml.dump(data, Dumper=synth._Dumper, sort_keys=False, allow_unicode=True, width=100))
        edited = time.perf_counter()
        _wait_for(page, marker, server)
        page_s = time.perf_counter() - edited
        _wait_for(index, marker, server)
        index_s = time.perf_counter() - edited
    finally:
        source.write_text(original, "utf-8")
        server.terminate()
        server.wait(timeout=60)
    return first, page_s, index_s


def _wait_for(url: str, needle: str, server: subprocess.Popen[bytes], seconds: float = 900) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"csbp serve stopped with exit code {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                if needle in response.read().decode("utf-8", "replace"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"csbp serve: {url} did not show {needle!r} within {seconds} s")


def plain_config(root: Path, site: Path) -> Path:
    """Minimal MkDocs config for the same Markdown: Material, search, the handbook's Markdown
    extensions and the same nav as the generated config. Without a nav MkDocs lists every page
    in every page's navigation, which grows quadratically (the slow case issue #8 describes)
    and would flatter the ratio."""
    own = yaml.safe_load((root / "mkdocs.yml").read_text("utf-8"))
    generated = yaml.safe_load((root / "build" / "mkdocs.yml").read_text("utf-8"))
    config = {
        "site_name": "Plain baseline",
        "docs_dir": str(root / "build" / "docs"),
        "site_dir": str(site),
        "theme": {"name": "material"},
        "plugins": ["search"],
        "markdown_extensions": own.get("markdown_extensions", []),
        "nav": generated["nav"],
    }
    path = root.parent / f"plain-{root.name}.yml"
    path.write_text(yaml.safe_dump(config), "utf-8")
    return path


def _gz(data: bytes) -> int:
    return len(gzip.compress(data, 6))


def search_download(site: Path) -> dict[str, int]:
    """What a browser fetches before it can show a search result: the home page, its CSS and
    scripts, the search worker and the search index (raw and gzip-compressed bytes)."""
    home = (site / "index.html").read_bytes()
    files = [site / "index.html"]
    for ref in re.findall(rb'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src)="([^"]+)"', home):
        target = (site / ref.decode().split("?")[0].split("#")[0]).resolve()
        if target.is_file() and site.resolve() in target.parents:
            files.append(target)
    files += sorted((site / "assets" / "javascripts" / "workers").glob("search.*.js"))
    index = site / "search" / "search_index.json"
    files.append(index)
    raw = sum(f.stat().st_size for f in files)
    zipped = sum(_gz(f.read_bytes()) for f in files)
    return {"raw": raw, "gzip": zipped, "index_raw": index.stat().st_size, "index_gzip": _gz(index.read_bytes())}


def site_figures(site: Path, entries: int) -> dict[str, Any]:
    files = [p for p in site.rglob("*") if p.is_file()]
    html = [p.stat().st_size for p in files if p.suffix == ".html"]
    practice_sizes = [p.stat().st_size for p in (site / "practices").glob("*/index.html")]
    largest = max((p for p in files if p.suffix == ".html"), key=lambda p: p.stat().st_size)
    search = search_download(site)
    return {
        "site_mb": sum(p.stat().st_size for p in files) / 1e6,
        "files": len(files),
        "html_pages": len(html),
        "html_median_kb": statistics.median(html) / 1000,
        "html_largest_kb": max(html) / 1000,
        "html_largest_page": largest.relative_to(site).as_posix(),
        "practice_page_median_kb": statistics.median(practice_sizes) / 1000 if practice_sizes else 0,
        "search_index_kb": search["index_raw"] / 1000,
        "search_index_bytes_per_entry": search["index_raw"] / entries,
        "search_first_result_kb": search["raw"] / 1000,
        "search_first_result_gzip_kb": search["gzip"] / 1000,
    }


def measure(n: int, workdir: Path, seed: int) -> dict[str, Any]:
    root = workdir / f"handbook-{n}"
    plan = synth.write_handbook(n, root, seed)
    child = [PYTHON, str(Path(__file__).resolve()), "--stage-child", str(root)]
    # Old build/ folders are moved aside and deleted only after the measurements: on this machine's
    # file system, files created right after thousands were deleted are several times slower to
    # write (measured 4.3 s instead of 0.6 s for the 5,000-entry docs tree), a cost of the
    # benchmark's clean-up that no fresh clone pays.
    trash = workdir / f"trash-{n}"
    shutil.rmtree(trash, ignore_errors=True)
    trash.mkdir()

    def set_aside() -> None:
        if (root / "build").exists():
            (root / "build").rename(trash / str(len(list(trash.iterdir()))))

    colds = []
    for _ in range(GENERATOR_RUNS):  # each a first build: no build/ (and so no build/.cache)
        set_aside()
        colds.append(json.loads(timed(child)["output"].strip().splitlines()[-1]))
    warms = [json.loads(timed(child)["output"].strip().splitlines()[-1]) for _ in range(GENERATOR_RUNS - 1)]
    warms.append(json.loads(timed([*child, "--change"])["output"].strip().splitlines()[-1]))  # edits last
    cold, warm = _median_run(colds), _median_run(warms)
    warm["one_change"] = warms[-1]["one_change"]
    # The full build starts cold, as in CI.
    set_aside()
    build = timed([PYTHON, "-m", "csbp", "build", "--root", str(root)])
    plain_site = workdir / f"plain-site-{n}"
    plain = timed([PYTHON, "-m", "mkdocs", "build", "--clean", "-q", "-f", str(plain_config(root, plain_site))])
    result = {
        "n": plan.total,
        "kinds": {
            "practices": len(plan.practices),
            "lessons": len(plan.lessons),
            "modules": len(plan.modules),
            "paths": len(plan.paths),
        },
        "generator_cold": cold,
        "generator_warm": {k: v for k, v in warm.items() if k != "one_change"},
        "entries_per_s_cold": plan.total / cold["generator_s"],
        "entries_per_s_warm": plan.total / warm["generator_s"],
        "one_change": warm["one_change"],
        "build_s": build["s"],
        "build_stages_s": build_stages(build["output"]),
        "build_peak_mb": build["peak_mb"],
        "build_peak_rss_mb": build["peak_rss_mb"],
        "plain_mkdocs_s": plain["s"],
        "plain_mkdocs_peak_mb": plain["peak_mb"],
        "build_ratio": build["s"] / plain["s"],
        **site_figures(root / "site", plan.total),
        "serve": serve_reload(root),
    }
    shutil.rmtree(plain_site, ignore_errors=True)
    shutil.rmtree(trash, ignore_errors=True)
    return result


def verdicts(results: list[dict[str, Any]]) -> list[tuple[str, str, str, bool]]:
    """(target, figure, limit, passed) for each target the measured sizes allow judging."""
    by_n = {r["n"]: r for r in results}
    rows: list[tuple[str, str, str, bool]] = []
    near = min(by_n, key=lambda n: abs(n - 1000))
    top, bottom = max(by_n), min(by_n)
    r = by_n[near]
    for run, label in (("generator_warm", "repeated build, build/.cache kept"), ("generator_cold", "first build")):
        rows.append(
            (
                f"generator stage, {near} entries, {label}",
                f"{r[run]['generator_s']:.2f} s median of {' / '.join(f'{t:.2f}' for t in r[run]['runs_s'])}",
                f"< {TARGETS['generator_s_at_1000']} s",
                r[run]["generator_s"] < TARGETS["generator_s_at_1000"],
            )
        )
    rows.append(
        (
            f"csbp build / plain mkdocs, {near} entries",
            f"{r['build_ratio']:.2f}x ({r['build_s']:.1f} s / {r['plain_mkdocs_s']:.1f} s)",
            f"<= {TARGETS['build_ratio_at_1000']}x",
            r["build_ratio"] <= TARGETS["build_ratio_at_1000"],
        )
    )
    t = by_n[top]
    rows.append(
        (f"build time, {top} entries", f"{t['build_s']:.1f} s", "< 60 s", t["build_s"] < TARGETS["build_s_at_5000"])
    )
    rows.append(
        (
            f"peak memory of the build, {top} entries",
            f"{t['build_peak_mb']:.0f} MB",
            "< 1024 MB",
            t["build_peak_mb"] < TARGETS["peak_mb_at_5000"],
        )
    )
    low, high = by_n[bottom]["practice_page_median_kb"], t["practice_page_median_kb"]
    drift = abs(high - low) / low if low else 0.0
    rows.append(
        (
            f"practice page, {bottom} vs {top} entries",
            f"{low:.1f} KB vs {high:.1f} KB ({drift:+.1%})",
            "within 10%",
            drift <= TARGETS["practice_page_drift"],
        )
    )
    for n in sorted(by_n):
        for label, change in (("summary", by_n[n]["one_change"]), ("link", by_n[n]["one_change"]["link"])):
            rows.append(
                (
                    f"one-entry change ({label}), {n} entries ({len(change['rewritten'])} files rewritten)",
                    f"{change['ms']:.0f} ms median of {len(change['runs_ms'])} (first {change['first_ms']:.0f})",
                    f"< {TARGETS['one_change_ms']:.0f} ms",
                    change["ms"] < TARGETS["one_change_ms"],
                )
            )
    rows.append(
        (
            f"download before first search result, {top} entries",
            f"{t['search_first_result_gzip_kb']:.0f} KB gzip ({t['search_first_result_kb']:.0f} KB raw)",
            "< 1024 KB gzip",
            t["search_first_result_gzip_kb"] < TARGETS["search_first_result_gzip_mb"] * 1024,
        )
    )
    return rows


def print_report(results: list[dict[str, Any]]) -> list[tuple[str, str, str, bool]]:
    header = (
        f"{'N':>6} {'gen cold s':>10} {'caches s':>8} {'gen warm s':>10} {'entries/s':>10} {'change ms':>9} "
        f"{'link ms':>7} "
        f"{'build s':>8} {'mkdocs s':>8} {'ratio':>6} {'peak MB':>8} {'site MB':>8} {'html med KB':>11} "
        f"{'html max KB':>11} {'practice KB':>11} {'idx B/entry':>11} {'search KB gz':>12}"
    )
    print(header)
    for r in results:
        print(
            f"{r['n']:>6} {r['generator_cold']['generator_s']:>10.2f} {r['generator_cold']['cache_save_s']:>8.2f} "
            f"{r['generator_warm']['generator_s']:>10.2f} "
            f"{r['entries_per_s_cold']:>10.0f} {r['one_change']['ms']:>9.0f} {r['one_change']['link']['ms']:>7.0f} "
            f"{r['build_s']:>8.1f} {r['plain_mkdocs_s']:>8.1f} {r['build_ratio']:>6.2f} {r['build_peak_mb']:>8.0f} "
            f"{r['site_mb']:>8.1f} {r['html_median_kb']:>11.1f} {r['html_largest_kb']:>11.1f} "
            f"{r['practice_page_median_kb']:>11.1f} {r['search_index_bytes_per_entry']:>11.0f} "
            f"{r['search_first_result_gzip_kb']:>12.0f}"
        )
    print("\nGenerator stages, cold (s):")
    for r in results:
        stages = "  ".join(f"{k} {v:.3f}" for k, v in r["generator_cold"]["stages_s"].items())
        print(f"{r['n']:>6}: {stages}")
    print("\nFull csbp build, by stage (s):")
    for r in results:
        stages = "  ".join(f"{k} {v:.2f}" for k, v in r["build_stages_s"].items())
        print(f"{r['n']:>6}: {stages}")
    print("\ncsbp serve (s): first page served; after a summary edit, the practice page and the practices index:")
    for r in results:
        serve = r["serve"]
        mode = "engine rebuilds changed pages" if serve["dirty"] else "engine rebuilds every page"
        print(
            f"{r['n']:>6}: first page {serve['first_page_s']:.1f}  reload page {serve['reload_page_s']:.1f}  "
            f"index {serve['reload_index_s']:.1f}  ({mode})"
        )
    print("\nMachine speed after the edits (a fixed Python loop, best of 3; lower is faster):")
    print("  " + "  ".join(f"{r['n']}: {r['one_change']['machine_loop_ms']:.0f} ms" for r in results))
    rows = verdicts(results)
    print(f"\n{'target':<72} {'measured':<40} {'limit':<16} result")
    for name, figure, limit, passed in rows:
        print(f"{name:<72} {figure:<40} {limit:<16} {'PASS' if passed else 'FAIL'}")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,5000", help="comma-separated entry counts")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--workdir", type=Path, help="where to write the handbooks (default: a temporary directory)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target fails")
    parser.add_argument("--stage-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--change", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage_child:
        print(json.dumps(stage_child(args.stage_child, args.change)))
        return 0
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="csbp-bench-"))
    results = []
    for n in sizes:
        print(f"benchmark: {n} entries in {workdir} …", file=sys.stderr, flush=True)
        results.append(measure(n, workdir, args.seed))
    rows = print_report(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            "targets": TARGETS,
            "results": results,
            "verdicts": [{"target": t, "measured": m, "limit": lim, "passed": p} for t, m, lim, p in rows],
        }
        args.json.write_text(json.dumps(payload, indent=2), "utf-8")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if args.strict and not all(row[3] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
