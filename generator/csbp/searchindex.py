"""A search index a phone can download: entry pages indexed by what identifies them, not their body.

Material's search loads the whole `search/search_index.json` before it shows a first result,
and the index MkDocs writes holds the full text of every section of every page, growing with
the corpus. This module says what a large handbook's index keeps of each page (the site stage,
`site_search.py`, applies it to the built site):

- entry pages (practices, lessons, modules, paths) keep one record: title, summary with the
  "Related terms" keywords (abbreviations), and the entry id; their body sections go;
- generated listings (home, the indexes, browse pages, what's new, training tools) keep
  their title and first paragraph; they only repeat what entry records already hold;
- the glossary and hand-written pages are kept whole: their size does not grow with entries.

Trimming starts only above `site_search.FULL_TEXT_BUDGET`: a handbook of a few hundred entries keeps full-text
search. The trade-off above it: a word that appears only in an entry's body (a step, a pitfall, a reference
title) no longer finds it. Titles, ids, summaries and keywords do, and the page itself still
highlights the searched words. The offline copy gets the same index: a browser that must
parse tens of MB of full text stalls whether it reads them from disk or over the network.
"""

from __future__ import annotations

import re
from typing import Any

ENTRY_FAMILIES = ("practices", "lessons", "modules", "paths")
LISTINGS = ("", "practices/", "lessons/", "modules/", "paths/", "whats-new/")
LISTING_FAMILIES = ("browse/", "training/")
PARAGRAPH = re.compile(r"<p\b[^>]*>.*?</p>", re.S)


def _entry_id(location: str) -> str | None:
    """The id of an entry page's location (`practices/<id>/`), else None."""
    parts = location.split("/")
    if len(parts) == 3 and parts[0] in ENTRY_FAMILIES and parts[1] and parts[2] == "":
        return parts[1]
    return None


def page_kind(page: str) -> str | None:
    """ "entry" for an entry page's location, "listing" for a generated listing, None for any other
    page (hand-written pages, the glossary, trainer packs): the pages trimming cuts down."""
    if _entry_id(page) is not None:
        return "entry"
    if page in LISTINGS or page.startswith(LISTING_FAMILIES):
        return "listing"
    return None


def kept_text(page: str, paragraphs: list[str]) -> str:
    """What a trimmed record keeps of its page's head: an entry its paragraphs and its id, a listing
    its first paragraph."""
    entry_id = _entry_id(page)
    if entry_id is not None:
        return " ".join([*paragraphs, f"<p>Id: {entry_id}</p>"])
    return paragraphs[0] if paragraphs else ""


# From this many entries on, entry pages and listings are left out of the engine's own search
# index (front matter `search: exclude`, marked `csbp_search: compact`) and `add_compact_records`
# writes each one the record trimming would have kept, from the built page, so the engine does
# not index full texts only for them to be trimmed away. About where the full index passes the
# full-text budget (`site_search.FULL_TEXT_BUDGET`).
COMPACT_FROM_ENTRIES = 350
COMPACT_MARK = "csbp_search: compact"
ARTICLE = '<article class="md-content__inner md-typeset">'


def compact_search(entries: int) -> bool:
    """Whether a handbook of `entries` entries gets compact search records for its entry pages and listings."""
    return entries >= COMPACT_FROM_ENTRIES


def compact_front_matter(data: dict[str, Any], page: str) -> dict[str, Any]:
    """A page's front matter in a handbook with compact records: marked, if the page gets one (a page
    kept out of search on purpose stays out)."""
    search = data.get("search") or {}
    if page_kind(page) is None or search.get("exclude"):
        return data
    return {**data, "search": {**search, "exclude": True}, "csbp_search": "compact"}
