"""`csbp stats`: counts per facet and matrix cell, and the gaps a contributor could fill."""

from __future__ import annotations

import argparse
import json
from typing import Any

from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.model import AUDIENCES, FACETS, Handbook, build_model
from csbp.pipeline import Progress, build_date, print_report, validate

MIN_REFERENCES = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--audience",
        choices=sorted(AUDIENCES),
        default="members",
        help="which entries to count (default members: everything but TLP:RED)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def compute(handbook: Handbook) -> dict[str, Any]:
    """Every figure `csbp stats` reports, as plain data."""
    pillars, dimensions = list(handbook.terms["pillar"]), list(handbook.terms["dimension"])
    matrix = {p: {d: len(handbook.cell(p, d)) for d in dimensions} for p in pillars}
    facets = {v: {t: len(handbook.practices_with(v, t)) for t in handbook.terms[v]} for v, _ in FACETS}
    practices = sorted(handbook.practices.values(), key=lambda p: p.id)
    return {
        "audience": handbook.audience,
        "counts": {
            "practices": len(handbook.practices),
            "lessons": len(handbook.lessons),
            "modules": len(handbook.modules),
            "paths": len(handbook.paths),
            "quiz_questions": sum(len(m.questions) for m in handbook.modules.values()),
        },
        "matrix": matrix,
        "facets": facets,
        "gaps": {
            "empty_cells": [f"{p}×{d}" for p in pillars for d in dimensions if matrix[p][d] == 0],
            "unused_terms": [f"{v}:{t}" for v, terms in facets.items() for t, n in terms.items() if n == 0],
            "practices_with_few_references": [p.id for p in practices if len(p.references) < MIN_REFERENCES],
            "practices_without_lessons": [p.id for p in practices if not p.cited_by_lessons],
            "practices_without_training": [p.id for p in practices if not p.taught_by_modules],
            "roles_without_paths": sorted(
                set(handbook.terms["role"]) - {lp.role.id for lp in handbook.paths.values() if lp.role}
            ),
            "lessons_without_practices": sorted(
                lid for lid, lesson in handbook.lessons.items() if not lesson.practices
            ),
        },
    }


def _print(stats: dict[str, Any], handbook: Handbook) -> None:
    counts = stats["counts"]
    print(
        f"Audience {stats['audience']}: {counts['practices']} practices, {counts['lessons']} lessons, "
        f"{counts['modules']} modules, {counts['paths']} learning paths, {counts['quiz_questions']} quiz questions\n"
    )
    dimensions = list(handbook.terms["dimension"].values())
    print("Pillar × dimension".ljust(20) + "".join(d.label.rjust(13) for d in dimensions))
    for pillar in handbook.terms["pillar"].values():
        print(pillar.label.ljust(20) + "".join(str(stats["matrix"][pillar.id][d.id]).rjust(13) for d in dimensions))
    for vocabulary, terms in stats["facets"].items():
        print(f"\n{handbook.vocabularies[vocabulary].label}")
        for term_id, count in terms.items():
            print(f"  {handbook.terms[vocabulary][term_id].label:<40} {count:>4}")
    print("\nGaps")
    for name, items in stats["gaps"].items():
        label = name.replace("_", " ")
        print(f"  {label} ({len(items)}): {', '.join(items) if items else 'none'}")


def run(args: argparse.Namespace) -> int:
    paths = HandbookPaths.at(args.root)
    report = Report()
    corpus = validate(paths, report, Progress(quiet=True))
    if corpus is None or report.errors:
        print_report(report, paths)
        return 1
    handbook = build_model(corpus, args.audience, build_date(), Report())
    stats = compute(handbook)
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        _print(stats, handbook)
    return 0
