"""Where a docs file is served and how one page links to another, as MkDocs works them out.

Pages are written with links the engine does not rewrite (raw HTML), so the generator must
give each link the relative URL the engine would: from the page's URL to the target's.
A cold build asks for about thirty thousand such links at 1,000 entries, so the answers are
memoised by what they depend on, which most pages share (see `relative_url`).
"""

from __future__ import annotations

import functools
import posixpath


def page_url(src: str, directory_urls: bool = True) -> str:
    """The URL path (relative to the site root) that MkDocs gives a docs file."""
    if not src.endswith(".md"):
        return src
    stem = src[: -len(".md")]
    if not directory_urls:
        return stem + ".html"
    if stem == "index" or stem.endswith("/index"):
        return stem[: -len("index")]
    return stem + "/"


def relpath(target: str, start: str) -> str:
    """`posixpath.relpath` for the clean paths of a docs tree (relative, no `.`, `..` or empty
    segment), worked out from the segments alone: the standard function makes both absolute
    against the working directory first."""
    to = [] if target == "." else target.split("/")
    here = [] if start == "." else start.split("/")
    if any(part in ("", ".", "..") for part in (*to, *here)):
        return posixpath.relpath(target, start)
    common = 0
    for a, b in zip(to, here, strict=False):
        if a != b:
            break
        common += 1
    return "/".join([".."] * (len(here) - common) + to[common:]) or "."


def relative_url(from_src: str, to_src: str, directory_urls: bool = True) -> str:
    """A link from one built page to another, as it must appear in raw HTML.

    Every entry page has a URL folder of its own (`practices/<id>/`), so a memo keyed by the page
    would never be hit twice. A target outside that folder is reached through its parent folder
    (`../` and then the way from there), which all pages of a family share: the memo is keyed by
    that folder instead, and a listing's thousand links are worked out once for all its pages."""
    base, parent = _base(from_src, directory_urls)
    there = _url(to_src, directory_urls)
    if parent is not None and there.rstrip("/") not in (base, parent) and not there.startswith(base + "/"):
        return "../" + _from_folder(parent, there)
    return _from_folder(base, there)


@functools.lru_cache(maxsize=1 << 16)
def _url(src: str, directory_urls: bool) -> str:
    return page_url(src, directory_urls)


@functools.lru_cache(maxsize=1 << 16)
def _base(src: str, directory_urls: bool) -> tuple[str, str | None]:
    """The folder a page's relative links start from (no trailing slash; "" for the site root),
    and that folder's parent (None for the root)."""
    here = page_url(src, directory_urls)
    base = (here if here.endswith("/") else posixpath.dirname(here)).rstrip("/")
    return base, (base.rpartition("/")[0] if base else None)


@functools.lru_cache(maxsize=1 << 16)
def _from_folder(base: str, there: str) -> str:
    """The relative URL of `there` (a URL path) from the folder `base`."""
    path = relpath((there or ".").rstrip("/") or ".", base or ".")
    if there.endswith("/") or there == "":
        path = path + "/" if path != "." else "./"
    return path
