"""Stage 2, validate: JSON Schema for structure, then the rules that span entries.

The JSON Schema files in `schemas/` are the single source of truth for the shape of an
entry; editors read the same files. Schema errors are rewritten into messages that name
the field, say what is wrong and how to fix it, at the line and column of the value.
Cross-entry rules (unique ids, links that resolve, quiz answers that make sense) run on
the whole handbook so every problem is reported in one pass.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.validators import extend
from referencing import Registry, Resource

from csbp.config import KINDS, SCHEMA_DIR, HandbookPaths
from csbp.diagnostics import Report, choices_hint, did_you_mean
from csbp.loader import JsonPath, SourceDocument, Sources, load_sources
from csbp.markup import removed_markup

_TYPE_NAMES = {
    "string": "text",
    "array": "a list",
    "object": "a mapping of fields",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


# What YAML 1.1 read as flags and YAML 1.2, which the loader follows, reads as text.
_YAML_1_1_FLAGS = frozenset({"yes", "no", "on", "off", "y", "n"})


def _python_type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    return {
        str: "text",
        list: "a list",
        dict: "a mapping of fields",
        int: "a whole number",
        float: "a decimal number",
        type(None): "an empty value",
    }.get(type(value), type(value).__name__)


def format_field(path: JsonPath) -> str:
    """`references[2].year` style name of a field, as a contributor reads it."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


@dataclass(frozen=True)
class Vocabulary:
    """The controlled terms of one vocabulary, read from content/vocabularies.yaml."""

    id: str
    label: str
    description: str
    terms: Mapping[str, Mapping[str, Any]]


def _not_a_term(value: Any, vocabulary: Vocabulary) -> bool:
    return isinstance(value, str) and value not in vocabulary.terms


def _removed_markup(enabled: Any, instance: Any) -> list[str]:
    return removed_markup(instance) if enabled and isinstance(instance, str) else []


class SchemaSet:
    """The shipped JSON Schemas, with validators extended by the vocabulary and Markdown checks."""

    def __init__(self, schema_dir: Path = SCHEMA_DIR) -> None:
        self.schemas = {
            path.name.removesuffix(".schema.json"): json.loads(path.read_text("utf-8"))
            for path in sorted(schema_dir.glob("*.schema.json"))
        }
        self.registry: Registry = Registry().with_resources(
            (f"{name}.schema.json", Resource.from_contents(schema)) for name, schema in self.schemas.items()
        )

    def validator(self, kind: str, vocabularies: Mapping[str, Vocabulary] | None = None) -> Draft202012Validator:
        vocabularies = vocabularies or {}

        def check_vocabulary(
            validator: Any, vocabulary_id: str, instance: Any, schema: Any
        ) -> Iterator[ValidationError]:
            vocabulary = vocabularies.get(vocabulary_id)
            if vocabulary is None:
                return
            values = instance if isinstance(instance, list) else [instance]
            for index, value in enumerate(values):
                if _not_a_term(value, vocabulary):
                    yield ValidationError(
                        f"'{value}' is not a term of the {vocabulary.label.lower()} vocabulary."
                        f"{did_you_mean(value, vocabulary.terms)} Use one of: {choices_hint(vocabulary.terms)} "
                        "(terms are defined in content/vocabularies.yaml)",
                        path=(index,) if isinstance(instance, list) else (),
                    )

        def check_markdown(validator: Any, enabled: bool, instance: Any, schema: Any) -> Iterator[ValidationError]:
            removed = _removed_markup(enabled, instance)
            if removed:
                yield ValidationError(
                    f"raw HTML or an unsafe link is removed when the page is built ({', '.join(removed)}): "
                    "write it in Markdown (links may use http, https or mailto)"
                )

        cls = extend(Draft202012Validator, {"x-vocabulary": check_vocabulary, "x-markdown": check_markdown})
        return cls(self.schemas[kind], registry=self.registry, format_checker=FormatChecker())

    def resolve(self, schema: Any) -> Any:
        """Follow a `$ref` to the schema it names (one level is enough for our files)."""
        if isinstance(schema, dict) and "$ref" in schema and schema["$ref"].startswith("common.schema.json"):
            pointer = schema["$ref"].split("#", 1)[1]
            target: Any = self.schemas["common"]
            for part in pointer.strip("/").split("/"):
                target = target[part]
            return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return schema

    def known_fields(self, schema: Any) -> set[str]:
        """Every property name a schema object allows, including those of a referenced base."""
        fields = set(schema.get("properties", {})) if isinstance(schema, dict) else set()
        if isinstance(schema, dict) and "$ref" in schema:
            fields |= self.known_fields(self.resolve({"$ref": schema["$ref"]}))
        return fields


class SchemaErrorWriter:
    """Rewrites jsonschema errors as contributor-facing messages with positions."""

    def __init__(self, schemas: SchemaSet, document: SourceDocument, report: Report) -> None:
        self.schemas = schemas
        self.document = document
        self.report = report

    def write(self, error: ValidationError) -> None:
        path: JsonPath = tuple(error.absolute_path)
        field = format_field(path)
        kind = error.validator
        value = error.instance
        schema = self.schemas.resolve(error.schema) if isinstance(error.schema, dict) else error.schema
        if kind == "required":
            missing = re.findall(r"^'([^']+)'", error.message)
            for name in missing or [error.message]:
                described = self.schemas.resolve(error.schema.get("properties", {}).get(name, {}))
                hint = (
                    f" ({described['description']})"
                    if isinstance(described, dict) and "description" in described
                    else ""
                )
                where = f" in {field}" if path else ""
                self._error(path, f"missing required field '{name}'{where}: add `{name}:`{hint}", prefer_key=True)
            return
        if kind in ("additionalProperties", "unevaluatedProperties"):
            allowed = self.schemas.known_fields(error.schema)
            for name in self._unexpected(error):
                self._error(
                    (*path, name),
                    f"unknown field '{format_field((*path, name))}'.{did_you_mean(name, allowed)} "
                    f"Remove it or rename it; allowed here: {choices_hint(allowed, 30)}",
                    prefer_key=True,
                )
            return
        if kind is None and error.schema is False:
            path = self._false_schema_path(path, error.instance)
            self._error(path, f"field '{format_field(path)}' does not belong here: remove it", prefer_key=True)
            return
        message = self._message(kind, field, value, schema, error)
        self._error(path, message)

    def _false_schema_path(self, path: JsonPath, value: Any) -> JsonPath:
        """jsonschema leaves the property name off errors from `false` subschemas: find it."""
        parent: Any = self.document.data
        for part in path:
            parent = parent[part]
        if isinstance(parent, dict):
            for key, item in parent.items():
                if item is value:
                    return (*path, key)
        return path

    @staticmethod
    def _unexpected(error: ValidationError) -> list[str]:
        inside = re.search(r"\((.*) (?:was|were) unexpected\)", error.message)
        return re.findall(r"'((?:[^'\\]|\\.)*)'", inside.group(1)) if inside else []

    def _message(self, kind: str, field: str, value: Any, schema: Any, error: ValidationError) -> str:
        described = schema.get("description", "") if isinstance(schema, dict) else ""
        shown = repr(value) if not isinstance(value, str) else f"'{value[:60]}{'…' if len(value) > 60 else ''}'"
        if kind == "x-vocabulary":
            return f"field '{field}': {error.message}"
        if kind == "enum":
            choices = [str(c) for c in error.validator_value]
            return (
                f"field '{field}': {shown} is not allowed.{did_you_mean(str(value), choices)} "
                f"Use one of: {', '.join(choices)}"
            )
        if kind == "const":
            return f"field '{field}' must be {error.validator_value!r}"
        if kind == "type" and value is None:
            what = f" ({described})" if described else ""
            return f"field '{field}' is empty: fill it in{what}"
        if kind == "type":
            wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
            expected = " or ".join(_TYPE_NAMES.get(w, w) for w in wanted)
            hint = ""
            if "array" in wanted and isinstance(value, str):
                hint = ": write a list, either `[a, b]` or one `- item` per line"
            elif "string" in wanted and not isinstance(value, str | list | dict):
                hint = ": put the value in quotes"
            elif "boolean" in wanted and isinstance(value, str) and value.lower() in _YAML_1_1_FLAGS:
                hint = ": write true or false (YAML 1.2 reads yes, no, on and off as text)"
            return f"field '{field}' must be {expected}, not {_python_type_name(value)}{hint}"
        if kind == "format" and error.validator_value == "date":
            return f"field '{field}': {shown} is not a real date: write YYYY-MM-DD with a real month and day"
        if kind == "format":
            return f"field '{field}': {shown} is not a valid {error.validator_value}"
        if kind == "pattern":
            rule = {
                "^[a-z0-9]+(-[a-z0-9]+)*$": "use lowercase letters, digits and single hyphens (kebab-case)",
                '^https?://[^\\s<>"]+$': "use a full web address starting with https:// (or http://)",
                "^\\d{4}-\\d{2}-\\d{2}$": "write the date as YYYY-MM-DD",
            }.get(error.validator_value, "plain text on one line, without < or >")
            return f"field '{field}': {shown} has the wrong form: {rule}"
        if kind == "minLength":
            return f"field '{field}' is too short: write at least {error.validator_value} characters"
        if kind == "maxLength":
            return f"field '{field}' is too long ({len(value)} characters): keep it to {error.validator_value}"
        if kind == "minItems":
            return f"field '{field}' needs at least {error.validator_value} item(s)"
        if kind == "maxItems":
            return f"field '{field}' has {len(value)} items: keep it to {error.validator_value}"
        if kind == "uniqueItems":
            return f"field '{field}' lists the same item twice: remove the repeat"
        if kind == "minimum":
            return f"field '{field}' must be at least {error.validator_value}, not {value!r}"
        if kind == "maximum":
            return f"field '{field}' must be at most {error.validator_value}, not {value!r}"
        if kind == "minProperties":
            return f"field '{field}' needs at least {error.validator_value} entry"
        if kind == "propertyNames":
            return f"field '{field}': a key has the wrong form: use lowercase letters, digits and hyphens"
        detail = f" ({described})" if described else ""
        return f"field '{field}': {error.message}{detail}"

    def _error(self, path: JsonPath, message: str, prefer_key: bool = False) -> None:
        self.report.error(self.document.path, self.document.position_of(path, prefer_key=prefer_key), message)


WARNING_KEYWORDS = {"x-markdown"}  # problems the build repairs itself: reported, never fatal


def _leaf_errors(errors: Iterator[ValidationError]) -> Iterator[ValidationError]:
    """Descend into combinator errors so the message names the real problem."""
    for error in errors:
        if error.context:
            yield from _leaf_errors(iter(_branches_of_the_right_shape(error.context)))
        else:
            yield error


def _branches_of_the_right_shape(context: list[ValidationError]) -> list[ValidationError]:
    """Of a oneOf/anyOf's failed branches, keep those whose type fits the value: a discussion item
    written as a mapping is told what its mapping lacks, not also that it "must be text"."""
    branch = {id(e): e.relative_schema_path[0] if e.relative_schema_path else None for e in context}
    wrong_type = {branch[id(e)] for e in context if e.validator == "type" and not e.relative_path}
    if not wrong_type or wrong_type >= set(branch.values()):
        return context
    return [e for e in context if branch[id(e)] not in wrong_type]


def validate_schema(
    schemas: SchemaSet, validator: Draft202012Validator, document: SourceDocument, report: Report
) -> bool:
    """Validate one document against its kind's schema; report every problem. True if it has no error
    (warnings, for what the build repairs itself, do not count)."""
    writer = SchemaErrorWriter(schemas, document, report)
    found = sorted(
        _leaf_errors(validator.iter_errors(document.data)),
        key=lambda e: (tuple(str(p) for p in e.absolute_path), str(e.validator)),
    )
    errors = [e for e in found if e.validator not in WARNING_KEYWORDS]
    for error in found:
        if error.validator in WARNING_KEYWORDS:
            path = tuple(error.absolute_path)
            report.warning(document.path, document.position_of(path), f"field '{format_field(path)}': {error.message}")
        else:
            writer.write(error)
    return not errors


def read_vocabularies(document: SourceDocument) -> dict[str, Vocabulary]:
    """Vocabularies by id, from an already schema-valid vocabularies document."""
    return {
        vocabulary_id: Vocabulary(vocabulary_id, body["label"], body["description"], body["terms"])
        for vocabulary_id, body in document.data["vocabularies"].items()
    }


@dataclass
class Corpus:
    """Schema-valid documents of every kind, keyed by kind then id, for the cross-entry rules."""

    vocabularies: dict[str, Vocabulary]
    glossary: dict[str, Mapping[str, Any]]
    documents: dict[str, dict[str, SourceDocument]]

    def ids(self, kind: str) -> set[str]:
        return set(self.documents[kind])


class CrossChecker:
    """Rules that need the whole corpus: ids, links, quiz logic, review dates."""

    def __init__(self, corpus: Corpus, report: Report, today: dt.date) -> None:
        self.corpus = corpus
        self.report = report
        self.today = today
        self._known: dict[tuple[str, ...], set[str]] = {}  # ids by the kinds a link may point to

    def run(self) -> None:
        for kind in KINDS:
            for entry_id, document in sorted(self.corpus.documents[kind].items()):
                self._lifecycle(kind, entry_id, document)
                getattr(self, f"_{kind}")(entry_id, document)
        self._unique_ids()
        self._prerequisite_cycles()

    def _error(self, document: SourceDocument, path: JsonPath, message: str) -> None:
        self.report.error(document.path, document.position_of(path), message)

    def _link(self, document: SourceDocument, path: JsonPath, target: str, kinds: tuple[str, ...]) -> None:
        known = self._known.get(kinds)
        if known is None:
            known = self._known[kinds] = set().union(*(self.corpus.ids(kind) for kind in kinds))
        if target in known:
            return
        names = " or ".join(f"{kind}" for kind in kinds)
        self._error(
            document,
            path,
            f"field '{format_field(path)}': there is no {names} with id '{target}'."
            f"{did_you_mean(target, known)} Use the file name of an existing entry, without .yaml",
        )

    def _unique_ids(self) -> None:
        owners: dict[str, tuple[str, SourceDocument]] = {}
        for kind in KINDS:
            for entry_id, document in sorted(self.corpus.documents[kind].items()):
                names = [(entry_id, ())] + [
                    (alias, ("aliases", i)) for i, alias in enumerate(document.data.get("aliases", []))
                ]
                for name, path in names:
                    if name in owners:
                        other_kind, other = owners[name]
                        self._error(
                            document,
                            path,
                            f"the id '{name}' is already used by the {other_kind} "
                            f"{other.path.name}: ids and aliases must be unique across all entries; rename one",
                        )
                    else:
                        owners[name] = (kind, document)

    def _lifecycle(self, kind: str, entry_id: str, document: SourceDocument) -> None:
        data = document.data
        reviewed = dt.date.fromisoformat(data["last_reviewed"])
        if reviewed > self.today:
            self._error(
                document,
                ("last_reviewed",),
                f"last_reviewed {reviewed} is in the future: use the date the entry was actually reviewed",
            )
        months = data["review_interval_months"]
        due = add_months(reviewed, months)
        if due < self.today and data.get("status") != "retired":
            self.report.warning(
                document.path,
                document.position_of(("last_reviewed",)),
                f"review overdue: last reviewed {reviewed}, due {due} ({months}-month interval); "
                "review the entry and update last_reviewed",
            )
        if "replaced_by" in data:
            self._link(document, ("replaced_by",), data["replaced_by"], (kind,))
            if data.get("status") != "retired":
                self._error(
                    document,
                    ("replaced_by",),
                    "replaced_by is only for retired entries: set `status: retired` or remove replaced_by",
                )
            if data["replaced_by"] == entry_id:
                self._error(document, ("replaced_by",), "an entry cannot replace itself")
        for index, item in enumerate(data.get("history", [])):
            if dt.date.fromisoformat(item["date"]) > self.today:
                self._error(document, ("history", index, "date"), "a history date is in the future")
        for index, alias in enumerate(data.get("aliases", [])):
            if alias == entry_id:
                self._error(document, ("aliases", index), "an alias repeats the entry's own id: remove it")

    def _practice(self, entry_id: str, document: SourceDocument) -> None:
        for index, target in enumerate(document.data.get("related", [])):
            if target == entry_id:
                self._error(document, ("related", index), "a practice cannot be related to itself: remove this item")
            else:
                self._link(document, ("related", index), target, ("practice",))

    def _lesson(self, entry_id: str, document: SourceDocument) -> None:
        data = document.data
        incident = data["incident"]
        if "end_date" in incident and incident["end_date"] < incident["date"]:
            self._error(document, ("incident", "end_date"), "the incident's end_date is before its date")
        for index, lesson in enumerate(data["lessons"]):
            for position, target in enumerate(lesson["practices"]):
                self._link(document, ("lessons", index, "practices", position), target, ("practice",))

    def _module(self, entry_id: str, document: SourceDocument) -> None:
        data = document.data
        for index, target in enumerate(data.get("prerequisites", [])):
            if target == entry_id:
                self._error(document, ("prerequisites", index), "a module cannot be its own prerequisite")
            else:
                self._link(document, ("prerequisites", index), target, ("module",))
        for index, target in enumerate(data["reading"]):
            self._link(document, ("reading", index), target, ("practice", "lesson"))
        quiz = data["quiz"]
        seen: dict[str, int] = {}
        for index, question in enumerate(quiz["questions"]):
            path: JsonPath = ("quiz", "questions", index)
            if question["id"] in seen:
                self._error(
                    document,
                    (*path, "id"),
                    f"question id '{question['id']}' is used twice in this quiz "
                    f"(first at question {seen[question['id']] + 1}): give each question its own id",
                )
            seen.setdefault(question["id"], index)
            self._link(document, (*path, "practice"), question["practice"], ("practice",))
            if question["type"] in ("single", "multiple"):
                correct = sum(1 for option in question["options"] if option.get("correct", False))
                if question["type"] == "single" and correct != 1:
                    self._error(
                        document,
                        (*path, "options"),
                        f"a single-choice question needs exactly one option "
                        f"with `correct: true`, this one has {correct}: mark one, or use type: multiple",
                    )
                if question["type"] == "multiple" and correct < 1:
                    self._error(
                        document,
                        (*path, "options"),
                        "a multiple-response question needs at least one option with `correct: true`",
                    )
                texts = [option["text"] for option in question["options"]]
                if len(set(texts)) != len(texts):
                    self._error(document, (*path, "options"), "two options have the same text: make them distinct")
            if question["type"] == "ordering" and len(set(question["items"])) != len(question["items"]):
                self._error(document, (*path, "items"), "two ordering items have the same text: make them distinct")
        if "draw" in quiz and quiz["draw"] > len(quiz["questions"]):
            self._error(
                document,
                ("quiz", "draw"),
                f"draw is {quiz['draw']} but the quiz has only "
                f"{len(quiz['questions'])} questions: lower draw or add questions",
            )

    def _path(self, entry_id: str, document: SourceDocument) -> None:
        modules = self.corpus.documents["module"]
        position: dict[str, int] = {}
        for index, step in enumerate(document.data["steps"]):
            target = step["module"]
            if target in position:
                self._error(
                    document,
                    ("steps", index, "module"),
                    f"module '{target}' is already step {position[target] + 1} of this path: remove one",
                )
                continue
            position[target] = index
            self._link(document, ("steps", index, "module"), target, ("module",))
        for index, step in enumerate(document.data["steps"]):
            target = step["module"]
            for prerequisite in modules[target].data.get("prerequisites", []) if target in modules else []:
                if position.get(prerequisite, -1) > index:
                    self.report.warning(
                        document.path,
                        document.position_of(("steps", index, "module")),
                        f"module '{target}' comes before its prerequisite '{prerequisite}' "
                        f"(step {position[prerequisite] + 1}): move the prerequisite earlier",
                    )

    def _prerequisite_cycles(self) -> None:
        modules = self.corpus.documents["module"]
        graph = {mid: [p for p in doc.data.get("prerequisites", []) if p in modules] for mid, doc in modules.items()}
        state: dict[str, int] = {}

        def visit(node: str, trail: list[str]) -> None:
            state[node] = 1
            for nxt in graph[node]:
                if state.get(nxt) == 1:
                    cycle = [*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt]
                    document = modules[node]
                    self._error(
                        document,
                        ("prerequisites",),
                        f"prerequisites form a cycle: {' → '.join(cycle)}: remove one of these prerequisites",
                    )
                elif state.get(nxt) is None:
                    visit(nxt, [*trail, nxt])
            state[node] = 2

        for module_id in sorted(graph):
            if module_id not in state:
                visit(module_id, [module_id])


def add_months(date: dt.date, months: int) -> dt.date:
    month_index = date.month - 1 + months
    year, month = date.year + month_index // 12, month_index % 12 + 1
    for day in (date.day, 30, 29, 28):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


@functools.cache
def default_schemas() -> SchemaSet:
    """The shipped schemas, read once per process."""
    return SchemaSet()


def validate_sources(
    sources: Sources, report: Report, today: dt.date, schemas: SchemaSet | None = None
) -> Corpus | None:
    """Stage 2: schema-validate every parsed file, then run the cross-entry rules.

    Entries with errors are left out of the corpus (after being reported) so that one
    broken file does not hide the problems of the others. None if the vocabularies
    themselves are missing or broken: nothing else can be checked without them.
    """
    schemas = schemas or default_schemas()
    vocabulary_doc = sources.vocabularies
    if vocabulary_doc is None:
        return None
    if not validate_schema(schemas, schemas.validator("vocabularies"), vocabulary_doc, report):
        return None
    vocabularies = read_vocabularies(vocabulary_doc)
    documents: dict[str, dict[str, SourceDocument]] = {}
    for kind in KINDS:
        validator = schemas.validator(kind, vocabularies)
        documents[kind] = {
            document.entry_id: document
            for document in sources.entries[kind]
            if validate_schema(schemas, validator, document, report)
        }
    corpus = Corpus(vocabularies, vocabulary_doc.data.get("glossary", {}), documents)
    CrossChecker(corpus, report, today).run()
    return corpus


def validate_handbook(
    paths: HandbookPaths, report: Report, today: dt.date, schemas: SchemaSet | None = None
) -> Corpus | None:
    """Load and validate every file of a handbook; None if the vocabularies themselves are broken."""
    return validate_sources(load_sources(paths, report), report, today, schemas)
