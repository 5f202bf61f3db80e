"""Stage 5c, offline copy: the built site, rewritten to be read from `file://`.

A page opened from the file system cannot rely on a web server: a link to a directory
(`../practices/x/`) opens a file listing instead of the page, `fetch()` of the search index
is refused, and a Web Worker may not start. The offline copy is derived from the site the
engine has just built, file by file, instead of being built a second time:

- every relative link to a directory in an HTML page (`href`, the assignment tool's
  `data-target`, a redirect's `<meta http-equiv="refresh">`) gains `index.html`;
- the search index is inlined as `search/search_index.js` (`var __index = …`), which
  Material's search loads on `file://`, with its locations rewritten the same way; it is the
  index the site publishes, trimmed like it above the full-text budget (searchindex.py): a
  phone's browser would stall on tens of MB of full text as it would online;
- every page loads a local stand-in for Web Workers (`iframe-worker.js`: inert over http),
  so nothing is fetched from a third-party host;
- the home page says it is the offline copy instead of offering itself for download.

Deriving is a pass of regular expressions over the engine's output, so it depends on the
engine writing attributes in double quotes (MkDocs and Material do); the browser tests open
the copy from `file://` and follow links and search, which is what proves it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from csbp.archive import Member, deflate, write_zip
from csbp.config import DEFAULTS_DIR

OFFLINE_ZIP = "downloads/csbp-handbook-offline.zip"
OFFLINE_FOLDER = "csbp-handbook"  # the zip unpacks into one folder, not loose files
WORKER = "assets/csbp-offline/iframe-worker.js"
SEARCH_INDEX = "search/search_index.json"
SEARCH_SCRIPT = "search/search_index.js"
# Not in the copy: the copy itself, debugger source maps (no reader needs them; they double the
# download), the JSON index (replaced by the script) and the server's "not found" page (no server
# shows it; its links are root-absolute, which a file system cannot resolve).
LEFT_OUT = (OFFLINE_ZIP, SEARCH_INDEX, "404.html")
LEFT_OUT_SUFFIXES = (".map",)

OFFLINE_NOTE = (
    '<p class="csbp-offline">This is the offline copy of the handbook: every page, link and search works '
    "without a connection. Entries are reviewed and updated over time, so check the online handbook for the "
    "current version before relying on one.</p>"
)

# One rule for every link: a relative URL (no scheme, not root-absolute, not only a query or
# fragment) whose path ends in a slash gains `index.html`; one that is `.`, `..` or ends in `/.`
# or `/..` gains `/index.html`. Written as patterns that start with a literal, so a whole page is
# rewritten in one regular-expression pass per rule.
_RELATIVE = r"(?![a-zA-Z][a-zA-Z0-9+.-]*:|[#/?])"
_PATH_RULES = ((_RELATIVE + r'[^"?#]*/', "index.html"), (_RELATIVE + r'(?:[^"?#]*/)?\.\.?', "/index.html"))
_LINK_ATTRIBUTES = (' href="', ' data-target="', '<meta http-equiv="refresh" content="')
_IN_PAGE = [
    (re.compile(f'({re.escape(attribute)}{refresh})({path})(?=[?#"])'), rf"\1\2{suffix}")
    for path, suffix in _PATH_RULES
    for attribute, refresh in zip(_LINK_ATTRIBUTES, ("", "", r"\d+;\s*url="), strict=True)
]
_BARE = [(re.compile(f"^({path})(?=[?#]|$)"), rf"\1{suffix}") for path, suffix in _PATH_RULES]
_DOWNLOAD_NOTE = re.compile(r'<p class="csbp-offline">.*?</p>', re.S)


def file_url(url: str) -> str:
    """`url` as it must read from `file://`: a relative link to a directory names its `index.html`."""
    for pattern, replacement in _BARE:
        url = pattern.sub(replacement, url, count=1)
    return url


def offline_html(text: str, name: str) -> str:
    """One HTML page of the site (at `name`, relative to the site root) as the offline copy holds it."""
    for pattern, replacement in _IN_PAGE:
        text = pattern.sub(replacement, text)
    if "</head>" in text:
        up = "../" * name.count("/")
        text = text.replace("</head>", f'<script src="{up}{WORKER}"></script></head>', 1)
    if name == "index.html":
        text = _DOWNLOAD_NOTE.sub(lambda _: OFFLINE_NOTE, text, count=1)
    return text


def search_script(index: bytes) -> bytes:
    """The engine's search index as the script Material loads from `file://`, locations rewritten."""
    data = json.loads(index)
    for record in data.get("docs", []):
        location = str(record.get("location", ""))
        record["location"] = file_url(location) if location[:1] not in ("", "#") else f"index.html{location}"
    return b"var __index = " + json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _sources(site: Path) -> dict[str, Callable[[], bytes]]:
    """Every file of the offline copy of the built `site`, by path in the copy: how to make it."""
    sources: dict[str, Callable[[], bytes]] = {}
    for path in site.rglob("*"):
        name = path.relative_to(site).as_posix()
        if path.is_file() and name not in LEFT_OUT and not name.endswith(LEFT_OUT_SUFFIXES):
            sources[name] = partial(_offline_file, path, name)
    if (site / SEARCH_INDEX).is_file():
        sources[SEARCH_SCRIPT] = lambda: search_script((site / SEARCH_INDEX).read_bytes())
    sources[WORKER] = (DEFAULTS_DIR / "iframe-worker.js").read_bytes
    return dict(sorted(sources.items()))


def offline_files(site: Path) -> Iterator[tuple[str, bytes]]:
    """Every file of the offline copy derived from the built `site`, as (path in the copy, bytes),
    sorted by path and read one at a time (a large site is never held in memory whole)."""
    for name, make in _sources(site).items():
        yield name, make()


def _offline_file(path: Path, name: str) -> bytes:
    data = path.read_bytes()
    if not name.endswith(".html"):
        return data
    # surrogateescape: a hand-made page in another encoding passes through byte for byte
    return offline_html(data.decode("utf-8", "surrogateescape"), name).encode("utf-8", "surrogateescape")


def write_offline_copy(site: Path, destination: Path) -> None:
    """Write the offline copy of `site` as a directory (`csbp build --offline`)."""
    for name, data in offline_files(site):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


# Members are derived and compressed this many at a time, by threads (zlib works outside the GIL):
# a batch's compressed bytes are what the packing process holds at once.
PACK_BATCH = 1000
PACK_THREADS = 4


def pack_offline_copy(site: Path, epoch: int) -> None:
    """Write the offline copy of `site` into it as `OFFLINE_ZIP`, a reproducible zip."""
    archive_path = site / OFFLINE_ZIP
    archive_path.parent.mkdir(parents=True, exist_ok=True)
    sources = list(_sources(site).items())

    def member(item: tuple[str, Callable[[], bytes]]) -> Member:
        name, make = item
        return deflate(f"{OFFLINE_FOLDER}/{name}", make())

    def members(pool: ThreadPoolExecutor) -> Iterator[Member]:
        for start in range(0, len(sources), PACK_BATCH):
            yield from pool.map(member, sources[start : start + PACK_BATCH])

    with archive_path.open("wb") as target, ThreadPoolExecutor(PACK_THREADS) as pool:
        write_zip(target, members(pool), epoch)
