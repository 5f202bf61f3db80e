"""A synthetic handbook of any size, for the performance benchmark.

Writes a complete handbook repository (practices, lessons, modules with quizzes, learning
paths, the real vocabularies, hand-written pages, mkdocs.yml and overrides) whose entries
look like the real ones: ~600-word practices with facets, implementation steps and
references; lessons that cite practices; modules that read practices and lessons and quiz
on them. Cross-links are drawn at random but with a fixed number per entry, so the weight
of one entry's page does not depend on the size of the corpus. The output is determined by
`n` and `seed` alone.

    .venv/bin/python benchmarks/synth.py 1000 /tmp/handbook-1000
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]

# Share of each kind in a corpus of n entries; learning paths take the few that remain.
PRACTICE_SHARE, LESSON_SHARE, MODULE_SHARE = 0.75, 0.17, 0.08

NOUNS = (
    "access point",
    "berth",
    "gangway",
    "perimeter fence",
    "control room",
    "screening lane",
    "vehicle gate",
    "cargo hall",
    "apron",
    "quay",
    "terminal forecourt",
    "passenger queue",
    "release code",
    "pass office",
    "CCTV feed",
    "radio channel",
    "security plan",
    "drill",
    "patrol route",
    "visitor log",
    "contractor badge",
    "ship interface",
    "baggage hall",
    "fuel farm",
    "customs seal",
    "container stack",
    "crew list",
    "search team",
)
VERBS = (
    "check",
    "record",
    "escort",
    "brief",
    "screen",
    "patrol",
    "verify",
    "report",
    "rehearse",
    "review",
    "lock",
    "monitor",
    "restrict",
    "test",
    "challenge",
    "inspect",
    "log",
    "hand over",
    "coordinate",
    "audit",
)
ACTORS = (
    "the port facility security officer",
    "the duty supervisor",
    "gate officers",
    "the control room",
    "the police liaison officer",
    "contract guards",
    "the ship security officer",
    "terminal staff",
    "the security manager",
    "the airport operator",
    "the harbour master",
    "frontline officers",
)
QUALIFIERS = (
    "at every change of security level",
    "before each shift",
    "during peak embarkation",
    "at night",
    "whenever the layout changes",
    "after every incident",
    "at least once a quarter",
    "when contractors are on site",
    "during cruise calls",
    "in poor weather",
    "when the threat level rises",
    "on public holidays",
)
TOPICS = (
    "Layered access control",
    "Vehicle screening",
    "Crowd protection",
    "Insider risk",
    "Patrol planning",
    "Suspicious item response",
    "Cyber hygiene",
    "Information sharing",
    "Evacuation planning",
    "Contractor vetting",
    "Cargo integrity",
    "Waterside surveillance",
    "Incident command",
    "Security culture",
    "Key control",
    "Drone detection",
    "Passenger screening",
    "Perimeter lighting",
    "Seal verification",
    "Crisis communications",
)
PLACES = (
    "cruise terminals",
    "ferry ramps",
    "container yards",
    "airport forecourts",
    "airside gates",
    "fuel berths",
    "ro-ro lanes",
    "cargo warehouses",
    "waterfront promenades",
    "interchange concourses",
)
PUBLISHERS = (
    "International Maritime Organization",
    "European Commission",
    "National Protective Security Authority (UK)",
    "International Civil Aviation Organization",
    "Europol",
    "US Coast Guard",
    "Transport Security Administration",
)
QUESTION_TYPES = ("single", "multiple", "true-false", "ordering")
_ENTRY_LINK = re.compile(r"(?<![\w/.-])((?:\.\./)*)(practices|lessons|modules|paths)/([a-z0-9-]+)\.md")


@dataclass(frozen=True)
class Plan:
    """The ids of every entry of each kind, fixed before any file is written so links resolve."""

    practices: list[str]
    lessons: list[str]
    modules: list[str]
    paths: list[str]

    @property
    def total(self) -> int:
        return len(self.practices) + len(self.lessons) + len(self.modules) + len(self.paths)


def counts(n: int) -> tuple[int, int, int, int]:
    """Practices, lessons, modules and paths that make up n entries (at least one of each)."""
    n = max(n, 4)
    lessons = max(1, round(n * LESSON_SHARE))
    modules = max(1, round(n * MODULE_SHARE))
    paths = max(1, n // 250) if modules >= 2 else 0
    return n - lessons - modules - paths, lessons, modules, paths


def page_links(pages_dir: Path) -> dict[str, list[str]]:
    """Entry ids the hand-written pages link to, by URL folder: the first synthetic ids take them."""
    found: dict[str, list[str]] = {"practices": [], "lessons": [], "modules": [], "paths": []}
    for page in sorted(pages_dir.rglob("*.md")):
        for _prefix, folder, entry_id in _ENTRY_LINK.findall(page.read_text("utf-8")):
            if entry_id != "index" and entry_id not in found[folder]:
                found[folder].append(entry_id)
    return found


def plan(n: int, reserved: dict[str, list[str]]) -> Plan:
    sizes = dict(zip(("practices", "lessons", "modules", "paths"), counts(n), strict=True))
    ids: dict[str, list[str]] = {}
    for folder, size in sizes.items():
        kept = reserved.get(folder, [])[:size]
        ids[folder] = kept + [f"{folder[:-1]}-{index:05d}" for index in range(len(kept), size)]
    return Plan(**ids)


class Writer:
    """Deterministic prose and entries; every random draw goes through one seeded generator."""

    def __init__(self, plan: Plan, vocabularies: dict[str, Any], seed: int) -> None:
        self.plan = plan
        self.seed = seed
        self.rng = random.Random(seed)
        self.links = random.Random(seed)
        self.terms = {name: list(body["terms"]) for name, body in vocabularies.items()}

    def pick(self, items: list[str] | tuple[str, ...], low: int, high: int) -> list[str]:
        return self.rng.sample(list(items), min(len(items), self.rng.randint(low, high)))

    def link(self, ids: list[str], low: int, high: int) -> list[str]:
        """Link targets come from their own generator, so the entry's text does not depend on n."""
        return self.links.sample(ids, min(len(ids), self.links.randint(low, high)))

    def sentence(self, emphasis: bool = False) -> str:
        r = self.rng
        verb, noun = r.choice(VERBS), r.choice(NOUNS)
        if emphasis:
            noun = f"**{noun}**"
        return (
            f"{r.choice(ACTORS).capitalize()} {_third_person(verb)} each {noun} {r.choice(QUALIFIERS)}, "
            f"so that gaps at {r.choice(PLACES)} are found before they are exploited."
        )

    def paragraph(self, sentences: int) -> str:
        return " ".join(self.sentence(emphasis=index == 1) for index in range(sentences))

    def prose(self, paragraphs: int, sentences: int = 4) -> str:
        return "\n\n".join(self.paragraph(sentences) for _ in range(paragraphs)) + "\n"

    def item(self) -> str:
        r = self.rng
        return f"{r.choice(VERBS).capitalize()} the {r.choice(NOUNS)} {r.choice(QUALIFIERS)} and record the result."

    def title(self, index: int, kind: str) -> str:
        r = self.rng
        return f"{r.choice(TOPICS)} for {r.choice(PLACES)} ({kind} {index + 1})"

    def summary(self) -> str:
        r = self.rng
        return (
            f"{r.choice(ACTORS).capitalize()} {r.choice(VERBS)} the {r.choice(NOUNS)} {r.choice(QUALIFIERS)} "
            f"to keep {r.choice(PLACES)} safe without slowing legitimate traffic."
        )

    def lifecycle(self, owner: str) -> dict[str, Any]:
        reviewed = dt.date(2025, 1, 1) + dt.timedelta(days=self.rng.randrange(540))
        added = reviewed - dt.timedelta(days=self.rng.randrange(30, 400))
        history = [{"date": added.isoformat(), "change": "added", "note": "First version."}]
        if self.rng.random() < 0.5:
            history.append({"date": reviewed.isoformat(), "change": "revised", "note": "Updated after review."})
        return {
            "status": "approved",
            "owner": owner,
            "last_reviewed": reviewed.isoformat(),
            "review_interval_months": 36,
            "history": history,
        }

    def references(self) -> list[dict[str, Any]]:
        refs = []
        for number in range(self.rng.randint(2, 3)):
            ref: dict[str, Any] = {
                "title": f"{self.rng.choice(TOPICS)} guidance, part {number + 1}",
                "publisher": self.rng.choice(PUBLISHERS),
                "year": self.rng.randint(2003, 2025),
                "type": self.rng.choice(self.terms["source-type"]),
            }
            if self.rng.random() < 0.6:
                ref["url"] = f"https://example.org/guidance/{self.rng.randrange(10**6)}"
            refs.append(ref)
        return refs

    def practice(self, index: int) -> dict[str, Any]:
        me = self.plan.practices[index]
        others = [p for p in self.plan.practices if p != me]
        t = self.terms
        return {
            "title": self.title(index, "practice"),
            "tlp": "TLP:CLEAR",
            "summary": self.summary(),
            **self.lifecycle("Port Security Working Group"),
            "pillars": self.pick(t["pillar"], 1, 2),
            "dimensions": self.pick(t["dimension"], 1, 2),
            "sectors": self.pick(t["sector"], 1, 3),
            "environments": self.pick(t["environment"], 1, 4),
            "threats": self.pick(t["threat"], 1, 2),
            "psems": self.pick(t["psems"], 1, 2),
            "evidence": {"level": self.rng.choice(t["evidence"]), "note": self.prose(1, 3)},
            "context": self.prose(2),
            "practice": self.prose(2) + f"\nSee the [published guidance](https://example.org/p/{index}).\n",
            "implementation": [self.item() for _ in range(self.rng.randint(4, 6))],
            "indicators": [self.item() for _ in range(3)],
            "pitfalls": [self.item() for _ in range(3)],
            "related": self.link(others, 1, 3),
            "references": self.references(),
        }

    def lesson(self, index: int) -> dict[str, Any]:
        when = dt.date(2000, 1, 1) + dt.timedelta(days=self.rng.randrange(9000))
        return {
            "title": self.title(index, "lesson"),
            "tlp": "TLP:CLEAR",
            "summary": self.summary(),
            **self.lifecycle("Port Security Working Group"),
            "incident": {
                "name": f"Incident {index + 1} at {self.rng.choice(PLACES)}",
                "date": when.isoformat(),
                "place": f"Port {index + 1}",
                "sector": self.rng.choice(self.terms["sector"]),
                "type": self.rng.choice(self.terms["incident-type"]),
            },
            "what_happened": self.prose(2),
            "what_worked": [self.paragraph(2) for _ in range(2)],
            "what_failed": [self.paragraph(2) for _ in range(3)],
            "lessons": [
                {"lesson": self.paragraph(2), "practices": self.link(self.plan.practices, 1, 2)} for _ in range(3)
            ],
            "sources": self.references(),
        }

    def question(self, number: int, practice: str) -> dict[str, Any]:
        kind = QUESTION_TYPES[number % len(QUESTION_TYPES)]
        question: dict[str, Any] = {
            "id": f"q{number + 1}",
            "type": kind,
            "prompt": self.sentence().replace(".", "?"),
            "explanation": self.paragraph(2),
            "practice": practice,
        }
        if kind in ("single", "multiple"):
            options = [{"text": f"Option {letter}: {self.item()}", "feedback": self.sentence()} for letter in "ABCD"]
            for option in self.rng.sample(options, 1 if kind == "single" else 2):
                option["correct"] = True
            question["options"] = options
        elif kind == "true-false":
            question |= {
                "answer": self.rng.random() < 0.5,
                "feedback_true": self.sentence(),
                "feedback_false": self.sentence(),
            }
        else:
            question["items"] = [f"Step {step}: {self.item()}" for step in range(1, 5)]
        return question

    def module(self, index: int) -> dict[str, Any]:
        reading = self.link(self.plan.practices, 3, 6) + self.link(self.plan.lessons, 1, 2)
        practices = [r for r in reading if r in self.plan.practices]
        earlier = self.plan.modules[:index]
        data: dict[str, Any] = {
            "title": self.title(index, "module"),
            "tlp": "TLP:CLEAR",
            "summary": self.summary(),
            **self.lifecycle("Training Working Group"),
            "audience": self.pick(self.terms["role"], 1, 3),
            "level": self.rng.choice(self.terms["level"]),
            "duration_minutes": self.rng.choice((30, 45, 60, 90)),
            "pass_mark": 80,
            "objectives": [self.item() for _ in range(3)],
            "reading": reading,
            "sections": [{"title": self.rng.choice(TOPICS), "body": self.prose(2)} for _ in range(3)],
            "discussion": [self.sentence().replace(".", "?") for _ in range(2)],
            "trainer_notes": self.prose(1),
            "scenario": {
                "title": f"Exercise {index + 1}",
                "situation": self.prose(1),
                "injects": [
                    {"time": f"T+{step * 15}", "inject": self.paragraph(2), "expected": [self.item(), self.item()]}
                    for step in range(3)
                ],
            },
            "quiz": {"questions": [self.question(q, self.links.choice(practices)) for q in range(8)]},
        }
        if earlier and self.links.random() < 0.5:
            data["prerequisites"] = self.link(earlier, 1, 2)
        return data

    def path(self, index: int) -> dict[str, Any]:
        steps = sorted(self.link(self.plan.modules, 2, 6), key=self.plan.modules.index)  # prerequisites come first
        return {
            "title": self.title(index, "path"),
            "tlp": "TLP:CLEAR",
            "summary": self.summary(),
            **self.lifecycle("Training Working Group"),
            "role": self.rng.choice(self.terms["role"]),
            "introduction": self.prose(1),
            "steps": [{"module": m, "why": self.item()} for m in steps],
        }

    def entries(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(folder, id, data) for every entry of the plan."""
        kinds = (
            ("practices", self.plan.practices, self.practice),
            ("content/lessons", self.plan.lessons, self.lesson),
            ("content/modules", self.plan.modules, self.module),
            ("content/paths", self.plan.paths, self.path),
        )
        for folder, ids, make in kinds:
            for index, entry_id in enumerate(ids):
                # One generator per entry: its text is the same at any n; only its link targets vary.
                self.rng = random.Random(f"{self.seed}:{folder}:{index}")
                self.links = random.Random(f"{self.seed}:{folder}:{index}:links")
                yield folder, entry_id, make(index)


def _copy_pages(source: Path, target: Path, plan: Plan) -> None:
    """The real hand-written pages; a link to an entry the plan lacks (tiny corpora) points at its index."""
    known = {
        "practices": set(plan.practices),
        "lessons": set(plan.lessons),
        "modules": set(plan.modules),
        "paths": set(plan.paths),
    }
    for page in sorted(source.rglob("*.md")):
        text = _ENTRY_LINK.sub(
            lambda m: m[0] if m[3] in known[m[2]] | {"index"} else f"{m[1]}{m[2]}/index.md", page.read_text("utf-8")
        )
        destination = target / page.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, "utf-8")


def write_handbook(n: int, root: Path, seed: int = 8, repo: Path = REPO) -> Plan:
    """Write a handbook of n entries at `root` (replacing what is there); return its plan."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copy(repo / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(repo / "overrides", root / "overrides")
    (root / "content").mkdir()
    shutil.copy(repo / "content" / "vocabularies.yaml", root / "content" / "vocabularies.yaml")
    vocabularies = yaml.safe_load((repo / "content" / "vocabularies.yaml").read_text("utf-8"))["vocabularies"]
    the_plan = plan(n, page_links(repo / "content" / "pages"))
    _copy_pages(repo / "content" / "pages", root / "content" / "pages", the_plan)
    for folder in ("practices", "content/lessons", "content/modules", "content/paths"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for folder, entry_id, data in Writer(the_plan, vocabularies, seed).entries():
        text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
        (root / folder / f"{entry_id}.yaml").write_text(text, "utf-8")
    return the_plan


def _third_person(verb: str) -> str:
    word, _, rest = verb.partition(" ")
    word = word[:-1] + "ies" if word.endswith("y") else word + ("es" if word.endswith(("ch", "sh", "s")) else "s")
    return f"{word} {rest}".strip()


class _Dumper(yaml.SafeDumper):
    """Block scalars for multi-line text, as contributors write it."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of entries")
    parser.add_argument("root", type=Path, help="directory to write the handbook into (replaced)")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    the_plan = write_handbook(args.n, args.root, args.seed)
    print(
        f"{the_plan.total} entries: {len(the_plan.practices)} practices, {len(the_plan.lessons)} lessons, "
        f"{len(the_plan.modules)} modules, {len(the_plan.paths)} paths in {args.root}"
    )


if __name__ == "__main__":
    main()
