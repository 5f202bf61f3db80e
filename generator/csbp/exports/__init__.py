"""Quiz exports for learning platforms, made from the same validated model as the site.

Every text goes through `plain_text`: contributor Markdown is rendered and sanitised as for
the site, then reduced to text, and markup characters are escaped, so an export cannot carry
script into a platform that renders its text as HTML.
"""

from __future__ import annotations

import html
import re
import zipfile
from collections.abc import Iterable
from io import BytesIO

from csbp.markup import markdown_inline
from csbp.model import Handbook, Module, Question

FORMATS = ("gift", "qti")


def plain_text(markdown_text: str) -> str:
    """Markdown → sanitised HTML → plain text on one line (links keep their text only)."""
    rendered = str(markdown_inline(markdown_text))
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", rendered)).split())


def learn_more(question: Question) -> str:
    practice = question.practice
    return f" Learn more: {practice.title} (practices/{practice.id}/)." if practice else ""


def explanation(question: Question) -> str:
    return plain_text(question.explanation) + learn_more(question)


def export_files(handbook: Handbook, epoch: int) -> dict[str, bytes]:
    """Every export file by name: `<module>.gift`, `<module>-qti.zip`, and `all.*` for every module."""
    from csbp.exports.gift import gift_text
    from csbp.exports.qti import qti_package

    modules = sorted(handbook.modules.values(), key=lambda m: m.id)
    files: dict[str, bytes] = {}
    for module in modules:
        files[f"{module.id}.gift"] = gift_text([module]).encode("utf-8")
        files[f"{module.id}-qti.zip"] = qti_package([module], epoch)
    files["all.gift"] = gift_text(modules).encode("utf-8")
    files["all-qti.zip"] = qti_package(modules, epoch)
    return files


def deterministic_zip(members: Iterable[tuple[str, bytes]], epoch: int) -> bytes:
    """A zip whose bytes depend only on its members (fixed times and order): reproducible builds."""
    import datetime as dt

    stamp = max(dt.datetime.fromtimestamp(epoch, tz=dt.UTC), dt.datetime(1980, 1, 1, tzinfo=dt.UTC))
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(members):
            info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


__all__ = ["FORMATS", "Module", "explanation", "export_files", "plain_text"]
