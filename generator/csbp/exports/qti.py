"""IMS QTI 2.1: one assessmentItem per question and an IMS content-package manifest, zipped.

Each document is written as text, line by line, with its values escaped for XML: the layout is
what `ET.indent` and `ET.tostring` give (two spaces a level, `<tag />` when empty), and
site_tests/test_export.py holds every item and manifest to ElementTree's own writing of them.
Building and serialising element trees was most of a cold build's exports.
"""

from __future__ import annotations

from collections.abc import Iterable

from csbp.exports.common import deterministic_zip, explanation
from csbp.model import Module, Question

QTI = "http://www.imsglobal.org/xsd/imsqti_v2p1"
CP = "http://www.imsglobal.org/xsd/imscp_v1p1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
QTI_XSD = "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
CP_XSD = "http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>"


def _text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attribute(value: str) -> str:
    return _text(value).replace('"', "&quot;").replace("\r", "&#13;").replace("\n", "&#10;").replace("\t", "&#09;")


def _tag(name: str, attributes: dict[str, str]) -> str:
    return name + "".join(f' {key}="{_attribute(value)}"' for key, value in attributes.items())


def _leaf(depth: int, name: str, text: str = "", **attributes: str) -> str:
    """One element without children on a line of its own."""
    opening = _tag(name, attributes)
    return f"{'  ' * depth}<{opening}>{_text(text)}</{name}>" if text else f"{'  ' * depth}<{opening} />"


def _mixed(depth: int, name: str, text: str, child: str, **attributes: str) -> list[str]:
    """An element with text followed by one child element: the child after the text, the closing
    tag on a line of its own (text that is only blanks is replaced by the indentation)."""
    lead = _text(text) if text.strip() else "\n" + "  " * (depth + 1)
    return [f"{'  ' * depth}<{_tag(name, attributes)}>{lead}{child.lstrip()}", f"{'  ' * depth}</{name}>"]


def _scoring(ordering: bool) -> list[str]:
    """The response processing every item shares: 1 for the correct response, else 0; then the
    chosen options' feedback (not for ordering) and the explanation."""
    lines = [
        "  <responseProcessing>",
        "    <responseCondition>",
        "      <responseIf>",
        "        <match>",
        '          <variable identifier="RESPONSE" />',
        '          <correct identifier="RESPONSE" />',
        "        </match>",
        '        <setOutcomeValue identifier="SCORE">',
        '          <baseValue baseType="float">1</baseValue>',
        "        </setOutcomeValue>",
        "      </responseIf>",
        "      <responseElse>",
        '        <setOutcomeValue identifier="SCORE">',
        '          <baseValue baseType="float">0</baseValue>',
        "        </setOutcomeValue>",
        "      </responseElse>",
        "    </responseCondition>",
    ]
    if not ordering:
        lines += [
            '    <setOutcomeValue identifier="FEEDBACK">',
            '      <variable identifier="RESPONSE" />',
            "    </setOutcomeValue>",
        ]
    return [
        *lines,
        '    <setOutcomeValue identifier="EXPLAIN">',
        '      <baseValue baseType="identifier">SHOW</baseValue>',
        "    </setOutcomeValue>",
        "  </responseProcessing>",
    ]


def item_identifier(module: Module, question: Question) -> str:
    return f"{module.id}--{question.id}"


def _choices(question: Question) -> list[tuple[str, str, str, bool]]:
    """(identifier, text, feedback, correct) for every choice of a choice question."""
    if question.type == "true-false":
        return [
            ("TRUE", "True", question.feedback_true, bool(question.answer)),
            ("FALSE", "False", question.feedback_false, not question.answer),
        ]
    return [
        (f"C{index}", option["text"], option["feedback"], bool(option.get("correct")))
        for index, option in enumerate(question.options, start=1)
    ]


def assessment_item(module: Module, question: Question) -> bytes:
    ordering = question.type == "ordering"
    cardinality = "ordered" if ordering else "multiple" if question.type == "multiple" else "single"
    if ordering:
        choices = [(f"S{i}", text, "", True) for i, text in enumerate(question.items, start=1)]
    else:
        choices = _choices(question)
    root = _tag(
        "assessmentItem",
        {
            "xmlns": QTI,
            "xmlns:xsi": XSI,
            "identifier": item_identifier(module, question),
            "title": f"{module.title}: {question.id}",
            "adaptive": "false",
            "timeDependent": "false",
            "xsi:schemaLocation": f"{QTI} {QTI_XSD}",
        },
    )
    correct = [_leaf(3, "value", identifier) for identifier, _text, _feedback, is_correct in choices if is_correct]
    lines = [
        f"{_DECLARATION}\n<{root}>",
        f'  <responseDeclaration identifier="RESPONSE" cardinality="{cardinality}" baseType="identifier">',
        *(["    <correctResponse>", *correct, "    </correctResponse>"] if correct else ["    <correctResponse />"]),
        "  </responseDeclaration>",
        '  <outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float">',
        "    <defaultValue>",
        "      <value>0</value>",
        "    </defaultValue>",
        "  </outcomeDeclaration>",
        f'  <outcomeDeclaration identifier="FEEDBACK" cardinality="{"ordered" if ordering else "multiple"}" '
        'baseType="identifier" />',
        '  <outcomeDeclaration identifier="EXPLAIN" cardinality="single" baseType="identifier" />',
        "  <itemBody>",
    ]
    if ordering:
        interaction = _tag("orderInteraction", {"responseIdentifier": "RESPONSE", "shuffle": "true"})
    else:
        interaction = _tag(
            "choiceInteraction",
            {
                "responseIdentifier": "RESPONSE",
                "shuffle": "false" if question.type == "true-false" else "true",
                "maxChoices": "0" if question.type == "multiple" else "1",
            },
        )
    lines += [f"    <{interaction}>", _leaf(3, "prompt", question.prompt)]
    for identifier, text, feedback, _is_correct in choices:
        if feedback:
            inline = _leaf(
                4, "feedbackInline", feedback, outcomeIdentifier="FEEDBACK", identifier=identifier, showHide="show"
            )
            lines += _mixed(3, "simpleChoice", text, inline, identifier=identifier)
        else:
            lines.append(_leaf(3, "simpleChoice", text, identifier=identifier))
    lines += [
        f"    </{interaction.split(' ', 1)[0]}>",
        "  </itemBody>",
        *_scoring(ordering),
        _leaf(
            1,
            "modalFeedback",
            explanation(question),
            outcomeIdentifier="EXPLAIN",
            identifier="SHOW",
            showHide="show",
            title="Explanation",
        ),
        "</assessmentItem>",
    ]
    return "\n".join(lines).encode("utf-8")


def manifest(entries: list[tuple[Module, Question, str]]) -> bytes:
    root = _tag(
        "manifest",
        {"xmlns": CP, "xmlns:xsi": XSI, "identifier": "csbp-quiz-export", "xsi:schemaLocation": f"{CP} {CP_XSD}"},
    )
    lines = [
        f"{_DECLARATION}\n<{root}>",
        "  <metadata>",
        "    <schema>IMS Content</schema>",
        "    <schemaversion>1.1.3</schemaversion>",
        "  </metadata>",
        "  <organizations />",
    ]
    resources = []
    for module, question, href in entries:
        identifier = f"RES-{item_identifier(module, question)}"
        resources += [
            f"    <{_tag('resource', {'identifier': identifier, 'type': 'imsqti_item_xmlv2p1', 'href': href})}>",
            _leaf(3, "file", href=href),
            "    </resource>",
        ]
    lines += ["  <resources>", *resources, "  </resources>"] if resources else ["  <resources />"]
    lines.append("</manifest>")
    return "\n".join(lines).encode("utf-8")


def qti_items(module: Module) -> list[tuple[Module, Question, str, bytes]]:
    """One module's QTI items: (module, question, path in the package, item XML)."""
    items = []
    for question in module.questions:
        href = f"items/{item_identifier(module, question)}.xml"
        items.append((module, question, href, assessment_item(module, question)))
    return items


def qti_package(
    modules: Iterable[Module], epoch: int, items: list[tuple[Module, Question, str, bytes]] | None = None
) -> bytes:
    """A QTI content package of `modules` (`items`: their `qti_items`, when already made)."""
    if items is None:
        items = [item for module in modules for item in qti_items(module)]
    members = [(href, data) for _module, _question, href, data in items]
    members.append(("imsmanifest.xml", manifest([(module, question, href) for module, question, href, _ in items])))
    return deterministic_zip(members, epoch)
