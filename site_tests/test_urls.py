"""Page URLs and the relative links between pages, as the engine works them out."""

from __future__ import annotations

import itertools
import posixpath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csbp.urls import page_url, relative_url, relpath


@pytest.mark.parametrize(
    ("source", "target", "directory_urls", "expected"),
    [
        ("modules/a.md", "practices/b.md", True, "../../practices/b/"),
        ("practices/old/index.md", "practices/new.md", True, "../new/"),
        ("index.md", "practices/index.md", True, "practices/"),
        ("practices/index.md", "index.md", True, "../"),
        ("modules/a.md", "practices/b.md", False, "../practices/b.html"),
        ("practices/a.md", "practices/a.md", True, "./"),
        ("practices/a.md", "practices/index.md", True, "../"),
        ("practices/a.md", "index.md", True, "../../"),
        ("modules/a.md", "modules/a/trainer.md", True, "trainer/"),
        ("modules/a/trainer.md", "modules/a.md", True, "../"),
        ("browse/sector/maritime.md", "downloads/all.gift", True, "../../../downloads/all.gift"),
    ],
)
def test_relative_urls_match_the_engine(source, target, directory_urls, expected):
    assert relative_url(source, target, directory_urls) == expected


def test_the_fast_relative_path_agrees_with_the_standard_one():
    clean = ["a", "b", "practices", "p-1", "index.md", "x y"]
    paths = ["."] + ["/".join(parts) for n in (1, 2, 3) for parts in itertools.product(clean, repeat=n)]
    odd = ["a/../b", "./a", "a//b", "a/", "../a", "a/./b"]  # left to the standard function
    for target, start in itertools.product(paths + odd, paths[::5] + odd):
        assert relpath(target, start) == posixpath.relpath(target, start), (target, start)


def straight_relative_url(from_src: str, to_src: str, directory_urls: bool) -> str:
    """The link as the engine defines it, worked out from the page's own folder with no memo."""
    here, there = page_url(from_src, directory_urls), page_url(to_src, directory_urls)
    base = here if here.endswith("/") else posixpath.dirname(here)
    path = posixpath.relpath((there or ".").rstrip("/") or ".", (base or ".").rstrip("/") or ".")
    if there.endswith("/") or there == "":
        path = path + "/" if path != "." else "./"
    return path


_SEGMENTS = st.sampled_from(["a", "b", "index", "practices", "a-1"])
_DOCS = st.builds(
    lambda parts, suffix: "/".join(parts) + suffix,
    st.lists(_SEGMENTS, min_size=1, max_size=4),
    st.sampled_from([".md", ".md", ".gift", ""]),
)


@settings(max_examples=2000, deadline=None)
@given(_DOCS, _DOCS, st.booleans())
def test_links_reached_through_a_shared_folder_equal_those_from_the_page_itself(source, target, directory_urls):
    # The memo reaches a target outside the page's folder through its parent folder: the answer
    # must be the one worked out from the page's own folder, for every pair of docs files.
    assert relative_url(source, target, directory_urls) == straight_relative_url(source, target, directory_urls)
