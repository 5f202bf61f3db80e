"""`csbp export`: quiz files for learning platforms (Moodle GIFT, IMS QTI 2.1 packages).

The same files are published in the built site under `downloads/` and linked from each
module's trainer section; this command writes them where a trainer's script wants them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.docs_tree import write_if_changed
from csbp.exports import export_files
from csbp.model import AUDIENCES, build_model
from csbp.pipeline import Progress, build_date, print_report, validate_or_stop


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=("gift", "qti", "all"), default="all", help="gift, qti or all (default: all)"
    )
    parser.add_argument(
        "--out", metavar="DIR", help="folder to write into (default: build/exports under the handbook root)"
    )
    parser.add_argument("--audience", choices=sorted(AUDIENCES), default="public", help="as for csbp build")
    parser.add_argument("--module", action="append", default=[], metavar="ID", help="only this module (repeatable)")


def run(args: argparse.Namespace) -> int:
    paths = HandbookPaths.at(args.root)
    report = Report()
    progress = Progress(quiet=args.quiet)
    corpus = validate_or_stop(paths, report, progress, "export stopped: fix the errors above")
    if corpus is None:
        return 1
    handbook = build_model(corpus, args.audience, build_date(), report)
    print_report(report, paths)
    unknown = [m for m in args.module if m not in handbook.modules]
    if unknown:
        print(
            f"csbp: no module {', '.join(repr(m) for m in unknown)} in the {args.audience} audience; "
            f"modules: {', '.join(sorted(handbook.modules))}",
            file=sys.stderr,
        )
        return 2
    suffixes = {"gift": (".gift",), "qti": ("-qti.zip",), "all": (".gift", "-qti.zip")}[args.format]
    wanted = {f"{m}{s}" for m in args.module for s in suffixes}
    out = Path(args.out).resolve() if args.out else paths.build_dir / "exports"
    written = []
    for name, data in export_files(handbook, handbook.content_epoch()).items():
        if not name.endswith(suffixes) or (args.module and name not in wanted):
            continue
        write_if_changed(out / name, data)
        written.append(name)
    progress.step("export", f"{len(written)} file(s) in {out}")
    for name in written:
        print(out / name)
    return 0
