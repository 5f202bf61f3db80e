"""Stage 5b, site: run the site engine on the docs tree and swap the result in atomically.

The engine runs as a separate process (`python -m mkdocs build --strict`) on the
generated config, so nothing here depends on MkDocs internals. The new site is built in
a temporary directory beside `site/` and replaces it only when complete and checked: a
failed or killed build leaves the previous site as it was.

The offline copy (the same handbook with `.html` links, for reading from `file://`) is built
from its own docs tree under `build/offline/` by a second engine process running beside the
first, then packed as a reproducible zip into the new site before the check, so the leak
check reads it too.
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

from csbp.config import HandbookPaths
from csbp.exports import deterministic_zip
from csbp.searchindex import trim_search_index

STAGING_PREFIX = ".site-staging-"
RETIRED_PREFIX = ".site-previous-"
OFFLINE_ZIP = "downloads/csbp-handbook-offline.zip"
OFFLINE_FOLDER = "csbp-handbook"  # the zip unpacks into one folder, not loose files
OFFLINE_SKIP = (".map",)  # debugger source maps: no reader needs them, they double the download


@dataclass(frozen=True)
class OfflinePaths(HandbookPaths):
    """The offline flavour's docs tree and config live in `build/offline/`, beside the normal ones."""

    @property
    def build_dir(self) -> Path:
        return self.root / "build" / "offline"


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


def start_engine(paths: HandbookPaths, destination: Path, source_epoch: int | None = None) -> Engine:
    """Start building the generated docs tree into `destination`; `finish_engine` collects it.

    `source_epoch` pins the dates the engine writes (sitemap, archives) when the caller has
    not set SOURCE_DATE_EPOCH, so the same sources give byte-identical output on any day.
    """
    command = [
        sys.executable,
        "-m",
        "mkdocs",
        "build",
        "--strict",
        "--clean",
        "--config-file",
        str(paths.generated_config),
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


def stop_engine(engine: Engine | None) -> None:
    """Kill an engine still running (the build failed elsewhere) so no half-built tree outlives it."""
    if engine is None:
        return
    if engine.process.poll() is None:
        engine.process.kill()
        engine.process.wait()
    engine.log.close()


def run_engine(paths: HandbookPaths, destination: Path, source_epoch: int | None = None) -> str:
    """Build the generated docs tree into `destination`; return the engine's log."""
    return finish_engine(start_engine(paths, destination, source_epoch))


def pack_offline(site: Path, epoch: int | None) -> bytes:
    """The offline site as a zip whose bytes depend only on its content (sorted, fixed times)."""
    environment = os.environ.get("SOURCE_DATE_EPOCH", "")
    stamp = int(environment) if environment.isdigit() else (epoch or 0)
    members = (
        (f"{OFFLINE_FOLDER}/{path.relative_to(site).as_posix()}", path.read_bytes())
        for path in sorted(site.rglob("*"))
        if path.is_file() and not path.name.endswith(OFFLINE_SKIP)
    )
    return deterministic_zip(members, stamp)


def build_site(
    paths: HandbookPaths,
    check: Callable[[Path], list[str]] | None = None,
    source_epoch: int | None = None,
    offline_copy: Callable[[], HandbookPaths] | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> str:
    """Build into a staging directory, run `check` on it, then swap it in as `site/`.

    While the engine builds the site, `offline_copy` writes the offline flavour's docs tree
    and returns its paths (or raises SiteBuildError); a second engine builds it and the new
    site publishes it as `OFFLINE_ZIP`. Then `meanwhile` runs, before the engines are awaited.
    """
    recover(paths)
    staging = paths.root / f"{STAGING_PREFIX}{os.getpid()}"
    offline_staging = paths.root / f"{STAGING_PREFIX}offline-{os.getpid()}"
    engine = copy = None
    try:
        engine = start_engine(paths, staging, source_epoch)
        if offline_copy is not None:
            copy = start_engine(offline_copy(), offline_staging, source_epoch)
        if meanwhile is not None:
            meanwhile()
        log = finish_engine(engine)
        trim_search_index(staging)  # the offline copy keeps its full index: it is read from disk
        if copy is not None:
            log += "\n" + finish_engine(copy)
            archive = staging / OFFLINE_ZIP
            archive.parent.mkdir(parents=True, exist_ok=True)
            archive.write_bytes(pack_offline(offline_staging, source_epoch))
        problems = check(staging) if check else []
        if problems:
            raise SiteBuildError("\n".join(problems))
        retired = paths.root / f"{RETIRED_PREFIX}{os.getpid()}"
        if paths.site_dir.exists():
            os.replace(paths.site_dir, retired)
        os.replace(staging, paths.site_dir)
        shutil.rmtree(retired, ignore_errors=True)
        return log
    finally:
        stop_engine(engine)
        stop_engine(copy)
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(offline_staging, ignore_errors=True)
