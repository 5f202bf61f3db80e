"""`csbp new`, `review` and `stats` on fixtures with known answers."""

from __future__ import annotations

import json
import os
import re

import pytest

from site_tests.support import csbp

EPOCH = {**os.environ, "SOURCE_DATE_EPOCH": "1795564800"}  # 2026-11-25

FILL = {
    "practice": {
        "summary:": "summary: A practice written only to prove the scaffold produces a valid entry.",
        "owner: ": 'owner: "Scaffold Tester"',
        "sectors: []": "sectors: [maritime]",
        "environments: []": "environments: [cargo-facility]",
        "threats: []": "threats: [counterterrorism]",
        "psems: []": "psems: [delivery]",
        "  note:": "  note: Expert consensus in published guidance.",
        "context:": "context: Some context.",
        "practice:": "practice: Some practice.",
        "in order\n  -": "in order\n  - Step one.",
        "when it works\n  -": "when it works\n  - It works.",
        "in incidents\n  -": "in incidents\n  - It fails.",
        "  - title:\n    publisher:\n    year:": "  - title: A source\n    publisher: An agency\n    year: 2024",
    },
    "lesson": {
        "summary:": "summary: A lesson written only to prove the scaffold produces a valid entry.",
        "owner: ": 'owner: "Scaffold Tester"',
        "  name:": "  name: An incident",
        "  date:": "  date: 2020-01-01",
        "  place:": "  place: A port",
        "what_happened:": "what_happened: Something happened.",
        "what_worked:\n  -": "what_worked:\n  - Something worked.",
        "what_failed:\n  -": "what_failed:\n  - Something failed.",
        "  - lesson:\n    practices: []": "  - lesson: Learn it.\n    practices: [vehicle-barriers]",
        "  - title:\n    publisher:\n    year:": "  - title: A report\n    publisher: An inquiry\n    year: 2021",
    },
    "module": {
        "summary:": "summary: A module written only to prove the scaffold produces a valid entry.",
        "owner: ": 'owner: "Scaffold Tester"',
        "objectives:\n  -": "objectives:\n  - Do the thing.",
        "reading: []": "reading: [vehicle-barriers]",
        "  - title:\n    body:": "  - title: A section\n    body: Text.",
        "trainer_notes:": "trainer_notes: Notes.",
        "      prompt:": "      prompt: Which is right?",
        "{text: , correct: true, feedback: }": "{text: This, correct: true, feedback: Yes.}",
        "{text: , feedback: }": "{text: That, feedback: No.}",
        "      explanation:": "      explanation: Because.",
        "      practice:  ": "      practice: vehicle-barriers  ",
    },
}
FILL["path"] = {
    "summary: ": "summary: A path written only to prove the scaffold produces a valid entry. #",
    "owner: ": 'owner: "Scaffold Tester"',
    "introduction: ": "introduction: Text. #",
    "  - module:\n    why: ": "  - module: frontage-basics\n    why: It comes first. #",
    "  - module:\n": "  - module: patrol-refresher\n",
}
FLAGS = {
    "practice": ["--pillar", "protect", "--dimension", "physical,cyber"],
    "lesson": ["--sector", "maritime", "--incident-type", "cyber"],
    "module": ["--audience", "frontline-officer"],
    "path": ["--role", "pfso"],
}
FOLDER = {"practice": "practices", "lesson": "content/lessons", "module": "content/modules", "path": "content/paths"}


@pytest.mark.parametrize("kind", ["practice", "lesson", "module", "path"])
def test_scaffold_filled_in_only_where_required_checks_and_builds(handbook, kind):
    result = csbp("new", kind, "--root", str(handbook), "--title", "Scaffolded entry: a test", *FLAGS[kind])
    assert result.returncode == 0, result.stderr
    path = handbook / FOLDER[kind] / "scaffolded-entry-a-test.yaml"
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=")
    unfilled = csbp("check", "--root", str(handbook))
    errors = [line for line in unfilled.stderr.splitlines() if ": error: " in line]
    assert errors and all(line.startswith(f"{FOLDER[kind]}/scaffolded-entry-a-test.yaml:") for line in errors)
    assert all(re.search(r"is empty: fill it in|needs at least 1 item", line) for line in errors), errors
    for old, new in FILL[kind].items():
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text)
    checked = csbp("check", "--root", str(handbook))
    assert checked.returncode == 0, checked.stderr
    assert csbp("build", "--root", str(handbook)).returncode == 0


def test_scaffold_picks_a_free_id_and_rejects_unknown_terms(handbook):
    first = csbp("new", "practice", "--root", str(handbook), "--title", "Vehicle barriers")
    assert "practices/vehicle-barriers-2.yaml" in first.stdout
    wrong = csbp("new", "practice", "--root", str(handbook), "--title", "X", "--pillar", "protekt")
    assert wrong.returncode == 2 and "Did you mean 'protect'?" in wrong.stderr


def test_scaffold_without_a_title_and_no_terminal_says_what_to_do(handbook):
    result = csbp("new", "lesson", "--root", str(handbook))
    assert result.returncode == 2 and '--title "…"' in result.stderr


def test_review_lists_due_entries_by_owner(handbook):
    result = csbp("review", "--root", str(handbook), "--json", "--within", "160", env=EPOCH)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["entries"]
    assert [(r["id"], r["due"], r["overdue_days"]) for r in rows] == [
        ("staff-vetting", "2025-01-10", 684),
        ("frontage-basics", "2027-04-01", 0),
        ("patrol-refresher", "2027-04-01", 0),
        ("frontline-basics", "2027-04-01", 0),
        ("green-sharing-practice", "2027-05-01", 0),
        ("perimeter-patrols", "2027-05-01", 0),
    ]  # 2027-06-01 (vehicle-barriers) is beyond the 160-day horizon
    text = csbp("review", "--root", str(handbook), env=EPOCH).stdout
    assert "Fixture Working Group\n  2025-01-10  OVERDUE by 684 days" in text


def test_stats_reports_counts_cells_and_gaps(handbook):
    stats = json.loads(csbp("stats", "--root", str(handbook), "--json").stdout)
    assert stats["counts"] == {"practices": 4, "lessons": 1, "modules": 2, "paths": 1, "quiz_questions": 6}
    assert stats["matrix"]["protect"]["physical"] == 2 and stats["matrix"]["pursue"]["information"] == 1
    assert "prepare×cyber" in stats["gaps"]["empty_cells"] and len(stats["gaps"]["empty_cells"]) == 12
    few = stats["gaps"]["practices_with_few_references"]
    assert few == ["green-sharing-practice", "staff-vetting", "vehicle-barriers"]
    public = json.loads(csbp("stats", "--root", str(handbook), "--json", "--audience", "public").stdout)
    assert public["counts"]["practices"] == 3
