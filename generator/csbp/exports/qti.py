"""IMS QTI 2.1: one assessmentItem per question and an IMS content-package manifest, zipped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from csbp.exports import deterministic_zip, explanation
from csbp.model import Module, Question

QTI = "http://www.imsglobal.org/xsd/imsqti_v2p1"
CP = "http://www.imsglobal.org/xsd/imscp_v1p1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
QTI_XSD = "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
CP_XSD = "http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
ET.register_namespace("", QTI)
ET.register_namespace("xsi", XSI)


def _q(tag: str) -> str:
    return f"{{{QTI}}}{tag}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, _q(tag), {k.rstrip("_"): v for k, v in attributes.items()})
    if text is not None:
        element.text = text
    return element


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
    item = ET.Element(
        _q("assessmentItem"),
        {
            "identifier": item_identifier(module, question),
            "title": f"{module.title}: {question.id}",
            "adaptive": "false",
            "timeDependent": "false",
            f"{{{XSI}}}schemaLocation": f"{QTI} {QTI_XSD}",
        },
    )
    response = _sub(item, "responseDeclaration", identifier="RESPONSE", cardinality=cardinality, baseType="identifier")
    correct = _sub(response, "correctResponse")
    if ordering:
        choices = [(f"S{i}", text, "", True) for i, text in enumerate(question.items, start=1)]
    else:
        choices = _choices(question)
    for identifier, _text, _feedback, is_correct in choices:
        if is_correct:
            _sub(correct, "value", identifier)
    _sub(
        _sub(
            _sub(item, "outcomeDeclaration", identifier="SCORE", cardinality="single", baseType="float"), "defaultValue"
        ),
        "value",
        "0",
    )
    _sub(
        item,
        "outcomeDeclaration",
        identifier="FEEDBACK",
        cardinality="multiple" if not ordering else "ordered",
        baseType="identifier",
    )
    _sub(item, "outcomeDeclaration", identifier="EXPLAIN", cardinality="single", baseType="identifier")
    body = _sub(item, "itemBody")
    if ordering:
        interaction = _sub(body, "orderInteraction", responseIdentifier="RESPONSE", shuffle="true")
    else:
        interaction = _sub(
            body,
            "choiceInteraction",
            responseIdentifier="RESPONSE",
            shuffle="false" if question.type == "true-false" else "true",
            maxChoices="0" if question.type == "multiple" else "1",
        )
    _sub(interaction, "prompt", question.prompt)
    for identifier, text, feedback, _is_correct in choices:
        choice = _sub(interaction, "simpleChoice", identifier=identifier)
        choice.text = text
        if feedback:
            _sub(
                choice, "feedbackInline", feedback, outcomeIdentifier="FEEDBACK", identifier=identifier, showHide="show"
            )
    processing = _sub(item, "responseProcessing")
    condition = _sub(processing, "responseCondition")
    matched = _sub(condition, "responseIf")
    match = _sub(matched, "match")
    _sub(match, "variable", identifier="RESPONSE")
    _sub(match, "correct", identifier="RESPONSE")
    _sub(_sub(matched, "setOutcomeValue", identifier="SCORE"), "baseValue", "1", baseType="float")
    _sub(
        _sub(_sub(condition, "responseElse"), "setOutcomeValue", identifier="SCORE"), "baseValue", "0", baseType="float"
    )
    if not ordering:
        _sub(_sub(processing, "setOutcomeValue", identifier="FEEDBACK"), "variable", identifier="RESPONSE")
    _sub(_sub(processing, "setOutcomeValue", identifier="EXPLAIN"), "baseValue", "SHOW", baseType="identifier")
    modal = _sub(
        item, "modalFeedback", outcomeIdentifier="EXPLAIN", identifier="SHOW", showHide="show", title="Explanation"
    )
    modal.text = explanation(question)
    ET.indent(item)
    return ET.tostring(item, encoding="utf-8", xml_declaration=True)


def manifest(entries: list[tuple[Module, Question, str]]) -> bytes:
    ET.register_namespace("", CP)
    root = ET.Element(
        f"{{{CP}}}manifest",
        {"identifier": "csbp-quiz-export", f"{{{XSI}}}schemaLocation": f"{CP} {CP_XSD}"},
    )
    metadata = ET.SubElement(root, f"{{{CP}}}metadata")
    ET.SubElement(metadata, f"{{{CP}}}schema").text = "IMS Content"
    ET.SubElement(metadata, f"{{{CP}}}schemaversion").text = "1.1.3"
    ET.SubElement(root, f"{{{CP}}}organizations")
    resources = ET.SubElement(root, f"{{{CP}}}resources")
    for module, question, href in entries:
        resource = ET.SubElement(
            resources,
            f"{{{CP}}}resource",
            {"identifier": f"RES-{item_identifier(module, question)}", "type": "imsqti_item_xmlv2p1", "href": href},
        )
        ET.SubElement(resource, f"{{{CP}}}file", {"href": href})
    ET.indent(root)
    data = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    ET.register_namespace("", QTI)
    return data


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
