"""Stage 1: the hardened YAML loader."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from csbp.diagnostics import Position, Report
from csbp.loader import MAX_FILE_BYTES, MAX_FLOW_DEPTH, SourceCache, _check_text, _Rejected, load_yaml


def load(tmp_path: Path, content: str | bytes):
    path = tmp_path / "entry.yaml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    report = Report()
    return load_yaml(path, report), report


def test_positions_of_values_and_keys_are_recorded(tmp_path):
    document, report = load(tmp_path, "title: A\nlist:\n  - one\n  - two\nnested:\n  key: value\n")
    assert not report.diagnostics
    assert document.position_of(("list", 1)) == Position(4, 5)
    assert document.position_of(("nested", "key"), prefer_key=True) == Position(6, 3)
    assert document.position_of(("nested", "missing")) == Position(6, 3)


def test_dates_stay_text_so_the_schema_can_judge_them(tmp_path):
    document, _ = load(tmp_path, "when: 2026-02-30\nok: 2026-01-31\n")
    assert document.data == {"when": "2026-02-30", "ok": "2026-01-31"}


def test_non_text_keys_are_rejected_with_a_quoting_hint(tmp_path):
    _, report = load(tmp_path, "yes: 1\n")
    assert 'put it in quotes, as "yes"' in report.errors[0].message


def test_python_tags_are_refused(tmp_path):
    _, report = load(tmp_path, "x: !!python/object/apply:os.system ['true']\n")
    assert "the YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed" in report.errors[0].message


def test_merge_keys_are_refused(tmp_path):
    _, report = load(tmp_path, "base: &b {a: 1}\nother:\n  <<: *b\n")
    assert "merge keys" in report.errors[0].message
    assert report.errors[0].position == Position(3, 3)


def test_top_level_must_be_a_mapping(tmp_path):
    _, report = load(tmp_path, "- a\n- b\n")
    assert "must be a mapping" in report.errors[0].message


def test_deep_flow_nesting_is_refused_before_parsing(tmp_path):
    _, report = load(tmp_path, "a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested more than" in report.errors[0].message


def test_billion_laughs_ends_fast_with_bounded_memory(tmp_path):
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    tracemalloc.start()
    started = time.perf_counter()
    _, report = load(tmp_path, "\n".join(levels) + "\n")
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "anchors are reused" in report.errors[0].message
    assert elapsed < 1.0
    assert peak < 20_000_000


def test_a_50_mb_file_is_refused_without_being_read(tmp_path):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    tracemalloc.start()
    started = time.perf_counter()
    report = Report()
    assert load_yaml(path, report) is None
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert f"over the {MAX_FILE_BYTES:,}-byte limit" in report.errors[0].message
    assert elapsed < 1.0 and peak < 5_000_000


def test_byte_order_mark_is_accepted(tmp_path):
    document, report = load(tmp_path, "\ufefftitle: A\n".encode())
    assert not report.diagnostics and document.data == {"title": "A"}


def test_unreadable_path_is_a_clean_error(tmp_path):
    report = Report()
    assert load_yaml(tmp_path / "missing.yaml", report) is None
    assert "cannot read the file" in report.errors[0].message


def test_a_duplicate_key_names_the_line_of_the_first(tmp_path):
    _, report = load(tmp_path, "title: A\nnested:\n  key: 1\n  other: 2\n  key: 3\n")
    assert report.errors[0].position == Position(5, 3)
    assert "the key 'key' appears twice in the same mapping (first on line 3)" in report.errors[0].message


def test_positions_come_from_the_text_that_was_parsed_even_if_the_file_changed(tmp_path):
    document, _ = load(tmp_path, "title: A\nlist:\n  - one\n  - two\n")
    (tmp_path / "entry.yaml").write_text("\n\n\n\ntitle: A\n", "utf-8")
    assert document.position_of(("list", 1)) == Position(4, 5)


def test_positions_of_cached_data_are_read_from_the_file_and_its_checks_still_apply(tmp_path):
    cache = SourceCache()
    load(tmp_path, "title: A\nlist: [one, two]\n")
    path = tmp_path / "entry.yaml"
    load_yaml(path, Report(), cache)
    cached = load_yaml(path, Report(), cache)
    assert cached.positions_pending and cached.text is None
    assert cached.position_of(("list", 1)) == Position(2, 13)
    cached = load_yaml(path, Report(), cache)
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: [' + ",".join(["*a"] * 30) + "]\n"
    path.write_text(bomb, "utf-8")  # changed after loading: an alias bomb must not be walked
    assert cached.position_of(("list", 1)) == Position()


def reference_screen(text: str) -> tuple[Position, str] | None:
    """The tab and nesting screens as a plain line-by-line, character-by-character scan."""
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            return Position(number, indent.index("\t") + 1), "tab"
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return (Position(), "nesting") if deepest > MAX_FLOW_DEPTH else None


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["a", " ", "\t", "\n", "\r", "\r\n", "\x0b", "\x1c", "\x85", "\u2028", "[", "]", "{", "}", "x: "]
        )
        | st.sampled_from(["[" * 40, "]" * 40, "{" * 30]),
        max_size=40,
    ).map("".join)
)
def test_the_tab_and_nesting_screens_find_what_a_line_by_line_scan_finds(text):
    try:
        _check_text(text.encode())
        found = None
    except _Rejected as rejected:
        found = (rejected.position, "tab" if "tab" in rejected.message else "nesting")
    assert found == reference_screen(text)
