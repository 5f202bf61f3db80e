"""Stage 5b, site: run the site engine on the docs tree and swap the result in atomically.

The engine runs as a separate process (`python -m mkdocs build --strict`) on the
generated config, so nothing here depends on MkDocs internals; a large docs tree is split
over one engine process per core (shards.py). The new site is built in a temporary directory
beside `site/` and replaces it only when complete and checked: a failed or killed build
leaves the previous site as it was.

The offline copy (the same handbook readable from `file://`, see `offline.py`) is derived from
the new site and packed as a reproducible zip into it before the check, so the leak check
reads it too; `csbp build --offline` makes the copy itself the new site.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from csbp import shards
from csbp.config import HandbookPaths
from csbp.offline import pack_offline_copy, write_offline_copy
from csbp.site_search import add_compact_records, trim_search_index

STAGING_PREFIX = ".site-staging-"
RETIRED_PREFIX = ".site-previous-"


class SiteBuildError(Exception):
    """The engine failed; the message carries what it printed."""


def recover(paths: HandbookPaths) -> None:
    """Undo what a killed build may have left: restore a site caught mid-swap, drop staging dirs."""
    retired = sorted(paths.root.glob(f"{RETIRED_PREFIX}*"))
    if retired and not paths.site_dir.exists():
        os.replace(retired[-1], paths.site_dir)
        retired = retired[:-1]
    for leftover in [*retired, *paths.root.glob(f"{STAGING_PREFIX}*")]:
        shutil.rmtree(leftover, ignore_errors=True)


@dataclass
class Engine:
    """A running engine process and the file its output goes to (a file, not a pipe: two never block)."""

    process: subprocess.Popen[bytes]
    log: IO[bytes]


def start_engine(
    paths: HandbookPaths, destination: Path, source_epoch: int | None = None, config: Path | None = None
) -> Engine:
    """Start building the generated docs tree into `destination`; `finish_engine` collects it.

    `source_epoch` pins the dates the engine writes (sitemap, archives) when the caller has
    not set SOURCE_DATE_EPOCH, so the same sources give byte-identical output on any day.
    `config` is the generated config unless given (an engine shard's, see shards.py).
    """
    command = [
        sys.executable,
        "-m",
        "mkdocs",
        "build",
        "--strict",
        "--clean",
        "--config-file",
        str(config or paths.generated_config),
        "--site-dir",
        str(destination),
    ]
    environment = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if source_epoch is not None and "SOURCE_DATE_EPOCH" not in environment:
        environment["SOURCE_DATE_EPOCH"] = str(source_epoch)
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish_engine or stop_engine
    process = subprocess.Popen(command, cwd=paths.build_dir, stdout=log, stderr=subprocess.STDOUT, env=environment)
    return Engine(process, log)


def finish_engine(engine: Engine) -> str:
    """Wait for an engine; return its log, or raise SiteBuildError with it if it failed."""
    engine.process.wait()
    with engine.log:
        engine.log.seek(0)
        text = engine.log.read().decode("utf-8", errors="replace").strip()
    if engine.process.returncode != 0:
        raise SiteBuildError(text)
    return text


def stop_engine(engine: Engine) -> None:
    """Kill an engine still running (the build failed elsewhere) so no half-built tree outlives it."""
    if engine.process.poll() is None:
        engine.process.kill()
        engine.process.wait()
    engine.log.close()


def start_engines(
    paths: HandbookPaths, destination: Path, source_epoch: int | None, engines: list[Engine]
) -> list[Path]:
    """Start the engines that build the docs tree, one per shard when it is large (shards.py), each
    appended to `engines` as it starts; the directories they write, to merge into `destination`."""
    split = shards.plan(paths)
    if split is None:
        engines.append(start_engine(paths, destination, source_epoch))
        return [destination]
    outputs = [destination.with_name(f"{destination.name}-shard-{n}") for n in range(1, len(split.runs) + 1)]
    for config, output in zip(shards.write_configs(paths, split), outputs, strict=True):
        engines.append(start_engine(paths, output, source_epoch, config))
    return outputs


def finish_engines(engines: list[Engine], outputs: list[Path], destination: Path) -> str:
    """Wait for every engine; merge shard outputs into `destination`; the engines' logs."""
    logs = [finish_engine(engine) for engine in engines]
    if len(outputs) > 1:
        try:
            os.replace(shards.merge(outputs), destination)
        except shards.MergeError as failure:
            raise SiteBuildError(f"csbp: {failure}") from failure
    return "\n".join(logs)


def build_site(
    paths: HandbookPaths,
    check: Callable[[Path], list[str]] | None = None,
    source_epoch: int | None = None,
    offline: bool = False,
    meanwhile: Callable[[], object] | None = None,
    step: Callable[[str, str], object] = lambda _name, _detail: None,
) -> str:
    """Build into a staging directory, add the offline copy, run `check` on it, then swap it in as `site/`.

    The site publishes its offline copy as `OFFLINE_ZIP`; with `offline` the copy itself
    becomes `site/`. `meanwhile` runs while the engine works; `step(name, detail)` is told when
    each part is done (`Progress.step`).
    """
    recover(paths)
    staging = paths.root / f"{STAGING_PREFIX}{os.getpid()}"
    engine_output = paths.root / f"{STAGING_PREFIX}engine-{os.getpid()}"
    built = engine_output if offline else staging
    engines: list[Engine] = []
    outputs: list[Path] = []
    try:
        outputs = start_engines(paths, built, source_epoch, engines)
        if meanwhile is not None:
            meanwhile()
        log = finish_engines(engines, outputs, built)
        step("engine", f"{len(engines)} engine process(es)" + (" merged" if len(engines) > 1 else ""))
        # Completed and trimmed before the offline copy is derived: a phone that opens the copy
        # loads the same index as online, not tens of MB of full text.
        # A handbook large enough for compact records has nothing left to trim: every entry page and
        # listing has its compact record, every other page is kept whole.
        if not add_compact_records(built, paths.docs_dir):
            trim_search_index(built)
        try:
            if offline:
                write_offline_copy(engine_output, staging)
            else:
                pack_offline_copy(staging, _zip_epoch(source_epoch))
        except OSError as failure:
            raise SiteBuildError(f"csbp: could not write the offline copy: {failure}") from failure
        step("offline", "offline copy written" if offline else "offline copy packed")
        problems = check(staging) if check else []
        step("check", f"{len(problems)} problem(s)")
        if problems:
            raise SiteBuildError("\n".join(problems))
        retired = paths.root / f"{RETIRED_PREFIX}{os.getpid()}"
        if paths.site_dir.exists():
            os.replace(paths.site_dir, retired)
        os.replace(staging, paths.site_dir)
        shutil.rmtree(retired, ignore_errors=True)
        return log
    finally:
        for engine in engines:
            stop_engine(engine)
        shards.remove_configs(paths)
        for leftover in {staging, engine_output, *outputs}:
            shutil.rmtree(leftover, ignore_errors=True)


def _zip_epoch(source_epoch: int | None) -> int:
    """The time stamped on every zip member: SOURCE_DATE_EPOCH if set, else the content's date."""
    environment = os.environ.get("SOURCE_DATE_EPOCH", "")
    return int(environment) if environment.isdigit() else (source_epoch or 0)
