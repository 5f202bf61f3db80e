"""The `csbp` command line: one sub-command per verb, each in csbp.commands.<verb>."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from csbp import __version__

VERBS = {
    "check": "validate every entry and list every problem (file:line:col)",
    "build": "validate, generate and build the site into <root>/site",
    "serve": "build, serve on localhost and rebuild when a YAML file changes",
    "new": "write a valid, commented skeleton for a new practice, lesson, module or learning path",
    "export": "write the quizzes for learning platforms: Moodle GIFT files and IMS QTI 2.1 packages",
    "review": "list entries due or overdue for review, by owner",
    "stats": "counts per facet and matrix cell, and the gaps to fill",
}


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="csbp", description="Community Security Best Practice handbook tool.")
    main_parser.add_argument("--version", action="version", version=f"csbp {__version__}")
    verbs = main_parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)
    for verb, help_text in VERBS.items():
        sub = verbs.add_parser(verb, help=help_text, description=help_text)
        sub.add_argument(
            "--root",
            default=".",
            metavar="DIR",
            help="the handbook repository to work on (default: the current directory)",
        )
        sub.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
        importlib.import_module(f"csbp.commands.{verb}").add_arguments(sub)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    command = importlib.import_module(f"csbp.commands.{args.verb}")
    try:
        return int(command.run(args))
    except KeyboardInterrupt:
        print("csbp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug in csbp, not in the handbook: say so without a wall of traceback
        if os.environ.get("CSBP_DEBUG"):
            raise
        print(
            f"csbp: internal error ({type(exc).__name__}: {exc}). This is a bug in csbp, not in your "
            "entries: please report it; run again with CSBP_DEBUG=1 for the full traceback.",
            file=sys.stderr,
        )
        return 70


if __name__ == "__main__":
    raise SystemExit(main())
