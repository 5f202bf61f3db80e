"""Stage 6, leak check: prove that no entry above the audience reached any output byte.

The model already drops excluded entries, so this is defence in depth against a future
template, plugin or export that reads the sources directly. Every file of the built site
is scanned, gzip and zip members included, after undoing HTML and JSON escaping, for the
ids, titles and distinctive text of every excluded entry. Any hit fails the build.
"""

from __future__ import annotations

import gzip
import html
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import markdown

from csbp.config import KIND_URL
from csbp.markup import plain
from csbp.validate import Corpus

MIN_SNIPPET = 24  # shorter text is too likely to occur by chance
SNIPPET = 60
TEXT_SUFFIXES = {".html", ".htm", ".json", ".js", ".xml", ".txt", ".css", ".md", ".gift", ".csv", ".svg", ".map"}
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Needle:
    entry: str
    what: str
    text: str


def normalise(text: str) -> str:
    """Undo the escapes an output format may apply, fold whitespace and case."""
    text = _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    text = html.unescape(html.unescape(text)).replace("\\/", "/")
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|~])", r"\1", text)
    return " ".join(text.split()).lower()


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _visible_text(text: str) -> str:
    """A field's words as a reader sees them (Markdown rendered, tags dropped)."""
    return plain(html.unescape(_TAGS.sub(" ", markdown.markdown(text))))


def needles_for(corpus: Corpus, excluded: list[tuple[str, str]]) -> list[Needle]:
    """What would betray each excluded entry: its URL path, id, title and long passages of its text.

    Passages that also occur in a published entry are not distinctive and are left out.
    """
    if not excluded:  # nothing to look for: skip rendering every published text (seconds on a full handbook)
        return []
    hidden = set(excluded)
    published = normalise(
        " ".join(
            _visible_text(text)
            for kind, documents in corpus.documents.items()
            for entry_id, document in documents.items()
            if (kind, entry_id) not in hidden
            for text in _strings(document.data)
        )
    )
    needles: list[Needle] = []
    for kind, entry_id in excluded:
        data = corpus.documents[kind][entry_id].data
        label = f"{kind} '{entry_id}'"
        needles.append(Needle(label, "URL", f"{KIND_URL[kind]}/{entry_id}"))
        if "-" in entry_id:  # single-word ids are too common to search on their own
            needles.append(Needle(label, "id", entry_id))
        needles.append(Needle(label, "title", data["title"]))
        skip = {"title", "tlp", "status", "owner", "last_reviewed", "review_interval_months"}
        for key, value in data.items():
            if key in skip:
                continue
            for text in _strings(value):
                words = _visible_text(text)
                if len(words) >= MIN_SNIPPET and " " in words and normalise(words[:SNIPPET]) not in published:
                    needles.append(Needle(label, key, words[:SNIPPET]))
    return [Needle(n.entry, n.what, normalise(n.text)) for n in needles]


def _texts(path: Path, data: bytes, name: str) -> Iterator[tuple[str, str]]:
    """Text content of an output file, descending into gzip and zip archives."""
    if name.endswith(".gz"):
        try:
            yield from _texts(path, gzip.decompress(data), name[:-3])
        except OSError:
            yield name, data.decode("utf-8", errors="replace")
        return
    if name.endswith(".zip") or data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.namelist():
                    yield from _texts(path, archive.read(member), f"{name}!{member}")
        except zipfile.BadZipFile:
            yield name, data.decode("utf-8", errors="replace")
        return
    suffix = Path(name).suffix.lower()
    if suffix in TEXT_SUFFIXES or not suffix:
        text = data.decode("utf-8", errors="replace")
        if suffix == ".html":
            text = text + " " + _TAGS.sub(" ", text)  # text split by markup still matches
        yield name, text


def scan(site: Path, needles: list[Needle]) -> list[str]:
    """Every place an excluded entry shows through, as `file: entry (what): "text"` lines."""
    if not needles:
        return []
    problems: list[str] = []
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        name = path.relative_to(site).as_posix()
        for where, text in _texts(path, path.read_bytes(), name):
            haystack = normalise(text)
            for needle in needles:
                if needle.text in haystack:
                    problems.append(f'leak: {where}: {needle.entry} ({needle.what}) appears: "{needle.text[:60]}"')
    return problems


def leak_report(problems: list[str], audience: str) -> list[str]:
    if not problems:
        return []
    head = f"csbp: leak check failed: {len(problems)} trace(s) of entries above the {audience} audience in the output"
    return [head, *problems[:50], *([f"… and {len(problems) - 50} more"] if len(problems) > 50 else [])]
