"""Quiz exports for learning platforms, made from the same validated model as the site.

Every text goes through `plain_text`: contributor Markdown is rendered and sanitised as for
the site, then reduced to text, and markup characters are escaped, so an export cannot carry
script into a platform that renders its text as HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
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
    plan = ExportPlan(handbook, epoch, fingerprints)
    # On every core when there are many (a cold build); model objects never travel between processes.
    return plan.finish(fork_map(plan.work, plan.todo))


ExportPieces = tuple[bytes, bytes, list[str], list[tuple[str, bytes]]]


class ExportPlan:
    """The exports in three steps, so a caller may run `work` on `todo` alongside other work
    (the page renderer does, in one pool of workers): which modules to export anew, one module's
    export, and the files from all of them."""

    def __init__(self, handbook: Handbook, epoch: int, fingerprints: Mapping[str, str] | None = None) -> None:
        self.epoch, self.fingerprints = epoch, fingerprints
        self.modules = sorted(handbook.modules.values(), key=lambda m: m.id)
        self.pieces: dict[str, dict[str, Any]] = {}
        self.todo: list[Module] = []
        for module in self.modules:
            key = f"{epoch}:{fingerprints[module.id]}" if fingerprints is not None else None
            known = _PIECES.get(module.id)
            if key is not None and known is not None and known[0] == key:
                self.pieces[module.id] = known[1]
            else:
                self.todo.append(module)

    def names(self) -> list[str]:
        """The files `finish` returns, in its order."""
        return [f"{m.id}{suffix}" for m in self.modules for suffix in (".gift", "-qti.zip")] + [
            "all.gift",
            "all-qti.zip",
        ]

    def work(self, module: Module) -> ExportPieces:
        return _export(self.epoch, module)

    def finish(self, made: list[ExportPieces]) -> dict[str, bytes]:
        """The files, from `work`'s results for `todo` (in order) and the pieces kept from earlier calls."""
        from csbp.exports.gift import gift_text
        from csbp.exports.qti import qti_package

        modules, pieces, fingerprints = self.modules, self.pieces, self.fingerprints
        for module, (gift, qti, blocks, items_made) in zip(self.todo, made, strict=True):
            items = [
                (module, question, href, data)
                for question, (href, data) in zip(module.questions, items_made, strict=True)
            ]
            pieces[module.id] = {"gift": gift, "qti": qti, "blocks": blocks, "items": items}
            if fingerprints is not None:
                _PIECES[module.id] = (f"{self.epoch}:{fingerprints[module.id]}", pieces[module.id])
        files: dict[str, bytes] = {}
        for module in modules:
            files[f"{module.id}.gift"] = pieces[module.id]["gift"]
            files[f"{module.id}-qti.zip"] = pieces[module.id]["qti"]
        if fingerprints is not None:
            for stale in set(_PIECES) - set(pieces):
                del _PIECES[stale]
        blocks = [block for m in modules for block in pieces[m.id]["blocks"]]
        files["all.gift"] = gift_text(modules, blocks).encode("utf-8")
        items = [item for m in modules for item in pieces[m.id]["items"]]
        files["all-qti.zip"] = qti_package(modules, self.epoch, items)
        return files


def _export(epoch: int, module: Module) -> ExportPieces:
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
    "ExportPlan",
    "Module",
    "deterministic_zip",
    "explanation",
    "export_files",
    "plain_text",
    "shown_from_links",
    "write_zip",
]
