"""The compiled schema check (jsonschema-rs) never accepts what the Python validator rejects.

Validation asks the fast validator first and the Python one only for entries the fast one
turns down, so any entry the fast one wrongly accepted would lose its error messages. These
tests hold the two to the same verdict on the real corpus, the broken fixtures, targeted
edge cases and Hypothesis-mutated entries.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import sys
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csbp.config import SCHEMA_DIR as SCHEMAS_DIR
from csbp.diagnostics import Report
from csbp.loader import SourceDocument, load_yaml
from csbp.validate import (
    _ENGINE_DIFFERENCES,
    KINDS,
    FastValidator,
    SchemaSet,
    _keyword_values,
    _portable_pattern,
    read_apart,
    read_vocabularies,
    validate_schema,
)
from site_tests.support import FIXTURES, REPO
from site_tests.test_fuzz import mutate_data, values

SCHEMAS = SchemaSet()
VOCABULARIES = read_vocabularies(load_yaml(REPO / "content" / "vocabularies.yaml", Report()))
FOLDERS = {"practice": "practices", "lesson": "content/lessons", "module": "content/modules", "path": "content/paths"}


def python_is_clean(kind: str, data: Any) -> bool:
    """The Python validator's verdict: True if it reports nothing, not even a warning."""
    report = Report()
    vocabularies = VOCABULARIES if kind != "vocabularies" else None
    document = SourceDocument(Path(f"{kind}.yaml"), data)
    valid = validate_schema(SCHEMAS, SCHEMAS.validator(kind, vocabularies), document, report)
    return valid and not report.diagnostics


@functools.cache
def fast(kind: str) -> FastValidator:
    validator = SCHEMAS.fast_validator(kind, VOCABULARIES if kind != "vocabularies" else None)
    assert validator is not None, "a shipped schema uses a pattern the fast path cannot read alike"
    return validator


def assert_same_verdict(kind: str, data: Any) -> None:
    accepted = fast(kind).accepts(data)
    clean = python_is_clean(kind, data)
    assert not (accepted and not clean), f"the fast path accepts a {kind} the Python validator rejects: {data!r}"
    if fast(kind).comparable(data):
        assert accepted == clean, f"the engines disagree on a {kind}: {data!r}"


def entries(root: Path) -> list[tuple[str, Path]]:
    found = [("vocabularies", root / "content" / "vocabularies.yaml")]
    for kind in KINDS:
        found += [(kind, path) for path in sorted((root / FOLDERS[kind]).glob("*.yaml"))]
    return [(kind, path) for kind, path in found if path.is_file()]


CORPUS = entries(REPO) + entries(FIXTURES / "handbook") + [("practice", p) for p in sorted(FIXTURES.glob("broken/*"))]
CORPUS += [("practice", p) for p in sorted(FIXTURES.glob("markings/*.yaml"))]
CORPUS += [("module", p) for p in sorted(FIXTURES.glob("markings/modules/*.yaml"))]


@pytest.mark.parametrize(("kind", "path"), CORPUS, ids=[f"{p.parent.name}/{p.name}" for _, p in CORPUS])
def test_both_engines_give_the_same_verdict_on_every_corpus_and_fixture_file(kind, path):
    document = load_yaml(path, Report())
    if document is not None:  # files the loader refuses never reach a validator
        assert_same_verdict(kind, document.data)


def test_the_real_corpus_passes_on_the_fast_path():
    """Otherwise the fast path would buy nothing: a valid entry would be walked twice."""
    for kind, path in entries(REPO):
        assert fast(kind).accepts(load_yaml(path, Report()).data), path


@pytest.fixture(scope="module")
def samples() -> dict[str, Any]:
    root = FIXTURES / "handbook"
    return {
        "practice": load_yaml(root / "practices/vehicle-barriers.yaml", Report()).data,
        "lesson": load_yaml(root / "content/lessons/frontage-attack.yaml", Report()).data,
        "module": load_yaml(root / "content/modules/frontage-basics.yaml", Report()).data,
        "vocabularies": load_yaml(REPO / "content/vocabularies.yaml", Report()).data,
    }


def with_value(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    value_at(changed, path[:-1])[path[-1]] = value  # the parent must exist: a KeyError names a mistyped case
    return changed


EDGE_CASES = [
    ("practice", ("title",), "Vehicle barriers\n"),  # Python's $ matches before a final newline
    ("practice", ("title",), "Vehicle <barriers>"),
    ("practice", ("aliases", 0), "old-barriers\n"),
    ("practice", ("last_reviewed",), "0000-01-01"),  # Python has no year 0; RFC 3339 does
    ("practice", ("last_reviewed",), "2026-02-30"),
    ("practice", ("last_reviewed",), "٢٠٢٦-٠١-٠١"),  # Arabic-Indic digits: Python's \d, not ECMA's
    ("practice", ("last_reviewed",), "2026-1-01"),
    ("practice", ("review_interval_months",), 12.0),  # a whole float is an integer to both
    ("practice", ("review_interval_months",), True),
    ("practice", ("review_interval_months",), float("nan")),
    ("practice", ("review_interval_months",), 10**30),
    ("practice", ("summary",), "A summary long enough\x1cto pass the length check"),
    ("practice", ("summary",), "A summary long enough\x85to pass the length check"),
    ("practice", ("summary",), "A summary long enough\ufeffto pass the length check"),
    ("practice", ("references", 0, "url"), "https://example.org/a\x1cb"),  # \x1c is \s only to Python
    ("practice", ("references", 0, "url"), "https://example.org/a\x85b"),
    ("practice", ("references", 0, "url"), "https://example.org/a\ufeffb"),
    ("practice", ("references", 0, "url"), "https://example.org/\n"),
    ("practice", ("references", 0, "url"), "https://exa mple.org/"),
    ("practice", ("references", 0, "type"), "no-such-source-type"),
    ("practice", ("pillars",), ["protect", "protect"]),
    ("practice", ("pillars",), ["no-such-pillar"]),
    ("practice", ("context",), "Text with <b>raw HTML</b> that is removed"),
    ("practice", ("context",), "A [link](javascript:alert(1))"),
    ("practice", ("owner",), "Owner \ud800"),  # the loader never yields a lone surrogate: Rust cannot hold one
    ("practice", ("tlp",), "TLP:WHITE"),
    ("module", ("quiz", "questions", 0, "type"), "true-false"),
    ("module", ("scenario",), {"title": "T+0", "situation": "S", "injects": [{"time": "T+٥", "inject": "x"}]}),
    ("vocabularies", ("vocabularies", "role", "terms", "new-role"), {"label": "L", "description": "A role\n"}),
]


@pytest.mark.parametrize(("kind", "path", "value"), EDGE_CASES, ids=[repr(c[2])[:40] for c in EDGE_CASES])
def test_both_engines_give_the_same_verdict_on_edge_cases(samples, kind, path, value):
    assert_same_verdict(kind, with_value(samples[kind], path, value))


def test_data_the_engines_may_read_apart_goes_to_the_python_validator(samples):
    validator = fast("practice")
    assert validator.accepts(samples["practice"])
    for odd in ("a\x1cb", "a\x85b", "a\ufeffb", "٣"):
        assert not validator.comparable(with_value(samples["practice"], ("owner",), f"Owner {odd}"))
    assert not validator.comparable(with_value(samples["practice"], ("review_interval_months",), float("inf")))


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.data())
def test_both_engines_give_the_same_verdict_on_mutated_entries(samples, data):
    kind = data.draw(st.sampled_from(sorted(samples)))
    entry = samples[kind]
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        entry = mutate_data(entry, data.draw)
    assert_same_verdict(kind, entry)


@SETTINGS
@given(st.data())
def test_both_engines_give_the_same_verdict_on_text_fields_of_any_characters(samples, data):
    kind = data.draw(st.sampled_from(["practice", "module"]))
    entry = samples[kind]
    strings = [path for path in leaf_paths(entry) if isinstance(value_at(entry, path), str)]
    path = data.draw(st.sampled_from(strings))
    original = value_at(entry, path)
    text = data.draw(st.text(max_size=12) | values)
    at = data.draw(st.integers(min_value=0, max_value=len(original)))
    new = original[:at] + text + original[at:] if isinstance(text, str) else text
    assert_same_verdict(kind, with_value(entry, path, new))


def leaf_paths(data: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(data, dict):
        return [p for key, value in data.items() for p in leaf_paths(value, (*path, key))]
    if isinstance(data, list):
        return [p for index, value in enumerate(data) for p in leaf_paths(value, (*path, index))]
    return [path]


def value_at(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def test_every_shipped_pattern_is_one_both_engines_read_alike():
    patterns = {p for p in _keyword_values(SCHEMAS.schemas, "pattern") if isinstance(p, str)}
    assert patterns and all(_portable_pattern(pattern) for pattern in patterns)
    assert SCHEMAS.fast_registry is not None


def test_patterns_the_engines_read_apart_are_recognised():
    for pattern in ("\\w+", "(?i)abc", "a.c", "\\bword", "\\D", "^a$|^b", "\\S+"):
        assert not _portable_pattern(pattern), pattern
    for pattern in ("^[a-z0-9]+(-[a-z0-9]+)*$", '^https?://[^\\s<>"]+$', "^T\\+\\d{1,3}(:\\d{2})?$", "^[^<>]*$"):
        assert _portable_pattern(pattern), pattern


@pytest.mark.parametrize("cls", ["[^\\s]", "[^\\d]"])
def test_the_engines_classify_characters_alike_except_those_sent_to_python(cls):
    """Every code point through Python's `re` and the Rust engine: they may only differ on the
    characters `_ENGINE_DIFFERENCES` finds, which the fast path never judges. (The negated class
    makes the Rust engine report the few characters of the class, not the million others.)"""
    characters = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    pattern = f"^{cls}$"
    python = re.compile(pattern)
    rust = jsonschema_rs.validator_for({"items": {"pattern": pattern}})
    rust_rejects = {error.instance_path[0] for error in rust.iter_errors(characters)}
    apart = [
        char for index, char in enumerate(characters) if (python.search(char) is not None) == (index in rust_rejects)
    ]
    assert [c for c in apart if not read_apart(json.dumps(c, ensure_ascii=False))] == []


def test_the_quick_check_for_characters_read_apart_finds_what_the_pattern_finds():
    """`read_apart` skips ASCII text; on every code point, alone and inside text, it agrees with the pattern."""
    for code in range(sys.maxunicode + 1):
        text = json.dumps(f"ok {chr(code)} ok", ensure_ascii=False)
        assert read_apart(text) == (_ENGINE_DIFFERENCES.search(text) is not None), hex(code)


@SETTINGS
@given(st.lists(st.text() | st.sampled_from(["\x1c", "\x1f", "\x85", "٣", "\ufeff", "9", "\\u001c"])))
def test_the_quick_check_agrees_with_the_pattern_on_any_text(pieces):
    text = json.dumps(pieces, ensure_ascii=False)
    assert read_apart(text) == (_ENGINE_DIFFERENCES.search(text) is not None)


def test_a_schema_with_a_pattern_the_engines_read_apart_turns_the_fast_path_off(tmp_path):
    for path in SCHEMAS_DIR.glob("*.schema.json"):
        text = path.read_text("utf-8")
        if path.name == "common.schema.json":
            text = text.replace('"pattern": "^[^<>\\\\n]+$"', '"pattern": "^\\\\w[^<>\\\\n]*$"', 1)
        (tmp_path / path.name).write_text(text, "utf-8")
    changed = SchemaSet(tmp_path)
    assert changed.schemas != SCHEMAS.schemas
    assert changed.fast_validator("practice", VOCABULARIES) is None
