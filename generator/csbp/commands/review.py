"""`csbp review`: entries due or overdue for review, grouped by owner."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from itertools import groupby

from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.model import Entry, build_model
from csbp.pipeline import Progress, build_date, print_report, validate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--within",
        type=int,
        default=30,
        metavar="DAYS",
        help="also list entries falling due within this many days (default 30)",
    )
    parser.add_argument("--owner", help="only entries of this owner")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def due_entries(entries: list[Entry], today: dt.date, within_days: int) -> list[Entry]:
    """Entries not retired whose review is due by `today + within_days`, most overdue first."""
    horizon = today + dt.timedelta(days=within_days)
    due = [e for e in entries if not e.retired and e.review_due <= horizon]
    return sorted(due, key=lambda e: (e.owner.lower(), e.review_due, e.kind, e.id))


def run(args: argparse.Namespace) -> int:
    paths = HandbookPaths.at(args.root)
    report = Report()
    corpus = validate(paths, report, Progress(quiet=True))
    if corpus is None or report.errors:
        print_report(report, paths)
        return 1
    today = build_date()
    handbook = build_model(corpus, "members", today, Report())
    entries = due_entries(handbook.entries(), today, args.within)
    if args.owner:
        entries = [e for e in entries if e.owner == args.owner]
    rows = [
        {
            "owner": e.owner,
            "kind": e.kind,
            "id": e.id,
            "title": e.title,
            "last_reviewed": e.last_reviewed.isoformat(),
            "due": e.review_due.isoformat(),
            "overdue_days": max((today - e.review_due).days, 0),
            "file": e.source.relative_to(paths.root).as_posix(),
        }
        for e in entries
    ]
    if args.json:
        print(json.dumps({"today": today.isoformat(), "within_days": args.within, "entries": rows}, indent=2))
        return 0
    if not rows:
        print(f"No entry is due for review by {today + dt.timedelta(days=args.within)}.")
        return 0
    for owner, group in groupby(rows, key=lambda r: r["owner"]):
        print(f"{owner}")
        for row in group:
            state = f"OVERDUE by {row['overdue_days']} days" if row["overdue_days"] else "due"
            print(f"  {row['due']}  {state:<20} {row['kind']:<8} {row['id']}  ({row['file']})")
    overdue = sum(1 for r in rows if r["overdue_days"])
    print(f"\n{len(rows)} entr{'y' if len(rows) == 1 else 'ies'} to review, {overdue} overdue (as of {today}).")
    return 0
