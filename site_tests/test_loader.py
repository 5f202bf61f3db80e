"""Stage 1: the hardened YAML loader."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest
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


def test_yes_no_on_and_off_are_text_as_yaml_1_2_reads_them(tmp_path):
    document, report = load(tmp_path, "yes: on\nno: off\nflags: [true, false, True]\n")
    assert not report.diagnostics
    assert document.data == {"yes": "on", "no": "off", "flags": [True, False, True]}


# Refused texts, each named with what to do where it stands. YAML 1.1 and 1.2 read some of them
# apart (`0o17` is text to PyYAML, a number to yaml-rs); a merge key may come with or without an alias.
@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("title: A\n12: 1\n", 'put it in quotes, as "12"', Position(2, 1)),
        ("title: A\nnested:\n  0o17: x\n", "the key 15 is read as a whole number, not as text", Position(3, 3)),
        ("base: &b {a: 1}\nother:\n  <<: *b\n", "merge keys", Position(3, 3)),
        ("title: A\nother:\n  <<: {a: 1}\n", "merge keys", Position(3, 3)),
        ("title: A\n---\ntitle: B\n", "expected a single document", Position(2, 1)),
        ("title: A\nsummary: a: b\n", "YAML syntax error", Position(2, 11)),
    ],
    ids=["number-key", "yaml-1.2-number-key", "merge-alias", "merge-inline", "two-documents", "syntax"],
)
def test_a_refused_text_is_named_where_it_stands(tmp_path, text, message, position):
    _, report = load(tmp_path, text)
    assert message in report.errors[0].message
    assert report.errors[0].position == position


def test_python_tags_are_refused(tmp_path):
    _, report = load(tmp_path, "x: !!python/object/apply:os.system ['true']\n")
    assert "the YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed" in report.errors[0].message


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


# yaml-rs builds the data; PyYAML's node check must still see what yaml-rs would take silently.


def test_a_tag_yaml_rs_would_drop_is_refused(tmp_path):
    for text in ("a: !foo bar\n", "a: !!binary aGk=\n", "a: !!set {x, y}\n", "a:\n  - !!omap [b: 1]\n"):
        _, report = load(tmp_path, text)
        assert "is not allowed" in report.errors[0].message, text


def test_aliases_within_the_limit_load_as_their_values(tmp_path):
    document, report = load(tmp_path, "a: &x [1, 2]\nb: *x\nc: [*x, *x]\n")
    assert not report.diagnostics
    assert document.data == {"a": [1, 2], "b": [1, 2], "c": [[1, 2], [1, 2]]}


def test_a_syntax_error_names_its_line(tmp_path):
    _, report = load(tmp_path, "title: A\nsummary: a: b\n")
    assert report.errors[0].message.startswith("YAML syntax error")
    assert report.errors[0].position.line == 2


def test_deep_block_nesting_is_refused_without_exhausting_the_parser(tmp_path):
    indented = "".join(" " * level + f"k{level}:\n" for level in range(1300)) + " " * 1300 + "v\n"
    compact = "a: \n" + "- " * 200_000 + "x\n"
    mapped = "a:\n" + "".join("  " * level + "- b:\n" for level in range(300)) + "  " * 300 + "- x\n"
    # Nesting that stays under the screen's limits (indentation, count of `-` and `?`): yaml-rs reads
    # it without running out of stack, and the depth rule refuses it.
    shallow_indent = "a:\n" + "".join("  " * level + "- b:\n" for level in range(124)) + "  " * 124 + "- x\n"
    few_indicators = "a:\n" + "- " * 990 + "x\n"
    for text in (indented, compact, mapped, shallow_indent, few_indicators):
        assert len(text.encode()) < MAX_FILE_BYTES
        _, report = load(tmp_path, text)
        message = report.errors[0].message  # ours, or libyaml's own limit (1,000 levels)
        assert "nested more than" in message or "exceeded maximum nesting depth" in message


def test_the_repository_reads_as_yaml_1_1_read_it(tmp_path):
    # Every file of the real handbook gives the same data under YAML 1.2 (yaml-rs) as under the
    # YAML 1.1 loader it replaced (PyYAML, dates as text): no entry changed meaning with the switch.
    from csbp.loader import _Builder, _Loader
    from site_tests.support import REPO

    files = sorted([*REPO.glob("practices/*.yaml"), *REPO.glob("content/**/*.yaml")])
    assert len(files) > 50
    for path in files:
        loader = _Loader(path.read_text("utf-8"))
        try:
            expected = _Builder(loader).build(loader.get_single_node())
        finally:
            loader.dispose()
        report = Report()
        document = load_yaml(path, report)
        assert not report.errors and isinstance(expected, dict) and document.data == expected, path
