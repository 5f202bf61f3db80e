"""The starter handbook itself (this repository's content): complete, sourced and linked.

These tests read the real corpus, not fixtures, so a contribution that leaves a matrix cell
empty, drops a reference or unlinks a lesson fails CI with the entry named.
"""

from __future__ import annotations

import datetime as dt

import pytest

from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.model import Handbook, build_model
from csbp.render import glossary_rows
from csbp.validate import validate_handbook
from site_tests.support import REPO, csbp

TODAY = dt.date(2026, 11, 25)  # fixed, so that entries falling due later do not turn this red
PEOPLE_PLACES = {"cruise-terminal", "ferry-terminal", "airport-landside", "port-public-realm"}


@pytest.fixture(scope="module")
def corpus() -> tuple[Handbook, Report]:
    report = Report()
    validated = validate_handbook(HandbookPaths.at(REPO), report, TODAY)
    assert validated is not None and not report.errors, "\n".join(d.format(REPO) for d in report.errors)
    return build_model(validated, "members", TODAY, report), report


def test_the_corpus_checks_clean_apart_from_reviews_falling_due():
    result = csbp("check", "--root", str(REPO))
    assert result.returncode == 0, result.stderr
    other = [line for line in result.stderr.splitlines() if ": warning: " in line and "review overdue" not in line]
    assert other == []


def test_the_corpus_meets_its_size_targets(corpus):
    handbook, _ = corpus
    assert len(handbook.practices) >= 40
    assert len(handbook.lessons) >= 12
    assert len(handbook.modules) >= 6


def test_every_matrix_cell_holds_at_least_two_practices(corpus):
    handbook, _ = corpus
    thin = {
        f"{pillar}×{dimension}": len(handbook.cell(pillar, dimension))
        for pillar in handbook.terms["pillar"]
        for dimension in handbook.terms["dimension"]
        if len(handbook.cell(pillar, dimension)) < 2
    }
    assert thin == {}


def test_practices_cover_both_sectors_cargo_and_places_where_people_gather(corpus):
    handbook, _ = corpus
    for sector in ("maritime", "aviation"):
        assert len(handbook.practices_with("sector", sector)) >= 5, sector
    assert len(handbook.practices_with("environment", "cargo-facility")) >= 5
    for environment in PEOPLE_PLACES:
        assert handbook.practices_with("environment", environment), environment


def test_every_practice_has_two_complete_references(corpus):
    handbook, _ = corpus
    for practice in handbook.practices.values():
        assert len(practice.references) >= 2, practice.id
        for reference in practice.references:
            assert reference.title.strip() and reference.publisher.strip(), practice.id
            assert 1900 <= reference.year <= TODAY.year, (practice.id, reference.title)


def test_every_practice_has_evidence_steps_indicators_and_pitfalls(corpus):
    handbook, _ = corpus
    for practice in handbook.practices.values():
        assert practice.evidence_level is not None and practice.evidence_note.strip(), practice.id
        assert len(practice.implementation) >= 3, practice.id
        assert len(practice.indicators) >= 2, practice.id
        assert len(practice.pitfalls) >= 2, practice.id


def test_every_lesson_rests_on_sources_and_links_practices(corpus):
    handbook, _ = corpus
    for lesson in handbook.lessons.values():
        assert lesson.incident is not None, lesson.id
        assert lesson.sources, lesson.id
        assert 2 <= len(lesson.lessons) <= 5, lesson.id
        assert all(point.practices for point in lesson.lessons), lesson.id


def test_every_module_is_ready_to_assign(corpus):
    handbook, _ = corpus
    for module in handbook.modules.values():
        assert module.objectives and module.reading and module.duration_minutes > 0, module.id
        assert module.trainer_notes.strip(), module.id
        assert module.scenario and module.scenario.get("injects"), module.id
        assert len(module.questions) >= 8, module.id
        assert all(q.practice is not None and q.explanation.strip() for q in module.questions), module.id


def test_every_entry_has_an_owner_a_review_date_and_a_history(corpus):
    handbook, _ = corpus
    for entry in handbook.entries():
        assert entry.owner.strip(), entry.id
        assert entry.last_reviewed <= TODAY, entry.id
        assert any(item.change == "added" for item in entry.history), entry.id


def test_every_practice_is_reachable_from_a_lesson_or_a_module(corpus):
    """Officers follow a practice to the lessons and training behind it: count the orphans."""
    handbook, _ = corpus
    orphans = [p.id for p in handbook.practices.values() if not p.cited_by_lessons and not p.taught_by_modules]
    assert len(orphans) <= len(handbook.practices) // 2, orphans


def test_the_glossary_explains_the_core_abbreviations(corpus):
    handbook, _ = corpus
    listed = {row["term"] for row in glossary_rows(handbook)}
    assert {"PFSO", "PFSA", "PFSP", "DoS", "TLP", "PSeMS", "ISPS", "Security level", "CSO", "SSO"} <= listed


def test_learning_paths_serve_at_least_three_roles(corpus):
    handbook, _ = corpus
    roles = {lp.role.id for lp in handbook.paths.values() if lp.role}
    assert len(roles) >= 3 and {"frontline-officer", "supervisor"} <= roles
    for learning_path in handbook.paths.values():
        assert len(learning_path.steps) >= 2, learning_path.id
