"""What every quiz export shares: contributor text as plain text, the "learn more" pointer, zips."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from io import BytesIO
from typing import IO

from csbp import archive
from csbp.markup import markdown_inline
from csbp.model import Question


def plain_text(markdown_text: str) -> str:
    """Markdown → sanitised HTML → plain text on one line (links keep their text only)."""
    rendered = str(markdown_inline(markdown_text))
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", rendered)).split())


def learn_more(question: Question) -> str:
    practice = question.practice
    return f" Learn more: {practice.title} (practices/{practice.id}/)." if practice else ""


def explanation(question: Question) -> str:
    return plain_text(question.explanation) + learn_more(question)


def deterministic_zip(members: Iterable[tuple[str, bytes]], epoch: int) -> bytes:
    """A zip whose bytes depend only on its members (fixed times and order): reproducible builds."""
    buffer = BytesIO()
    write_zip(buffer, sorted(members), epoch)
    return buffer.getvalue()


def write_zip(target: IO[bytes], members: Iterable[tuple[str, bytes]], epoch: int) -> None:
    """Write `members` in the order given with one fixed time: same members, same bytes."""
    archive.write_zip(target, (archive.deflate(name, data) for name, data in members), epoch)
