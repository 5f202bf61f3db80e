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
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined, pass_context
from markupsafe import Markup

from csbp import cachefile, frontmatter, markup, snippets
from csbp.config import TEMPLATE_DIR
from csbp.diagnostics import Report
from csbp.exports import ExportPieces, ExportPlan, shown_from_links
from csbp.fragments import Rows, reuse, reuse_each
from csbp.markup import Rendering, markdown_block, markdown_inline, md_text, page_markdown, plain
from csbp.model import AUDIENCE_MARKING, FACETS, Entry, Handbook, Module, Term
from csbp.pagecache import Block, Fingerprints, PageCache, code_stamp
from csbp.parallel import fork_map
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


def template_bytecode_cache() -> FileSystemBytecodeCache | None:
    """Compiled templates, kept in the user's cache directory so a warm start does not compile them
    again. Never under the handbook: compiled templates are code, and the handbook is untrusted.

    One folder per version of the generator's code: a compiled template holds how it calls each
    filter (with the render context or without), which the template's own text does not show."""
    folder = cachefile.key_path().parent / "jinja"
    directory = folder / code_stamp()[:16]
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for stale in folder.iterdir():  # other versions' templates; another version running recompiles
            if stale != directory and stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            elif stale.is_file():
                stale.unlink(missing_ok=True)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(directory))


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
        bytecode_cache=template_bytecode_cache(),
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
    env.globals.update(FACETS=FACETS, reuse=reuse, reuse_each=reuse_each, markup=_markup)
    env.globals.update(snippets.GLOBALS)
    return env


@functools.cache
def shared_environment() -> Environment:
    """One environment per process: templates compile once, not on every regeneration of `csbp serve`.
    All of them are loaded here, in the process that forks the render workers: the workers share
    them instead of each loading its own, and the first edit in `csbp serve` does not wait for them."""
    env = make_environment()
    for name in env.list_templates():
        env.get_template(name)
    return env


@dataclass(frozen=True)
class _PageJob:
    src: str
    template: str
    fingerprint: str | None  # None: not cached
    context: dict[str, Any]


@dataclass(frozen=True)
class _HandWrittenJob:
    """A hand-written page to render: its text, title and what its links may point to."""

    src: str
    path: Path
    title: str
    body: str
    known: frozenset[str]  # every page of the docs tree, for its links
    fingerprint: str | None  # None: not cached


@dataclass(frozen=True)
class _QueuedExports:
    plan: ExportPlan
    key: str | None  # the page cache's fingerprint for the files; None: not cached


class Renderer:
    """Renders every page of a handbook; one method per page family."""

    def __init__(
        self,
        handbook: Handbook,
        report: Report,
        pages_dir: Path | None = None,
        directory_urls: bool = True,
        cache: tuple[Fingerprints, PageCache] | None = None,
    ) -> None:
        self.handbook = handbook
        self.cache = cache
        self.report = report
        self.directory_urls = directory_urls
        self.pages_dir = pages_dir
        self.env = shared_environment()
        self.pages: dict[str, str] = {}
        self.rows = Rows(cache, directory_urls)
        self.compact_search = compact_search(len(handbook.entries()))  # entry pages left out of the engine's index
        # Pages to render, queued by `page` and rendered together by `_render_queued` (on every
        # core when there are many: a cold build); their places in `pages` are kept meanwhile.
        self.queued: list[_PageJob] = []
        self.hand_written: list[_HandWrittenJob] = []
        self.replayed = False  # whether the last run's tree was taken over (`_replay`)
        self.exports: _QueuedExports | None = None

    def page(self, src: str, template: str, key: Callable[[Fingerprints], str] | None = None, **context: Any) -> None:
        """Queue one page; with a cache and a `key` (its fingerprint), an unchanged page is reused."""
        fingerprint = key(self.cache[0]) if self.cache is not None and key is not None else None
        if fingerprint is not None and self.cache is not None:
            hit = self.cache[1].get(src, fingerprint)
            if hit is not None:
                self.pages[src] = hit
                return
        self.pages[src] = ""  # keeps the page's place in the tree until it is rendered
        self.queued.append(_PageJob(src, template, fingerprint, context))

    def _render_queued(self) -> None:
        """Render the queued pages and exports, in forked workers when there are many
        (`parallel.fork_map`); what a worker learnt on the way (row positions, Markdown
        renderings) comes back here."""
        jobs, self.queued = self.queued, []
        hand_written, self.hand_written = self.hand_written, []
        modules = self.exports.plan.todo if self.exports is not None else []
        if jobs or modules:
            markup.CACHE.read()  # once here, not in every worker
        results = fork_map(self._run_job, [*jobs, *hand_written, *modules])
        pages, written = results[: len(jobs)], results[len(jobs) : len(jobs) + len(hand_written)]
        exports = results[len(jobs) + len(hand_written) :]
        for page, (text, diagnostics) in zip(hand_written, written, strict=True):
            self.pages[page.src] = text
            self.report.diagnostics.extend(diagnostics)
            if page.fingerprint is not None and self.cache is not None and not diagnostics:
                self.cache[1].put(page.src, page.fingerprint, text)  # a broken link is reported every time
        for job, (text, rows, renderings) in zip(jobs, pages, strict=True):
            self.pages[job.src] = text
            markup.CACHE.adopt(renderings)
            if job.fingerprint is not None and self.cache is not None:
                self.rows.emitted[job.src] = rows
                self.rows.page_done(job.src, text)
                self.cache[1].put(job.src, job.fingerprint, text)
        for _pieces, renderings in exports:
            markup.CACHE.adopt(renderings)
        self._exports_done([pieces for pieces, _renderings in exports])

    def _run_job(self, job: _PageJob | _HandWrittenJob | Module) -> Any:
        if isinstance(job, _PageJob):
            return self._render_job(job)
        if isinstance(job, _HandWrittenJob):
            report = Report()
            return self._hand_written_page(job, report), report.diagnostics
        assert self.exports is not None
        with markup.CACHE.journal() as renderings:
            pieces = self.exports.plan.work(job)
        return pieces, renderings

    def _render_job(self, job: _PageJob) -> tuple[str, list[Block], list[Rendering]]:
        with markup.CACHE.journal() as renderings:
            text = self.env.get_template(job.template).render(
                page_src=job.src,
                handbook=self.handbook,
                audience_marking=AUDIENCE_MARKING[self.handbook.audience],
                directory_urls=self.directory_urls,
                rows=self.rows,
                compact_search=self.compact_search,
                **job.context,
            )
        self.rows.previous.pop(job.src, None)
        return text, self.rows.emitted.pop(job.src, []), renderings

    def render(self) -> DocsTree:
        hb = self.handbook
        replay = self._replay()  # first: it takes over the last run's tree
        practices = hb.practices_by_title
        lessons = sorted(
            hb.lessons.values(), key=lambda lesson: lesson.incident.date if lesson.incident else lesson.added
        )
        modules = sorted(hb.modules.values(), key=lambda m: (m.level.id if m.level else "", m.title.lower()))
        paths = sorted(hb.paths.values(), key=lambda p: p.title.lower())
        recent = self._recent()
        self.page(
            "index.md",
            "home.md.j2",
            practices=practices,
            lessons=lessons,
            modules=modules,
            recent=recent,
            key=_home_key(hb, recent),
        )
        self.page(
            "practices/index.md",
            "practices_index.md.j2",
            practices=practices,
            filters=_Deferred(functools.partial(facet_filters, hb)),
            key=_everything,
        )
        self.page("lessons/index.md", "lessons_index.md.j2", lessons=list(reversed(lessons)), key=_kinds("lesson"))
        self.page("modules/index.md", "modules_index.md.j2", modules=modules, key=_kinds("module"))
        self.page(
            "paths/index.md",
            "paths_index.md.j2",
            paths=paths,
            key=_kinds("path", "module"),
        )
        entry_pages = hb.entries() if replay is None else replay
        for entry in entry_pages:
            self._entry_pages(entry)
        self.page("training/progress.md", "progress.md.j2", modules=modules, key=_kinds("module", "path"))
        self.page("training/assign.md", "assign.md.j2", modules=modules, paths=paths, key=_kinds("module", "path"))
        self.page("training/assignment.md", "assignment.md.j2", modules=modules, key=_kinds("module", "path"))
        self.page("browse/index.md", "browse_index.md.j2", key=_kinds())
        for vocabulary, _attribute in FACETS:
            terms = list(hb.terms[vocabulary].values())
            self.page(
                f"browse/{vocabulary}/index.md",
                "vocabulary.md.j2",
                vocabulary=hb.vocabularies[vocabulary],
                terms=terms,
                key=_counts_key(hb, vocabulary),
            )
            for term in terms:
                listed = hb.practices_with(vocabulary, term.id)
                self.page(
                    term.src,
                    "term.md.j2",
                    term=term,
                    vocabulary=hb.vocabularies[vocabulary],
                    practices=listed,
                    key=_listing_key(term.src, listed),
                )
        for pillar in hb.terms["pillar"].values():
            for dimension in hb.terms["dimension"].values():
                listed = hb.cell(pillar.id, dimension.id)
                src = f"browse/matrix/{pillar.id}-{dimension.id}.md"
                self.page(
                    src,
                    "cell.md.j2",
                    pillar=pillar,
                    dimension=dimension,
                    practices=listed,
                    key=_listing_key(src, listed),
                )
        self.page("glossary.md", "glossary.md.j2", entries=glossary_rows(hb), key=_kinds())
        self.page(
            "whats-new.md",
            "whats_new.md.j2",
            changes=_Deferred(functools.partial(changelog, hb)),
            key=self._history_key(),
        )
        self._exports(modules)
        for entry in entry_pages:
            for alias_src, target in _alias_pages(entry, self.directory_urls):
                self.page(alias_src, "redirect.html.j2", entry=entry, target=target, key=_entry_key(entry))
        hand_written = self._hand_written_pages()
        self._render_queued()
        self._keep_for_replay(hand_written)
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
        self.page(entry.src, f"{entry.kind}.md.j2", entry=entry, key=_entry_key(entry))
        if isinstance(entry, Module):
            self.page(entry.trainer_src, "module_trainer.md.j2", entry=entry, key=_entry_key(entry))
            self.page(entry.handout_src, "module_handout.md.j2", entry=entry, key=_entry_key(entry))

    # After an edit in `csbp serve` that left the model's entries as they were (the model patched),
    # the pages of one entry each (its page, trainer notes, handout, alias redirects) can change
    # only for the entries whose fingerprint may have (`Fingerprints.stale`): the others are taken
    # from the last run's tree as they are, without visiting thousands of entries.

    def _replay(self) -> list[Entry] | None:
        """The entries whose own pages must be worked out again, with every page of the last run
        taken over; None when every entry must be visited (no last run, another model)."""
        if self.cache is None:
            return None
        fingerprints = self.cache[0]
        last: _LastPages | None = fingerprints.before("pages")
        changed = fingerprints.changed
        hb = self.handbook
        tables = (hb.practices, hb.lessons, hb.modules, hb.paths)
        if (
            last is None
            or changed is None
            or last.directory_urls != self.directory_urls
            or not all(a is b for a, b in zip(last.tables, tables, strict=True))
        ):
            return None
        stale: list[Entry] = []
        for kind, eid in sorted(fingerprints.stale_keys()):
            entry = hb.of_kind(kind).get(eid)
            if entry is None:
                if (kind, eid) in last.aliases:
                    return None  # an entry that had pages has none now
                continue
            if [src for src, _target in _alias_pages(entry, self.directory_urls)] != last.aliases.get((kind, eid)):
                return None  # its redirects changed
            stale.append(entry)
        self.pages = dict(last.pages)
        for src in last.hand_written:  # put back at the end, as a full run puts them
            del self.pages[src]
        fingerprints.carry_entries()
        self.cache[1].used.update(self.pages)
        self.replayed = True
        return stale

    def _keep_for_replay(self, nav: list[NavItem | tuple[str, list[NavItem]]]) -> None:
        if self.cache is None:
            return
        hb, fingerprints = self.handbook, self.cache[0]
        last: _LastPages | None = fingerprints.before("pages")
        hand_written = [item.src for item in nav if isinstance(item, NavItem)]
        hand_written += [child.src for item in nav if not isinstance(item, NavItem) for child in item[1]]
        if self.replayed and last is not None:
            aliases = last.aliases  # the same entries; the stale ones were checked in `_replay`
        else:
            aliases = {
                (e.kind, e.id): [src for src, _target in _alias_pages(e, self.directory_urls)] for e in hb.entries()
            }
        fingerprints.keep(
            "pages",
            _LastPages(
                (hb.practices, hb.lessons, hb.modules, hb.paths), self.directory_urls, self.pages, hand_written, aliases
            ),
        )

    # What a few pages show of every entry, worked out again after an edit only from the entries
    # it changed (`Fingerprints.changed`) when the last run's result is at hand: `csbp serve`.

    def _recent(self) -> list[Entry]:
        """The recently reviewed entries the home page shows: the last run's, unless an edit
        touched one of them, with the edited entries as the only other candidates."""
        hb = self.handbook
        if self.cache is None:
            return _recent(hb.entries())
        fingerprints = self.cache[0]
        before: list[Entry] | None = fingerprints.before("recent")
        changed = fingerprints.changed
        if (
            before is None
            or changed is None
            or any((e.kind, e.id) in changed or hb.of_kind(e.kind).get(e.id) is not e for e in before)
        ):
            recent = _recent(hb.entries())
        else:
            edited = [hb.of_kind(kind).get(eid) for kind, eid in changed]
            recent = _recent([*before, *(e for e in edited if e is not None)])
        fingerprints.keep("recent", recent)
        return recent

    def _history_key(self) -> Callable[[Fingerprints], str]:
        """`_history_key`, taken over while no edited entry's history line changed."""
        hb = self.handbook

        def key(fingerprints: Fingerprints) -> str:
            before: tuple[str, dict[tuple[str, str], str]] | None = fingerprints.before("history")
            changed = fingerprints.changed
            if before is not None and changed is not None:
                lines = before[1]
                now = {(kind, eid): hb.of_kind(kind).get(eid) for kind, eid in changed}
                if all(lines.get(k) == (entry.history_line if entry is not None else None) for k, entry in now.items()):
                    fingerprints.keep("history", before)
                    return before[0]
            entries = hb.entries()
            made = _history_key(hb)(fingerprints), {(e.kind, e.id): e.history_line for e in entries}
            fingerprints.keep("history", made)
            return made[0]

        return key

    def _epoch(self) -> int:
        """`Handbook.content_epoch`: the last run's, while no entry that held the newest date was
        edited (an edit can only move it forward then)."""
        hb = self.handbook
        if self.cache is None:
            return hb.content_epoch()
        fingerprints = self.cache[0]
        before: tuple[int, frozenset[tuple[str, str]]] | None = fingerprints.before("epoch")
        changed = fingerprints.changed
        if before is None or changed is None or not changed.isdisjoint(before[1]):
            epoch = hb.content_epoch()
            holders = frozenset((e.kind, e.id) for e in hb.entries() if _entry_epoch(e) == epoch)
        else:
            epoch, holders = before
            for kind, eid in changed:
                entry = hb.of_kind(kind).get(eid)
                if entry is None:
                    continue
                own = _entry_epoch(entry)
                if own > epoch:
                    epoch, holders = own, frozenset({(kind, eid)})
                elif own == epoch:
                    holders |= {(kind, eid)}
        fingerprints.keep("epoch", (epoch, holders))
        return epoch

    def _exports(self, modules: list[Module]) -> None:
        """Quiz exports, linked from the module pages; with a cache, reused while no module changes.
        Modules to export anew are queued with the pages (`_render_queued`)."""
        hb, epoch = self.handbook, self._epoch()
        if self.cache is None:
            self.exports = _QueuedExports(ExportPlan(hb, epoch), None)
        else:
            fingerprints, cache = self.cache
            # A module's key covers what its exports show of it and its neighbours: kept while
            # neither it nor a neighbour changed.
            kept: dict[str, tuple[Module, str]] = fingerprints.before("exports") or {}
            module_keys = {}
            for m in modules:
                known = kept.get(m.id)
                if known is None or known[0] is not m or fingerprints.stale(m):
                    known = (m, fingerprints.listing("exports:" + "\n".join(shown_from_links(m)), [m]))
                module_keys[m.id] = known[1]
            fingerprints.keep("exports", {m.id: (m, module_keys[m.id]) for m in modules})
            key = fingerprints.listing(f"exports:{epoch}:" + ",".join(sorted(module_keys.values())), [])
            plan = ExportPlan(hb, epoch, module_keys)
            reused = {name: cache.get(f"downloads/{name}", key) for name in plan.names()}
            if all(isinstance(data, bytes) for data in reused.values()):
                self.pages.update({f"downloads/{name}": data for name, data in reused.items() if data is not None})
                return
            self.exports = _QueuedExports(plan, key)
        self.pages.update({f"downloads/{name}": "" for name in self.exports.plan.names()})  # their places

    def _exports_done(self, made: list[ExportPieces]) -> None:
        if self.exports is None:
            return
        exports, self.exports = self.exports, None
        for name, data in exports.plan.finish(made).items():
            self.pages[f"downloads/{name}"] = data
            if self.cache is not None and exports.key is not None:
                self.cache[1].put(f"downloads/{name}", exports.key, data)

    def _hand_written_pages(self) -> list[NavItem | tuple[str, list[NavItem]]]:
        """Hand-written pages, queued to be sanitised with the others (`_render_queued`) unless the
        page cache has them; nav: top-level pages under "About", folders as sections."""
        if self.pages_dir is None or not self.pages_dir.is_dir():
            return []
        sources = {p.relative_to(self.pages_dir).as_posix(): p for p in sorted(self.pages_dir.rglob("*.md"))}
        known = frozenset(self.pages) | frozenset(sources)
        # What a page's links resolve against: with its text, its fingerprint in the page cache
        # (the last run's while the same pages are known: sorting thousands of paths costs).
        setting = ""
        if self.cache is not None:
            before: tuple[frozenset[str], str] | None = self.cache[0].before("hand-written")
            if before is not None and before[0] == known:
                setting = before[1]
            else:
                setting = hashlib.sha256("\n".join(sorted(known)).encode()).hexdigest()
            self.cache[0].keep("hand-written", (known, setting))
        sections: dict[str, list[NavItem]] = {}
        for src, path in sources.items():
            text = path.read_text("utf-8")
            title, body = _split_title(text, path.stem)
            fingerprint = hit = None
            if self.cache is not None:
                base = self.cache[0].base
                fingerprint = hashlib.sha256(f"{base}\0hand-written\0{setting}\0{text}".encode()).hexdigest()
                hit = self.cache[1].get(src, fingerprint)
            self.pages[src] = hit if hit is not None else ""  # a page to render keeps its place meanwhile
            if hit is None:
                self.hand_written.append(_HandWrittenJob(src, path, title, body, known, fingerprint))
            folder = src.split("/", 1)[0] if "/" in src else ""
            item = NavItem(title, src)
            sections.setdefault(folder, []).append(item)
        for items in sections.values():  # a folder's index page leads its section
            items.sort(key=lambda i: (not i.src.endswith("index.md"), i.src))
        nav: list[NavItem | tuple[str, list[NavItem]]] = []
        if "" in sections:
            nav.append(("About", sections.pop("")))
        for _folder, items in sorted(sections.items()):
            nav.append((items[0].title if items[0].src.endswith("index.md") else _folder, items))
        return nav

    def _hand_written_page(self, job: _HandWrittenJob, report: Report) -> str:
        """One hand-written page; a broken link is reported in `report`."""
        rewrite = functools.partial(self._page_link, job, report)
        return (
            str(frontmatter.dump_front_matter({"title": job.title}))
            + f"\n# {md_text(job.title)}\n\n"
            + page_markdown(job.body, rewrite)
        )

    def _page_link(self, job: _HandWrittenJob, report: Report, href: str) -> str:
        """Turn a relative `.md` link of a hand-written page into a site URL; report broken ones."""
        target, _, fragment = href.partition("#")
        if not target.endswith(".md") or re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("/"):
            return href
        src = job.src
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(src), target))
        if resolved not in job.known:
            report.error(
                job.path,
                None,
                f"the link '{href}' points to no page of the handbook "
                f"(resolved to '{resolved}'): fix the path, relative to this file",
            )
            return href
        url = relative_url(src, resolved, self.directory_urls)
        return url + (f"#{fragment}" if fragment else "")


def _everything(fingerprints: Fingerprints) -> str:
    """The key of a page that shows every entry (home, indexes, glossary, training tools)."""
    return fingerprints.everything


def _kinds(*kinds: str) -> Callable[[Fingerprints], str]:
    """The key of a page that shows entries of these kinds only (none: the vocabularies only)."""
    return lambda fingerprints: fingerprints.of_kinds(kinds)


def _entry_key(entry: Entry) -> Callable[[Fingerprints], str]:
    """The key of a page of one entry: the entry and the entries it links to or is linked from."""
    return lambda fingerprints: fingerprints.entry(entry)


def _listing_key(name: str, entries: Sequence[Entry]) -> Callable[[Fingerprints], str]:
    return lambda fingerprints: fingerprints.listing(name, entries)


# Pages that show a few fields of every entry (counts, titles, dates) are keyed by those fields
# (`Fingerprints.shown`), not by every source digest: an edit to a summary leaves them as they
# were and they are not rendered again. Each key lists what its template shows besides the
# vocabularies; a template that shows more must add it here (site_tests/test_cache.py guards).


def _home_key(hb: Handbook, recent: list[Entry]) -> Callable[[Fingerprints], str]:
    """The home page: how many entries of each kind, the practices of each matrix cell and term
    of the environment and threat vocabularies, and the recently reviewed entries."""

    def key(fingerprints: Fingerprints) -> str:
        counts = [len(hb.practices), len(hb.lessons), len(hb.modules)]
        cells = [len(hb.cell(p, d)) for p in hb.terms["pillar"] for d in hb.terms["dimension"]]
        terms = [len(hb.practices_with(v, t)) for v in ("environment", "threat") for t in hb.terms[v]]
        shown = [(e.kind, e.id, e.title, e.last_reviewed) for e in recent]
        return fingerprints.shown("home", (counts, cells, terms, shown))

    return key


def _counts_key(hb: Handbook, vocabulary: str) -> Callable[[Fingerprints], str]:
    """A vocabulary's index: its terms (in the vocabularies) and how many practices carry each."""
    return lambda fingerprints: fingerprints.shown(
        f"counts:{vocabulary}", [len(hb.practices_with(vocabulary, t)) for t in hb.terms[vocabulary]]
    )


def _history_key(hb: Handbook) -> Callable[[Fingerprints], str]:
    """What's new: each entry's kind, id, title and history."""
    return lambda fingerprints: fingerprints.shown("history", "\n".join(e.history_line for e in hb.entries()))


def _split_title(text: str, fallback: str) -> tuple[str, str]:
    """Title from the page's first `# heading` (removed from the body), else from its file name."""
    match = re.match(r"\s*#\s+(.+?)\s*\n", text)
    if match:
        return match.group(1).strip(), text[match.end() :]
    return fallback.replace("-", " ").capitalize(), text


@dataclass
class _LastPages:
    """What `Renderer._replay` takes over from the last run: its tree, and what it was made of."""

    tables: tuple[Mapping[str, Entry], ...]  # the model's entries by kind, the very dicts
    directory_urls: bool
    pages: dict[str, Any]
    hand_written: list[str]
    aliases: dict[tuple[str, str], list[str]]  # the alias redirect pages of each entry


def _alias_pages(entry: Entry, directory_urls: bool) -> list[tuple[str, str]]:
    """(page, target URL) of each redirect from one of an entry's former ids."""
    folder = posixpath.dirname(entry.src)
    return [
        (f"{folder}/{alias}/index.html", relative_url(f"{folder}/{alias}/index.md", entry.src, directory_urls))
        for alias in entry.aliases
    ]


def _entry_epoch(entry: Entry) -> int:
    """The newest date of an entry (reviewed or in its history), as `content_epoch` counts it."""
    newest = max([entry.last_reviewed, *(item.date for item in entry.history)])
    return int(dt.datetime(newest.year, newest.month, newest.day, tzinfo=dt.UTC).timestamp())


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
    handbook: Handbook,
    report: Report,
    pages_dir: Path | None = None,
    directory_urls: bool = True,
    cache: tuple[Fingerprints, PageCache] | None = None,
) -> DocsTree:
    """Every page of the handbook; with a `cache`, pages whose fingerprint is unchanged are reused."""
    tree = Renderer(handbook, report, pages_dir, directory_urls, cache).render()
    if cache is not None:
        cache[1].finish()
    return tree


class _Deferred:
    """A page's argument worked out only if the page is rendered: a page reused from the cache never
    asks for it (`csbp serve` after an edit that leaves the page as it was)."""

    def __init__(self, make: Callable[[], Iterable[Any]]) -> None:
        self.make = make

    def __iter__(self) -> Iterator[Any]:
        return iter(self.make())


def facet_filters(hb: Handbook) -> list[tuple[str, list[Term]]]:
    """(vocabulary, terms some practice carries) per facet, in vocabulary order: the filter form
    offers only these, so no single box can empty the list."""
    return [
        (vocabulary, [t for t in hb.terms[vocabulary].values() if hb.practices_with(vocabulary, t.id)])
        for vocabulary, _ in FACETS
    ]
