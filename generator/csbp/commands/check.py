"""`csbp check`: validate every entry and report every problem in one pass."""

from __future__ import annotations

import argparse

from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.pipeline import Progress, print_report, validate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strict", action="store_true", help="treat warnings (such as overdue reviews) as errors")


def run(args: argparse.Namespace) -> int:
    paths = HandbookPaths.at(args.root)
    report = Report()
    validate(paths, report, Progress(quiet=args.quiet))
    print_report(report, paths)
    if report.errors or (args.strict and report.warnings):
        return 1
    print("csbp: check passed", flush=True)
    return 0
