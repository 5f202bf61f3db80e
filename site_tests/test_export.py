"""`csbp export`: GIFT files that an independent parser reads back into the same questions,
and QTI 2.1 packages whose items declare the right answers and are all in the manifest."""

from __future__ import annotations

import html
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from pygiftparser import parser as gift_parser  # pygiftparser on PyPI: independent of this project

from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.exports import explanation
from csbp.model import Handbook, build_model
from csbp.validate import validate_handbook
from site_tests.support import REPO, csbp
from site_tests.test_corpus import TODAY

QTI = "{http://www.imsglobal.org/xsd/imsqti_v2p1}"
CP = "{http://www.imsglobal.org/xsd/imscp_v1p1}"
SPECIAL = """title: "Special characters: {braces} = tilde ~ hash # & 'quotes'"
tlp: TLP:CLEAR
summary: A module whose quiz text holds every character GIFT and HTML treat specially.
owner: Fixture Working Group
last_reviewed: 2026-04-01
review_interval_months: 12
audience: [trainer]
level: foundation
duration_minutes: 10
objectives: [Survive the round trip.]
reading: [vehicle-barriers]
sections: [{title: Only section, body: Text.}]
trainer_notes: None.
quiz:
  questions:
    - id: special
      type: single
      prompt: "Which is right: {a} = b, ~c, #d or <e> & 'f'?"
      options:
        - {text: "a: {1} = 2", correct: true, feedback: "Yes: {1} = 2 # fine ~ <ok> & done."}
        - {text: "b ~ #3", feedback: "No \\\\ backslash: not this one."}
      explanation: "Because **{1} = 2** and <script>alert(1)</script> is not text."
      practice: vehicle-barriers
    - id: order
      type: ordering
      prompt: "Order these: first {x}, then y = z."
      items: ["x {1}", "y = 2", "z # 3"]
      explanation: Alphabetical.
      practice: vehicle-barriers
"""


def model(root: Path) -> Handbook:
    report = Report()
    corpus = validate_handbook(HandbookPaths.at(root), report, TODAY)
    assert corpus is not None and not report.errors, [d.format(root) for d in report.errors]
    return build_model(corpus, "public", TODAY, report)


@pytest.fixture
def exported(handbook: Path) -> tuple[Handbook, Path]:
    (handbook / "content/modules/special-characters.yaml").write_text(SPECIAL, "utf-8")
    result = csbp("export", "--root", str(handbook), "--out", str(handbook / "out"))
    assert result.returncode == 0, result.stderr
    return model(handbook), handbook / "out"


def parsed_gift(path: Path) -> dict[str, object]:
    with path.open(encoding="utf-8") as handle:
        return {q.title: q for q in gift_parser.parseFile(handle)}


def unescape(text: str) -> str:
    """GIFT escapes (which the parser leaves in place), then HTML entities."""
    return html.unescape(re.sub(r"\\([~=#{}:\\])", r"\1", text)).strip()


def assert_gift_matches(handbook: Handbook, gift: dict[str, object], modules: list[str]) -> None:
    expected = {f"{m}/{q.id}": q for m in modules for q in handbook.modules[m].questions}
    assert set(gift) == set(expected)
    for name, question in expected.items():
        parsed = gift[name]
        assert parsed.valid, name
        assert unescape(parsed.text) == " ".join(question.prompt.split()), name
        assert unescape(parsed.generalFeedback) == explanation(question), name
        answers = parsed.answers
        if question.type in ("single", "multiple"):
            kind = "SelectSet" if question.type == "single" else "MultipleChoicesSet"
            assert type(answers).__name__ == kind, name
            right = sum(1 for o in question.options if o.get("correct"))
            for answer, source in zip(answers.answers, question.options, strict=True):
                assert unescape(answer.answer) == source["text"], name
                assert unescape(answer.feedback) == source["feedback"], name
                if question.type == "single":
                    assert answer.fraction == (100 if source.get("correct") else 0), name
                else:
                    assert answer.fraction == pytest.approx(100 / right if source.get("correct") else -100, abs=1e-3)
        elif question.type == "true-false":
            assert type(answers).__name__ == "TrueFalseSet", name
            assert answers.answer is question.answer, name
            right, wrong = (
                (question.feedback_true, question.feedback_false)
                if question.answer
                else (question.feedback_false, question.feedback_true)
            )
            assert (unescape(answers.feedbackCorrect), unescape(answers.feedbackWrong)) == (right, wrong), name
        else:  # ordering exports as matching: each item paired with its position
            assert type(answers).__name__ == "MatchingSet", name
            pairs = [(unescape(a.question), a.answer.strip()) for a in answers.answers]
            assert pairs == [(item, str(n)) for n, item in enumerate(question.items, start=1)], name


def test_gift_round_trips_through_an_independent_parser(exported):
    handbook, out = exported
    for module in handbook.modules:
        assert_gift_matches(handbook, parsed_gift(out / f"{module}.gift"), [module])
    assert_gift_matches(handbook, parsed_gift(out / "all.gift"), sorted(handbook.modules))


def test_special_characters_survive_and_markup_stays_text(exported):
    handbook, out = exported
    special = parsed_gift(out / "special-characters.gift")["special-characters/special"]
    assert unescape(special.text) == "Which is right: {a} = b, ~c, #d or <e> & 'f'?"
    assert "<script>" not in (out / "special-characters.gift").read_text("utf-8")
    assert explanation(handbook.modules["special-characters"].questions[0]).startswith(
        "Because {1} = 2 and is not text. Learn more"
    )


def qti_items(package: Path) -> tuple[dict[str, ET.Element], ET.Element]:
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        manifest = ET.fromstring(archive.read("imsmanifest.xml"))
        items = {name: ET.fromstring(archive.read(name)) for name in names if name != "imsmanifest.xml"}
    return items, manifest


def test_qti_items_declare_the_correct_response_and_the_manifest_lists_them_all(exported):
    handbook, out = exported
    for name in [*(f"{m}-qti.zip" for m in handbook.modules), "all-qti.zip"]:
        items, manifest = qti_items(out / name)
        listed = {f.get("href") for f in manifest.iter(f"{CP}file")}
        assert listed == set(items), name
        for href, item in items.items():
            assert item.tag == f"{QTI}assessmentItem", href
            module_id, question_id = item.get("identifier").split("--")
            question = next(q for q in handbook.modules[module_id].questions if q.id == question_id)
            declared = [v.text for v in item.find(f"{QTI}responseDeclaration/{QTI}correctResponse")]
            choices = {c.get("identifier"): c.text.strip() for c in item.iter(f"{QTI}simpleChoice")}
            if question.type in ("single", "multiple"):
                assert sorted(choices[v] for v in declared) == sorted(
                    o["text"] for o in question.options if o.get("correct")
                ), href
            elif question.type == "true-false":
                assert declared == ["TRUE" if question.answer else "FALSE"], href
            else:
                assert [choices[v] for v in declared] == question.items, href
            prompt = item.find(f".//{QTI}prompt").text
            assert prompt == question.prompt, href
            assert item.find(f"{QTI}modalFeedback").text == explanation(question), href


def elementtree_writes(element: ET.Element) -> bytes:
    """What the standard library writes for an element indented as `ET.indent` indents it."""
    copy = ET.fromstring(ET.tostring(element))
    ET.indent(copy)
    return ET.tostring(copy, encoding="utf-8", xml_declaration=True)


def test_the_qti_writer_writes_what_elementtree_writes(exported):
    # The exports' own XML writer is a faster copy of ElementTree's: item by item, for every
    # question of the fixture (special characters included) and the manifest, the same bytes.
    from csbp.exports.qti import qti_items

    handbook, out = exported
    ET.register_namespace("", QTI.strip("{}"))
    ET.register_namespace("xsi", "http://www.w3.org/2001/XMLSchema-instance")
    modules = sorted(handbook.modules.values(), key=lambda m: m.id)
    for module in modules:
        for _module, _question, href, data in qti_items(module):
            assert data == elementtree_writes(ET.fromstring(data)), href
    with zipfile.ZipFile(out / "all-qti.zip") as archive:
        written = archive.read("imsmanifest.xml")
    ET.register_namespace("", CP.strip("{}"))
    assert written == elementtree_writes(ET.fromstring(written))


def test_the_real_corpus_exports_and_round_trips(tmp_path):
    result = csbp("export", "--root", str(REPO), "--out", str(tmp_path), "--format", "gift")
    assert result.returncode == 0, result.stderr
    handbook = model(REPO)
    assert_gift_matches(handbook, parsed_gift(tmp_path / "all.gift"), sorted(handbook.modules))
    assert not list(tmp_path.glob("*.zip"))


def test_the_site_publishes_exports_and_module_pages_link_them(built_fixture):
    downloads = built_fixture / "site/downloads"
    assert (downloads / "frontage-basics.gift").is_file() and (downloads / "all-qti.zip").is_file()
    with zipfile.ZipFile(io.BytesIO((downloads / "frontage-basics-qti.zip").read_bytes())) as archive:
        assert "imsmanifest.xml" in archive.namelist()
    page = (built_fixture / "site/modules/frontage-basics/index.html").read_text("utf-8")
    assert 'href="../../downloads/frontage-basics.gift"' in page
    assert 'href="../../downloads/frontage-basics-qti.zip"' in page
