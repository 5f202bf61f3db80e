"""Stage 4, render: the linked model to a plain docs tree (Markdown pages and a nav).

Output is ordinary Markdown with front matter, links written as Markdown links between
`.md` files (so MkDocs, or any successor reading the same tree, rewrites and checks
them), and sanitised HTML blocks for contributor text. Nothing here imports MkDocs.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import html
import itertools
import json
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from markupsafe import Markup

from csbp import frontmatter, snippets
from csbp.config import TEMPLATE_DIR
from csbp.diagnostics import Report
from csbp.exports import export_files
from csbp.markup import markdown_block, markdown_inline, md_text, page_markdown, plain
from csbp.model import AUDIENCE_MARKING, FACETS, Entry, Handbook, Module, Term
from csbp.searchindex import compact_search
from csbp.urls import relative_url, relpath


@dataclass(frozen=True)
class NavItem:
    title: str
    src: str


@dataclass
class DocsTree:
    """The rendered handbook: page sources by docs-relative path, plus the nav."""

    pages: dict[str, str | bytes]
    nav: list[NavItem | tuple[str, list[NavItem]]]


@pass_context
def _rel(context: Any, target: str) -> Markup:
    """Relative path from the page being rendered to another docs file."""
    return _relative_path(posixpath.dirname(context["page_src"]) or ".", target)


@functools.lru_cache(maxsize=1 << 16)
def _relative_path(here: str, target: str) -> Markup:
    """Memoised: listings ask for the same few thousand paths on every render."""
    return Markup(html.escape(relpath(target, here), quote=True))


def _finalize(value: Any) -> Any:
    """Every `{{ }}` output: plain strings are escaped for HTML *and* Markdown unless a trusted
    filter already produced Markup, so contributor text is safe wherever a template puts it."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return md_text(value)
    return value


def _json_attr(value: Any) -> Markup:
    """JSON for a `<script type="application/json">` block; `<`, `>` and `&` are \\u-escaped."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _markup(template: str, *values: Any) -> Markup:
    """HTML from a trusted template string with `%s` slots; the values are HTML-escaped."""
    return Markup(template) % values


def _slug(text: str) -> Markup:
    return Markup(re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-"))


def shuffled(items: list[Any], seed: str) -> list[tuple[int, Any]]:
    """(rank, item) pairs in an order fixed by `seed` and never the answer order, so a page that
    shows an ordering question without JavaScript does not give the answer away (and stays
    byte-identical between builds)."""
    ranked = list(enumerate(items))
    ranked.sort(key=lambda pair: hashlib.sha256(f"{seed}:{pair[0]}".encode()).hexdigest())
    if len(ranked) > 1 and [rank for rank, _ in ranked] == list(range(len(ranked))):
        ranked = ranked[1:] + ranked[:1]
    return ranked


def duration(minutes: int) -> str:
    """Study time as people say it: 50 min, 1 h 30 min, 11 h."""
    hours, rest = divmod(int(minutes), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.filters.update(
        md=markdown_block,
        md_inline=markdown_inline,
        md_text=md_text,
        plain=plain,
        rel=_rel,
        front_matter=frontmatter.front_matter,
        json_attr=_json_attr,
        slug=_slug,
        html=snippets.html_text,
        href=snippets.href,
        duration=duration,
        shuffled=shuffled,
    )
    env.globals.update(FACETS=FACETS, markup=_markup)
    env.globals.update(snippets.GLOBALS)
    return env


@functools.cache
def environment() -> Environment:
    """The template environment, made once per process: templates compile once, also across the
    regenerations of `csbp serve`."""
    return make_environment()


class Renderer:
    """Renders every page of a handbook into a `DocsTree`; one method per page family."""

    def __init__(self, handbook: Handbook, report: Report, pages_dir: Path | None, directory_urls: bool) -> None:
        self.handbook = handbook
        self.report = report
        self.pages_dir = pages_dir
        self.directory_urls = directory_urls
        self.env = environment()
        self.pages: dict[str, str | bytes] = {}
        self.compact_search = compact_search(len(handbook.entries()))  # entry pages left out of the engine's index

    def page(self, src: str, template: str, **context: Any) -> None:
        """Render one page from its template into the tree."""
        self.pages[src] = self.env.get_template(template).render(
            page_src=src,
            handbook=self.handbook,
            audience_marking=AUDIENCE_MARKING[self.handbook.audience],
            directory_urls=self.directory_urls,
            compact_search=self.compact_search,
            **context,
        )

    def render(self) -> DocsTree:
        hb = self.handbook
        practices = hb.practices_by_title
        lessons = sorted(
            hb.lessons.values(), key=lambda lesson: lesson.incident.date if lesson.incident else lesson.added
        )
        modules = sorted(hb.modules.values(), key=lambda m: (m.level.id if m.level else "", m.title.lower()))
        paths = sorted(hb.paths.values(), key=lambda p: p.title.lower())
        self.page(
            "index.md",
            "home.md.j2",
            practices=practices,
            lessons=lessons,
            modules=modules,
            recent=_recent(hb.entries()),
        )
        self.page("practices/index.md", "practices_index.md.j2", practices=practices, filters=facet_filters(hb))
        self.page("lessons/index.md", "lessons_index.md.j2", lessons=list(reversed(lessons)))
        self.page("modules/index.md", "modules_index.md.j2", modules=modules)
        self.page("paths/index.md", "paths_index.md.j2", paths=paths)
        for entry in hb.entries():
            self._entry_pages(entry)
        self.page("training/progress.md", "progress.md.j2", modules=modules)
        self.page("training/assign.md", "assign.md.j2", modules=modules, paths=paths)
        self.page("training/assignment.md", "assignment.md.j2", modules=modules)
        self.page("browse/index.md", "browse_index.md.j2")
        for vocabulary, _attribute in FACETS:
            terms = list(hb.terms[vocabulary].values())
            self.page(
                f"browse/{vocabulary}/index.md",
                "vocabulary.md.j2",
                vocabulary=hb.vocabularies[vocabulary],
                terms=terms,
            )
            for term in terms:
                self.page(
                    term.src,
                    "term.md.j2",
                    term=term,
                    vocabulary=hb.vocabularies[vocabulary],
                    practices=hb.practices_with(vocabulary, term.id),
                )
        for pillar in hb.terms["pillar"].values():
            for dimension in hb.terms["dimension"].values():
                self.page(
                    f"browse/matrix/{pillar.id}-{dimension.id}.md",
                    "cell.md.j2",
                    pillar=pillar,
                    dimension=dimension,
                    practices=hb.cell(pillar.id, dimension.id),
                )
        self.page("glossary.md", "glossary.md.j2", entries=glossary_rows(hb))
        self.page("whats-new.md", "whats_new.md.j2", changes=changelog(hb))
        for name, data in export_files(hb, hb.content_epoch()).items():
            self.pages[f"downloads/{name}"] = data
        for entry in hb.entries():
            for alias_src, target in _alias_pages(entry, self.directory_urls):
                self.page(alias_src, "redirect.html.j2", entry=entry, target=target)
        hand_written = self._hand_written_pages()
        nav: list[NavItem | tuple[str, list[NavItem]]] = [
            NavItem("Home", "index.md"),
            NavItem("Practices", "practices/index.md"),
            NavItem("Browse", "browse/index.md"),
            NavItem("Lessons learned", "lessons/index.md"),
            (
                "Training",
                [
                    NavItem("Modules", "modules/index.md"),
                    NavItem("Learning paths", "paths/index.md"),
                    NavItem("My progress", "training/progress.md"),
                    NavItem("Assign modules", "training/assign.md"),
                ],
            ),
            NavItem("Glossary", "glossary.md"),
            NavItem("What's new", "whats-new.md"),
        ]
        return DocsTree(self.pages, nav + hand_written)

    def _entry_pages(self, entry: Entry) -> None:
        """An entry's page, and a module's trainer notes and handout."""
        self.page(entry.src, f"{entry.kind}.md.j2", entry=entry)
        if isinstance(entry, Module):
            self.page(entry.trainer_src, "module_trainer.md.j2", entry=entry)
            self.page(entry.handout_src, "module_handout.md.j2", entry=entry)

    def _hand_written_pages(self) -> list[NavItem | tuple[str, list[NavItem]]]:
        """Hand-written pages, sanitised, their `.md` links checked against every page of the tree;
        the nav: top-level pages under "About", folders as sections led by their index page."""
        if self.pages_dir is None or not self.pages_dir.is_dir():
            return []
        sources = {p.relative_to(self.pages_dir).as_posix(): p for p in sorted(self.pages_dir.rglob("*.md"))}
        known = frozenset(self.pages) | frozenset(sources)
        sections: dict[str, list[NavItem]] = {}
        for src, path in sources.items():
            title, body = _split_title(path.read_text("utf-8"), path.stem)
            rewrite = functools.partial(self._page_link, src, path, known)
            self.pages[src] = (
                str(frontmatter.dump_front_matter({"title": title}))
                + f"\n# {md_text(title)}\n\n"
                + page_markdown(body, rewrite)
            )
            folder = src.split("/", 1)[0] if "/" in src else ""
            sections.setdefault(folder, []).append(NavItem(title, src))
        for items in sections.values():
            items.sort(key=lambda i: (not i.src.endswith("index.md"), i.src))
        nav: list[NavItem | tuple[str, list[NavItem]]] = []
        if "" in sections:
            nav.append(("About", sections.pop("")))
        for folder, items in sorted(sections.items()):
            nav.append((items[0].title if items[0].src.endswith("index.md") else folder, items))
        return nav

    def _page_link(self, src: str, path: Path, known: frozenset[str], href: str) -> str:
        """Turn a relative `.md` link of a hand-written page into a site URL; report broken ones."""
        target, _, fragment = href.partition("#")
        if not target.endswith(".md") or re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("/"):
            return href
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(src), target))
        if resolved not in known:
            self.report.error(
                path,
                None,
                f"the link '{href}' points to no page of the handbook "
                f"(resolved to '{resolved}'): fix the path, relative to this file",
            )
            return href
        url = relative_url(src, resolved, self.directory_urls)
        return url + (f"#{fragment}" if fragment else "")


def _split_title(text: str, fallback: str) -> tuple[str, str]:
    """Title from the page's first `# heading` (removed from the body), else from its file name."""
    match = re.match(r"\s*#\s+(.+?)\s*\n", text)
    if match:
        return match.group(1).strip(), text[match.end() :]
    return fallback.replace("-", " ").capitalize(), text


def _alias_pages(entry: Entry, directory_urls: bool) -> list[tuple[str, str]]:
    """(page, target URL) of each redirect from one of an entry's former ids."""
    folder = posixpath.dirname(entry.src)
    return [
        (f"{folder}/{alias}/index.html", relative_url(f"{folder}/{alias}/index.md", entry.src, directory_urls))
        for alias in entry.aliases
    ]


def _recent(entries: Iterable[Entry], limit: int = 8) -> list[Entry]:
    return sorted(entries, key=lambda e: (e.last_reviewed, e.id), reverse=True)[:limit]


KIND_LABELS = {"practice": "practice", "lesson": "lesson learned", "module": "training module", "path": "learning path"}


def changelog(hb: Handbook) -> list[tuple[dt.date, list[tuple[Entry, int, str]]]]:
    """Every history item of every published entry, for the What's new page (dates from content
    only): by month, newest first, as (a date of the month, [(entry, history index, kind label)])."""
    items = [
        (entry, index, item.date)
        for entry in sorted(hb.entries(), key=lambda e: (e.kind, e.id))
        for index, item in enumerate(entry.history)
    ]
    items.sort(key=_month)
    months = [list(group) for _month_key, group in itertools.groupby(items, key=_month)]
    return [
        (
            group[0][2],
            [
                (entry, index, KIND_LABELS[entry.kind])
                for entry, index, _date in sorted(group, key=lambda i: (i[2], i[0].kind, i[0].id), reverse=True)
            ],
        )
        for group in reversed(months)
    ]


def _month(item: tuple[Entry, int, dt.date]) -> tuple[int, int]:
    return item[2].year, item[2].month


def glossary_rows(hb: Handbook) -> list[dict[str, Any]]:
    """Glossary rows: glossary entries and every vocabulary term that has an abbreviation."""
    rows = [{"term": g.id, "label": g.label, "description": g.description, "link": None} for g in hb.glossary]
    for vocabulary, _attribute in FACETS:
        for term in hb.terms[vocabulary].values():
            for abbreviation in term.abbreviations:
                rows.append(
                    {"term": abbreviation, "label": term.label, "description": term.description, "link": term.src}
                )
    for vocabulary in ("role",):
        for term in hb.terms[vocabulary].values():
            for abbreviation in term.abbreviations:
                rows.append({"term": abbreviation, "label": term.label, "description": term.description, "link": None})
    unique = {(row["term"].lower(), row["label"]): row for row in rows}
    return sorted(unique.values(), key=lambda row: row["term"].lower())


def render_handbook(
    handbook: Handbook, report: Report, pages_dir: Path | None = None, directory_urls: bool = True
) -> DocsTree:
    """Stage 4: every page of the handbook, and its hand-written pages from `pages_dir`."""
    return Renderer(handbook, report, pages_dir, directory_urls).render()


def facet_filters(hb: Handbook) -> list[tuple[str, list[Term]]]:
    """(vocabulary, terms some practice carries) per facet, in vocabulary order: the filter form
    offers only these, so no single box can empty the list."""
    return [
        (vocabulary, [t for t in hb.terms[vocabulary].values() if hb.practices_with(vocabulary, t.id)])
        for vocabulary, _ in FACETS
    ]
