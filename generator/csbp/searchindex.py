"""A search index a phone can download: entry pages indexed by what identifies them, not their body.

Material's search loads the whole `search/search_index.json` before it shows a first result,
and the index MkDocs writes holds the full text of every section of every page: about
11 KB per entry, 1 MB gzip-compressed at 1,000 entries, growing with the corpus. After the
engine has built the site, this trims it:

- entry pages (practices, lessons, modules, paths) keep one record: title, summary with the
  "Related terms" keywords (abbreviations), and the entry id; their body sections go;
- generated listings (home, the indexes, browse pages, what's new, training tools) keep
  their title and first paragraph; they only repeat what entry records already hold;
- the glossary and hand-written pages are kept whole: their size does not grow with entries.

Trimming starts only above `FULL_TEXT_BUDGET`: a handbook of a few hundred entries keeps full-text
search. The trade-off above it: a word that appears only in an entry's body (a step, a pitfall, a reference
title) no longer finds it. Titles, ids, summaries and keywords do, and the page itself still
highlights the searched words. The offline copy gets the same index: a browser that must
parse tens of MB of full text stalls whether it reads them from disk or over the network.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ENTRY_FAMILIES = ("practices", "lessons", "modules", "paths")
LISTINGS = ("", "practices/", "lessons/", "modules/", "paths/", "whats-new/")
LISTING_FAMILIES = ("browse/", "training/")
_PARAGRAPH = re.compile(r"<p\b[^>]*>.*?</p>", re.S)


def _entry_id(location: str) -> str | None:
    """The id of an entry page's location (`practices/<id>/`), else None."""
    parts = location.split("/")
    if len(parts) == 3 and parts[0] in ENTRY_FAMILIES and parts[1] and parts[2] == "":
        return parts[1]
    return None


def _trimmed(record: dict[str, Any]) -> dict[str, Any] | None:
    """The record to keep in place of `record`, or None to drop it."""
    location = str(record.get("location", ""))
    page, _, section = location.partition("#")
    parts = page.split("/")
    is_entry = len(parts) >= 3 and parts[0] in ENTRY_FAMILIES and parts[1] and parts[2] == ""
    is_listing = page in LISTINGS or page.startswith(LISTING_FAMILIES)
    if not (is_entry or is_listing):
        return record
    if section:
        return None
    paragraphs = _PARAGRAPH.findall(str(record.get("text", "")))
    entry_id = _entry_id(page)
    if entry_id is not None:
        text = " ".join([*paragraphs, f"<p>Id: {entry_id}</p>"])
    else:
        text = paragraphs[0] if paragraphs else ""
    return {**record, "text": text}


# Up to this size (about 350 entries; some 400 KB gzip-compressed) the index keeps every page's
# full text, so a word from any step or pitfall finds its practice; above it, entries are trimmed.
FULL_TEXT_BUDGET = 4_000_000


def trim_search_index(site: Path, budget: int = FULL_TEXT_BUDGET) -> tuple[int, int] | None:
    """Trim `site`'s search index in place if it is over `budget` bytes; (bytes before, bytes
    after), or None if there is none or it is within budget."""
    path = site / "search" / "search_index.json"
    try:
        raw = path.read_bytes()
        if len(raw) <= budget:
            return None
        index = json.loads(raw)
    except (OSError, ValueError):
        return None
    if not isinstance(index, dict) or not isinstance(index.get("docs"), list):
        return None
    kept = [trimmed for record in index["docs"] if (trimmed := _trimmed(record)) is not None]
    data = json.dumps({**index, "docs": kept}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    path.write_bytes(data)
    return len(raw), len(data)
