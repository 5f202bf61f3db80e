"""Stage 5b, site: run the site engine on the docs tree and swap the result in atomically.

The engine runs as a separate process (`python -m mkdocs build --strict`) on the
generated config, so nothing here depends on MkDocs internals. The new site is built in
a temporary directory beside `site/` and replaces it only when complete and checked: a
failed or killed build leaves the previous site as it was.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from csbp.config import HandbookPaths

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


def run_engine(paths: HandbookPaths, destination: Path, source_epoch: int | None = None) -> str:
    """Build the generated docs tree into `destination`; return the engine's log.

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
    result = subprocess.run(command, cwd=paths.build_dir, capture_output=True, text=True, env=environment)
    log = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise SiteBuildError(log)
    return log


def build_site(
    paths: HandbookPaths, check: Callable[[Path], list[str]] | None = None, source_epoch: int | None = None
) -> str:
    """Build into a staging directory, run `check` on it, then swap it in as `site/`."""
    recover(paths)
    staging = paths.root / f"{STAGING_PREFIX}{os.getpid()}"
    try:
        log = run_engine(paths, staging, source_epoch)
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
        shutil.rmtree(staging, ignore_errors=True)
