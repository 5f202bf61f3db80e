"""Quiz exports for learning platforms, made from the same validated model as the site.

Every text goes through `plain_text`: contributor Markdown is rendered and sanitised as for
the site, then reduced to text, and markup characters are escaped, so an export cannot carry
script into a platform that renders its text as HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from functools import partial
from io import BytesIO
from typing import IO, Any

from csbp import archive
from csbp.markup import markdown_inline
from csbp.model import Handbook, Module, Question
from csbp.parallel import fork_map

FORMATS = ("gift", "qti")


def plain_text(markdown_text: str) -> str:
    """Markdown → sanitised HTML → plain text on one line (links keep their text only)."""
    rendered = str(markdown_inline(markdown_text))
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", rendered)).split())


def learn_more(question: Question) -> str:
    practice = question.practice
    return f" Learn more: {practice.title} (practices/{practice.id}/)." if practice else ""


def shown_from_links(module: Module) -> list[str]:
    """All that a module's exports show of other entries (`learn_more`): their fingerprint
    covers these instead of every linked entry, so editing a practice's text re-exports nothing."""
    return [f"{q.practice.id}:{q.practice.title}" for q in module.questions if q.practice is not None]


def explanation(question: Question) -> str:
    return plain_text(question.explanation) + learn_more(question)


# Per module, the export pieces made at the last build, under the fingerprint of what they depend on.
_PIECES: dict[str, tuple[str, dict[str, Any]]] = {}


def export_files(handbook: Handbook, epoch: int, fingerprints: Mapping[str, str] | None = None) -> dict[str, bytes]:
    """Every export file by name: `<module>.gift`, `<module>-qti.zip`, and `all.*` for every module.

    With `fingerprints` (module id -> digest of the module and what it shows of linked entries), a
    module whose fingerprint is unchanged since the last call is not exported again.
    """
    from csbp.exports.gift import gift_text
    from csbp.exports.qti import qti_package

    modules = sorted(handbook.modules.values(), key=lambda m: m.id)
    files: dict[str, bytes] = {}
    pieces: dict[str, dict[str, Any]] = {}
    todo: list[Module] = []
    for module in modules:
        key = f"{epoch}:{fingerprints[module.id]}" if fingerprints is not None else None
        known = _PIECES.get(module.id)
        if key is not None and known is not None and known[0] == key:
            pieces[module.id] = known[1]
        else:
            todo.append(module)
    # On every core when there are many (a cold build); model objects never travel between processes.
    for module, (gift, qti, blocks, made) in zip(todo, fork_map(partial(_export, epoch), todo), strict=True):
        items = [(module, question, href, data) for question, (href, data) in zip(module.questions, made, strict=True)]
        pieces[module.id] = {"gift": gift, "qti": qti, "blocks": blocks, "items": items}
        if fingerprints is not None:
            _PIECES[module.id] = (f"{epoch}:{fingerprints[module.id]}", pieces[module.id])
    for module in modules:
        files[f"{module.id}.gift"] = pieces[module.id]["gift"]
        files[f"{module.id}-qti.zip"] = pieces[module.id]["qti"]
    if fingerprints is not None:
        for stale in set(_PIECES) - set(pieces):
            del _PIECES[stale]
    files["all.gift"] = gift_text(modules, [block for m in modules for block in pieces[m.id]["blocks"]]).encode("utf-8")
    files["all-qti.zip"] = qti_package(modules, epoch, [item for m in modules for item in pieces[m.id]["items"]])
    return files


def _export(epoch: int, module: Module) -> tuple[bytes, bytes, list[str], list[tuple[str, bytes]]]:
    """One module's GIFT file, QTI package, GIFT blocks and QTI items (path, XML) for the `all.*` files."""
    from csbp.exports.gift import gift_blocks, gift_text
    from csbp.exports.qti import qti_items, qti_package

    blocks, items = gift_blocks(module), qti_items(module)
    return (
        gift_text([module], blocks).encode("utf-8"),
        qti_package([module], epoch, items),
        blocks,
        [(href, data) for _module, _question, href, data in items],
    )


def deterministic_zip(members: Iterable[tuple[str, bytes]], epoch: int) -> bytes:
    """A zip whose bytes depend only on its members (fixed times and order): reproducible builds."""
    buffer = BytesIO()
    write_zip(buffer, sorted(members), epoch)
    return buffer.getvalue()


def write_zip(target: IO[bytes], members: Iterable[tuple[str, bytes]], epoch: int) -> None:
    """Write `members` in the order given with one fixed time: same members, same bytes."""
    archive.write_zip(target, (archive.deflate(name, data) for name, data in members), epoch)


__all__ = [
    "FORMATS",
    "Module",
    "deterministic_zip",
    "explanation",
    "export_files",
    "plain_text",
    "shown_from_links",
    "write_zip",
]
