"""Stage 3: links resolved, backlinks computed, audience filtering."""

from __future__ import annotations

import datetime as dt

from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.model import build_model
from csbp.validate import validate_handbook

TODAY = dt.date(2026, 11, 25)


def model(root, audience="public"):
    report = Report()
    corpus = validate_handbook(HandbookPaths.at(root), report, TODAY)
    assert not report.errors, report.errors
    return build_model(corpus, audience, TODAY, report), report


def test_backlinks_run_in_both_directions(handbook):
    hb, _ = model(handbook)
    barriers = hb.practices["vehicle-barriers"]
    assert [lesson.id for lesson in barriers.cited_by_lessons] == ["frontage-attack"]
    assert [m.id for m in barriers.taught_by_modules] == ["frontage-basics"]
    assert [p.id for p in barriers.related_by] == ["perimeter-patrols"]
    assert [p.id for p in hb.practices["perimeter-patrols"].related] == ["vehicle-barriers"]


def test_quiz_questions_count_as_teaching_their_practice(handbook):
    hb, _ = model(handbook)
    assert "frontage-basics" in [m.id for m in hb.practices["perimeter-patrols"].taught_by_modules]


def test_audiences_include_exactly_their_markings(handbook):
    public, _ = model(handbook, "public")
    community, _ = model(handbook, "community")
    assert "green-sharing-practice" not in public.practices
    assert [e.id for e in public.excluded] == ["green-sharing-practice"]
    assert "green-sharing-practice" in community.practices and not community.excluded


def test_links_to_excluded_entries_are_dropped_with_a_warning(handbook):
    path = handbook / "practices/vehicle-barriers.yaml"
    path.write_text(
        path.read_text().replace("pillars: [protect]", "related: [green-sharing-practice]\npillars: [protect]")
    )
    hb, report = model(handbook)
    assert hb.practices["vehicle-barriers"].related == []
    assert any(
        "link from 'vehicle-barriers' to practice 'green-sharing-practice' dropped" in w.message
        for w in report.warnings
    )


def test_matrix_cells_hold_practices_with_both_terms(handbook):
    hb, _ = model(handbook)
    assert sorted(p.id for p in hb.cell("protect", "physical")) == ["perimeter-patrols", "vehicle-barriers"]
    assert hb.cell("prepare", "cyber") == []


def test_glossary_abbreviations_become_search_keywords(handbook):
    path = handbook / "practices/vehicle-barriers.yaml"
    path.write_text(
        path.read_text().replace(
            "title: Vehicle barriers at crowded frontages", "title: Hostile vehicle mitigation at crowded frontages"
        )
    )
    hb, _ = model(handbook)
    assert "HVM" in hb.practices["vehicle-barriers"].keywords


def test_a_spelled_out_role_or_glossary_term_anywhere_in_a_practice_gives_its_abbreviation(handbook):
    patrols = handbook / "practices/perimeter-patrols.yaml"
    patrols.write_text(
        patrols.read_text().replace(
            "Plan routes with the security officer.", "Plan routes with the Port Facility Security Officer."
        )
    )
    vetting = handbook / "practices/staff-vetting.yaml"
    vetting.write_text(
        vetting.read_text().replace(
            "context: Insiders can bypass every other measure.",
            "context: Insiders can bypass every other measure, even hostile vehicle mitigations.",
        )
    )
    hb, _ = model(handbook)
    assert "PFSO" in hb.practices["perimeter-patrols"].keywords  # a role, written out in an implementation step
    assert "HVM" not in hb.practices["staff-vetting"].keywords  # whole words only: 'mitigations' does not count
