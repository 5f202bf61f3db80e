"""Stage 4: relative links and safe-by-default templates."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from csbp.frontmatter import simple_yaml
from csbp.render import make_environment


def test_plain_strings_are_escaped_for_html_and_markdown_by_default():
    env = make_environment()
    out = env.from_string("{{ value }}").render(value="<i>[a](b)</i>")
    assert out == r"&lt;i&gt;\[a\]\(b\)&lt;/i&gt;"


def test_html_filter_escapes_for_attributes_only():
    env = make_environment()
    assert env.from_string("{{ v|html }}").render(v='a "b" <c>') == "a &quot;b&quot; &lt;c&gt;"


@pytest.mark.parametrize(("note", "ends"), [("Summary only", "Summary only."), ("Part B, 13.6.", "Part B, 13.6.")])
def test_a_reference_note_ends_with_exactly_one_full_stop(note, ends):
    from csbp.model import Reference, Term

    env = make_environment()
    template = env.from_string("{{ references(refs) }}")
    kind = Term("source-type", "guidance", "Guidance", "")
    out = template.render(refs=[Reference("A guide", "An agency", 2024, kind, None, note)])
    line = next(line for line in out.splitlines() if line.startswith("<li>"))
    assert line.endswith(ends + "</li>") and not line.endswith("..</li>")


_YAML_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"])
    | st.sampled_from(list("aZé1 .-:#'\"!&*?,[]{}|>%@`\\~×’\t\n\x85\xa0\u2028\ufeff")),
    max_size=20,
) | st.sampled_from(["yes", "No", "null", "true", "Off", "1.5", "2025-06-04", "a: b", "a #b", "Safe words (here)"])
_YAML_WORDS = st.lists(
    st.sampled_from(["Port", "é", "gate", " ", "  ", "(x)", "1", "1.5", "-", ",", ".", "/", "×", "&", "!", "?", "%"])
    | st.sampled_from(["[", "]", "{", "}", "yes", "No", "null", "~", ":", "#", "'", "*", "=", "<<", "0x1"]),
    min_size=1,
    max_size=8,
).map("".join)
_YAML_SCALAR = _YAML_TEXT | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.none()
_YAML_KEY = st.sampled_from(["title", "description", "search", "tags", "csbp_search", "boost", "exclude", "no", "a b"])


@settings(max_examples=3000, deadline=None)
@given(
    st.dictionaries(
        _YAML_KEY | _YAML_TEXT,
        _YAML_SCALAR | st.lists(_YAML_SCALAR, max_size=4) | st.dictionaries(_YAML_KEY, _YAML_SCALAR, max_size=3),
        max_size=5,
    )
)
def test_front_matter_is_written_as_yaml_dump_writes_it(data):
    written = simple_yaml(data)
    if written is not None:
        assert written == yaml.dump(data, allow_unicode=True, sort_keys=True, width=1000).strip()


_FRONT_VALUE = _YAML_WORDS | st.booleans() | st.integers() | st.floats(allow_nan=False)


@settings(max_examples=3000, deadline=None)
@given(
    st.dictionaries(
        _YAML_KEY,
        _FRONT_VALUE | st.lists(_YAML_WORDS, max_size=4) | st.dictionaries(_YAML_KEY, _FRONT_VALUE, max_size=3),
        max_size=4,
    )
)
def test_front_matter_of_words_is_written_as_yaml_dump_writes_it(data):
    test_front_matter_is_written_as_yaml_dump_writes_it.hypothesis.inner_test(data)


def test_the_front_matter_of_entry_pages_takes_the_short_way():
    data = {
        "title": "Waterside surveillance (practice 41)",
        "description": "The officer checks the quay, twice a day, to keep gates safe; see ISO/IEC 27037.",
        "search": {"boost": 1.5, "exclude": True},
        "tags": ["Prepare", "Protect", "Pillar × dimension"],
        "csbp_search": "compact",
    }
    assert simple_yaml(data) == yaml.dump(data, allow_unicode=True, sort_keys=True, width=1000).strip()
