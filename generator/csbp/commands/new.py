"""`csbp new practice|lesson|module`: a commented skeleton with a free id and editor support.

The skeleton is valid YAML whose only `csbp check` errors are the fields the contributor
must fill; its first line points editors at the JSON Schema, so they suggest terms and
flag mistakes while typing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from csbp.config import KIND_DIRS, SCHEMA_DIR, TEMPLATE_DIR, HandbookPaths
from csbp.diagnostics import Report, choices_hint, did_you_mean
from csbp.loader import load_yaml
from csbp.pipeline import build_date
from csbp.validate import SchemaSet, read_vocabularies, validate_schema

FACET_FLAGS = {
    "pillar": "pillar",
    "dimension": "dimension",
    "sector": "sector",
    "environment": "environment",
    "threat": "threat",
    "psems": "psems",
    "audience": "role",
    "role": "role",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=sorted(KIND_DIRS), help="what to create")
    parser.add_argument("--title", help="the entry's title (asked for when omitted on a terminal)")
    parser.add_argument("--owner", default="", help="person or group who keeps the entry accurate")
    for flag in FACET_FLAGS:
        parser.add_argument(
            f"--{flag}",
            action="append",
            default=[],
            metavar="TERM",
            help=f"a {FACET_FLAGS[flag]} term (repeat or separate with commas)",
        )
    parser.add_argument("--level", default="foundation", help="module level (foundation, intermediate, advanced)")
    parser.add_argument("--incident-type", default="", help="lesson incident type term")
    parser.add_argument("--id", help="use this id instead of one derived from the title")


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug[:60].rstrip("-") or "entry"


def free_id(paths: HandbookPaths, wanted: str) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`… if an entry of any kind already uses it."""
    taken = {p.stem for kind in KIND_DIRS for p in paths.entry_files(kind)}
    candidate, number = wanted, 2
    while candidate in taken:
        candidate, number = f"{wanted}-{number}", number + 1
    return candidate


def _terms(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _ask(prompt: str, reader: Callable[[str], str]) -> str:
    try:
        return reader(prompt).strip()
    except EOFError:
        return ""


def run(args: argparse.Namespace, reader: Callable[[str], str] = input) -> int:
    paths = HandbookPaths.at(args.root)
    report = Report()
    document = load_yaml(paths.vocabularies, report) if paths.vocabularies.is_file() else None
    schemas = SchemaSet()
    if document is None or not validate_schema(schemas, schemas.validator("vocabularies"), document, report):
        for diagnostic in report.sorted():
            print(diagnostic.format(paths.root), file=sys.stderr)
        print(f"csbp: cannot read the vocabularies at {paths.vocabularies}; is --root a handbook?", file=sys.stderr)
        return 2
    vocabularies = read_vocabularies(document)
    interactive = sys.stdin.isatty() and args.title is None
    title = args.title
    if title is None and interactive:
        title = _ask("Title: ", reader)
    if not title:
        print('csbp: give the entry a title with --title "…"', file=sys.stderr)
        return 2
    chosen: dict[str, list[str]] = {flag: _terms(getattr(args, flag)) for flag in FACET_FLAGS}
    if interactive:
        wanted = {
            "practice": ("pillar", "dimension", "sector", "environment", "threat", "psems"),
            "module": ("audience",),
            "lesson": ("sector",),
            "path": ("role",),
        }[args.kind]
        for flag in wanted:
            if not chosen[flag]:
                terms = vocabularies[FACET_FLAGS[flag]].terms
                chosen[flag] = _terms([_ask(f"{flag} ({', '.join(terms)}; comma-separated, Enter to skip): ", reader)])
    for flag, values in chosen.items():
        terms = vocabularies[FACET_FLAGS[flag]].terms
        for value in values:
            if value not in terms:
                print(
                    f"csbp: '{value}' is not a {flag} term.{did_you_mean(value, terms)} "
                    f"Use one of: {choices_hint(terms)}",
                    file=sys.stderr,
                )
                return 2
    entry_id = args.id or free_id(paths, slugify(title))
    target = paths.kind_dir(args.kind) / f"{entry_id}.yaml"
    if target.exists():
        print(f"csbp: {target} already exists; choose another --id", file=sys.stderr)
        return 2
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR / "new")), undefined=StrictUndefined, keep_trailing_newline=True
    )
    flow = json.dumps  # a JSON list or string is valid YAML flow syntax, quoting whatever needs it
    text = env.get_template(f"{args.kind}.yaml.j2").render(
        schema=os.path.relpath(SCHEMA_DIR / f"{args.kind}.schema.json", target.parent).replace(os.sep, "/"),
        title=flow(title),
        owner=flow(args.owner) if args.owner else "",
        today=build_date().isoformat(),
        pillars=flow(chosen["pillar"]),
        dimensions=flow(chosen["dimension"]),
        sectors=flow(chosen["sector"]),
        environments=flow(chosen["environment"]),
        threats=flow(chosen["threat"]),
        psems=flow(chosen["psems"]),
        audience=flow(chosen["audience"]),
        level=args.level,
        sector=(chosen["sector"] or [""])[0],
        incident_type=args.incident_type,
        role=(chosen["role"] or [""])[0],
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"csbp: wrote {target.relative_to(paths.root)}; fill in the empty fields, then run `csbp check`")
    return 0
