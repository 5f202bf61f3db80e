"""Stage 4: relative links and safe-by-default templates."""

from __future__ import annotations

import pytest

from csbp.render import make_environment, relative_url


@pytest.mark.parametrize(
    ("source", "target", "directory_urls", "expected"),
    [
        ("modules/a.md", "practices/b.md", True, "../../practices/b/"),
        ("practices/old/index.md", "practices/new.md", True, "../new/"),
        ("index.md", "practices/index.md", True, "practices/"),
        ("practices/index.md", "index.md", True, "../"),
        ("modules/a.md", "practices/b.md", False, "../practices/b.html"),
    ],
)
def test_relative_urls_match_the_engine(source, target, directory_urls, expected):
    assert relative_url(source, target, directory_urls) == expected


def test_plain_strings_are_escaped_for_html_and_markdown_by_default():
    env = make_environment()
    out = env.from_string("{{ value }}").render(value="<i>[a](b)</i>")
    assert out == r"&lt;i&gt;\[a\]\(b\)&lt;/i&gt;"


def test_html_filter_escapes_for_attributes_only():
    env = make_environment()
    assert env.from_string("{{ v|html }}").render(v='a "b" <c>') == "a &quot;b&quot; &lt;c&gt;"
