"""Stage 1: the hardened YAML loader."""

from __future__ import annotations

import math
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from csbp.diagnostics import Position, Report
from csbp.loader import MAX_FILE_BYTES, _decode, _Rejected, load_yaml


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


def test_scalars_are_read_as_yaml_1_2_core_reads_them(tmp_path):
    text = (
        "octal: 0o17\nhex: 0x1F\nleading_zero: 017\nsigned: -12\nbinary: 0b1\nunderscored: 1_000\n"
        "sexagesimal: 1:20\nyes_text: yes\ny_text: y\noff_text: off\nflag: True\nshout: FALSE\n"
        "tilde: ~\nnull_word: Null\nempty:\nfloat: 1.5\nexponent: 1e3\ninfinity: -.inf\n"
        "not_a_number: .NaN\nquoted: '12'\n"
    )
    document, report = load(tmp_path, text)
    assert not report.diagnostics
    data = document.data
    assert math.isnan(data.pop("not_a_number"))
    assert data == {
        "octal": 15,
        "hex": 31,
        "leading_zero": 17,
        "signed": -12,
        "binary": "0b1",
        "underscored": "1_000",
        "sexagesimal": "1:20",
        "yes_text": "yes",
        "y_text": "y",
        "off_text": "off",
        "flag": True,
        "shout": False,
        "tilde": None,
        "null_word": None,
        "empty": None,
        "float": 1.5,
        "exponent": 1000.0,
        "infinity": -math.inf,
        "quoted": "12",
    }
    assert [type(data[key]) for key in ("octal", "flag", "float", "exponent")] == [int, bool, float, float]


# Refused texts, each named with what to do where it stands. A merge key may come with or without an alias.
@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        (
            "title: A\n12: 1\n",
            'the key 12 is read as a whole number, not as text: put it in quotes, as "12"',
            Position(2, 1),
        ),
        ("title: A\nnested:\n  0o17: x\n", "the key 15 is read as a whole number, not as text", Position(3, 3)),
        (
            "title: A\ntrue: x\n",
            'the key True is read as true or false, not as text: put it in quotes, as "true"',
            Position(2, 1),
        ),
        ("title: A\n[a, b]: x\n", "a key must be plain text, not a list or mapping", Position(2, 1)),
        ("base: &b {a: 1}\nother:\n  <<: *b\n", "merge keys", Position(3, 3)),
        ("title: A\nother:\n  <<: {a: 1}\n", "merge keys", Position(3, 3)),
        ("title: A\n---\ntitle: B\n", "expected a single document", Position(2, 1)),
        ("title: A\nsummary: a: b\n", "YAML syntax error", Position(2, 11)),
        ("title: A\ncount: !!int twelve\n", "'twelve' cannot be read as a whole number", Position(2, 8)),
        ("# only a comment\n", "the file is empty", Position(1, 1)),
        ("---\n~\n", "the file is empty", Position(1, 1)),
        ("title: A\nlist:\n  - x\n - y\n", "did not find expected key", Position(4, 2)),
    ],
    ids=[
        "number-key",
        "yaml-1.2-number-key",
        "bool-key",
        "list-key",
        "merge-alias",
        "merge-inline",
        "two-documents",
        "syntax",
        "tag-mismatch",
        "empty",
        "empty-document",
        "bad-indentation",
    ],
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
    assert "an entry must be a mapping of fields (`title: …`, `tlp: …`), not a list" in report.errors[0].message


def test_deep_flow_nesting_is_refused(tmp_path):
    _, report = load(tmp_path, "a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested more than" in report.errors[0].message


def test_billion_laughs_is_refused_with_bounded_memory(tmp_path):
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    tracemalloc.start()
    _, report = load(tmp_path, "\n".join(levels) + "\n")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "anchors are reused more than 20 times" in report.errors[0].message
    assert peak < 20_000_000


def test_a_recursive_alias_is_refused(tmp_path):
    _, report = load(tmp_path, "a: &a [1, *a]\n")
    assert "anchors are reused" in report.errors[0].message


def test_a_50_mb_file_is_refused_without_being_read(tmp_path):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    tracemalloc.start()
    report = Report()
    assert load_yaml(path, report) is None
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "the file is 52,428,800 bytes, over the 1,000,000-byte limit" in report.errors[0].message
    assert peak < 5_000_000


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


def test_binary_and_non_utf8_files_are_refused_where_the_bad_byte_is(tmp_path):
    _, report = load(tmp_path, b"title: A\nsummary: a\x00b\n")
    assert report.errors[0].position == Position(2, 11)
    assert "this is a binary file" in report.errors[0].message
    _, report = load(tmp_path, b"title: A\nsummary: caf\xe9\n")
    assert report.errors[0].position == Position(2, 13)
    assert "not valid UTF-8 (byte 0xe9)" in report.errors[0].message


def test_tab_indentation_is_refused_where_the_tab_is(tmp_path):
    _, report = load(tmp_path, "title: A\nnested:\n  \tkey: 1\n")
    assert report.errors[0].position == Position(3, 3)
    assert "a tab is used for indentation" in report.errors[0].message


def reference_tab(text: str) -> Position | None:
    """Where the first tab in a line's indentation is, by a plain line-by-line scan."""
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            return Position(number, indent.index("\t") + 1)
    return None


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(["a", " ", "\t", "\n", "\r", "\r\n", "\x0b", "\x1c", "\x85", "\u2028", "[", "x: "]),
        max_size=40,
    ).map("".join)
)
def test_the_tab_screen_finds_what_a_line_by_line_scan_finds(text):
    try:
        _decode(text.encode())
        found = None
    except _Rejected as rejected:
        found = rejected.position
    assert found == reference_tab(text)


@pytest.mark.parametrize(
    ("text", "tag", "position"),
    [
        ("a: !foo bar\n", "!foo", Position(1, 4)),
        ("a: !!binary aGk=\n", "tag:yaml.org,2002:binary", Position(1, 4)),
        ("a: !!set {x, y}\n", "tag:yaml.org,2002:set", Position(1, 4)),
        ("a:\n  - !!omap [b: 1]\n", "tag:yaml.org,2002:omap", Position(2, 5)),
        ("a: !!str [x]\n", "tag:yaml.org,2002:str", Position(1, 4)),
        ("a: !!str {b: 1}\n", "tag:yaml.org,2002:str", Position(1, 4)),
        ("a: !!map [x]\n", "tag:yaml.org,2002:map", Position(1, 4)),
        ("a: !!seq x\n", "tag:yaml.org,2002:seq", Position(1, 4)),
        ("!foo key: x\n", "!foo", Position(1, 1)),
    ],
)
def test_tags_outside_the_plain_core_set_are_refused(tmp_path, text, tag, position):
    _, report = load(tmp_path, text)
    assert f"the YAML tag '{tag}' is not allowed: remove it and write a plain value" in report.errors[0].message
    assert report.errors[0].position == position


def test_core_tags_on_their_own_kind_of_value_are_accepted(tmp_path):
    document, report = load(tmp_path, "a: !!str 12\nb: !!int '7'\nc: !!map {d: !!seq [!!null '']}\ne: !!float 1\n")
    assert not report.diagnostics
    assert document.data == {"a": "12", "b": 7, "c": {"d": [None]}, "e": 1.0}


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("? [a]\n: x\n", "a key must be plain text, not a list or mapping", Position(1, 3)),
        ("? !!str [a]\n: x\n", "a key must be plain text, not a list or mapping", Position(1, 3)),
        ("a: !!float 1_0\n", "'1_0' cannot be read as a number: put it in quotes to keep it as text", Position(1, 4)),
        ("a: 1" + "0" * 5000 + "\n", "cannot be read as a whole number: put it in quotes", Position(1, 4)),
    ],
    ids=["list-key", "tagged-list-key", "underscored-float", "number-too-long"],
)
def test_keys_and_tagged_values_that_cannot_be_read_are_refused(tmp_path, text, message, position):
    _, report = load(tmp_path, text)
    assert message in report.errors[0].message
    assert report.errors[0].position == position


def test_aliases_within_the_limit_load_as_their_values(tmp_path):
    document, report = load(tmp_path, "a: &x [1, 2]\nb: *x\nc: [*x, *x]\n")
    assert not report.diagnostics
    assert document.data == {"a": [1, 2], "b": [1, 2], "c": [[1, 2], [1, 2]]}


def test_a_syntax_error_names_its_line(tmp_path):
    _, report = load(tmp_path, "title: A\nsummary: a: b\n")
    assert report.errors[0].message.startswith("YAML syntax error")
    assert report.errors[0].position.line == 2


def test_deep_block_nesting_is_refused_without_exhausting_the_parser(tmp_path):
    compact = "a: \n" + "- " * 5000 + "x\n"
    huge_compact = "a: \n" + "- " * 200_000 + "x\n"
    # Each level of a block mapping is indented one space deeper: 1,400 levels fill most of the size limit.
    indented = "".join(" " * level + f"k{level}:\n" for level in range(1400)) + " " * 1400 + "v\n"
    mapped = "a:\n" + "".join("  " * level + "- b:\n" for level in range(300)) + "  " * 300 + "- x\n"
    explicit = "? " * 3000 + "x\n"
    for text in (compact, huge_compact, indented, mapped, explicit):
        assert len(text.encode()) < MAX_FILE_BYTES
        _, report = load(tmp_path, text)
        assert "values are nested more than 64 deep: simplify the structure" in report.errors[0].message


def test_nesting_is_limited_at_64_levels(tmp_path):
    document, report = load(tmp_path, "a: " + "[" * 63 + "]" * 63 + "\n")
    assert not report.diagnostics
    assert document.position_of(("a",)) == Position(1, 4)
    _, report = load(tmp_path, "a: " + "[" * 64 + "]" * 64 + "\n")
    assert report.errors[0].position == Position(1, 67)
    assert "nested more than 64 deep" in report.errors[0].message


def test_nesting_made_deep_by_an_alias_is_refused(tmp_path):
    # The alias adds ten levels (ten nodes reused, within MAX_ALIAS_USES) to sixty written ones.
    text = "a: &deep " + "[" * 10 + "]" * 10 + "\nb: " + "[" * 60 + "*deep" + "]" * 60 + "\n"
    _, report = load(tmp_path, text)
    assert "nested more than 64 deep" in report.errors[0].message


class YAML11WithoutDates(yaml.SafeLoader):
    """PyYAML's pure-Python YAML 1.1 safe loader, with dates kept as text: the reference the
    repository's files were written for."""


YAML11WithoutDates.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def test_the_repository_reads_as_yaml_1_1_read_it():
    # Every file of the real handbook gives the same data under the YAML 1.2 loader as under
    # PyYAML's YAML 1.1 safe loader (dates as text): no entry changes meaning between the two.
    from site_tests.support import REPO

    files = sorted([*REPO.glob("practices/*.yaml"), *REPO.glob("content/**/*.yaml")])
    assert len(files) > 50
    for path in files:
        expected = yaml.load(path.read_text("utf-8"), Loader=YAML11WithoutDates)
        report = Report()
        document = load_yaml(path, report)
        assert not report.errors and isinstance(expected, dict) and document.data == expected, path
