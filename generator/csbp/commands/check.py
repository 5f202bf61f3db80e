"""`csbp check`: validate every entry, render the pages in memory, report every problem in one pass."""

from __future__ import annotations

import argparse

from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.model import AUDIENCES
from csbp.pipeline import Progress, print_report, render, validate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strict", action="store_true", help="treat warnings (such as overdue reviews) as errors")
    parser.add_argument(
        "--audience",
        choices=sorted(AUDIENCES),
        default="public",
        help="check the pages as built for this audience (default public): links in hand-written pages, "
        "links dropped because their target is marked for a narrower audience",
    )


def run(args: argparse.Namespace) -> int:
    paths = HandbookPaths.at(args.root)
    report = Report()
    progress = Progress(quiet=args.quiet)
    corpus = validate(paths, report, progress)
    if corpus is not None and not report.errors:  # render in memory: catches what only pages reveal
        render(paths, corpus, report, progress, audience=args.audience)
    print_report(report, paths)
    if report.errors or (args.strict and report.warnings):
        return 1
    print("csbp: check passed", flush=True)
    return 0
