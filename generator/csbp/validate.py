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
import hashlib
import itertools
import json
import operator
import re
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.validators import extend
from referencing import Registry, Resource

from csbp import markup
from csbp.config import SCHEMA_DIR, HandbookPaths
from csbp.diagnostics import Diagnostic, Report, choices_hint, did_you_mean
from csbp.loader import JsonPath, SourceCache, SourceDocument, load_yaml, load_yaml_files
from csbp.markup import SOURCE_STAMP as MARKUP_STAMP
from csbp.markup import removed_markup

ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
KINDS = ("practice", "lesson", "module", "path")
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


# The fast path: jsonschema-rs (compiled Rust) decides valid or not; only an entry it turns
# down goes through the Python validator, which writes the detailed messages. It must never
# accept what the Python validator rejects, so whatever the engines read differently is
# either translated (a pattern's closing `$`) or sent to the Python validator (see `accepts`).
_FAST_BASE = "https://csbp.invalid/schemas/"  # a base for resolving `common.schema.json#…`, never fetched
_PATTERN_TOKENS = re.compile(
    r"""(?:\\[dsnt\\/.+*?()\[\]{}|^$-]          # \d, \s and escaped literals
      | \[\^?(?:\\[dsnt\\/\[\]^-]|[^\\\]])+\]   # a character class
      | [^\\.$\[(]                          # a literal or an operator, but not . $ [ (
      | \((?!\?)                              # a plain group, no (?…) extension
    )*\$?\Z""",
    re.X,
)
# Characters that Python's `\s` or `\d` classify otherwise than the Rust engine's (ECMA 262) ones,
# as json.dumps writes them (the separators \x1c-\x1f escaped, the others as they are), and lone
# surrogates, which Rust text cannot hold. All but the escapes are non-ASCII.
_ESCAPED_APART = r"\\u001[cdef]"
_NON_ASCII_APART = r"[\x85\ufeff\ud800-\udfff]|(?![0-9])\d"
_ENGINE_DIFFERENCES = re.compile(f"{_ESCAPED_APART}|{_NON_ASCII_APART}")
_ESCAPED_SEARCH = re.compile(_ESCAPED_APART)
_NON_ASCII_SEARCH = re.compile(_NON_ASCII_APART)
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


def read_apart(text: str) -> bool:
    """`_ENGINE_DIFFERENCES.search(text)`, without trying its non-ASCII part at every position of a
    long text (a second of a 5,000-entry build): that part runs on the non-ASCII runs only."""
    if _ESCAPED_SEARCH.search(text):
        return True
    return not text.isascii() and any(_NON_ASCII_SEARCH.search(run) for run in _NON_ASCII_RUN.findall(text))


def _keyword_values(schema: Any, keyword: str) -> Iterator[Any]:
    """Every value of `keyword` anywhere in a schema (or a dict of schemas)."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == keyword:
                yield value
            yield from _keyword_values(value, keyword)
    elif isinstance(schema, list):
        for value in schema:
            yield from _keyword_values(value, keyword)


def _portable_pattern(pattern: str) -> bool:
    r"""True if the pattern uses only what both engines read alike: `\d`, `\s`, classes and a closing `$`."""
    return _PATTERN_TOKENS.match(pattern) is not None


def _rust_schema(schema: Any) -> Any:
    """The schema as the Rust engine must read it: Python's closing `$` also matches before a final newline."""
    if isinstance(schema, dict):
        return {
            key: value[:-1] + r"\n?$"
            if key == "pattern" and isinstance(value, str) and value.endswith("$")
            else _rust_schema(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_rust_schema(value) for value in schema]
    return schema


def _conforms(instance: Any, name: str) -> bool:
    return _FORMATS.conforms(instance, name)


_FORMATS = FormatChecker()


class FastValidator:
    """A compiled schema that only answers "valid", for the common case of an entry with no problem."""

    def __init__(self, validator: jsonschema_rs.Validator) -> None:
        self.validator = validator

    def accepts(self, data: Any) -> bool:
        """True only if the Python validator would find nothing to report; False means "ask it"."""
        if not self.comparable(data):
            return False
        try:
            return self.validator.is_valid(data)
        except (ValueError, TypeError, OverflowError, UnicodeError):  # e.g. text Rust cannot hold
            return False

    @staticmethod
    def comparable(data: Any) -> bool:
        """False for data the engines may read differently: NaN, infinity, `_ENGINE_DIFFERENCES`.

        `data` is as the loader builds it (dict, list, str, int, float, bool, None).
        """
        try:
            text = json.dumps(data, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            return False
        return not read_apart(text)


class SchemaSet:
    """The shipped JSON Schemas, compiled once and extended with vocabulary checks."""

    def __init__(self, schema_dir: Path = SCHEMA_DIR) -> None:
        self.schemas = {
            path.name.removesuffix(".schema.json"): json.loads(path.read_text("utf-8"))
            for path in sorted(schema_dir.glob("*.schema.json"))
        }
        self.registry: Registry = Registry().with_resources(
            (f"{name}.schema.json", Resource.from_contents(schema)) for name, schema in self.schemas.items()
        )
        self.formats = sorted({name for name in _keyword_values(self.schemas, "format") if isinstance(name, str)})
        portable = all(
            _portable_pattern(pattern)
            for pattern in _keyword_values(self.schemas, "pattern")
            if isinstance(pattern, str)
        ) and not any(True for _ in _keyword_values(self.schemas, "patternProperties"))
        self.fast_registry = (
            jsonschema_rs.Registry(
                [(f"{_FAST_BASE}{name}.schema.json", _rust_schema(schema)) for name, schema in self.schemas.items()]
            )
            if portable
            else None
        )
        # What a cached "this file is schema-valid" depends on, besides the file and the vocabularies.
        self.stamp = hashlib.sha256(
            json.dumps(self.schemas, sort_keys=True).encode() + Path(__file__).read_bytes() + MARKUP_STAMP.encode()
        ).hexdigest()[:24]
        self._compiled: dict[tuple[str, str], tuple[Draft202012Validator, FastValidator | None]] = {}

    def compiled(
        self, kind: str, vocabularies: Mapping[str, Vocabulary], digest: str
    ) -> tuple[Draft202012Validator, FastValidator | None]:
        """`validator` and `fast_validator` of a kind, compiled once per vocabularies file content
        (`digest`): `csbp serve` validates the edited file after every edit."""
        key = (kind, digest)
        known = self._compiled.get(key)
        if known is None or not digest:
            if any(other != digest for _kind, other in self._compiled):
                self._compiled.clear()  # other vocabularies: the old validators are of no more use
            known = self._compiled[key] = (self.validator(kind, vocabularies), self.fast_validator(kind, vocabularies))
        return known

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

    def fast_validator(self, kind: str, vocabularies: Mapping[str, Vocabulary] | None = None) -> FastValidator | None:
        """The compiled twin of `validator`, or None when a schema has a pattern the engines may read differently."""
        if self.fast_registry is None:
            return None
        vocabularies = vocabularies or {}

        class VocabularyKeyword:
            def __init__(self, parent_schema: Any, vocabulary_id: Any, schema_path: Any) -> None:
                self.vocabulary = vocabularies.get(vocabulary_id) if isinstance(vocabulary_id, str) else None

            def validate(self, instance: Any) -> None:
                values = instance if isinstance(instance, list) else [instance]
                if self.vocabulary is not None and any(_not_a_term(value, self.vocabulary) for value in values):
                    raise ValueError("not a term of the vocabulary")

        class MarkdownKeyword:
            def __init__(self, parent_schema: Any, enabled: Any, schema_path: Any) -> None:
                self.enabled = enabled

            def validate(self, instance: Any) -> None:
                if _removed_markup(self.enabled, instance):
                    raise ValueError("markup is removed")

        validator = jsonschema_rs.Draft202012Validator(
            _rust_schema(self.schemas[kind]),
            registry=self.fast_registry,
            base_uri=f"{_FAST_BASE}{kind}.schema.json",
            keywords={"x-vocabulary": VocabularyKeyword, "x-markdown": MarkdownKeyword},
            formats={name: functools.partial(_conforms, name=name) for name in self.formats},
            validate_formats=True,
        )
        return FastValidator(validator)

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
    schemas: SchemaSet,
    validator: Draft202012Validator,
    document: SourceDocument,
    report: Report,
    warnings: list[tuple[JsonPath, str]] | None = None,
    fast: FastValidator | None = None,
) -> bool:
    """Validate one document against its kind's schema; report every error. True if clean.

    Warnings are also appended to `warnings`, so a cached result can report them again.
    A document the `fast` validator accepts has nothing to report (it fails on what would
    warn, too): only the others are walked by the Python validator, for the messages.
    """
    if fast is not None and fast.accepts(document.data):
        return True
    writer = SchemaErrorWriter(schemas, document, report)
    found = sorted(
        _leaf_errors(validator.iter_errors(document.data)),
        key=lambda e: (tuple(str(p) for p in e.absolute_path), str(e.validator)),
    )
    errors = [e for e in found if e.validator not in WARNING_KEYWORDS]
    for error in found:
        if error.validator in WARNING_KEYWORDS:
            path = tuple(error.absolute_path)
            message = f"field '{format_field(path)}': {error.message}"
            report.warning(document.path, document.position_of(path), message)
            if warnings is not None:
                warnings.append((path, message))
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
    vocabularies_digest: str = ""  # of the file both come from; "" when unknown
    # (kind, id) of the documents that are not the last corpus's very objects, when this corpus
    # is the last one patched (`_validated_again`); None: any may differ.
    edited: frozenset[tuple[str, str]] | None = None
    based_on: int = 0  # id() of the corpus `edited` is relative to (kept alive by whoever compares)

    def ids(self, kind: str) -> set[str]:
        return set(self.documents[kind])


# Entry file names found to be valid ids: asked for every file at every load.
_GOOD_NAMES: set[Path] = set()


def check_file_name(path: Path, report: Report) -> bool:
    if path in _GOOD_NAMES:
        return True
    if ID_PATTERN.match(path.stem):
        if len(_GOOD_NAMES) > 100_000:
            _GOOD_NAMES.clear()
        _GOOD_NAMES.add(path)
        return True
    suggestion = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")
    report.error(
        path,
        None,
        f"the file name '{path.name}' is not a valid id: rename it to '{suggestion}.yaml' "
        "(lowercase letters, digits and hyphens; the file name is the entry's id and URL)",
    )
    return False


# Kinds whose checks read only the entry itself and the sets of ids (a path's also reads its
# modules' prerequisites, so paths are always checked).
_SELF_CONTAINED = frozenset({"practice", "lesson", "module"})


@dataclass
class _Checked:
    """What the entry-by-entry cross checks found in the last run of this process, by (kind, id)
    with the file content checked: `csbp serve` checks again only the edited entries, while the
    ids of every kind and the date are unchanged."""

    ids: tuple[frozenset[str], ...] = ()
    today: dt.date | None = None
    found: dict[tuple[str, str], tuple[str, list[Diagnostic]]] = field(default_factory=dict)
    # Each entry's aliases when the ids were last found unique (None: they were not, or unknown).
    aliases: dict[tuple[str, str], tuple[Any, ...]] | None = None
    findings: set[tuple[str, str]] = field(default_factory=set)  # the entries of `found` with something found

    def start(self, ids: tuple[frozenset[str], ...], today: dt.date) -> None:
        self.ids, self.today, self.found, self.aliases, self.findings = ids, today, {}, None, set()


_CHECKED = _Checked()


class CrossChecker:
    """Rules that need the whole corpus: ids, links, quiz logic, review dates."""

    def __init__(self, corpus: Corpus, report: Report, today: dt.date) -> None:
        self.corpus = corpus
        self.report = report
        self.today = today
        self._known: dict[tuple[str, ...], set[str]] = {}  # ids by kinds linked to, built once

    def run(self, edited: set[tuple[str, str]] | None = None) -> None:
        """Every rule; with `edited` (the entries whose file changed since the last run, which had
        the same ids: `_validated_again`), the others' findings are repeated without a look at them."""
        if edited is not None and _CHECKED.today == self.today and _CHECKED.ids:
            self._run_edited(edited)
            return
        ids = tuple(frozenset(self.corpus.documents[kind]) for kind in KINDS)
        if _CHECKED.ids != ids or _CHECKED.today != self.today:
            _CHECKED.start(ids, self.today)
        found = _CHECKED.found  # the same ids: updated in place for the entries checked again
        checked: list[tuple[str, str]] = []
        for kind in KINDS:
            for entry_id, document in sorted(self.corpus.documents[kind].items()):
                known = found.get((kind, entry_id))
                if known is not None and known[0] == document.made_from and kind in _SELF_CONTAINED:
                    self.report.diagnostics.extend(known[1])
                    continue
                checked.append((kind, entry_id))
                self._check(kind, entry_id, document)
        self._check_unique_ids(checked)
        self._prerequisite_cycles()

    def _check(self, kind: str, entry_id: str, document: SourceDocument) -> None:
        """One entry's rules; what they found is kept for its next unchanged run."""
        first = len(self.report.diagnostics)
        self._lifecycle(kind, entry_id, document)
        getattr(self, f"_{kind}")(entry_id, document)
        found = self.report.diagnostics[first:]
        if document.digest:
            _CHECKED.found[(kind, entry_id)] = (document.made_from, found)
        else:
            _CHECKED.found.pop((kind, entry_id), None)
        if found and document.digest:
            _CHECKED.findings.add((kind, entry_id))
        else:
            _CHECKED.findings.discard((kind, entry_id))

    def _run_edited(self, edited: set[tuple[str, str]]) -> None:
        """`run` for the same ids as last time: the edited entries and the learning paths (whose
        rules read other entries) are checked again, the others' findings repeated."""
        documents = self.corpus.documents
        again = sorted(edited | {("path", entry_id) for entry_id in documents["path"]})
        for key in sorted(_CHECKED.findings - set(again)):
            self.report.diagnostics.extend(_CHECKED.found[key][1])
        for kind, entry_id in again:
            self._check(kind, entry_id, documents[kind][entry_id])
        self._check_unique_ids(again)
        self._prerequisite_cycles()

    def _check_unique_ids(self, checked: list[tuple[str, str]]) -> None:
        """`_unique_ids`, unless the ids are those of the last run, which were unique, and no entry
        checked again (the others have the same content) changed its aliases."""
        aliases = _CHECKED.aliases
        if aliases is not None and all(
            aliases.get(key) == tuple(self.corpus.documents[key[0]][key[1]].data.get("aliases", ())) for key in checked
        ):
            return
        errors = len(self.report.errors)
        self._unique_ids()
        _CHECKED.aliases = (
            {
                (kind, entry_id): tuple(document.data.get("aliases", ()))
                for kind in KINDS
                for entry_id, document in self.corpus.documents[kind].items()
            }
            if len(self.report.errors) == errors
            else None
        )

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


@dataclass
class Sources:
    """Every parsed file of a handbook, before schema validation."""

    vocabularies: SourceDocument | None
    entries: dict[str, list[SourceDocument]]


def load_sources(
    paths: HandbookPaths, report: Report, cache: SourceCache | None = None, changed: AbstractSet[str] | None = None
) -> Sources:
    """Stage 1: parse the vocabularies and every entry file (unchanged files come from `cache`;
    with `changed`, the paths reported changed since the last load, others are not even stat'ed)."""
    vocabulary_doc = load_yaml(paths.vocabularies, report, cache) if paths.vocabularies.is_file() else None
    if vocabulary_doc is None and not paths.vocabularies.is_file():
        report.error(
            paths.vocabularies,
            None,
            "the vocabularies file is missing: every handbook needs "
            "content/vocabularies.yaml defining its controlled terms",
        )
    entries: dict[str, list[SourceDocument]] = {}
    for kind in KINDS:
        kept = _kept_folder(paths, kind, report, cache, changed)
        if kept is not None:
            entries[kind] = kept
            continue
        strays = paths.stray_files(kind)
        for stray in strays:
            report.error(
                stray,
                None,
                f"'{stray.name}' is in {stray.parent.name}/ but is not a .yaml entry: "
                "rename it to end in .yaml, or move it out of the folder",
            )
        listed = paths.entry_files(kind)
        token = paths.listing_token(kind)
        files = [path for path in listed if check_file_name(path, report)]
        loaded = load_yaml_files(files, report, cache, changed)
        entries[kind] = [document for document in loaded if document is not None]
        if cache is not None and token is not None and not strays and len(files) == len(listed):
            kept = _KeptFolder(token, files, loaded)
            kept.recheck = {index for index, document in enumerate(loaded) if not _trusted(document, cache)}
            cache.folders[str(paths.kind_dir(kind))] = kept
    return Sources(vocabulary_doc, entries)


def _trusted(document: SourceDocument | None, cache: SourceCache) -> bool:
    """Whether the next load may take this document as it is unless told it changed."""
    return document is not None and str(document.path) in cache.stats


@dataclass
class _KeptFolder:
    """What a load made of one entry folder's listing: its files and what each loaded as."""

    token: object
    files: list[Path]
    loaded: list[SourceDocument | None]
    where: dict[str, int] = field(default_factory=dict)  # a file's place in `files`, by path
    recheck: set[int] = field(default_factory=set)  # places to load again anyway (`_trusted`)

    def __post_init__(self) -> None:
        self.where = {str(path): index for index, path in enumerate(self.files)}


def _kept_folder(
    paths: HandbookPaths, kind: str, report: Report, cache: SourceCache | None, changed: AbstractSet[str] | None
) -> list[SourceDocument] | None:
    """The folder's documents from the last load, with the reported files loaded again (and those
    whose stat is not trusted yet, or that did not load): when the folder's listing is the one
    that load read (no file added, removed or renamed, none misnamed) and the caller knows what
    changed (`csbp serve`'s watcher). None: load the folder file by file."""
    if changed is None or cache is None:
        return None
    kept: _KeptFolder | None = cache.folders.get(str(paths.kind_dir(kind)))
    if kept is None:
        return None
    if paths.listing_token(kind) is not kept.token:
        return None
    loaded = list(kept.loaded)
    again = kept.recheck | {kept.where[name] for name in changed if name in kept.where}
    for index in sorted(again):
        path = kept.files[index]
        loaded[index] = cache.unchanged(path, changed) or load_yaml(path, report, cache)
        if _trusted(loaded[index], cache):
            kept.recheck.discard(index)
        else:
            kept.recheck.add(index)
    kept.loaded = loaded
    return [document for document in loaded if document is not None]


@functools.cache
def default_schemas() -> SchemaSet:
    """The shipped schemas, read and compiled once per process."""
    return SchemaSet()


def validate_sources(
    sources: Sources,
    report: Report,
    today: dt.date,
    schemas: SchemaSet | None = None,
    cache: SourceCache | None = None,
) -> Corpus | None:
    """Stage 2: schema-validate every parsed file, then run the cross-entry rules.

    Entries with errors are left out of the corpus (after being reported) so that one
    broken file does not hide the problems of the others. A file that passed before with
    the same bytes, schemas and vocabularies is not validated again: its warnings are
    repeated from `cache`.
    """
    global _LAST_VALIDATED
    schemas = schemas or default_schemas()
    vocabulary_doc = sources.vocabularies
    if vocabulary_doc is None:
        return None
    if not _known_valid(vocabulary_doc, schemas.stamp, report, cache):
        warnings: list[tuple[JsonPath, str]] = []
        fast = schemas.fast_validator("vocabularies")
        if not validate_schema(schemas, schemas.validator("vocabularies"), vocabulary_doc, report, warnings, fast):
            return None
        _remember_valid(vocabulary_doc, schemas.stamp, warnings, cache)
    stamp = f"{schemas.stamp}:{vocabulary_doc.digest}"
    again = _validated_again(sources, report, today, stamp, schemas, cache)
    if again is not None:
        return again
    vocabularies = read_vocabularies(vocabulary_doc)
    accepted: set[Path] = set()
    first = len(report.diagnostics)
    pending: dict[str, list[SourceDocument]] = {kind: [] for kind in KINDS}
    for kind in KINDS:
        for document in sources.entries[kind]:
            if _known_valid(document, stamp, report, cache):
                accepted.add(document.path)
            else:
                pending[kind].append(document)
    markup.CACHE.prefetch(document.data for kind in KINDS for document in pending[kind])  # on every core
    for kind in KINDS:
        validator = fast = None
        for document in pending[kind]:
            if validator is None:
                validator, fast = schemas.compiled(kind, vocabularies, vocabulary_doc.digest)
            warnings: list[tuple[JsonPath, str]] = []
            if validate_schema(schemas, validator, document, report, warnings, fast):
                accepted.add(document.path)
                _remember_valid(document, stamp, warnings, cache)
    documents = {  # in file order, whichever way each was accepted
        kind: {d.entry_id: d for d in sources.entries[kind] if d.path in accepted} for kind in KINDS
    }
    _keep_live(vocabulary_doc, documents)
    corpus = Corpus(vocabularies, vocabulary_doc.data.get("glossary", {}), documents, vocabulary_doc.digest)
    _LAST_VALIDATED = None
    if cache is not None and len(accepted) == sum(len(docs) for docs in sources.entries.values()):
        warnings_by_path: dict[str, list[Diagnostic]] = {}
        for diagnostic in report.diagnostics[first:]:
            warnings_by_path.setdefault(str(diagnostic.path), []).append(diagnostic)
        _LAST_VALIDATED = _Validated(stamp, today, sources.entries, corpus, warnings_by_path)
    CrossChecker(corpus, report, today).run()
    return corpus


@dataclass
class _Validated:
    """The last schema stage of this process that accepted every file: `_validated_again` repeats it
    for the files that are the very same objects (an unchanged file, `SourceCache.unchanged`)."""

    stamp: str
    today: dt.date
    entries: dict[str, list[SourceDocument]]  # the documents it was given, by kind
    corpus: Corpus
    warnings: dict[str, list[Diagnostic]]  # what the schema stage warned about, by file


_LAST_VALIDATED: _Validated | None = None
_AGAIN_AT_MOST = 16  # edited files validated on their own; more: the full stage


def _validated_again(
    sources: Sources,
    report: Report,
    today: dt.date,
    stamp: str,
    schemas: SchemaSet,
    cache: SourceCache | None,
) -> Corpus | None:
    """`validate_sources` after an edit of a few files: the others are the very documents the last
    run accepted, so only the edited ones are validated, and the cross checks look at them alone.
    None (nothing reported) when the full stage must run: files added, removed or renamed, many
    edited, or an edited file that does not pass (the full stage reports it)."""
    global _LAST_VALIDATED
    last = _LAST_VALIDATED
    if last is None or cache is None or last.stamp != stamp or last.today != today:
        return None
    edited: list[tuple[str, SourceDocument]] = []
    for kind in KINDS:
        now, before = sources.entries[kind], last.entries[kind]
        if len(now) != len(before):
            return None
        for index in itertools.compress(itertools.count(), map(operator.is_not, now, before)):
            if now[index].path != before[index].path or len(edited) >= _AGAIN_AT_MOST:
                return None
            edited.append((kind, now[index]))
    first = len(report.diagnostics)
    warnings = dict(last.warnings)
    vocabularies = last.corpus.vocabularies
    for kind, document in edited:
        start = len(report.diagnostics)
        if not _known_valid(document, stamp, report, cache):
            validator, fast = schemas.compiled(kind, vocabularies, last.corpus.vocabularies_digest)
            found: list[tuple[JsonPath, str]] = []
            if not validate_schema(schemas, validator, document, report, found, fast):
                del report.diagnostics[first:]
                return None
            _remember_valid(document, stamp, found, cache)
        warnings[str(document.path)] = report.diagnostics[start:]
    edited_paths = {str(document.path) for _kind, document in edited}
    for path, diagnostics in warnings.items():
        if path not in edited_paths:
            report.diagnostics.extend(diagnostics)
    documents = {kind: dict(last.corpus.documents[kind]) for kind in KINDS}
    for kind, document in edited:
        documents[kind][document.entry_id] = document
    edited_keys = frozenset((kind, document.entry_id) for kind, document in edited)
    corpus = Corpus(
        vocabularies, last.corpus.glossary, documents, last.corpus.vocabularies_digest, edited_keys, id(last.corpus)
    )
    assert sources.vocabularies is not None  # `validate_sources` stops before without them
    _keep_live(sources.vocabularies, documents)
    _LAST_VALIDATED = _Validated(stamp, today, sources.entries, corpus, warnings)
    CrossChecker(corpus, report, today).run(set(edited_keys))
    return corpus


def _keep_live(vocabulary_doc: SourceDocument, documents: dict[str, dict[str, SourceDocument]]) -> None:
    """Tell the Markdown cache which data is in use (what it saves is what these hold)."""
    data_of = operator.attrgetter("data")
    markup.CACHE.live = [
        vocabulary_doc.data,
        *itertools.chain.from_iterable(map(data_of, documents[kind].values()) for kind in KINDS),
    ]


def _known_valid(document: SourceDocument, stamp: str, report: Report, cache: SourceCache | None) -> bool:
    """True if these bytes passed under the same `stamp` before; their warnings are reported again."""
    known = cache.valid.get(str(document.path)) if cache is not None else None
    if known is None or known[:2] != (document.digest, stamp):
        return False
    for path, message in known[2]:
        report.warning(document.path, document.position_of(path), message)
    return True


def _remember_valid(
    document: SourceDocument, stamp: str, warnings: list[tuple[JsonPath, str]], cache: SourceCache | None
) -> None:
    if cache is not None:
        cache.remember_valid(document.path, (document.digest, stamp, tuple(warnings)))


def validate_handbook(
    paths: HandbookPaths,
    report: Report,
    today: dt.date,
    schemas: SchemaSet | None = None,
    cache: SourceCache | None = None,
) -> Corpus | None:
    """Load and validate every file of a handbook; None if the vocabularies themselves are broken."""
    return validate_sources(load_sources(paths, report, cache), report, today, schemas, cache)
