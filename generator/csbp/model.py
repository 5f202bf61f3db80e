"""Stage 3, model: typed entries with every cross-link resolved and every backlink computed.

Templates only read this model; nothing here knows about HTML or MkDocs. The audience
filter is applied while the model is built, so an excluded entry never exists in any
later stage: no page, index row, backlink, search record or export can mention it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csbp.config import KIND_URL
from csbp.diagnostics import Report
from csbp.validate import Corpus, Vocabulary, add_months

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
    replaced_by: Entry | None = None
    replaces: list[Entry] = field(default_factory=list)

    def __repr__(self) -> str:  # short: entries link each other in cycles (backlinks)
        return f"<{type(self).__name__} {self.id}>"

    @property
    def src(self) -> str:
        """The page's path in the docs tree; MkDocs serves it at /<kind>/<id>/."""
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

    def practices_with(self, vocabulary: str, term_id: str) -> list[Practice]:
        """The practices carrying a term, by title, as listings show them (the index's own list: do not change it)."""
        return self._facet_index.get((vocabulary, term_id)) or []

    def cell(self, pillar: str, dimension: str) -> list[Practice]:
        """The practices of one pillar and dimension, by title (the index's own list: do not change it)."""
        return self._cell_index.get((pillar, dimension)) or []

    @functools.cached_property
    def practices_by_title(self) -> list[Practice]:
        """Practices as every listing shows them: by title, case-insensitively (ties in model order)."""
        return sorted(self.practices.values(), key=lambda p: p.title.lower())

    @functools.cached_property
    def _facet_index(self) -> dict[tuple[str, str], list[Practice]]:
        """Practices by (vocabulary, term id), each list by title."""
        index: dict[tuple[str, str], list[Practice]] = {}
        for practice in self.practices_by_title:
            keys = {(vocabulary, t.id): None for vocabulary, _ in FACETS for t in practice.facet_terms(vocabulary)}
            for key in keys:
                index.setdefault(key, []).append(practice)
        return index

    @functools.cached_property
    def _cell_index(self) -> dict[tuple[str, str], list[Practice]]:
        """Practices by (pillar, dimension), each list by title."""
        index: dict[tuple[str, str], list[Practice]] = {}
        for practice in self.practices_by_title:
            for pillar in dict.fromkeys(t.id for t in practice.pillars):
                for dimension in dict.fromkeys(t.id for t in practice.dimensions):
                    index.setdefault((pillar, dimension), []).append(practice)
        return index


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
        self.terms: dict[str, dict[str, Term]] = {
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
        """The fields every kind shares."""
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

    def build(self) -> Handbook:
        """The linked handbook: entries of this audience, their links, backlinks and keywords."""
        documents = self.corpus.documents
        included = {
            kind: {eid: doc for eid, doc in docs.items() if doc.data["tlp"] in self.allowed}
            for kind, docs in documents.items()
        }
        excluded_ids = {kind: set(docs) - set(included[kind]) for kind, docs in documents.items()}
        practices: dict[str, Practice] = {
            eid: Practice(**self._practice(eid, doc.data, doc.path)) for eid, doc in included["practice"].items()
        }
        lessons: dict[str, Lesson] = {
            eid: Lesson(**self._lesson(eid, doc.data, doc.path)) for eid, doc in included["lesson"].items()
        }
        modules: dict[str, Module] = {
            eid: Module(**self._module(eid, doc.data, doc.path)) for eid, doc in included["module"].items()
        }
        paths: dict[str, LearningPath] = {
            eid: LearningPath(**self._path(eid, doc.data, doc.path)) for eid, doc in included["path"].items()
        }
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
        _attach_keywords(handbook)
        return handbook

    def _path(self, entry_id: str, data: Mapping[str, Any], source: Path) -> dict[str, Any]:
        return dict(
            **self.common("path", entry_id, data, source),
            role=self.term("role", data["role"]),
            introduction=data.get("introduction", ""),
        )

    def _practice(self, entry_id: str, data: Mapping[str, Any], source: Path) -> dict[str, Any]:
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
        """The module's questions, each linked to the practice it tests when that is in this audience."""
        return [
            Question(**self._question_fields(q), practice=self._question_practice(module, q, practices, excluded))
            for q in questions
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


def _attach_keywords(handbook: Handbook) -> None:
    """Search keywords per practice: abbreviations of its terms, synonyms of its specific terms
    (environment, threat, PSeMS element), and the abbreviations of glossary entries and of any
    vocabulary term (roles included) whose spelled-out form appears anywhere in its text, so a
    search for 'HVM' or 'PFSO' finds a practice that only writes the words out."""
    specific = {"environment", "threat", "psems"}
    abbreviated = [t for terms in handbook.terms.values() for t in terms.values() if t.abbreviations]
    spotter = _PhraseSpotter([entry.label for entry in handbook.glossary] + [term.label for term in abbreviated])
    glossary_keys = [(_phrase_key(entry.label), entry) for entry in handbook.glossary]
    abbreviated_keys = [(_phrase_key(term.label), term) for term in abbreviated]
    for practice in handbook.practices.values():
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
    """Stage 3: the handbook for one audience, with the entries left out of it recorded for the leak check."""
    handbook = ModelBuilder(corpus, audience, today, report).build()
    handbook.excluded = _excluded_entries(corpus, handbook)
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
