"""Stage 3, model: typed entries with every cross-link resolved and every backlink computed.

Templates only read this model; nothing here knows about HTML or MkDocs. The audience
filter is applied while the model is built, so an excluded entry never exists in any
later stage: no page, index row, backlink, search record or export can mention it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csbp.config import KIND_URL
from csbp.diagnostics import Diagnostic, Report
from csbp.loader import SourceDocument
from csbp.validate import Corpus, Vocabulary, add_months

TLP_ORDER = ("TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED")
AUDIENCES: dict[str, frozenset[str]] = {
    "public": frozenset({"TLP:CLEAR"}),
    "community": frozenset({"TLP:CLEAR", "TLP:GREEN"}),
    "members": frozenset({"TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT"}),
}
AUDIENCE_MARKING = {"public": "TLP:CLEAR", "community": "TLP:GREEN", "members": "TLP:AMBER"}

# Practice facets: vocabulary id -> the practice attribute holding its terms.
FACETS: tuple[tuple[str, str], ...] = (
    ("pillar", "pillars"),
    ("dimension", "dimensions"),
    ("sector", "sectors"),
    ("environment", "environments"),
    ("threat", "threats"),
    ("psems", "psems"),
    ("evidence", "evidence_levels"),
)
_FACET_ATTRIBUTES = dict(FACETS)


@dataclass(frozen=True)
class Term:
    vocabulary: str
    id: str
    label: str
    description: str
    synonyms: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()

    @property
    def src(self) -> str:
        return f"browse/{self.vocabulary}/{self.id}.md"


@dataclass(frozen=True)
class Reference:
    title: str
    publisher: str
    year: int
    type: Term
    url: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class HistoryItem:
    date: dt.date
    change: str
    note: str | None


@dataclass(eq=False, repr=False)
class Entry:
    """Fields every kind shares: identity, marking and review lifecycle."""

    kind: str
    id: str
    title: str
    tlp: str
    summary: str
    owner: str
    status: Term | None
    last_reviewed: dt.date
    review_interval_months: int
    source: Path
    aliases: tuple[str, ...] = ()
    history: tuple[HistoryItem, ...] = ()
    # Its kind, id, title and history in one line: what What's new shows of it, made once per
    # file content, so that page's fingerprint does not go through every history item each time.
    history_line: str = ""
    replaced_by: Entry | None = None
    replaces: list[Entry] = field(default_factory=list)

    def __repr__(self) -> str:  # short: entries link each other in cycles (backlinks)
        return f"<{type(self).__name__} {self.id}>"

    @functools.cached_property
    def src(self) -> str:
        """The page's path in the docs tree; MkDocs serves it at /<kind>/<id>/ (an entry's kind
        and id never change)."""
        return f"{KIND_URL[self.kind]}/{self.id}.md"

    @property
    def url(self) -> str:
        return f"{KIND_URL[self.kind]}/{self.id}/"

    @property
    def review_due(self) -> dt.date:
        return add_months(self.last_reviewed, self.review_interval_months)

    @property
    def retired(self) -> bool:
        return self.status is not None and self.status.id == "retired"

    @property
    def added(self) -> dt.date:
        dates = [item.date for item in self.history if item.change == "added"]
        return min(dates) if dates else self.last_reviewed


@dataclass(eq=False, repr=False)
class Practice(Entry):
    pillars: list[Term] = field(default_factory=list)
    dimensions: list[Term] = field(default_factory=list)
    sectors: list[Term] = field(default_factory=list)
    environments: list[Term] = field(default_factory=list)
    threats: list[Term] = field(default_factory=list)
    psems: list[Term] = field(default_factory=list)
    evidence_level: Term | None = None
    evidence_note: str = ""
    context: str = ""
    practice: str = ""
    implementation: list[str] = field(default_factory=list)
    indicators: list[str] = field(default_factory=list)
    pitfalls: list[str] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    related: list[Practice] = field(default_factory=list)
    # Backlinks, computed:
    related_by: list[Practice] = field(default_factory=list)
    cited_by_lessons: list[Lesson] = field(default_factory=list)
    taught_by_modules: list[Module] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    # The (vocabulary, term id) pairs it carries, each once, in FACETS order: made with its own
    # fields (once per file content), so the facet index is a few appends per practice.
    facet_keys: tuple[tuple[str, str], ...] = ()

    @property
    def evidence_levels(self) -> list[Term]:
        return [self.evidence_level] if self.evidence_level else []

    def facet_terms(self, vocabulary: str) -> list[Term]:
        return getattr(self, _FACET_ATTRIBUTES[vocabulary])


@dataclass(frozen=True)
class Incident:
    name: str
    date: dt.date
    end_date: dt.date | None
    place: str
    sector: Term
    type: Term


@dataclass(eq=False, repr=False)
class LessonPoint:
    text: str
    practices: list[Practice]


@dataclass(eq=False, repr=False)
class Lesson(Entry):
    incident: Incident | None = None
    what_happened: str = ""
    what_worked: list[str] = field(default_factory=list)
    what_failed: list[str] = field(default_factory=list)
    lessons: list[LessonPoint] = field(default_factory=list)
    sources: list[Reference] = field(default_factory=list)
    read_in_modules: list[Module] = field(default_factory=list)

    @property
    def practices(self) -> list[Practice]:
        return _unique(p for point in self.lessons for p in point.practices)


@dataclass(eq=False, repr=False)
class Question:
    id: str
    type: str
    prompt: str
    explanation: str
    practice: Practice | None
    options: list[dict[str, Any]] = field(default_factory=list)
    answer: bool | None = None
    feedback_true: str = ""
    feedback_false: str = ""
    items: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DiscussionItem:
    """A discussion question; `points` are for the trainer pack only."""

    question: str
    points: tuple[str, ...] = ()


@dataclass(eq=False, repr=False)
class Module(Entry):
    audience: list[Term] = field(default_factory=list)
    level: Term | None = None
    duration_minutes: int = 0
    pass_mark: int = 80
    objectives: list[str] = field(default_factory=list)
    prerequisites: list[Module] = field(default_factory=list)
    reading: list[Entry] = field(default_factory=list)
    sections: list[dict[str, str]] = field(default_factory=list)
    discussion: list[DiscussionItem] = field(default_factory=list)
    trainer_notes: str = ""
    scenario: dict[str, Any] | None = None
    questions: list[Question] = field(default_factory=list)
    draw: int | None = None
    required_by: list[Module] = field(default_factory=list)
    in_paths: list[LearningPath] = field(default_factory=list)

    @property
    def trainer_src(self) -> str:
        """The trainer pack, a page of its own so the answer key is never under the learner's quiz."""
        return f"{KIND_URL['module']}/{self.id}/trainer.md"

    @property
    def handout_src(self) -> str:
        return f"{KIND_URL['module']}/{self.id}/handout.md"


@dataclass(frozen=True)
class PathStep:
    module: Module
    why: str | None


@dataclass(eq=False, repr=False)
class LearningPath(Entry):
    """An ordered sequence of modules for one role (content/paths/)."""

    role: Term | None = None
    introduction: str = ""
    steps: list[PathStep] = field(default_factory=list)

    @property
    def duration_minutes(self) -> int:
        return sum(step.module.duration_minutes for step in self.steps)


@dataclass
class Handbook:
    """The whole validated, audience-filtered handbook, ready to render."""

    audience: str
    today: dt.date
    vocabularies: Mapping[str, Vocabulary]
    terms: dict[str, dict[str, Term]]
    glossary: list[Term]
    practices: dict[str, Practice]
    lessons: dict[str, Lesson]
    modules: dict[str, Module]
    paths: dict[str, LearningPath]
    excluded: list[Entry]

    def content_epoch(self) -> int:
        """Seconds since 1970 of the newest date in the content: a build date that depends only on it."""
        dates = [e.last_reviewed for e in self.entries()] + [h.date for e in self.entries() for h in e.history]
        newest = max(dates, default=dt.date(2000, 1, 1))
        return int(dt.datetime(newest.year, newest.month, newest.day, tzinfo=dt.UTC).timestamp())

    def entries(self) -> list[Entry]:
        return [*self.practices.values(), *self.lessons.values(), *self.modules.values(), *self.paths.values()]

    def of_kind(self, kind: str) -> Mapping[str, Entry]:
        """The entries of one kind, by id."""
        by_kind: dict[str, Mapping[str, Entry]] = {
            "practice": self.practices,
            "lesson": self.lessons,
            "module": self.modules,
            "path": self.paths,
        }
        return by_kind[kind]

    def practices_with(self, vocabulary: str, term_id: str) -> list[Practice]:
        """The practices carrying a term, by title (as listings show them). The index's own list,
        not a copy (callers must not change it): pages ask for its length thousands of times, and
        the page cache knows a listing by the very list (`Fingerprints.listing`)."""
        return self._facet_index.get((vocabulary, term_id)) or []

    def cell(self, pillar: str, dimension: str) -> list[Practice]:
        """The practices of one pillar and dimension, by title (the index's own list, not a copy)."""
        return self._cell_index.get((pillar, dimension)) or []

    @functools.cached_property
    def practices_by_title(self) -> list[Practice]:
        """Practices as every listing shows them: by title, case-insensitively (ties in model order)."""
        return sorted(self.practices.values(), key=lambda p: p.title.lower())

    @functools.cached_property
    def _cell_index(self) -> dict[tuple[str, str], list[Practice]]:
        """Practices by (pillar, dimension), by title: the home page asks for every cell."""
        index: dict[tuple[str, str], list[Practice]] = {}
        for practice in self.practices_by_title:
            pillars = [term for vocabulary, term in practice.facet_keys if vocabulary == "pillar"]
            dimensions = [term for vocabulary, term in practice.facet_keys if vocabulary == "dimension"]
            for pillar in pillars:
                for dimension in dimensions:
                    index.setdefault((pillar, dimension), []).append(practice)
        return index

    @functools.cached_property
    def _facet_index(self) -> dict[tuple[str, str], list[Practice]]:
        """Practices by facet term, by title, built once: pages ask for them thousands of times, and
        the term pages list them in this order without sorting each list again."""
        index: dict[tuple[str, str], list[Practice]] = {}
        for practice in self.practices_by_title:
            for key in practice.facet_keys:
                index.setdefault(key, []).append(practice)
        return index


ENTRY_TYPES: dict[str, type[Entry]] = {"practice": Practice, "lesson": Lesson, "module": Module, "path": LearningPath}


@dataclass
class _Made:
    """What model building keeps between runs of one process for the same vocabularies (`stamp`):
    the terms, each entry's own fields by (kind, id) with the file and digest they were made from,
    and practices' keywords by the file content they were made from. Other vocabularies start it afresh."""

    stamp: str
    terms: dict[str, dict[str, Term]] = field(default_factory=dict)
    fields: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    used: set[tuple[str, str]] = field(default_factory=set)
    keywords: dict[str, list[str]] = field(default_factory=dict)  # by "path:digest", as `fields`
    questions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # a module's, by "path:digest"
    last: _LastBuild | None = None

    def finish(self) -> None:
        """Forget entries whose file is gone (or renamed), and keywords of contents no longer there."""
        if not self.used.issuperset(self.fields.keys()):
            self.fields = {key: made for key, made in self.fields.items() if key in self.used}
        self.used = set()
        if len(self.keywords) + len(self.questions) > len(self.fields):
            current = {made_from for made_from, _fields in self.fields.values()}
            self.keywords = {source: words for source, words in self.keywords.items() if source in current}
            self.questions = {source: made for source, made in self.questions.items() if source in current}


_MADE = _Made("")

# The handbook's indexes (cached properties) that depend only on the practices' titles and facet
# terms, and on which entries there are: taken over by a patched handbook while those stay put.
_INDEXES = ("practices_by_title", "_facet_index", "_cell_index")

# At most this many edited entries are patched into the last handbook (`ModelBuilder._patched`):
# the edits of a `csbp serve` session; more, and the handbook is built anew.
_PATCH_AT_MOST = 16

# The source fields the links between entries are made from, by kind: an edit that changes none
# of them (nor the marking, nor replaced_by) changes no link.
_LINK_FIELDS = {
    "practice": ("related",),
    "lesson": ("lessons",),
    "module": ("prerequisites", "reading", "quiz"),
    "path": ("steps",),
}


def _same_links(kind: str, before: Mapping[str, Any], after: Mapping[str, Any], *but: str) -> bool:
    """Whether two versions of an entry's source make the same links (and marking), but for
    the link fields named in `but`."""
    names = ("tlp", "replaced_by", *_LINK_FIELDS[kind])
    return all(before.get(name) == after.get(name) for name in names if name not in but)


@dataclass
class _LastBuild:
    """The last handbook this process built for the same vocabularies, with what it was built
    from: each entry's file content and parsed data, and the warnings the building gave."""

    audience: str
    today: dt.date
    made_from: dict[tuple[str, str], str]
    data: dict[tuple[str, str], Any]
    handbook: Handbook
    warnings: list[Diagnostic]
    # The documents by kind and id as last seen: an unchanged file is the very same object
    # (`SourceCache.unchanged`), so most are passed over by identity alone.
    documents: dict[tuple[str, str], Any] = field(default_factory=dict)
    excluded: list[Entry] | None = None  # the records `_excluded_entries` made last


def _made_for(stamp: str) -> _Made:
    """The kept model parts for these vocabularies; an empty stamp (unknown vocabularies) keeps nothing."""
    global _MADE
    if _MADE.stamp != stamp or not stamp:
        _MADE = _Made(stamp)
    return _MADE


def _new(kind: type[Any], fields: Mapping[str, Any]) -> Any:
    """`kind(**fields)` for a dataclass without `__post_init__`, in a fraction of the time (`csbp
    serve` makes every entry anew after each edit): the fields set directly, the ones not given
    from their defaults, a fresh list for each `default_factory`."""
    made = object.__new__(kind)
    values = made.__dict__
    for name, default, factory in _defaults(kind, frozenset(fields)):
        values[name] = factory() if factory is not None else default
    values.update(fields)
    return made


@functools.cache
def _defaults(kind: type[Any], given: frozenset[str]) -> tuple[tuple[str, Any, Callable[[], Any] | None], ...]:
    """The fields of `kind` not in `given`, with their default or default factory; a TypeError,
    as the dataclass's own constructor raises, if one has neither or `given` names an unknown field."""
    if hasattr(kind, "__post_init__"):
        raise TypeError(f"{kind.__name__} has a __post_init__, which _new would skip")
    names = {item.name for item in dataclasses.fields(kind)}
    if given - names:
        raise TypeError(f"{kind.__name__} has no field {sorted(given - names)[0]!r}")
    left: list[tuple[str, Any, Callable[[], Any] | None]] = []
    for item in dataclasses.fields(kind):
        if item.name in given:
            continue
        if item.default_factory is not dataclasses.MISSING:
            left.append((item.name, None, item.default_factory))
        elif item.default is not dataclasses.MISSING:
            left.append((item.name, item.default, None))
        else:
            raise TypeError(f"{kind.__name__} needs its field {item.name!r}")
    return tuple(left)


def _unique(items: Iterable[Any]) -> list[Any]:
    seen: dict[int, Any] = {}
    for item in items:
        seen.setdefault(id(item), item)
    return list(seen.values())


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


class ModelBuilder:
    """Turns a validated corpus into a linked `Handbook` for one audience."""

    def __init__(self, corpus: Corpus, audience: str, today: dt.date, report: Report) -> None:
        self.corpus = corpus
        self.allowed = AUDIENCES[audience]
        self.audience = audience
        self.today = today
        self.report = report
        self.made = _made_for(corpus.vocabularies_digest)
        self.patched_only: list[SourceDocument] | None = None  # the edited documents, when `_patched` made the model
        self.terms: dict[str, dict[str, Term]] = self.made.terms or {
            vid: {
                tid: Term(
                    vid,
                    tid,
                    body["label"],
                    body["description"],
                    tuple(body.get("synonyms", ())),
                    tuple(body.get("abbreviations", ())),
                )
                for tid, body in vocabulary.terms.items()
            }
            for vid, vocabulary in corpus.vocabularies.items()
        }
        self.made.terms = self.terms

    def _entry(self, kind: str, entry_id: str, document: SourceDocument) -> Any:
        """A new entry object of one file, with its own fields (`_own_fields`); the links between
        entries are set on the new objects by `build`."""
        return _new(ENTRY_TYPES[kind], self._own_fields(kind, entry_id, document))

    def _own_fields(self, kind: str, entry_id: str, document: SourceDocument) -> dict[str, Any]:
        """An entry's own fields: made once per file content (and vocabularies) and kept, so
        `csbp serve` makes only the edited file's again."""
        make = {"practice": self._practice, "lesson": self._lesson, "module": self._module, "path": self._path}[kind]
        made_from = self._made_from(kind, entry_id)
        if made_from is None:
            return make(entry_id, document.data, document.path)
        known = self.made.fields.get((kind, entry_id))
        if known is None or known[0] != made_from:
            known = self.made.fields[(kind, entry_id)] = (made_from, make(entry_id, document.data, document.path))
        self.made.used.add((kind, entry_id))
        return known[1]

    def _made_from(self, kind: str, entry_id: str) -> str | None:
        """The file content what is made of an entry is kept under; None when nothing is kept
        (unknown vocabularies, or a document without a digest)."""
        document = self.corpus.documents[kind].get(entry_id)
        return document.made_from if self.made.stamp and document is not None and document.digest else None

    def _keywords(self, handbook: Handbook, practices: list[Practice] | None = None) -> None:
        """`_attach_keywords` for these practices (all by default), keeping them per practice file
        content while the vocabularies stay."""
        ids = [p.id for p in practices] if practices is not None else list(handbook.practices)
        made_from = {pid: self._made_from("practice", pid) for pid in ids}
        kept = {pid: source for pid, source in made_from.items() if source is not None}
        _attach_keywords(handbook, self.made.keywords if self.made.stamp else None, kept, practices)

    def term(self, vocabulary: str, term_id: str) -> Term:
        return self.terms[vocabulary][term_id]

    def term_list(self, vocabulary: str, ids: Iterable[str]) -> list[Term]:
        return [self.term(vocabulary, t) for t in ids]

    def reference(self, data: Mapping[str, Any]) -> Reference:
        return Reference(
            data["title"],
            data["publisher"],
            data["year"],
            self.term("source-type", data["type"]),
            data.get("url"),
            data.get("note"),
        )

    def common(self, kind: str, entry_id: str, data: Mapping[str, Any], source: Path) -> dict[str, Any]:
        fields = self._common(kind, entry_id, data, source)
        # Set even when empty: a patched entry takes over only the fields given (`_patched`).
        fields["history_line"] = repr((kind, entry_id, fields["title"], fields["history"])) if fields["history"] else ""
        return fields

    def _common(self, kind: str, entry_id: str, data: Mapping[str, Any], source: Path) -> dict[str, Any]:
        return {
            "kind": kind,
            "id": entry_id,
            "title": data["title"],
            "tlp": data["tlp"],
            "summary": data["summary"],
            "owner": data["owner"],
            "status": self.term("status", data["status"]) if "status" in data else None,
            "last_reviewed": _date(data["last_reviewed"]),
            "review_interval_months": data["review_interval_months"],
            "source": source,
            "aliases": tuple(data.get("aliases", ())),
            "history": tuple(
                HistoryItem(_date(h["date"]), h["change"], h.get("note")) for h in data.get("history", ())
            ),
        }

    def build(self) -> Handbook:
        """The linked handbook: the last one of this process patched when an edit changed no
        link (`_patched`), else built anew (`_built`)."""
        patched = self._patched()
        if patched is not None:
            return patched
        first_diagnostic = len(self.report.diagnostics)
        handbook = self._built()
        if self.made.stamp and all(doc.digest for docs in self.corpus.documents.values() for doc in docs.values()):
            documents = {(kind, eid): doc for kind, docs in self.corpus.documents.items() for eid, doc in docs.items()}
            self.made.last = _LastBuild(
                self.audience,
                self.today,
                {key: doc.made_from for key, doc in documents.items()},
                {key: doc.data for key, doc in documents.items()},
                handbook,
                self.report.diagnostics[first_diagnostic:],
                documents,  # the first edit after a build passes its unchanged files by identity too
            )
        else:
            self.made.last = None
        return handbook

    def _patched(self) -> Handbook | None:
        """The last handbook with the edited entries' own fields made anew, if every edit left
        the entry's links, marking and id as they were (a summary, a text, a date): then every
        link between entries, and every warning about one, is as last time, and the entries can
        stay the objects they were. A practice whose related practices alone changed is relinked
        in place (`_relink`). None when the handbook must be built anew."""
        last = self.made.last
        if last is None or (last.audience, last.today) != (self.audience, self.today) or not self.made.stamp:
            return None
        documents = self.corpus.documents
        previous = last.handbook
        changed: list[tuple[str, str, SourceDocument]] = []
        relinked: list[str] = []
        seen = last.documents
        count = 0
        for kind, docs in documents.items():
            count += len(docs)
            for eid, doc in docs.items():
                if seen.get((kind, eid)) is doc:
                    continue  # the very object of the last run: the same file content
                if not doc.digest:
                    return None
                if last.made_from.get((kind, eid)) != doc.made_from:
                    before = last.data.get((kind, eid))
                    if len(changed) >= _PATCH_AT_MOST or before is None:
                        return None
                    if not _same_links(kind, before, doc.data):
                        if (
                            kind != "practice"
                            or last.excluded is None
                            or not _same_links(kind, before, doc.data, "related")
                        ):
                            return None
                        relinked.append(eid)  # only its related practices changed: patched too (`_relink`)
                    changed.append((kind, eid, doc))
                seen[(kind, eid)] = doc
        if 2 * len(changed) > len(last.data):
            return None  # most of it changed (or this is another handbook with the same ids)
        if count != len(last.data) or any((kind, eid) not in last.data for kind, eid, _doc in changed):
            return None  # an entry added, removed or renamed (every id found is one of the last run's)
        if len(seen) != count:
            return None
        same_order = True  # no practice's title or facet terms changed: the listings' indexes hold
        self.patched_only = [doc for _kind, _eid, doc in changed]
        for kind, eid, doc in changed:
            last.made_from[(kind, eid)] = doc.made_from
            last.data[(kind, eid)] = doc.data
            if doc.data["tlp"] not in self.allowed:
                continue  # left out of this audience, as it was (its marking is part of the signature)
            entry = previous.of_kind(kind)[eid]
            own = self._own_fields(kind, eid, doc)
            if isinstance(entry, Practice):
                same_order &= (own["title"], own["facet_keys"]) == (entry.title, entry.facet_keys)
            entry.__dict__.update(own)
            if isinstance(entry, Module):  # its questions' links, and warnings about them, are as they were
                entry.questions = self._questions(entry, doc.data["quiz"]["questions"], previous.practices, set())
        if relinked and last.excluded is not None:
            practices = [previous.practices[eid] for eid in relinked if eid in previous.practices]
            self._relink(last, previous, last.excluded, practices)
        self.made.used.update(last.made_from)
        self.report.diagnostics.extend(last.warnings)
        handbook = Handbook(
            self.audience,
            self.today,
            self.corpus.vocabularies,
            self.terms,
            previous.glossary,
            previous.practices,
            previous.lessons,
            previous.modules,
            previous.paths,
            excluded=[],
        )
        if same_order:
            for name in _INDEXES:
                if name in previous.__dict__:
                    handbook.__dict__[name] = previous.__dict__[name]
        edited = [
            previous.practices[eid] for kind, eid, _doc in changed if kind == "practice" and eid in previous.practices
        ]
        self._keywords(handbook, edited)  # the others keep theirs: the same objects, the same content
        self.made.finish()
        last.handbook = handbook
        return handbook

    def _resolve(
        self,
        by_kind: Mapping[str, Mapping[str, Entry]],
        excluded_ids: Mapping[str, set[str]],
        source: Entry,
        kinds: tuple[str, ...],
        target: str,
    ) -> Any:
        """The entry a link of `source` points to, of one of `kinds`; None, with a warning, when
        it is left out of this audience."""
        for kind in kinds:
            if target in by_kind[kind]:
                return by_kind[kind][target]
        hidden = next((k for k in kinds if target in excluded_ids[k]), None)
        if hidden:
            self.report.warning(
                source.source,
                None,
                f"link from '{source.id}' to {hidden} '{target}' dropped: "
                f"'{target}' is not part of the {self.audience} audience",
            )
        return None

    def _relink(self, last: _LastBuild, handbook: Handbook, excluded: list[Entry], relinked: list[Practice]) -> None:
        """Patch the related practices of practices whose `related` list was edited (nothing else
        of their links): their targets' backlinks, in the order a full build gives them (by
        the linking practice's place), and the warnings about their links, made again."""
        by_kind = {"practice": handbook.practices, "lesson": handbook.lessons, "module": handbook.modules}
        by_kind["path"] = handbook.paths
        excluded_ids: dict[str, set[str]] = {kind: set() for kind in by_kind}
        for entry in excluded:
            excluded_ids[entry.kind].add(entry.id)
        place = {pid: index for index, pid in enumerate(handbook.practices)}
        sources = {practice.source for practice in relinked}
        kept = [d for d in last.warnings if d.path not in sources]
        report, self.report = self.report, Report()
        try:
            for practice in relinked:
                for other in practice.related:
                    other.related_by[:] = [p for p in other.related_by if p is not practice]
                data = self.corpus.documents["practice"][practice.id].data
                if "replaced_by" in data:  # unchanged: only its warning is made again
                    self._resolve(by_kind, excluded_ids, practice, ("practice",), data["replaced_by"])
                targets = (
                    self._resolve(by_kind, excluded_ids, practice, ("practice",), t) for t in data.get("related", ())
                )
                practice.related = [t for t in targets if t is not None]
                for other in practice.related:
                    at = next((i for i, p in enumerate(other.related_by) if place[p.id] > place[practice.id]), None)
                    other.related_by.insert(len(other.related_by) if at is None else at, practice)
            last.warnings = kept + self.report.diagnostics
        finally:
            self.report = report

    def _built(self) -> Handbook:
        documents = self.corpus.documents
        included = {
            kind: {eid: doc for eid, doc in docs.items() if doc.data["tlp"] in self.allowed}
            for kind, docs in documents.items()
        }
        excluded_ids = {kind: set(docs) - set(included[kind]) for kind, docs in documents.items()}

        practices: dict[str, Practice] = {
            eid: self._entry("practice", eid, doc) for eid, doc in included["practice"].items()
        }
        lessons: dict[str, Lesson] = {eid: self._entry("lesson", eid, doc) for eid, doc in included["lesson"].items()}
        modules: dict[str, Module] = {eid: self._entry("module", eid, doc) for eid, doc in included["module"].items()}
        paths: dict[str, LearningPath] = {eid: self._entry("path", eid, doc) for eid, doc in included["path"].items()}
        by_kind: dict[str, Mapping[str, Entry]] = {
            "practice": practices,
            "lesson": lessons,
            "module": modules,
            "path": paths,
        }

        def resolve(source: Entry, kinds: tuple[str, ...], target: str) -> Any:
            return self._resolve(by_kind, excluded_ids, source, kinds, target)

        def resolve_all(source: Entry, kinds: tuple[str, ...], targets: Iterable[str]) -> list[Any]:
            return [e for e in (resolve(source, kinds, t) for t in targets) if e is not None]

        for entry in [*practices.values(), *lessons.values(), *modules.values(), *paths.values()]:
            data = documents[entry.kind][entry.id].data
            if "replaced_by" in data:
                entry.replaced_by = resolve(entry, (entry.kind,), data["replaced_by"])
                if entry.replaced_by is not None:
                    entry.replaced_by.replaces.append(entry)

        for practice in practices.values():
            data = documents["practice"][practice.id].data
            practice.related = resolve_all(practice, ("practice",), data.get("related", ()))
            for other in practice.related:
                other.related_by.append(practice)
        for lesson in lessons.values():
            data = documents["lesson"][lesson.id].data
            lesson.lessons = [
                LessonPoint(point["lesson"], resolve_all(lesson, ("practice",), point["practices"]))
                for point in data["lessons"]
            ]
            for practice in lesson.practices:
                practice.cited_by_lessons.append(lesson)
        for module in modules.values():
            data = documents["module"][module.id].data
            module.prerequisites = resolve_all(module, ("module",), data.get("prerequisites", ()))
            for prerequisite in module.prerequisites:
                prerequisite.required_by.append(module)
            module.reading = resolve_all(module, ("practice", "lesson"), data["reading"])
            for item in module.reading:
                (item.taught_by_modules if isinstance(item, Practice) else item.read_in_modules).append(module)
            module.questions = self._questions(module, data["quiz"]["questions"], practices, excluded_ids["practice"])
            for practice in _unique(q.practice for q in module.questions if q.practice):
                if module not in practice.taught_by_modules:
                    practice.taught_by_modules.append(module)
        for learning_path in paths.values():
            for step in documents["path"][learning_path.id].data["steps"]:
                module = resolve(learning_path, ("module",), step["module"])
                if module is not None:
                    learning_path.steps.append(PathStep(module, step.get("why")))
                    module.in_paths.append(learning_path)

        glossary = [
            Term(
                "glossary",
                key,
                body["label"],
                body["description"],
                tuple(body.get("synonyms", ())),
                tuple(body.get("abbreviations", ())),
            )
            for key, body in sorted(self.corpus.glossary.items(), key=lambda kv: kv[0].lower())
        ]
        handbook = Handbook(
            self.audience,
            self.today,
            self.corpus.vocabularies,
            self.terms,
            glossary,
            practices,
            lessons,
            modules,
            paths,
            excluded=[],
        )
        self._keywords(handbook)
        self.made.finish()
        return handbook

    def _path(self, entry_id: str, data: Mapping[str, Any], source: Path) -> dict[str, Any]:
        return dict(
            **self.common("path", entry_id, data, source),
            role=self.term("role", data["role"]),
            introduction=data.get("introduction", ""),
        )

    def _practice(self, entry_id: str, data: Mapping[str, Any], source: Path) -> dict[str, Any]:
        fields = self._practice_fields(entry_id, data, source)
        fields["facet_keys"] = tuple(
            dict.fromkeys(
                (vocabulary, term.id)
                for vocabulary, attribute in FACETS
                for term in (fields[attribute] if attribute in fields else [fields["evidence_level"]])
            )
        )
        return fields

    def _practice_fields(self, entry_id: str, data: Mapping[str, Any], source: Path) -> dict[str, Any]:
        return dict(
            **self.common("practice", entry_id, data, source),
            pillars=self.term_list("pillar", data["pillars"]),
            dimensions=self.term_list("dimension", data["dimensions"]),
            sectors=self.term_list("sector", data["sectors"]),
            environments=self.term_list("environment", data["environments"]),
            threats=self.term_list("threat", data["threats"]),
            psems=self.term_list("psems", data["psems"]),
            evidence_level=self.term("evidence", data["evidence"]["level"]),
            evidence_note=data["evidence"]["note"],
            context=data["context"],
            practice=data["practice"],
            implementation=list(data["implementation"]),
            indicators=list(data["indicators"]),
            pitfalls=list(data["pitfalls"]),
            references=[self.reference(r) for r in data["references"]],
        )

    def _lesson(self, entry_id: str, data: Mapping[str, Any], source: Path) -> dict[str, Any]:
        incident = data["incident"]
        return dict(
            **self.common("lesson", entry_id, data, source),
            incident=Incident(
                incident["name"],
                _date(incident["date"]),
                _date(incident["end_date"]) if "end_date" in incident else None,
                incident["place"],
                self.term("sector", incident["sector"]),
                self.term("incident-type", incident["type"]),
            ),
            what_happened=data["what_happened"],
            what_worked=list(data["what_worked"]),
            what_failed=list(data["what_failed"]),
            sources=[self.reference(r) for r in data["sources"]],
        )

    def _module(self, entry_id: str, data: Mapping[str, Any], source: Path) -> dict[str, Any]:
        return dict(
            **self.common("module", entry_id, data, source),
            audience=self.term_list("role", data["audience"]),
            level=self.term("level", data["level"]),
            duration_minutes=data["duration_minutes"],
            pass_mark=data.get("pass_mark", 80),
            objectives=list(data["objectives"]),
            sections=list(data["sections"]),
            discussion=[
                DiscussionItem(item)
                if isinstance(item, str)
                else DiscussionItem(item["question"], tuple(item["points"]))
                for item in data.get("discussion", ())
            ],
            trainer_notes=data.get("trainer_notes", ""),
            scenario=data.get("scenario"),
            draw=data["quiz"].get("draw"),
        )

    def _questions(
        self, module: Module, questions: list[Mapping[str, Any]], practices: Mapping[str, Practice], excluded: set[str]
    ) -> list[Question]:
        """The module's questions, linked to this run's practices; their own fields are made once
        per module file content, as the entries' are."""
        made_from = self._made_from("module", module.id)
        own = self.made.questions.get(made_from) if made_from is not None else None
        if own is None:
            own = [self._question_fields(q) for q in questions]
            if made_from is not None:
                self.made.questions[made_from] = own
        return [
            _new(Question, {**fields, "practice": self._question_practice(module, q, practices, excluded)})
            for q, fields in zip(questions, own, strict=True)
        ]

    def _question_practice(
        self, module: Module, data: Mapping[str, Any], practices: Mapping[str, Practice], excluded: set[str]
    ) -> Practice | None:
        practice = practices.get(data["practice"])
        if practice is None and data["practice"] in excluded:
            self.report.warning(
                module.source,
                None,
                f"quiz question '{data['id']}' of '{module.id}': link to practice "
                f"'{data['practice']}' dropped: it is not part of the {self.audience} audience",
            )
        return practice

    @staticmethod
    def _question_fields(data: Mapping[str, Any]) -> dict[str, Any]:
        return dict(
            id=data["id"],
            type=data["type"],
            prompt=data["prompt"],
            explanation=data["explanation"],
            options=[
                {"text": o["text"], "correct": bool(o.get("correct", False)), "feedback": o["feedback"]}
                for o in data.get("options", ())
            ],
            answer=data.get("answer"),
            feedback_true=data.get("feedback_true", ""),
            feedback_false=data.get("feedback_false", ""),
            items=list(data.get("items", ())),
        )


def _attach_keywords(
    handbook: Handbook,
    known: dict[str, list[str]] | None = None,
    made_from: Mapping[str, str] | None = None,
    practices: Iterable[Practice] | None = None,
) -> None:
    """Search keywords per practice: abbreviations of its terms, synonyms of its specific terms
    (environment, threat, PSeMS element), and the abbreviations of glossary entries and of any
    vocabulary term (roles included) whose spelled-out form appears anywhere in its text, so a
    search for 'HVM' or 'PFSO' finds a practice that only writes the words out. With `known`
    (kept while the vocabularies are unchanged) and `made_from` (by practice id, the file content
    it was made from), a practice made from the same content as before gets its keywords from
    there, without its text being joined and read again."""
    made_from = made_from or {}
    todo: list[Practice] = []
    for practice in handbook.practices.values() if practices is None else practices:
        source = made_from.get(practice.id)
        kept = known.get(source) if known is not None and source is not None else None
        if kept is not None:
            practice.keywords = list(kept)
        else:
            todo.append(practice)
    if not todo:
        return
    specific = {"environment", "threat", "psems"}
    abbreviated = [t for terms in handbook.terms.values() for t in terms.values() if t.abbreviations]
    spotter = _PhraseSpotter([entry.label for entry in handbook.glossary] + [term.label for term in abbreviated])
    glossary_keys = [(_phrase_key(entry.label), entry) for entry in handbook.glossary]  # once, not per practice
    abbreviated_keys = [(_phrase_key(term.label), term) for term in abbreviated]
    for practice in todo:
        parts = [practice.title, practice.summary, practice.context, practice.practice]
        text = " ".join(parts + practice.implementation + practice.indicators + practice.pitfalls)
        words: list[str] = []
        for vocabulary, _attribute in FACETS:
            for term in practice.facet_terms(vocabulary):
                words.extend(term.abbreviations)
                if vocabulary in specific:
                    words.extend(term.synonyms)
        mentioned = spotter.find(text)
        for key, entry in glossary_keys:
            if key in mentioned:
                words.extend((entry.id, *entry.abbreviations, *entry.synonyms))
        for key, term in abbreviated_keys:
            if key in mentioned:
                words.extend(term.abbreviations)
        practice.keywords = sorted(dict.fromkeys(words), key=str.lower)
        source = made_from.get(practice.id)
        if known is not None and source is not None:
            known[source] = list(practice.keywords)


_WORD = re.compile(r"\w+")


def _phrase_key(label: str) -> str:
    return " ".join(_WORD.findall(label.lower()))


class _PhraseSpotter:
    """Which of many labels a text mentions as whole words ('port facility' is not in 'airport
    facility'), in one pass over the text's words rather than one regex per label."""

    def __init__(self, labels: Iterable[str]) -> None:
        self.phrases = {key for key in map(_phrase_key, labels) if key}
        self.first_words = {phrase.split(" ", 1)[0] for phrase in self.phrases}
        self.lengths = sorted({phrase.count(" ") + 1 for phrase in self.phrases})

    def find(self, text: str) -> set[str]:
        words = _WORD.findall(text.lower())
        found: set[str] = set()
        for start, word in enumerate(words):
            if word in self.first_words:
                for length in self.lengths:
                    phrase = " ".join(words[start : start + length])
                    if phrase in self.phrases:
                        found.add(phrase)
        return found


def build_model(corpus: Corpus, audience: str, today: dt.date, report: Report) -> Handbook:
    builder = ModelBuilder(corpus, audience, today, report)
    handbook = builder.build()
    last, edited = builder.made.last, builder.patched_only
    kept = last.excluded if last is not None and edited is not None else None
    if kept is not None and edited is not None and all(doc.data["tlp"] in builder.allowed for doc in edited):
        handbook.excluded = kept  # no entry left out by marking was edited
        return handbook
    handbook.excluded = _excluded_entries(corpus, handbook)
    if last is not None:
        last.excluded = handbook.excluded
    return handbook


def _excluded_entries(corpus: Corpus, handbook: Handbook) -> list[Entry]:
    """Minimal records of entries left out of this audience, for the leak check."""
    kept = {(e.kind, e.id) for e in handbook.entries()}
    return [
        Entry(
            kind=kind,
            id=eid,
            title=doc.data["title"],
            tlp=doc.data["tlp"],
            summary=doc.data["summary"],
            owner=doc.data["owner"],
            status=None,
            last_reviewed=_date(doc.data["last_reviewed"]),
            review_interval_months=doc.data["review_interval_months"],
            source=doc.path,
        )
        for kind, docs in sorted(corpus.documents.items())
        for eid, doc in sorted(docs.items())
        if (kind, eid) not in kept
    ]
