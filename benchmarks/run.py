"""The performance benchmark: synthetic handbooks of N entries measured through the public CLI.

For each N this writes a synthetic handbook (benchmarks/synth.py) and a lean MkDocs Material
site of the same N entries, then measures:

- the full `csbp build` from an empty `build/` and `site/`: wall time, peak memory (the
  proportional set size summed over the process tree, sampled every 50 ms) and the stage
  times it prints (`csbp: <stage> <ms> ms  <detail>`);
- the lean site's `mkdocs build`, alternating with the handbook build in the same
  invocation, `--runs` times each; the figures are medians, every run is shown;
- `csbp serve` end to end in Chromium: seconds until the home page is served, then for each
  of `--edits` edits of one practice's `summary:` (written in place, as an editor saves),
  the seconds from just before the write until the page open in the browser shows the new
  word after MkDocs' live reload;
- sizes: the site, the median practice page, what a phone downloads before its first search
  result (gzip), and the line count of the `csbp` package the CLI runs.

The lean site is what MkDocs costs for an ordinary site of that many pages of that length:
`theme: material`, `plugins: [search]` and nothing else. Each handbook entry becomes one plain
Markdown page made from its YAML (title as heading, summary, each text field under its own
heading, lists as bullet lists, references to other entries as links). Its nav lists only
a home page and one index page per entry kind, and the entry pages are reached from those
indexes, as in the handbook: a flat nav of N pages would put every page into every page's
navigation, work that grows with N squared and says nothing about the generator.

Targets are judged only at the sizes they are set for (100, 1,000, 5,000 entries); at other
sizes the figures are printed and those targets are listed as not judged.

    .venv/bin/python benchmarks/run.py --sizes 100,1000,5000 --json benchmarks/out/results.json
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from playwright.sync_api import Page

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth

PYTHON = sys.executable
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
ENVIRONMENT = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}

# Where each kind of entry lives in a handbook, and the folder its pages take in the lean site.
ENTRY_FOLDERS = {
    "practices": "practices",
    "lessons": "content/lessons",
    "modules": "content/modules",
    "paths": "content/paths",
}
KIND_TITLES = {"practices": "Practices", "lessons": "Lessons learned", "modules": "Modules", "paths": "Learning paths"}

# Seconds given to the server to finish what an edit started before the next edit is made.
SETTLE_SECONDS = 3.0
# Seconds to wait for the browser to show an edit before the edit counts as never shown.
EDIT_TIMEOUT_SECONDS = 120.0
# Seconds to wait for `csbp serve` to serve its first page.
FIRST_PAGE_TIMEOUT_SECONDS = 900.0


@dataclass(frozen=True)
class Limits:
    """The project's performance targets."""

    build_s_at_5000: float = 60.0
    peak_mb_at_5000: float = 1024.0
    build_ratio_at_1000: float = 2.0
    serve_edit_s_at_1000: float = 2.0
    practice_page_growth_100_to_5000: float = 1.10
    generator_lines: int = 5500


LIMITS = Limits()


# --- running commands ---


@dataclass
class CommandRun:
    """One finished command: wall time, peak memory of its process tree, and what it printed."""

    seconds: float
    peak_mb: float
    peak_rss_mb: float
    output: str


@dataclass
class BuildRun:
    """One timed build: wall time, peak memory (summed PSS; summed RSS counts shared pages per
    process) and the stage times the build printed, in seconds."""

    seconds: float
    peak_mb: float
    peak_rss_mb: float
    stages_s: dict[str, float] = field(default_factory=dict)


def _process_tree(pid: int) -> list[int]:
    """The process and all its descendants, found through /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _memory_kb(pid: int) -> tuple[int, int]:
    """(proportional set size, resident set size) of a process in kB; RSS for both where the
    kernel has no smaps_rollup. PSS splits a page shared by n processes into n parts, so the
    PSS of a parent and its forked workers adds up to the memory they use together."""
    figures = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("Pss", "Rss"):
                figures[name] = int(rest.split()[0])
    except (OSError, ValueError):
        pass
    rss = figures.get("Rss", 0)
    return figures.get("Pss", rss), rss


def run_timed(command: list[str], cwd: Path | None = None) -> CommandRun:
    """Run a command to its end; stop the benchmark with its output if it fails."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=ENVIRONMENT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = {"pss": 0, "rss": 0}

    def sample() -> None:
        while process.poll() is None:
            figures = [_memory_kb(pid) for pid in _process_tree(process.pid)]
            peak["pss"] = max(peak["pss"], sum(pss for pss, _ in figures))
            peak["rss"] = max(peak["rss"], sum(rss for _, rss in figures))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = process.communicate()[0].decode("utf-8", "replace")
    seconds = time.perf_counter() - started
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"failed ({process.returncode}): {' '.join(command)}\n{output[-4000:]}")
    return CommandRun(seconds, peak["pss"] / 1024, peak["rss"] / 1024, output)


_STAGE_LINE = re.compile(r"^csbp: ([\w-]+)\s+(\d+) ms", re.M)


def build_stages(output: str) -> dict[str, float]:
    """The stage times `csbp build` prints, one line per stage, in seconds."""
    return {name: int(ms) / 1000 for name, ms in _STAGE_LINE.findall(output)}


def machine_loop_ms() -> float:
    """The best of three runs of a fixed pure-Python loop: how fast this machine runs at the moment,
    to read wall-clock figures beside (lower is faster)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for number in range(1_000_000):
            total += number
        best = min(best, time.perf_counter() - started)
    return best * 1000


class Trash:
    """A folder that takes old output folders before a timed run and is emptied after the
    measurements: files created right after thousands were deleted are several times slower to
    write on ext4, a cost of the benchmark's clean-up that no fresh checkout pays."""

    def __init__(self, path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        self.path = path
        self.count = 0

    def take(self, *folders: Path) -> None:
        for folder in folders:
            if folder.exists():
                self.count += 1
                folder.rename(self.path / str(self.count))

    def empty(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


# --- the lean MkDocs site ---


@dataclass
class LeanSite:
    """A plain MkDocs Material project with one Markdown page per handbook entry."""

    root: Path
    pages: int
    page_markdown_median_kb: float


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _inline(value: Any, link: Callable[[str], str]) -> str:
    """A value as one line of Markdown."""
    if isinstance(value, dict):
        return "; ".join(f"{_label(key)}: {_inline(item, link)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(_inline(item, link) for item in value)
    return link(str(value).strip())


def _is_prose(value: Any) -> bool:
    return isinstance(value, str) and "\n" in value.strip()


def _list_item_blocks(item: dict[str, Any], level: int, link: Callable[[str], str]) -> list[str]:
    """A list item with paragraphs of its own: a heading, its paragraphs, its other fields as bullets."""
    heading_key = next((key for key in ("title", "name", "id") if key in item), None)
    heading = str(item[heading_key]) if heading_key else ""
    blocks = [f"{'#' * level} {heading}"] if heading else []
    rest = {key: value for key, value in item.items() if key != heading_key}
    blocks += [value.strip() for value in rest.values() if _is_prose(value)]
    bullets = [f"- **{_label(key)}:** {_inline(value, link)}" for key, value in rest.items() if not _is_prose(value)]
    return [*blocks, "\n".join(bullets)] if bullets else blocks


def _mapping_blocks(mapping: dict[str, Any], level: int, link: Callable[[str], str]) -> list[str]:
    """A mapping as Markdown blocks: its one-line values as a bullet list of facts, then each
    other value under a heading of its own."""
    facts = [f"- **{_label(key)}:** {_inline(value, link)}" for key, value in mapping.items() if _is_fact(value)]
    blocks = ["\n".join(facts)] if facts else []
    for key, value in mapping.items():
        if not _is_fact(value):
            blocks += [f"{'#' * level} {_label(key)}", *_markdown_blocks(value, level + 1, link)]
    return blocks


def _is_fact(value: Any) -> bool:
    return not isinstance(value, dict | list) and not _is_prose(value)


def _markdown_blocks(value: Any, level: int, link: Callable[[str], str]) -> list[str]:
    """A YAML value as blocks of ordinary Markdown: text as paragraphs, lists as bullet lists,
    mappings as facts and headed sections."""
    if isinstance(value, dict):
        return _mapping_blocks(value, level, link)
    if isinstance(value, list):
        if any(isinstance(item, dict) and any(map(_is_prose, item.values())) for item in value):
            return [block for item in value for block in _list_item_blocks(item, level, link)]
        return ["\n".join(f"- {_inline(item, link)}" for item in value)]
    return [str(value).strip()]


def entry_markdown(data: dict[str, Any], link: Callable[[str], str]) -> str:
    """One handbook entry written as an ordinary Markdown page."""
    fields = {key: value for key, value in data.items() if key not in ("title", "summary", "tlp")}
    return "\n\n".join([f"# {data['title']}", data["summary"], *_mapping_blocks(fields, 2, link)]) + "\n"


def _entry_files(handbook: Path) -> Iterator[tuple[str, Path]]:
    """(kind, YAML file) for every entry of a handbook."""
    for kind, folder in ENTRY_FOLDERS.items():
        for path in sorted((handbook / folder).glob("*.yaml")):
            yield kind, path


def write_lean_site(handbook: Path, target: Path) -> LeanSite:
    """Write the lean MkDocs project for a handbook's entries at `target` (replacing it)."""
    shutil.rmtree(target, ignore_errors=True)
    docs = target / "docs"
    entries = [(kind, path.stem, yaml.safe_load(path.read_text("utf-8"))) for kind, path in _entry_files(handbook)]
    kind_of = {entry_id: kind for kind, entry_id, _ in entries}

    def link(text: str) -> str:
        return f"[{text}](../{kind_of[text]}/{text}.md)" if text in kind_of else text

    sizes = []
    listings: dict[str, list[str]] = {}
    for kind, entry_id, data in entries:
        page = docs / kind / f"{entry_id}.md"
        page.parent.mkdir(parents=True, exist_ok=True)
        text = entry_markdown(data, link)
        page.write_text(text, "utf-8")
        sizes.append(len(text.encode()))
        listings.setdefault(kind, []).append(f"- [{data['title']}]({entry_id}.md): {data['summary']}")
    for kind, lines in listings.items():
        (docs / kind / "index.md").write_text(f"# {KIND_TITLES[kind]}\n\n" + "\n".join(lines) + "\n", "utf-8")
    home = "".join(f"- [{KIND_TITLES[kind]}]({kind}/index.md)\n" for kind in listings)
    (docs / "index.md").write_text(f"# Lean baseline\n\nThe same entries as plain pages.\n\n{home}", "utf-8")
    config = {
        "site_name": "Lean baseline",
        "theme": {"name": "material"},
        "plugins": ["search"],
        "nav": [{"Home": "index.md"}, *({KIND_TITLES[kind]: f"{kind}/index.md"} for kind in listings)],
    }
    (target / "mkdocs.yml").write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    return LeanSite(target, len(entries), statistics.median(sizes) / 1000)


# --- builds ---


@dataclass
class BuildComparison:
    """The handbook's `csbp build` and the lean site's `mkdocs build`, alternated, every run."""

    handbook: list[BuildRun]
    lean: list[BuildRun]

    @property
    def build_s(self) -> float:
        return statistics.median(run.seconds for run in self.handbook)

    @property
    def lean_s(self) -> float:
        return statistics.median(run.seconds for run in self.lean)

    @property
    def ratio(self) -> float:
        return self.build_s / self.lean_s

    @property
    def peak_mb(self) -> float:
        """The highest peak of any handbook build."""
        return max(run.peak_mb for run in self.handbook)

    @property
    def median_stages_s(self) -> dict[str, float]:
        """The stages of the handbook build whose wall time is the median."""
        ordered = sorted(self.handbook, key=lambda run: run.seconds)
        return ordered[(len(ordered) - 1) // 2].stages_s


def build_handbook(handbook: Path, trash: Trash) -> BuildRun:
    """A full `csbp build` from an empty build/ and site/, as a fresh checkout or CI runs it."""
    trash.take(handbook / "build", handbook / "site")
    run = run_timed([PYTHON, "-m", "csbp", "build", "--root", str(handbook)])
    return BuildRun(run.seconds, run.peak_mb, run.peak_rss_mb, build_stages(run.output))


def build_lean(lean: LeanSite, trash: Trash) -> BuildRun:
    """`mkdocs build` of the lean site from an empty site/."""
    trash.take(lean.root / "site")
    run = run_timed([PYTHON, "-m", "mkdocs", "build", "-q", "-f", str(lean.root / "mkdocs.yml")])
    return BuildRun(run.seconds, run.peak_mb, run.peak_rss_mb)


def compare_builds(handbook: Path, lean: LeanSite, runs: int, trash: Trash) -> BuildComparison:
    comparison = BuildComparison([], [])
    for number in range(runs):
        print(f"benchmark:   build run {number + 1} of {runs}", file=sys.stderr, flush=True)
        comparison.handbook.append(build_handbook(handbook, trash))
        comparison.lean.append(build_lean(lean, trash))
    return comparison


# --- sizes ---


@dataclass
class SiteFigures:
    """Sizes of a built handbook site and of its generated Markdown."""

    site_mb: float
    html_pages: int
    html_median_kb: float
    html_largest_kb: float
    html_largest_page: str
    practice_page_median_kb: float
    practice_markdown_median_kb: float
    lean_page_median_kb: float
    search_index_bytes_per_entry: float
    search_first_result_kb: float
    search_first_result_gzip_kb: float


def _gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, 6))


def _median_kb(files: list[Path]) -> float:
    return statistics.median(path.stat().st_size for path in files) / 1000 if files else 0.0


def search_download(site: Path) -> tuple[int, int]:
    """(raw, gzip) bytes a browser fetches before it can show a search result: the home page,
    its CSS and scripts, the search worker and the search index."""
    home = (site / "index.html").read_bytes()
    files = [site / "index.html"]
    for ref in re.findall(rb'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src)="([^"]+)"', home):
        target = (site / ref.decode().split("?")[0].split("#")[0]).resolve()
        if target.is_file() and site.resolve() in target.parents:
            files.append(target)
    files += sorted((site / "assets" / "javascripts" / "workers").glob("search.*.js"))
    files.append(site / "search" / "search_index.json")
    return sum(path.stat().st_size for path in files), sum(_gzip_size(path.read_bytes()) for path in files)


def site_figures(handbook: Path, lean: LeanSite, entries: int) -> SiteFigures:
    site = handbook / "site"
    files = [path for path in site.rglob("*") if path.is_file()]
    html = [path for path in files if path.suffix == ".html"]
    largest = max(html, key=lambda path: path.stat().st_size)
    generated = [path for path in (handbook / "build" / "docs" / "practices").glob("*.md") if path.stem != "index"]
    lean_pages = [path for path in (lean.root / "site").glob("*/*/index.html")]
    raw, zipped = search_download(site)
    return SiteFigures(
        site_mb=sum(path.stat().st_size for path in files) / 1e6,
        html_pages=len(html),
        html_median_kb=_median_kb(html),
        html_largest_kb=largest.stat().st_size / 1000,
        html_largest_page=largest.relative_to(site).as_posix(),
        practice_page_median_kb=_median_kb(list(site.glob("practices/*/index.html"))),
        practice_markdown_median_kb=_median_kb(generated),
        lean_page_median_kb=_median_kb(lean_pages),
        search_index_bytes_per_entry=(site / "search" / "search_index.json").stat().st_size / entries,
        search_first_result_kb=raw / 1000,
        search_first_result_gzip_kb=zipped / 1000,
    )


def generator_lines() -> tuple[str, int]:
    """(folder, lines) of the `csbp` package the CLI runs: every .py file, counted as `wc -l` does."""
    spec = importlib.util.find_spec("csbp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the csbp package cannot be found: run `make setup`")
    package = Path(next(iter(spec.submodule_search_locations)))
    return str(package), sum(path.read_bytes().count(b"\n") for path in package.rglob("*.py"))


# --- csbp serve in Chromium ---


@dataclass
class ServeFigures:
    """`csbp serve` measured in the browser: the first page, then every edit (None: never shown)."""

    practice: str
    first_page_s: float
    edits_s: list[float | None]

    @property
    def median_s(self) -> float | None:
        """The median edit, an edit never shown counting as the slowest; None if that is the median."""
        median = statistics.median(float("inf") if s is None else s for s in self.edits_s)
        return None if median == float("inf") else median


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(handbook: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`csbp serve` running in a process group of its own, stopped with that group."""
    with log.open("wb") as output:
        server = subprocess.Popen(
            [PYTHON, "-m", "csbp", "serve", "--root", str(handbook), "--dev-addr", f"127.0.0.1:{port}"],
            env=ENVIRONMENT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield server
    finally:
        _stop_group(server)


def _stop_group(server: subprocess.Popen[bytes]) -> None:
    for sig, seconds in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=seconds)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_until_served(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the server answers `url` with a whole page; stop the benchmark if it exits."""
    deadline = time.perf_counter() + FIRST_PAGE_TIMEOUT_SECONDS
    while time.perf_counter() < deadline:
        if server.poll() is not None:
            tail = log.read_text("utf-8", "replace")[-4000:]
            raise SystemExit(f"csbp serve stopped with exit code {server.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                if b"</html>" in response.read():
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"csbp serve did not serve {url} within {FIRST_PAGE_TIMEOUT_SECONDS:.0f} s")


_SUMMARY_BLOCK = re.compile(r"^summary:.*(?:\n[ \t]+\S.*)*", re.M)


def with_summary(text: str, summary: str) -> str:
    """A practice's YAML text with its `summary:` replaced and every other line as it was."""
    edited, count = _SUMMARY_BLOCK.subn(lambda _: f"summary: {json.dumps(summary, ensure_ascii=False)}", text, 1)
    if count != 1:
        raise SystemExit("benchmark: the practice has no top-level summary: line to edit")
    return edited


_SHOWS_MARKER = "marker => document.body !== null && document.body.innerText.includes(marker)"


def time_until_shown(page: Page, marker: str, started: float) -> float | None:
    """Seconds from `started` until the page in the browser shows `marker`, across the live
    reloads that replace its document; None if it never does within the timeout."""
    from playwright.sync_api import Error, TimeoutError

    deadline = started + EDIT_TIMEOUT_SECONDS
    while (remaining := deadline - time.perf_counter()) > 0:
        try:
            page.wait_for_function(_SHOWS_MARKER, arg=marker, polling=25, timeout=remaining * 1000)
            return time.perf_counter() - started
        except TimeoutError:
            return None
        except Error:  # the document was replaced while the check ran: check the new one
            time.sleep(0.025)
    return None


def edit_and_watch(page: Page, source: Path, edits: int) -> list[float | None]:
    """Save a new summary `edits` times and time each until the browser shows it."""
    original = source.read_text("utf-8")
    base = yaml.safe_load(original)["summary"].rstrip(".")[:300]
    times: list[float | None] = []
    for number in range(edits):
        marker = f"benchedit{number}{secrets.token_hex(4)}"
        text = with_summary(original, f"{base} {marker}.")
        started = time.perf_counter()
        source.write_text(text, "utf-8")
        times.append(time_until_shown(page, marker, started))
        time.sleep(SETTLE_SECONDS)
    return times


def measure_serve(handbook: Path, edits: int, log: Path) -> ServeFigures:
    """`csbp serve` as a contributor uses it, with the practice page open in Chromium."""
    from playwright.sync_api import sync_playwright

    practices = sorted((handbook / "practices").glob("*.yaml"))
    source = practices[len(practices) // 2]
    original = source.read_text("utf-8")
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    try:
        with serving(handbook, port, log) as server:
            wait_until_served(base, server, log)
            first_page_s = time.perf_counter() - started
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                try:
                    page = browser.new_page()
                    page.goto(f"{base}practices/{source.stem}/", wait_until="load")
                    time.sleep(SETTLE_SECONDS)
                    edits_s = edit_and_watch(page, source, edits)
                finally:
                    browser.close()
    finally:
        source.write_text(original, "utf-8")
    return ServeFigures(source.stem, first_page_s, edits_s)


# --- one size ---


@dataclass
class SizeResult:
    """Every figure measured for one handbook size."""

    n: int
    kinds: dict[str, int]
    lean_pages: int
    lean_markdown_median_kb: float
    builds: BuildComparison
    site: SiteFigures
    serve: ServeFigures | None
    machine_loop_ms_before: float
    machine_loop_ms_after: float

    def to_json(self) -> dict[str, Any]:
        serve = self.serve
        return {
            "n": self.n,
            "kinds": self.kinds,
            "build_s": self.builds.build_s,
            "lean_mkdocs_s": self.builds.lean_s,
            "build_ratio": self.builds.ratio,
            "build_peak_mb": self.builds.peak_mb,
            "build_stages_s": self.builds.median_stages_s,
            "handbook_builds": [asdict(run) for run in self.builds.handbook],
            "lean_builds": [asdict(run) for run in self.builds.lean],
            "lean_pages": self.lean_pages,
            "lean_markdown_median_kb": self.lean_markdown_median_kb,
            **asdict(self.site),
            "serve": None if serve is None else {**asdict(serve), "median_s": serve.median_s},
            "machine_loop_ms": {"before": self.machine_loop_ms_before, "after": self.machine_loop_ms_after},
        }


@dataclass(frozen=True)
class Options:
    """What the command line asked for."""

    workdir: Path
    seed: int
    runs: int
    edits: int
    serve: bool


def measure(n: int, options: Options) -> SizeResult:
    loop_before = machine_loop_ms()
    handbook = options.workdir / f"handbook-{n}"
    plan = synth.write_handbook(n, handbook, options.seed)
    lean = write_lean_site(handbook, options.workdir / f"lean-{n}")
    trash = Trash(options.workdir / f"trash-{n}")
    builds = compare_builds(handbook, lean, options.runs, trash)
    site = site_figures(handbook, lean, plan.total)
    serve = None
    if options.serve:
        print(f"benchmark:   csbp serve, {options.edits} edits in Chromium", file=sys.stderr, flush=True)
        serve = measure_serve(handbook, options.edits, options.workdir / f"serve-{n}.log")
    trash.empty()
    kinds = {kind: len(getattr(plan, kind)) for kind in ENTRY_FOLDERS}
    return SizeResult(
        plan.total, kinds, lean.pages, lean.page_markdown_median_kb, builds, site, serve, loop_before, machine_loop_ms()
    )


# --- targets ---


@dataclass(frozen=True)
class Verdict:
    """One target with its measured figure."""

    target: str
    measured: str
    limit: str
    passed: bool


def _runs(values: list[float], digits: int = 1) -> str:
    return " / ".join(f"{value:.{digits}f}" for value in values)


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f}"


def build_time_verdict(name: str, by_n: dict[int, SizeResult]) -> Verdict | None:
    if 5000 not in by_n:
        return None
    builds = by_n[5000].builds
    return Verdict(
        name,
        f"{builds.build_s:.1f} s median of {_runs([run.seconds for run in builds.handbook])}",
        f"< {LIMITS.build_s_at_5000:.0f} s",
        builds.build_s < LIMITS.build_s_at_5000,
    )


def peak_memory_verdict(name: str, by_n: dict[int, SizeResult]) -> Verdict | None:
    if 5000 not in by_n:
        return None
    builds = by_n[5000].builds
    return Verdict(
        name,
        f"{builds.peak_mb:.0f} MB highest of {_runs([run.peak_mb for run in builds.handbook], 0)}",
        f"< {LIMITS.peak_mb_at_5000:.0f} MB",
        builds.peak_mb < LIMITS.peak_mb_at_5000,
    )


def build_ratio_verdict(name: str, by_n: dict[int, SizeResult]) -> Verdict | None:
    if 1000 not in by_n:
        return None
    builds = by_n[1000].builds
    return Verdict(
        name,
        f"{builds.ratio:.2f}x ({builds.build_s:.1f} s / {builds.lean_s:.1f} s)",
        f"<= {LIMITS.build_ratio_at_1000:.1f}x",
        builds.ratio <= LIMITS.build_ratio_at_1000,
    )


def serve_verdict(name: str, by_n: dict[int, SizeResult]) -> Verdict | None:
    serve = by_n[1000].serve if 1000 in by_n else None
    if serve is None:
        return None
    median = serve.median_s
    shown = "never shown" if median is None else f"{median:.2f} s"
    return Verdict(
        name,
        f"{shown} median of {' / '.join(map(_seconds, serve.edits_s))}",
        f"< {LIMITS.serve_edit_s_at_1000:.0f} s",
        median is not None and median < LIMITS.serve_edit_s_at_1000,
    )


def practice_page_verdict(name: str, by_n: dict[int, SizeResult]) -> Verdict | None:
    if 100 not in by_n or 5000 not in by_n:
        return None
    low, high = by_n[100].site.practice_page_median_kb, by_n[5000].site.practice_page_median_kb
    growth = high / low
    return Verdict(
        name,
        f"{growth:.3f}x ({low:.1f} KB -> {high:.1f} KB)",
        f"<= {LIMITS.practice_page_growth_100_to_5000:.2f}x",
        growth <= LIMITS.practice_page_growth_100_to_5000,
    )


def line_count_verdict(lines: int) -> Verdict:
    return Verdict(
        "generator/csbp lines (all .py files)",
        f"{lines}",
        f"<= {LIMITS.generator_lines}",
        lines <= LIMITS.generator_lines,
    )


# Each target judged at the sizes it is set for, by the function that judges it (None: a size is missing).
SIZED_TARGETS: dict[str, Callable[[str, dict[int, SizeResult]], Verdict | None]] = {
    "full csbp build, 5000 entries": build_time_verdict,
    "peak memory of the build (PSS of the process tree), 5000 entries": peak_memory_verdict,
    "csbp build / lean MkDocs site, 1000 entries": build_ratio_verdict,
    "csbp serve edit shown in the browser, 1000 entries": serve_verdict,
    "median practice page HTML, 100 -> 5000 entries": practice_page_verdict,
}


def verdicts(results: list[SizeResult], lines: int) -> tuple[list[Verdict], list[str]]:
    """The targets the measured sizes allow judging, and the names of those they do not."""
    by_n = {result.n: result for result in results}
    judged, skipped = [], []
    for name, judge in SIZED_TARGETS.items():
        verdict = judge(name, by_n)
        if verdict is None:
            skipped.append(name)
        else:
            judged.append(verdict)
    judged.append(line_count_verdict(lines))
    return judged, skipped


# --- report ---


def print_figures(results: list[SizeResult]) -> None:
    print(
        f"{'N':>6} {'build s':>8} {'lean s':>7} {'ratio':>6} {'peak MB':>8} {'site MB':>8} {'practice KB':>11} "
        f"{'md KB':>6} {'lean md KB':>10} {'search KB gz':>12} {'first page s':>12} {'edit s':>7}"
    )
    for r in results:
        serve = r.serve
        first = f"{serve.first_page_s:.1f}" if serve else "-"
        edit = _seconds(serve.median_s) if serve else "-"
        print(
            f"{r.n:>6} {r.builds.build_s:>8.1f} {r.builds.lean_s:>7.1f} {r.builds.ratio:>6.2f} "
            f"{r.builds.peak_mb:>8.0f} {r.site.site_mb:>8.1f} {r.site.practice_page_median_kb:>11.1f} "
            f"{r.site.practice_markdown_median_kb:>6.1f} {r.lean_markdown_median_kb:>10.1f} "
            f"{r.site.search_first_result_gzip_kb:>12.0f} {first:>12} {edit:>7}"
        )


def print_details(results: list[SizeResult]) -> None:
    print("\nEvery build run (s), csbp build and the lean MkDocs site alternated:")
    for r in results:
        handbook = _runs([run.seconds for run in r.builds.handbook])
        lean = _runs([run.seconds for run in r.builds.lean])
        print(f"{r.n:>6}: csbp build {handbook}   lean mkdocs {lean}   ({r.lean_pages} lean pages)")
    print("\ncsbp build stages, median run (s; informational):")
    for r in results:
        print(f"{r.n:>6}: " + "  ".join(f"{name} {s:.2f}" for name, s in r.builds.median_stages_s.items()))
    served = [r for r in results if r.serve is not None]
    if served:
        print(
            "\ncsbp serve in Chromium (s): first page served; save of a practice's YAML -> the page shows it "
            f"(never: not within {EDIT_TIMEOUT_SECONDS:.0f} s):"
        )
    for r in served:
        assert r.serve is not None
        edits = " / ".join(map(_seconds, r.serve.edits_s))
        print(f"{r.n:>6}: first page {r.serve.first_page_s:.1f}  edits {edits}  ({r.serve.practice})")
    print("\nMachine speed before / after each size (a fixed Python loop, best of 3; lower is faster):")
    print(
        "  " + "  ".join(f"{r.n}: {r.machine_loop_ms_before:.0f} / {r.machine_loop_ms_after:.0f} ms" for r in results)
    )


def print_verdicts(judged: list[Verdict], skipped: list[str]) -> None:
    name_width = max(len(v.target) for v in judged)
    figure_width = max(len("measured"), *(len(v.measured) for v in judged))
    print(f"\n{'target':<{name_width}}  {'measured':<{figure_width}}  {'limit':<10} result")
    for v in judged:
        print(f"{v.target:<{name_width}}  {v.measured:<{figure_width}}  {v.limit:<10} {'PASS' if v.passed else 'FAIL'}")
    for name in skipped:
        print(f"not judged at these sizes: {name}")


# --- command line ---


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,5000", help="comma-separated entry counts")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--workdir", type=Path, help="where to write the handbooks (default: a temporary directory)")
    parser.add_argument("--seed", type=int, default=8, help="seed of the synthetic handbooks")
    parser.add_argument("--runs", type=int, default=3, help="builds of each kind per size; figures are medians")
    parser.add_argument("--edits", type=int, default=5, help="edits timed in the browser per size")
    parser.add_argument("--no-serve", action="store_true", help="skip the csbp serve measurement in Chromium")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target fails")
    args = parser.parse_args()
    if args.runs < 1 or args.edits < 1:
        parser.error("--runs and --edits must be at least 1")
    return args


def main() -> int:
    args = parse_arguments()
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="csbp-bench-"))).resolve()
    options = Options(workdir, args.seed, args.runs, args.edits, serve=not args.no_serve)
    package, lines = generator_lines()
    results = []
    for n in sizes:
        print(f"benchmark: {n} entries in {workdir}", file=sys.stderr, flush=True)
        results.append(measure(n, options))
    judged, skipped = verdicts(results, lines)
    print_figures(results)
    print_details(results)
    print_verdicts(judged, skipped)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
            "options": {"sizes": sizes, "runs": args.runs, "edits": args.edits, "seed": args.seed},
            "limits": asdict(LIMITS),
            "generator": {"package": package, "lines": lines},
            "results": [result.to_json() for result in results],
            "verdicts": [asdict(verdict) for verdict in judged],
            "not_judged": skipped,
        }
        args.json.write_text(json.dumps(payload, indent=2), "utf-8")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if args.strict and not all(verdict.passed for verdict in judged) else 0


if __name__ == "__main__":
    sys.exit(main())
