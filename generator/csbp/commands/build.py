"""`csbp build`: validate, generate the docs tree, build `site/` with MkDocs (strict).

Every build also makes the offline copy (links to `index.html` files, search that works from `file://`)
for the same audience and publishes it in the site as a zip; `--offline` builds that copy
itself as `site/`, to read or to host on a file share without unpacking.
"""

from __future__ import annotations

import argparse
import sys

from csbp.config import HandbookPaths
from csbp.diagnostics import Report
from csbp.leakcheck import Needle, leak_report, needles_for, scan
from csbp.model import AUDIENCES
from csbp.offline import OFFLINE_ZIP
from csbp.pipeline import Generated, Progress, generate, print_report, validate_or_stop
from csbp.site import SiteBuildError, build_site


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--audience",
        choices=sorted(AUDIENCES),
        default="public",
        help="who the site is for: public (TLP:CLEAR only, the default), community "
        "(adds TLP:GREEN) or members (adds TLP:AMBER and TLP:AMBER+STRICT)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="build site/ as the offline copy: opens from file:// with working links and search "
        f"(a normal build publishes this copy zipped as {OFFLINE_ZIP})",
    )


def run(args: argparse.Namespace) -> int:
    paths = HandbookPaths.at(args.root)
    report = Report()
    progress = Progress(quiet=args.quiet)
    corpus = validate_or_stop(
        paths, report, progress, "build stopped before writing anything; the previous site/ is unchanged"
    )
    if corpus is None:
        return 1
    generated = generate(paths, corpus, report, progress, audience=args.audience)
    print_report(report, paths)
    if report.errors:
        print("csbp: build stopped; the previous site/ is unchanged", file=sys.stderr)
        return 1
    excluded = [(e.kind, e.id) for e in generated.handbook.excluded]
    needles: list[Needle] = []

    def meanwhile() -> None:
        needles.extend(needles_for(corpus, excluded))

    try:
        build_site(
            paths,
            lambda site: leak_report(scan(site, needles), args.audience),
            generated.handbook.content_epoch(),
            offline=args.offline,
            meanwhile=meanwhile,
            step=progress.step,
        )
    except SiteBuildError as failure:
        print(str(failure), file=sys.stderr)
        print("csbp: the site engine failed; the previous site/ is unchanged", file=sys.stderr)
        return 1
    progress.step("site", done_message(paths, generated, len(needles), args.offline))
    return 0


def done_message(paths: HandbookPaths, generated: Generated, needles: int, offline: bool) -> str:
    what = "the offline copy as " if offline else ""
    extra = "" if offline else f" with {OFFLINE_ZIP}"
    return (
        f"built {what}{paths.site_dir}{extra}; leak check passed ({needles} traces of "
        f"{len(generated.handbook.excluded)} excluded entries searched)"
    )
