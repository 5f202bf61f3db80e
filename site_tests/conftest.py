"""Shared fixtures: a fresh copy of the fixture handbook, and built sites reused across tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from site_tests.support import csbp, make_handbook


@pytest.fixture
def handbook(tmp_path: Path) -> Path:
    return make_handbook(tmp_path / "handbook")


@pytest.fixture(scope="session")
def built_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture handbook built once for the session (public audience)."""
    root = make_handbook(tmp_path_factory.mktemp("built") / "handbook")
    result = csbp("build", "--root", str(root))
    assert result.returncode == 0, result.stderr
    return root
