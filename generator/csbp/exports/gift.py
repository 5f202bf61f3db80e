"""Moodle GIFT: one text file of questions per module (and one for all modules)."""

from __future__ import annotations

import html
from collections.abc import Iterable

from csbp.exports.common import explanation
from csbp.model import Module, Question

_SPECIAL = "\\~=#:"
_ENTITIES = {"{": "&lbrace;", "}": "&rbrace;"}  # braces as entities: some GIFT readers mishandle \}
_TABLE = str.maketrans({**{c: f"\\{c}" for c in _SPECIAL}, **_ENTITIES})


def escape(text: str) -> str:
    """GIFT-escape control characters, and HTML-escape markup (Moodle may render text as HTML)."""
    text = html.escape(" ".join(text.split()), quote=False)
    return text.translate(_TABLE)


def _weights(count: int) -> str:
    return f"{100 / count:.5f}".rstrip("0").rstrip(".")


def _answers(question: Question) -> list[str]:
    if question.type == "single":
        return [
            f"{'=' if o.get('correct') else '~'}{escape(o['text'])}#{escape(o['feedback'])}" for o in question.options
        ]
    if question.type == "multiple":
        weight = _weights(sum(1 for o in question.options if o.get("correct")))
        return [
            f"~%{weight if o.get('correct') else '-100'}%{escape(o['text'])}#{escape(o['feedback'])}"
            for o in question.options
        ]
    if question.type == "true-false":
        right, wrong = (
            (question.feedback_true, question.feedback_false)
            if question.answer
            else (question.feedback_false, question.feedback_true)
        )  # GIFT: the first feedback is for a wrong answer, the second for a right one
        return [f"{'TRUE' if question.answer else 'FALSE'}#{escape(wrong)}#{escape(right)}"]
    return [f"={escape(item)} -> {position}" for position, item in enumerate(question.items, start=1)]


def question_text(module: Module, question: Question) -> str:
    lines = [f"// {module.id} / {question.id} ({question.type})", f"::{escape(module.id)}/{escape(question.id)}::"]
    lines[-1] += escape(question.prompt) + " {"
    lines += _answers(question)
    lines.append(f"####{escape(explanation(question))}")
    lines.append("}")
    return "\n".join(lines)


def gift_blocks(module: Module) -> list[str]:
    """One module's part of a GIFT file: its category line and its questions."""
    return [f"$CATEGORY: $course$/CSBP/{escape(module.title)}"] + [question_text(module, q) for q in module.questions]


def gift_text(modules: Iterable[Module], blocks: list[str] | None = None) -> str:
    """A GIFT file of `modules` (`blocks`: their `gift_blocks`, when already made)."""
    if blocks is None:
        blocks = [block for module in modules for block in gift_blocks(module)]
    return "\n\n".join(["// CSBP Handbook quiz export (Moodle GIFT). Generated: do not edit.", *blocks]) + "\n"
