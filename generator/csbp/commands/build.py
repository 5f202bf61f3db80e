"""`csbp build`: validate, generate the docs tree, build `site/` with MkDocs (strict)."""

from __future__ import annotations

import argparse
import sys

from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.leakcheck import leak_report, needles_for, scan
from csbp.model import AUDIENCES
from csbp.pipeline import Progress, generate, print_report, validate
from csbp.site import SiteBuildError, build_site


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--audience",
        choices=sorted(AUDIENCES),
        default="public",
        help="who the site is for: public (TLP:CLEAR only, the default), community "
        "(adds TLP:GREEN) or members (adds TLP:AMBER and TLP:AMBER+STRICT)",
    )


def run(args: argparse.Namespace) -> int:
    paths = HandbookPaths.at(args.root)
    report = Report()
    progress = Progress(quiet=args.quiet)
    corpus = validate(paths, report, progress)
    if corpus is None or report.errors:
        print_report(report, paths)
        print("csbp: build stopped before writing anything; the previous site/ is unchanged", file=sys.stderr)
        return 1
    generated = generate(paths, corpus, report, progress, audience=args.audience)
    print_report(report, paths)
    if report.errors:
        print("csbp: build stopped; the previous site/ is unchanged", file=sys.stderr)
        return 1
    needles = needles_for(corpus, [(e.kind, e.id) for e in generated.handbook.excluded])
    try:
        build_site(
            paths, lambda site: leak_report(scan(site, needles), args.audience), generated.handbook.content_epoch()
        )
    except SiteBuildError as failure:
        print(str(failure), file=sys.stderr)
        print("csbp: the site engine failed; the previous site/ is unchanged", file=sys.stderr)
        return 1
    progress.step(
        "site",
        f"built {paths.site_dir}; leak check passed ({len(needles)} traces of "
        f"{len(generated.handbook.excluded)} excluded entries searched)",
    )
    return 0
