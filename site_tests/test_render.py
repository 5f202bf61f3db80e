"""Stage 4: relative links and safe-by-default templates."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from csbp.frontmatter import dump_front_matter
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


def _texts(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(key)
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


_FRONT_VALUE = _YAML_WORDS | _YAML_TEXT | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.none()


@settings(max_examples=1500, deadline=None)
@given(
    st.dictionaries(
        _YAML_KEY | _YAML_TEXT,
        _FRONT_VALUE | st.lists(_FRONT_VALUE, max_size=4) | st.dictionaries(_YAML_KEY, _FRONT_VALUE, max_size=3),
        max_size=5,
    )
)
def test_front_matter_reads_back_as_the_data_it_was_written_from(data):
    # The engine reads a page's title, description and tags back from its front matter: words that
    # look like YAML (`yes`, `a: b`, `#`, `*`) must come back as the same text, not as flags or syntax.
    # Texts reach the front matter with their whitespace folded (`markup.plain`).
    assume(all(text == " ".join(text.split()) for text in _texts(data)))
    written = str(dump_front_matter(data))
    assert written.startswith("---\n") and written.endswith("\n---\n")
    assert yaml.safe_load(written[4:-5]) == data
