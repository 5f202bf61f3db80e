"""`csbp check` on real broken files: every problem named with file, line, column and the fix."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from site_tests.support import FIXTURES, csbp

BROKEN = sorted((FIXTURES / "broken").glob("*.yaml"))


def expectation(path: Path) -> tuple[str, str]:
    first = path.read_bytes().split(b"\n", 1)[0].decode()
    match = re.match(r"# expect: (\d+:\d+) (.+)", first)
    assert match, f"{path.name} has no '# expect: LINE:COL message' first line"
    return match.group(1), match.group(2)


@pytest.mark.parametrize("broken", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_entry_reports_its_exact_error_and_line(handbook, broken):
    position, message = expectation(broken)
    shutil.copy(broken, handbook / "practices" / broken.name)
    result = csbp("check", "--root", str(handbook))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith(f"practices/{broken.name}:")]
    assert lines, result.stderr
    assert any(line.startswith(f"practices/{broken.name}:{position}: error: ") and message in line for line in lines), (
        "\n".join(lines)
    )


def test_every_problem_of_every_file_is_reported_in_one_pass(handbook):
    for broken in BROKEN:
        shutil.copy(broken, handbook / "practices" / broken.name)
    result = csbp("check", "--root", str(handbook))
    reported = {
        line.split(":", 1)[0]
        for line in result.stderr.splitlines()
        if line.startswith("practices/") and ": error: " in line
    }
    assert reported == {f"practices/{p.name}" for p in BROKEN}


def test_valid_handbook_passes_with_overdue_review_as_a_warning(handbook):
    result = csbp("check", "--root", str(handbook))
    assert result.returncode == 0, result.stderr
    assert "practices/staff-vetting.yaml:6:16: warning: review overdue" in result.stderr
    assert csbp("check", "--strict", "--root", str(handbook)).returncode == 1


def test_ids_must_be_unique_across_kinds(handbook):
    shutil.copy(handbook / "content/lessons/frontage-attack.yaml", handbook / "content/lessons/vehicle-barriers.yaml")
    result = csbp("check", "--root", str(handbook))
    assert "the id 'vehicle-barriers' is already used by the practice vehicle-barriers.yaml" in result.stderr


def test_file_names_must_be_kebab_case_ids(handbook):
    shutil.copy(handbook / "practices/vehicle-barriers.yaml", handbook / "practices/Vehicle_Barriers2.yaml")
    result = csbp("check", "--root", str(handbook))
    assert "rename it to 'vehicle-barriers2.yaml'" in result.stderr


def test_yml_files_are_not_silently_ignored(handbook):
    (handbook / "practices/forgotten.yml").write_text("title: x\n")
    result = csbp("check", "--root", str(handbook))
    assert result.returncode == 1
    assert "'forgotten.yml' is in practices/ but is not a .yaml entry" in result.stderr


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_quiz_logic_errors_are_reported(handbook):
    module = handbook / "content/modules/frontage-basics.yaml"
    _edit(module, "{text: Decorative planters, feedback:", "{text: Decorative planters, correct: true, feedback:")
    _edit(module, "    - id: q2", "    - id: q1")
    _edit(module, "quiz:\n", "quiz:\n  draw: 9\n")
    result = csbp("check", "--root", str(handbook))
    assert "needs exactly one option with `correct: true`, this one has 2" in result.stderr
    assert "question id 'q1' is used twice" in result.stderr
    assert "draw is 9 but the quiz has only 4 questions" in result.stderr


def test_question_fields_of_another_type_are_rejected(handbook):
    module = handbook / "content/modules/frontage-basics.yaml"
    _edit(module, "      answer: false\n", "      answer: false\n      items: [a, b]\n")
    result = csbp("check", "--root", str(handbook))
    assert "field 'quiz.questions[2].items' does not belong here" in result.stderr


def test_a_flag_written_as_yes_or_no_is_told_to_write_true_or_false(handbook):
    module = handbook / "content/modules/frontage-basics.yaml"
    _edit(module, "      answer: false\n", "      answer: no\n")
    result = csbp("check", "--root", str(handbook))
    assert result.returncode == 1
    assert (
        "field 'quiz.questions[2].answer' must be true or false, not text: "
        "write true or false (YAML 1.2 reads yes, no, on and off as text)"
    ) in result.stderr


def test_a_discussion_item_written_as_a_mapping_is_told_what_the_mapping_lacks(handbook):
    module = handbook / "content/modules/frontage-basics.yaml"
    _edit(module, "    points:\n", "    point:\n")
    result = csbp("check", "--root", str(handbook))
    lines = [line for line in result.stderr.splitlines() if line.startswith("content/modules/frontage-basics.yaml:")]
    assert lines == [
        "content/modules/frontage-basics.yaml:19:5: error: missing required field 'points' in discussion[1]: "
        "add `points:` (Points the trainer draws out or checks were raised; trainer pack only.)",
        "content/modules/frontage-basics.yaml:20:5: error: unknown field 'discussion[1].point'. "
        "Did you mean 'points'? Remove it or rename it; allowed here: points, question",
    ]  # and not also "must be text": the item is plainly meant as a mapping


def test_prerequisite_cycles_are_reported(handbook):
    module = handbook / "content/modules/frontage-basics.yaml"
    other = handbook / "content/modules/frontage-advanced.yaml"
    shutil.copy(module, other)
    _edit(module, "reading:", "prerequisites: [frontage-advanced]\nreading:")
    _edit(other, "reading:", "prerequisites: [frontage-basics]\nreading:")
    result = csbp("check", "--root", str(handbook))
    assert "prerequisites form a cycle" in result.stderr


def test_missing_vocabularies_file_is_a_clean_error(handbook):
    (handbook / "content/vocabularies.yaml").unlink()
    result = csbp("check", "--root", str(handbook))
    assert result.returncode == 1 and "the vocabularies file is missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_reports_broken_links_in_hand_written_pages(handbook):
    (handbook / "content/pages/guide.md").write_text("# Guide\n\nSee [a lost practice](practices/no-such-entry.md).\n")
    result = csbp("check", "--root", str(handbook))
    assert result.returncode == 1
    assert "content/pages/guide.md:1:1: error: the link 'practices/no-such-entry.md' points to no page" in result.stderr


def test_check_warns_when_raw_html_would_be_removed(handbook):
    path = handbook / "practices/vehicle-barriers.yaml"
    path.write_text(
        path.read_text().replace("context: Frontages gather", "context: <b onclick=x()>Frontages</b> gather")
    )
    result = csbp("check", "--root", str(handbook))
    assert result.returncode == 0, result.stderr
    assert (
        "practices/vehicle-barriers.yaml:21:10: warning: field 'context': raw HTML or an unsafe link is removed "
        "when the page is built (b[onclick])"
    ) in result.stderr


def test_learning_path_steps_out_of_prerequisite_order_are_flagged(handbook):
    path = handbook / "content/paths/frontline-basics.yaml"
    text = path.read_text()
    path.write_text(
        text.replace("  - module: frontage-basics\n    why: Frontages are where crowds meet traffic.\n", "")
        + "  - module: frontage-basics\n  - module: no-such-module\n"
    )
    result = csbp("check", "--root", str(handbook))
    assert (
        "content/paths/frontline-basics.yaml:11:13: warning: module 'patrol-refresher' comes before its "
        "prerequisite 'frontage-basics' (step 2): move the prerequisite earlier" in result.stderr
    )
    assert (
        "content/paths/frontline-basics.yaml:13:13: error: field 'steps[2].module': there is no module with "
        "id 'no-such-module'" in result.stderr
    )
