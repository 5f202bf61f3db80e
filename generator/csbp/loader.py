"""Stage 1, load: read YAML files safely and know where every value stands.

Contributors' files are untrusted input. This loader refuses what YAML libraries accept
silently or fail on badly: oversized, binary and non-UTF-8 files, tabs, empty files,
duplicate keys, tags, merge keys, keys that are not text, alias expansion bombs and absurd
nesting. Each refusal names the line and column and says what to do.

Files are read as YAML 1.2's core schema reads them: only `true` and `false` are flags
(`yes`, `no`, `on` and `off` are text), `0o17` is octal, and dates stay text. PyYAML's
composer (libyaml's where present) builds the node tree, and one walk over it checks
the nodes and builds the data. Positions are worked out only when a diagnostic asks.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from csbp.config import KINDS, HandbookPaths
from csbp.diagnostics import Position, Report

MAX_FILE_BYTES = 1_000_000
MAX_ALIAS_USES = 20
MAX_FLOW_DEPTH = 64

JsonPath = tuple[str | int, ...]

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"


def _to_int(text: str) -> int:
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text)


def _to_float(text: str) -> float:
    if text.endswith(("inf", "Inf", "INF")):
        return -math.inf if text.startswith("-") else math.inf
    if text.endswith(("nan", "NaN", "NAN")):
        return math.nan
    return float(text)


# YAML 1.2's core schema: per scalar tag, what a contributor would call it, the plain texts
# that have it, the characters they start with ("" for the empty text) and their Python value.
_CORE_SCALARS: list[tuple[str, str, str, list[str], Callable[[str], Any]]] = [
    ("tag:yaml.org,2002:null", "an empty value", r"~|null|Null|NULL|", ["~", "n", "N", ""], lambda text: None),
    (
        "tag:yaml.org,2002:bool",
        "true or false",
        r"true|True|TRUE|false|False|FALSE",
        list("tTfF"),
        lambda text: text[0] in "tT",
    ),
    ("tag:yaml.org,2002:int", "a whole number", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", list("-+0123456789"), _to_int),
    (
        "tag:yaml.org,2002:float",
        "a number",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        list("-+.0123456789"),
        _to_float,
    ),
]
_SCALARS = {tag: (kind, re.compile(pattern), convert) for tag, kind, pattern, _first, convert in _CORE_SCALARS}


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader (libyaml's where present), resolving plain scalars by YAML 1.2's core schema."""


_Loader.yaml_implicit_resolvers = {}
for _tag, _kind, _pattern, _first, _convert in _CORE_SCALARS:
    _Loader.add_implicit_resolver(_tag, re.compile(rf"(?:{_pattern})\Z"), _first)
_Loader.add_implicit_resolver(_MERGE, re.compile(r"<<\Z"), ["<"])  # recognised only to be refused


@dataclass
class SourceDocument:
    """One parsed YAML file: its data, and where each value of it is written."""

    path: Path
    data: Any
    text: str = field(default="", repr=False)  # the text `data` was parsed from: positions are read from it

    @property
    def entry_id(self) -> str:
        """The entry's id: its file name without `.yaml`."""
        return self.path.stem

    def position_of(self, json_path: JsonPath, prefer_key: bool = False) -> Position:
        """Where the value at `json_path` (or its nearest ancestor) is written; with `prefer_key`,
        where the key of a mapping entry is written."""
        positions, key_positions = self._positions
        current = tuple(json_path)
        while True:
            if prefer_key and current in key_positions:
                return key_positions[current]
            if current in positions:
                return positions[current]
            if not current:
                return Position()
            current = current[:-1]

    @functools.cached_property
    def _positions(self) -> tuple[dict[JsonPath, Position], dict[JsonPath, Position]]:
        """Where each value and each mapping key is written, read from `text` when first asked."""
        return _map_positions(self.text)


class _Rejected(Exception):
    """Abandons a file; carries the position and the message for the contributor."""

    def __init__(self, position: Position, message: str) -> None:
        super().__init__(message)
        self.position = position
        self.message = message


def load_yaml(path: Path, report: Report) -> SourceDocument | None:
    """Parse one YAML file; on any problem, report it with its position and return None."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _Rejected(
                Position(),
                f"the file is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit "
                "for an entry: shorten it or split it into several entries",
            )
        text = _decode(path.read_bytes())
        data = _parse(text)
    except _Rejected as rejected:
        report.error(path, rejected.position, rejected.message)
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        report.error(
            path,
            _position(mark) if mark else None,
            f"YAML syntax error: {problem}: check indentation, colons and "
            "quotes on this line (text containing ': ' or starting with a symbol needs quotes)",
        )
        return None
    except yaml.YAMLError as exc:
        report.error(path, None, f"YAML error: {exc}: check the file's syntax")
        return None
    except OSError as exc:
        report.error(path, None, f"cannot read the file: {exc.strerror}")
        return None
    return SourceDocument(path=path, data=data, text=text)


def _position(mark: yaml.Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def _line_of_offset(raw: bytes, offset: int) -> Position:
    line = raw.count(b"\n", 0, offset) + 1
    column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    return Position(line, column)


# A tab among the spaces that start a line; lines end where str.splitlines() ends them.
_TAB_INDENT = re.compile("(?:^|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029])[ \t]*\t")


def _decode(raw: bytes) -> str:
    """The text of a file's bytes, refusing binary, non-UTF-8 and tab-indented files."""
    if b"\x00" in raw:
        raise _Rejected(
            _line_of_offset(raw, raw.index(b"\x00")),
            "this is a binary file, not YAML text: save the entry as UTF-8 text",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Rejected(
            _line_of_offset(raw, exc.start),
            f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x}): save it with UTF-8 encoding",
        ) from None
    text = text.removeprefix("\ufeff")
    if "\t" in text and _TAB_INDENT.search(text):
        for number, line in enumerate(text.splitlines(), start=1):
            indent = line[: len(line) - len(line.lstrip(" \t"))]
            if "\t" in indent:
                raise _Rejected(
                    Position(number, indent.index("\t") + 1),
                    "a tab is used for indentation: YAML needs spaces, replace the tab with spaces",
                )
    return text


def _too_deep(position: Position) -> _Rejected:
    return _Rejected(position, f"values are nested more than {MAX_FLOW_DEPTH} deep: simplify the structure")


def _screen_nesting(text: str) -> None:
    """Refuse nesting deeper than MAX_FLOW_DEPTH from the parser's events, which come from a loop,
    before the composer, which recurses once per level, could exhaust the C stack."""
    loader = _Loader(text)
    try:
        depth = 0
        while (event := loader.get_event()) is not None:
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_FLOW_DEPTH:
                    raise _too_deep(_position(event.start_mark))
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as error:
        if error.problem == "exceeded maximum nesting depth" and error.problem_mark:  # libyaml's own limit
            raise _too_deep(_position(error.problem_mark)) from None
        raise
    finally:
        loader.dispose()


def _parse(text: str) -> dict[str, Any]:
    """The data of an entry's text, or `_Rejected` (or a PyYAML error with its position) saying why not."""
    _screen_nesting(text)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    data = None if node is None else _Builder().build(node, 0)
    if data is None:
        raise _Rejected(Position(), "the file is empty: fill it in (`csbp new` writes a skeleton) or delete it")
    if not isinstance(data, dict):
        raise _Rejected(
            Position(),
            f"an entry must be a mapping of fields (`title: …`, `tlp: …`), not a {type(data).__name__}",
        )
    return data


class _Builder:
    """Turns a composed node tree into plain data, refusing what the module docstring lists."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.alias_uses = 0

    def build(self, node: yaml.Node, depth: int) -> Any:
        if id(node) in self.seen:
            self.alias_uses += 1
            if self.alias_uses > MAX_ALIAS_USES:
                raise _Rejected(
                    _position(node.start_mark),
                    f"YAML anchors are reused more than {MAX_ALIAS_USES} times: "
                    "write the values out instead of using aliases",
                )
        self.seen.add(id(node))
        if depth > MAX_FLOW_DEPTH:
            raise _too_deep(_position(node.start_mark))
        tag, kind = node.tag, type(node)
        if kind is yaml.ScalarNode:
            if tag == _STR:
                return node.value
            if tag in _SCALARS:
                return _scalar(node)
        elif kind is yaml.MappingNode:
            if tag == _MAP:
                return self._mapping(node, depth)
        elif tag == _SEQ:
            return [self.build(item, depth + 1) for item in node.value]
        raise _Rejected(
            _position(node.start_mark), f"the YAML tag {tag!r} is not allowed: remove it and write a plain value"
        )

    def _mapping(self, node: yaml.MappingNode, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag != _STR or type(key_node) is not yaml.ScalarNode:
                raise _key_problem(key_node)
            key = key_node.value
            if key in result:
                first = next(other for other, _ in node.value if other.value == key)
                raise _Rejected(
                    _position(key_node.start_mark),
                    f"the key '{key}' appears twice in the same mapping "
                    f"(first on line {first.start_mark.line + 1}): keep one and delete the other",
                )
            result[key] = self.build(value_node, depth + 1)
        return result


def _scalar(node: yaml.ScalarNode) -> Any:
    """The value of a null, bool, int or float scalar; an explicitly tagged text that does not
    read as its tag says is refused."""
    kind, pattern, convert = _SCALARS[node.tag]
    if pattern.fullmatch(node.value):
        try:
            return convert(node.value)
        except ValueError:  # a number too long for Python to read
            pass
    raise _Rejected(
        _position(node.start_mark),
        f"{node.value[:40]!r} cannot be read as {kind}: put it in quotes to keep it as text",
    )


def _key_problem(key_node: yaml.Node) -> _Rejected:
    """Why a key that is not plain text is refused."""
    where = _position(key_node.start_mark)
    if type(key_node) is not yaml.ScalarNode:
        return _Rejected(where, "a key must be plain text, not a list or mapping")
    if key_node.tag == _MERGE:
        return _Rejected(where, "YAML merge keys ('<<') are not supported: write the fields out")
    if key_node.tag not in _SCALARS:
        return _Rejected(where, f"the YAML tag {key_node.tag!r} is not allowed: remove it and write a plain value")
    return _Rejected(
        where,
        f"the key {_scalar(key_node)!r} is read as {_SCALARS[key_node.tag][0]}, not as text: "
        f'put it in quotes, as "{key_node.value}"',
    )


def _map_positions(text: str) -> tuple[dict[JsonPath, Position], dict[JsonPath, Position]]:
    """Where each value and each mapping key of a text that loaded is written (none for a text that does not)."""
    positions: dict[JsonPath, Position] = {}
    key_positions: dict[JsonPath, Position] = {}
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError:
        node = None
    finally:
        loader.dispose()
    todo: list[tuple[yaml.Node, JsonPath]] = [(node, ())] if node is not None else []
    while todo:
        node, path = todo.pop()
        positions[path] = _position(node.start_mark)
        if type(node) is yaml.MappingNode:
            for key_node, value_node in node.value:
                key_positions[(*path, key_node.value)] = _position(key_node.start_mark)
                todo.append((value_node, (*path, key_node.value)))
        elif type(node) is yaml.SequenceNode:
            todo.extend((item, (*path, index)) for index, item in enumerate(node.value))
    return positions, key_positions


ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def check_file_name(path: Path, report: Report) -> bool:
    """Whether the file name is a valid id; if not, report it with the name to use instead."""
    if ID_PATTERN.match(path.stem):
        return True
    suggestion = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")
    report.error(
        path,
        None,
        f"the file name '{path.name}' is not a valid id: rename it to '{suggestion}.yaml' "
        "(lowercase letters, digits and hyphens; the file name is the entry's id and URL)",
    )
    return False


@dataclass
class Sources:
    """Every parsed file of a handbook, before schema validation."""

    vocabularies: SourceDocument | None
    entries: dict[str, list[SourceDocument]]


def load_sources(paths: HandbookPaths, report: Report) -> Sources:
    """Stage 1: parse the vocabularies and every entry file; report files that are not entries."""
    vocabulary_doc = load_yaml(paths.vocabularies, report) if paths.vocabularies.is_file() else None
    if vocabulary_doc is None and not paths.vocabularies.is_file():
        report.error(
            paths.vocabularies,
            None,
            "the vocabularies file is missing: every handbook needs "
            "content/vocabularies.yaml defining its controlled terms",
        )
    entries: dict[str, list[SourceDocument]] = {}
    for kind in KINDS:
        for stray in paths.stray_files(kind):
            report.error(
                stray,
                None,
                f"'{stray.name}' is in {stray.parent.name}/ but is not a .yaml entry: "
                "rename it to end in .yaml, or move it out of the folder",
            )
        loaded = (load_yaml(path, report) for path in paths.entry_files(kind) if check_file_name(path, report))
        entries[kind] = [document for document in loaded if document is not None]
    return Sources(vocabulary_doc, entries)
