"""Helpers shared by the tests: the fixture handbook and the real command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def make_handbook(target: Path) -> Path:
    """A copy of the fixture handbook, with the repository's real vocabularies."""
    shutil.copytree(FIXTURES / "handbook", target)
    shutil.copy(REPO / "content" / "vocabularies.yaml", target / "content" / "vocabularies.yaml")
    return target


def csbp(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `csbp` command line as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "csbp", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )
