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


@pytest.mark.parametrize(("note", "ends"), [("Summary only", "Summary only."), ("Part B, 13.6.", "Part B, 13.6.")])
def test_a_reference_note_ends_with_exactly_one_full_stop(note, ends):
    from csbp.model import Reference, Term

    env = make_environment()
    template = env.from_string('{% import "macros.j2" as m %}{{ m.references(refs) }}')
    kind = Term("source-type", "guidance", "Guidance", "")
    out = template.render(refs=[Reference("A guide", "An agency", 2024, kind, None, note)])
    line = next(line for line in out.splitlines() if line.startswith("<li>"))
    assert line.endswith(ends + "</li>") and not line.endswith("..</li>")


def test_compiled_templates_are_kept_per_version_of_the_generator(tmp_path, monkeypatch):
    # A compiled template holds how it calls each filter; a new version may pass the render context
    # to a filter that took none, so it must never load an older version's compiled templates.
    from csbp.pagecache import code_stamp
    from csbp.render import template_bytecode_cache

    monkeypatch.setenv("CSBP_CACHE_KEY_DIR", str(tmp_path))
    (tmp_path / "jinja" / "0123456789abcdef").mkdir(parents=True)
    (tmp_path / "jinja" / "__jinja2_old.cache").write_bytes(b"compiled by an old version")
    cache = template_bytecode_cache()
    assert cache is not None and cache.directory == str(tmp_path / "jinja" / code_stamp()[:16])
    assert [p.name for p in (tmp_path / "jinja").iterdir()] == [code_stamp()[:16]]
