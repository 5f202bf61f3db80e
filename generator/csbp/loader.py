"""Stage 1, load: read YAML files safely and know where every value stands.

Contributors' files are untrusted input. This loader refuses what the YAML libraries
accept silently or fail on badly: oversized, binary and non-UTF-8 files, tabs, empty
files, duplicate keys, tags, merge keys, keys that are not text, alias expansion bombs
and absurd nesting. The line and column of every value and key, so later stages can
point at them, are worked out only for a file that gets a diagnostic: most files get
none, and mapping positions costs as much as building the data.

Files are read as YAML 1.2 (`yes`, `no`, `on` and `off` are text; only `true` and `false`
are flags), with dates kept as text. yaml-rs (Rust) builds the data, six times faster
than libyaml's composer with PyYAML's constructor; PyYAML's node-by-node check (`_Builder`)
looks first at a text that may hold what yaml-rs would take silently (a tag, very deep
nesting), and explains with a position whatever yaml-rs turns down.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
import yaml_rs

from csbp import cachefile
from csbp.config import FileStamp, settled, stamp_fields
from csbp.diagnostics import Position, Report

MAX_FILE_BYTES = 1_000_000
MAX_ALIAS_USES = 20
MAX_FLOW_DEPTH = 64

JsonPath = tuple[str | int, ...]

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader (libyaml when available) that keeps dates as text.

    JSON Schema validates dates as strings (`format: date`), and keeping the text avoids
    YAML 1.1 turning `2026-02-30` into a crash instead of a clear error.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_STR = "tag:yaml.org,2002:str"
_ALLOWED_TAGS = {
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


@dataclass
class SourceDocument:
    """One parsed YAML file: its data and the position of every value and key in it."""

    path: Path
    data: Any
    positions: dict[JsonPath, Position] = field(default_factory=dict)
    key_positions: dict[JsonPath, Position] = field(default_factory=dict)
    digest: str = ""
    positions_pending: bool = False  # positions are worked out when first needed
    text: str | None = field(default=None, repr=False)  # the parsed text; None: read the file again

    @property
    def made_from(self) -> str:
        """The file and the digest of its content: what later stages key what they made of it by."""
        made_from = self.__dict__.get("_made_from")
        if made_from is None or made_from[0] != self.digest:
            made_from = self.__dict__["_made_from"] = (self.digest, f"{self.path}:{self.digest}")
        return made_from[1]

    @functools.cached_property
    def entry_id(self) -> str:
        """The entry's id: its file name without `.yaml` (asked for every file at every load)."""
        return self.path.stem

    def position_of(self, json_path: JsonPath, prefer_key: bool = False) -> Position:
        """Where the value at `json_path` (or its nearest ancestor) is written."""
        if self.positions_pending:
            self.positions_pending = False
            self._map_positions()
        current = tuple(json_path)
        while True:
            if prefer_key and current in self.key_positions:
                return self.key_positions[current]
            if current in self.positions:
                return self.positions[current]
            if not current:
                return Position()
            current = current[:-1]

    def _map_positions(self) -> None:
        """Record the position of every value and key, from the text the data was parsed from
        (or, for data from the cache, the file); a file that no longer parses gives none."""
        text = self.text
        self.text = None
        try:
            if text is None:
                if self.path.stat().st_size > MAX_FILE_BYTES:
                    return
                text = _check_text(self.path.read_bytes())
            loader = _Loader(text)
            try:
                node = loader.get_single_node()
                if node is not None:
                    _Builder(loader, keys_checked=False).build(node)  # bounds first: the file may have changed
                    _record_positions(node, (), self)
            finally:
                loader.dispose()
        except (_Rejected, yaml.YAMLError, OSError, RecursionError):
            pass


class _Rejected(Exception):
    """Raised inside the loader to abandon a file; carries the position and message."""

    def __init__(self, position: Position, message: str) -> None:
        super().__init__(message)
        self.position = position
        self.message = message


def _mark(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _line_of_offset(raw: bytes, offset: int) -> Position:
    line = raw.count(b"\n", 0, offset) + 1
    column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    return Position(line, column)


# A tab among the spaces that start a line; lines end where str.splitlines() ends them.
_TAB_INDENT = re.compile("(?:^|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029])[ \t]*\t")
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


def _check_text(raw: bytes) -> str:
    """Decode and pre-screen the bytes of a file, before any YAML parsing."""
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
    depth = deepest = 0
    if text.count("[") + text.count("{") > MAX_FLOW_DEPTH:  # else they cannot nest too deep
        for char in _NOT_A_BRACKET.sub("", text):  # cheap guard against "[[[[…" that exhausts the parser's stack
            if char in "[{":
                depth += 1
                deepest = max(deepest, depth)
            elif char in "]}":
                depth = max(depth - 1, 0)
    if deepest > MAX_FLOW_DEPTH:
        raise _Rejected(Position(), f"brackets are nested more than {MAX_FLOW_DEPTH} deep: simplify the structure")
    return text


# What yaml-rs may not be given unchecked: a tag (a `!` where a node may start), which it would
# drop or apply silently, and the makings of nesting deep enough to exhaust its stack (about
# 10,000 levels with an 8 MB stack). Each block level needs a deeper indentation or a compact
# `- `/`? ` indicator, so a text indented less than _DEEP_INDENT with fewer than _INDICATORS
# `-` and `?` characters nests at most about 1,300 levels (brackets are bounded by `_check_text`).
# A false alarm only costs the node check's time; the nesting rule itself is `_unsupported`'s.
_TAG = re.compile(r"(?<![^\s\[\]{},:?-])!")
_DEEP_INDENT = "\n" + " " * 250
_INDICATORS = 1000


def _needs_node_check(text: str) -> bool:
    return (
        ("!" in text and _TAG.search(text) is not None)
        or text.count("-") + text.count("?") >= _INDICATORS
        or _DEEP_INDENT in text
        or text.startswith(_DEEP_INDENT[1:])
    )


_NO_ALIASES = yaml_rs.AliasLimits(max_alias_expansions_per_anchor=0)
_CHECKED_ALIASES = yaml_rs.AliasLimits(max_alias_expansions_per_anchor=MAX_ALIAS_USES)
_PARSER_PLACE = re.compile(r"line (\d+), column (\d+)")


def _parse(text: str) -> Any:
    """The data of a YAML text, or `_Rejected` (or a PyYAML error, with its position) saying why not."""
    if _needs_node_check(text):
        _check_nodes(text)
    try:
        data = yaml_rs.loads(text, parse_datetime=False, alias_limits=_NO_ALIASES)
    except yaml_rs.YAMLDecodeError:
        _check_nodes(text)  # PyYAML's message and position for what both turn down; aliases are counted
        try:
            data = yaml_rs.loads(text, parse_datetime=False, alias_limits=_CHECKED_ALIASES)
        except yaml_rs.YAMLDecodeError as error:
            raise _rejected_by_parser(error) from None
    if data is None:
        raise _Rejected(Position(), "the file is empty: fill it in (`csbp new` writes a skeleton) or delete it")
    problem = _unsupported(data) if isinstance(data, dict) else None
    if problem is not None or isinstance(data, list):
        _check_nodes(text)  # explains a key that is not text, a merge key, several documents, with a position
    if problem is not None:  # read so by YAML 1.2 only
        raise _Rejected(_position_in(text, problem[0]), problem[1])
    return data


def _check_nodes(text: str) -> None:
    """PyYAML's node-by-node check of a text (`_Builder`): raises what it refuses, with its position."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _Builder(loader).build(node)
    finally:
        loader.dispose()


_CONTAINERS = (dict, list)
_KEY_KINDS = {int: "a whole number", float: "a number", bool: "true or false", type(None): "an empty value"}


def _unsupported(data: dict[str, Any]) -> tuple[JsonPath, str] | None:
    """What parsed data holds that an entry may not, and where: a key that is not text, a merge key
    (`<<`), values nested more than MAX_FLOW_DEPTH deep (the rules `_Builder` applies to nodes)."""
    todo: list[tuple[Any, JsonPath]] = [(data, ())]
    while todo:
        value, path = todo.pop()
        if value and len(path) >= MAX_FLOW_DEPTH:
            return path, f"values are nested more than {MAX_FLOW_DEPTH} deep: simplify the structure"
        if type(value) is dict:
            for key in value:
                if type(key) is not str:
                    return path, (
                        f"the key {key!r} is read as {_KEY_KINDS.get(type(key), 'a list')}, not as text: "
                        "put it in quotes"
                    )
                if key == "<<":
                    return path, "YAML merge keys ('<<') are not supported: write the fields out"
            todo.extend((item, (*path, key)) for key, item in value.items() if type(item) in _CONTAINERS)
        elif type(value) is list:
            todo.extend((item, (*path, index)) for index, item in enumerate(value) if type(item) in _CONTAINERS)
    return None


def _position_in(text: str, path: JsonPath) -> Position:
    """Where the value at `path` is written in a text the node check accepted."""
    found = SourceDocument(path=Path(), data=None, text=text, positions_pending=True)
    return found.position_of(path)


def _rejected_by_parser(error: yaml_rs.YAMLDecodeError) -> _Rejected:
    """A text only yaml-rs turns down (YAML 1.2 is stricter here than PyYAML's 1.1), as a clear error."""
    lines = [line for line in str(error).splitlines() if line.strip()]
    place = _PARSER_PLACE.search(lines[0]) if lines else None
    problem = lines[-1].strip() if lines else "the file cannot be read as YAML"
    return _Rejected(
        Position(int(place[1]), int(place[2])) if place else Position(),
        f"YAML syntax error: {problem}: check indentation, colons and quotes on this line "
        "(text containing ': ' or starting with a symbol needs quotes)",
    )


class _Builder:
    """Turns a composed node tree into plain data, refusing what the module docstring lists."""

    def __init__(self, loader: yaml.BaseLoader, keys_checked: bool = True) -> None:
        self.loader = loader
        self.seen: set[int] = set()
        self.alias_uses = 0
        # False: keys are not checked for being text (positions of a file yaml-rs read as YAML 1.2,
        # where `yes:` is a text key that YAML 1.1 reads as a flag), only aliases and depth.
        self.keys_checked = keys_checked

    def build(self, node: yaml.Node, depth: int = 0) -> Any:
        if id(node) in self.seen:
            self.alias_uses += 1
            if self.alias_uses > MAX_ALIAS_USES:
                raise _Rejected(
                    _mark(node),
                    f"YAML anchors are reused more than {MAX_ALIAS_USES} times: "
                    "write the values out instead of using aliases",
                )
        self.seen.add(id(node))
        if depth > MAX_FLOW_DEPTH:
            raise _Rejected(_mark(node), f"values are nested more than {MAX_FLOW_DEPTH} deep: simplify the structure")
        tag = node.tag
        if tag not in _ALLOWED_TAGS:
            raise _Rejected(_mark(node), f"the YAML tag {tag!r} is not allowed: remove it and write a plain value")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, depth + 1) for item in node.value]
        if tag == _STR:
            return node.value  # what the constructor returns for text, without its bookkeeping
        return self.loader.construct_object(node)

    def _mapping(self, node: yaml.MappingNode, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Rejected(_mark(key_node), "a key must be plain text, not a list or mapping")
            if key_node.tag == "tag:yaml.org,2002:merge" and self.keys_checked:
                raise _Rejected(_mark(key_node), "YAML merge keys ('<<') are not supported: write the fields out")
            key = key_node.value
            if key_node.tag != _STR and self.keys_checked:
                raise _Rejected(
                    _mark(key_node),
                    f"the key {key!r} is read as a {key_node.tag.rsplit(':', 1)[-1]}, "
                    f'not as text: put it in quotes, as "{key}"',
                )
            if key in result:
                first = next(_mark(other) for other, _ in node.value if other.value == key)
                raise _Rejected(
                    _mark(key_node),
                    f"the key '{key}' appears twice in the same mapping "
                    f"(first on line {first.line}): keep one and delete the other",
                )
            result[key] = self.build(value_node, depth + 1)
        return result


def _record_positions(node: yaml.Node, path: JsonPath, document: SourceDocument) -> None:
    """The positions of a node tree the builder accepted (so aliases and depth are bounded)."""
    document.positions.setdefault(path, _mark(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            document.key_positions.setdefault((*path, key_node.value), _mark(key_node))
            _record_positions(value_node, (*path, key_node.value), document)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_positions(item, (*path, index), document)


class SourceCache:
    """Parsed data of files already read, by path and content digest, kept between builds.

    A file whose bytes are unchanged is not parsed again: its data comes from here and its
    line numbers are read only if a later stage reports a problem in it. Schema validation
    results are kept the same way (`valid`), under a stamp of everything they depend on.
    """

    VERSION = "2"

    def __init__(self) -> None:
        self.parsed: dict[str, tuple[str, Any]] = {}
        self.valid: dict[str, tuple[str, str, tuple[tuple[JsonPath, str], ...]]] = {}
        self.used: set[str] = set()
        self.dirty = True  # saved only when something new was read: a quiet rebuild writes nothing
        self.saved_keys: set[str] = set()  # the files the cache file on disk holds
        self.stats: dict[str, tuple[FileStamp, str]] = {}  # in memory only: the digest of a file as last read
        self.documents: dict[str, SourceDocument] = {}  # in memory only: what `unchanged` last handed out
        # In memory only, by entry folder: what the last load made of its listing (`load_sources`).
        self.folders: dict[str, Any] = {}

    def digest_by_stat(self, path: Path, status: os.stat_result) -> str | None:
        """The digest of the file as this process last read it, if its stat shows no change since."""
        known = self.stats.get(str(path))
        return known[1] if known is not None and known[0] == FileStamp.of(status) else None

    def unchanged(self, path: Path, changed: AbstractSet[str] | None = None) -> SourceDocument | None:
        """The file as this process last read and parsed it, if its stat shows no change since:
        `load_yaml`'s first steps for the common case of `csbp serve`, where all files but the
        edited one are unchanged (one stat and three lookups, nothing read). With `changed`,
        the files the operating system reported changed since the last load (`watch.py`),
        a file not among them is taken as it was without a stat."""
        key = str(path)
        known = self.stats.get(key)
        if known is None:
            return None
        hit = self.parsed.get(key)
        if changed is None or key in changed:
            try:
                status = os.stat(key)
            except OSError:
                return None
            if known[0] != stamp_fields(status):
                return None
        if hit is None or hit[0] != known[1]:
            return None
        self.used.add(key)
        document = self.documents.get(key)
        if document is None or document.data is not hit[1] or document.digest != known[1] or document.path is not path:
            document = self.documents[key] = SourceDocument(
                path=path, data=hit[1], digest=known[1], positions_pending=True
            )
        return document  # the same object while the file is unchanged: what it worked out is kept

    def remember_document(self, document: SourceDocument) -> None:
        """The document a load made of a file: `unchanged` hands out this very object while the file
        is unchanged, so later stages pass it over by identity (a first edit as later ones)."""
        self.documents[str(document.path)] = document

    def remember_stat(self, path: Path, status: os.stat_result, digest: str) -> None:
        """Trust the stat next time, unless the file was modified too recently to tell a later
        write in the same clock tick from this one (git's "racy clean" problem): then it is read again."""
        if settled(status.st_mtime_ns):
            self.stats[str(path)] = (FileStamp.of(status), digest)
        else:
            self.stats.pop(str(path), None)

    def data(self, path: Path, digest: str) -> Any:
        key = str(path)
        self.used.add(key)
        hit = self.parsed.get(key)
        return hit[1] if hit and hit[0] == digest else None

    def store(self, document: SourceDocument) -> None:
        self.parsed[str(document.path)] = (document.digest, document.data)
        self.dirty = True

    def remember_valid(self, path: Path, verdict: tuple[str, str, tuple[tuple[JsonPath, str], ...]]) -> None:
        """Keep a schema verdict (digest, stamp, warnings) for the file's next unchanged bytes."""
        if self.valid.get(str(path)) != verdict:
            self.valid[str(path)] = verdict
            self.dirty = True

    def load(self, path: Path) -> None:
        """Take over what an earlier build saved; a missing, forged, stale or malformed file is ignored."""
        data = cachefile.read(path, _SOURCE_STAMP)
        if data is None:
            return
        parsed, valid = data.get("parsed"), data.get("valid")
        if not isinstance(parsed, dict) or not isinstance(valid, dict):
            return
        for key, item in parsed.items():
            if isinstance(item, list) and len(item) == 2 and _is_digest(item[0]) and isinstance(item[1], dict):
                self.parsed[key] = (item[0], item[1])
        for key, item in valid.items():
            verdict = _valid_from_json(item)
            if verdict is not None:
                self.valid[key] = verdict
        self.saved_keys = set(parsed) | set(valid)
        self.dirty = False

    def save(self, path: Path) -> None:
        """Write the files used since the last save, unless the file on disk already holds just that."""
        written = {key for key in self.used if key in self.parsed or key in self.valid}
        if not self.dirty and written == self.saved_keys:
            return
        self.dirty = False
        self.saved_keys = written
        parsed = {key: list(self.parsed[key]) for key in sorted(self.used) if key in self.parsed}
        valid = {
            key: [digest, stamp, [[list(where), message] for where, message in warnings]]
            for key in sorted(self.used)
            if key in self.valid
            for digest, stamp, warnings in [self.valid[key]]
        }
        cachefile.write(path, _SOURCE_STAMP, {"parsed": parsed, "valid": valid})


def _is_digest(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _valid_from_json(item: Any) -> tuple[str, str, tuple[tuple[JsonPath, str], ...]] | None:
    """A saved validation verdict [digest, stamp, [[path, message], ...]] as the cache holds it, or None."""
    if not (isinstance(item, list) and len(item) == 3 and _is_digest(item[0]) and isinstance(item[1], str)):
        return None
    if not isinstance(item[2], list):
        return None
    warnings: list[tuple[JsonPath, str]] = []
    for warning in item[2]:
        if not (isinstance(warning, list) and len(warning) == 2 and isinstance(warning[1], str)):
            return None
        where = warning[0]
        if not isinstance(where, list) or not all(
            isinstance(part, str) or (isinstance(part, int) and not isinstance(part, bool)) for part in where
        ):
            return None
        warnings.append((tuple(where), warning[1]))
    return item[0], item[1], tuple(warnings)


# Saved parses are reused only by the same loader code and YAML libraries.
_SOURCE_STAMP = (
    f"{SourceCache.VERSION}:{yaml.__version__}:{getattr(yaml_rs, '__version__', '')}:"
    f"{hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]}"
)


def load_yaml_files(
    paths: list[Path], report: Report, cache: SourceCache | None = None, changed: AbstractSet[str] | None = None
) -> list[SourceDocument | None]:
    """`load_yaml` for each file, in this process: with yaml-rs, parsing a file costs about what
    sending its data back from a forked worker would. `changed`: as for `SourceCache.unchanged`."""
    if cache is None:
        return [load_yaml(path, report) for path in paths]
    return [cache.unchanged(path, changed) or load_yaml(path, report, cache) for path in paths]


def load_yaml(path: Path, report: Report, cache: SourceCache | None = None) -> SourceDocument | None:
    """Parse one YAML file; on any problem, report it with its position and return None.

    With a `cache`, a file whose bytes were parsed before is not parsed again, and a file
    whose stat is unchanged since this process last read it is not even read. A file that does
    not load is not trusted by its stat afterwards: it is looked at, and reported, every time.
    """
    document = _load_yaml(path, report, cache)
    if cache is not None:
        if document is None:
            cache.stats.pop(str(path), None)
        else:
            cache.remember_document(document)
    return document


def _load_yaml(path: Path, report: Report, cache: SourceCache | None) -> SourceDocument | None:
    document = SourceDocument(path=path, data=None)
    try:
        status = path.stat()
        if status.st_size > MAX_FILE_BYTES:
            raise _Rejected(
                Position(),
                f"the file is {status.st_size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit "
                "for an entry: shorten it or split it into several entries",
            )
        if cache is not None:
            unchanged = cache.digest_by_stat(path, status)
            cached = cache.data(path, unchanged) if unchanged is not None else None
            if cached is not None:
                document.digest, document.data, document.positions_pending = unchanged, cached, True
                return document
        raw = path.read_bytes()
        document.digest = hashlib.sha256(raw).hexdigest()
        if cache is not None:
            cache.remember_stat(path, status, document.digest)
            cached = cache.data(path, document.digest)
            if cached is not None:
                document.data, document.positions_pending = cached, True
                return document
        text = _check_text(raw)
        document.data = _parse(text)
        document.text, document.positions_pending = text, True
    except _Rejected as rejected:
        report.error(path, rejected.position, rejected.message)
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = Position(mark.line + 1, mark.column + 1) if mark else Position()
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        report.error(
            path,
            position,
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
    if not isinstance(document.data, dict):
        report.error(
            path,
            Position(),
            f"an entry must be a mapping of fields (`title: …`, `tlp: …`), not a {type(document.data).__name__}",
        )
        return None
    if cache is not None:
        cache.store(document)
    return document
