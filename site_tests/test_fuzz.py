"""Property-based robustness: mutated entries end in success or a clean, positioned error.

Hypothesis mutates valid fixture entries two ways: as data (keys dropped, renamed or given
values of the wrong type) and as text (bytes inserted, lines deleted or duplicated). The
whole in-memory pipeline (load → validate → model → render) must never raise.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.model import build_model
from csbp.render import render_handbook
from csbp.validate import SchemaSet
from csbp.validate import validate_handbook as validate
from site_tests.support import make_handbook

TODAY = dt.date(2026, 11, 25)
TARGETS = [
    "practices/vehicle-barriers.yaml",
    "content/lessons/frontage-attack.yaml",
    "content/modules/frontage-basics.yaml",
]
SCHEMAS = SchemaSet()
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["TLP:RED", "2026-02-30", "0000-00-00", "vehicle-barriers", "frontage-attack", "", "~", "<b>"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_handbook(tmp_path_factory.mktemp("fuzz") / "handbook")


def run_pipeline(root: Path) -> Report:
    """Everything `csbp check` and `csbp build` do before the engine, in memory."""
    report = Report()
    corpus = validate(HandbookPaths.at(root), report, TODAY, SCHEMAS)
    if corpus is not None and not report.errors:
        handbook = build_model(corpus, "public", TODAY, report)
        render_handbook(handbook, report, root / "content/pages")
    for diagnostic in report.errors:  # every error names a file of the handbook and a real line
        assert diagnostic.path.is_relative_to(root)
        if diagnostic.position is not None:
            assert diagnostic.position.line >= 1 and diagnostic.position.column >= 1
    return report


def mutate_data(data: object, draw: st.DrawFn) -> object:
    """Drop, rename or retype one value somewhere in the entry."""
    if not isinstance(data, dict | list) or not data:
        return draw(values)
    keys = list(data) if isinstance(data, dict) else list(range(len(data)))
    key = draw(st.sampled_from(keys))
    action = draw(st.sampled_from(["drop", "rename", "retype", "descend"]))
    copy = dict(data) if isinstance(data, dict) else list(data)
    if action == "drop":
        del copy[key]
    elif action == "rename" and isinstance(copy, dict):
        copy[draw(st.text(min_size=1, max_size=15))] = copy.pop(key)
    elif action == "descend":
        copy[key] = mutate_data(copy[key], draw)
    else:
        copy[key] = draw(values)
    return copy


@SETTINGS
@given(st.data())
def test_mutated_entries_as_data_end_in_success_or_clean_errors(pristine, tmp_path_factory, data):
    root = tmp_path_factory.mktemp("m") / "handbook"
    shutil.copytree(pristine, root)
    target = data.draw(st.sampled_from(TARGETS))
    entry = yaml.safe_load((root / target).read_text("utf-8"))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        entry = mutate_data(entry, data.draw)
    (root / target).write_text(yaml.safe_dump(entry, allow_unicode=True, sort_keys=False), "utf-8")
    run_pipeline(root)


@SETTINGS
@given(st.data())
def test_mutated_entries_as_text_end_in_success_or_clean_errors(pristine, tmp_path_factory, data):
    root = tmp_path_factory.mktemp("t") / "handbook"
    shutil.copytree(pristine, root)
    target = data.draw(st.sampled_from(TARGETS))
    raw = (root / target).read_bytes()
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        lines = raw.split(b"\n")
        action = data.draw(st.sampled_from(["insert", "delete-line", "duplicate-line", "truncate", "indent"]))
        at = data.draw(st.integers(min_value=0, max_value=max(len(lines) - 1, 0)))
        if action == "insert":
            offset = data.draw(st.integers(min_value=0, max_value=len(raw)))
            junk = data.draw(
                st.binary(max_size=8) | st.sampled_from([b"&a ", b"*a", b"!!python/name:x", b"{[", b"\t", b": :"])
            )
            raw = raw[:offset] + junk + raw[offset:]
        elif action == "delete-line" and lines:
            raw = b"\n".join(lines[:at] + lines[at + 1 :])
        elif action == "duplicate-line" and lines:
            raw = b"\n".join(lines[: at + 1] + lines[at:])
        elif action == "truncate":
            raw = raw[: data.draw(st.integers(min_value=0, max_value=len(raw)))]
        else:
            raw = b"\n".join([*lines[:at], b"   " + lines[at], *lines[at + 1 :]])
    (root / target).write_bytes(raw)
    run_pipeline(root)
