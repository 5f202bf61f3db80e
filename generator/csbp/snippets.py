"""The HTML pieces many pages repeat (links, term badges, entry lists, detail tables, the top and
bottom of an entry page), written in Python and registered as template globals.

They are the pieces a large handbook repeats thousands of times, where a Jinja macro call costs
more than the text it writes; page structure stays in the templates. Every value is HTML-escaped
(`html_text`), contributor Markdown comes from `markup` already sanitised, and links are relative
URLs (`urls.relative_url`), as the engine would write them.
"""

from __future__ import annotations

import functools
import html
import itertools
import operator
from collections.abc import Iterable, Sequence
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from csbp.frontmatter import front_matter
from csbp.markup import markdown_inline, md_text, plain
from csbp.model import FACETS, Entry, Practice, Reference, Term
from csbp.urls import relative_url

TLP_CSS = {
    "TLP:CLEAR": "clear",
    "TLP:GREEN": "green",
    "TLP:AMBER": "amber",
    "TLP:AMBER+STRICT": "amber-strict",
    "TLP:RED": "red",
}


def html_text(value: Any) -> Markup:
    """Plain text for an HTML-only context (an attribute, a raw HTML block): HTML-escaped only."""
    if type(value) is str:
        return _html_text(value)
    return Markup(html.escape(plain(str(value)), quote=True))


@functools.lru_cache(maxsize=1 << 16)
def _html_text(value: str) -> Markup:
    """Memoised: a listing writes each entry's title and summary into every page that lists it."""
    return Markup(html.escape(plain(value), quote=True))


def _url(context: Context, src: str) -> str:
    return relative_url(context["page_src"], src, context["directory_urls"])


@pass_context
def href(context: Context, src: str) -> Markup:
    """The `href` filter: the URL from the page being rendered to a docs file, for raw HTML."""
    return Markup(html.escape(_url(context, src), quote=True))


@pass_context
def link(context: Context, entry: Entry) -> Markup:
    """An entry's title, linked to its page."""
    return Markup(_link(_url(context, entry.src), entry.title))


@functools.lru_cache(maxsize=1 << 16)
def _link(url: str, title: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{_html_text(title)}</a>'


@pass_context
def term_link(context: Context, term: Term) -> Markup:
    """A term as a badge linked to its browse page."""
    return Markup(_badge(_url(context, term.src), term.vocabulary, term.label))


@functools.lru_cache(maxsize=1 << 16)
def _badge(url: str, vocabulary: str, label: str) -> str:
    return (
        f'<a class="csbp-badge csbp-badge--{_html_text(vocabulary)}" href="{html.escape(url, quote=True)}">'
        f"{_html_text(label)}</a>"
    )


@pass_context
def entry_item(context: Context, entry: Entry) -> Markup:
    """One entry of a list: its title, linked, and its summary."""
    return Markup(_entry_item(_url(context, entry.src), entry.title, entry.summary))


@functools.lru_cache(maxsize=1 << 16)
def _entry_item(url: str, title: str, summary: str) -> str:
    return f"<li>{_link(url, title)}: {_html_text(summary)}</li>"


@pass_context
def entry_list(context: Context, entries: Sequence[Entry], empty: str = "None yet.") -> Markup:
    """A list of linked entries with their summaries, or `empty` in a paragraph; a blank line after."""
    return _list_block([entry_item(context, e) for e in entries], empty)


def _list_block(items: Sequence[str], empty: str) -> Markup:
    if not items:
        return Markup(f"<p>{_html_text(empty)}</p>\n\n")
    return Markup("<ul>\n" + "\n".join(items) + "\n</ul>\n\n")


@pass_context
def facets(context: Context, practice: Practice) -> Markup:
    """A practice's terms, one line per facet, each term a badge."""
    vocabularies = context["handbook"].vocabularies
    lines = []
    for vocabulary, _attribute in FACETS:
        terms = practice.facet_terms(vocabulary)
        if terms:
            badges = " ".join(_badge(_url(context, t.src), t.vocabulary, t.label) for t in terms)
            lines.append(f"<li><strong>{_html_text(vocabularies[vocabulary].label)}:</strong> {badges}</li>\n")
    return Markup('<div class="csbp-facets">\n<ul>\n' + "".join(lines) + "</ul>\n</div>\n\n")


def md_items(items: Iterable[str], ordered: bool = False) -> Markup:
    """Contributor Markdown items (steps, pitfalls, objectives) as a list."""
    tag = "ol" if ordered else "ul"
    body = "".join(f"<li>{markdown_inline(item)}</li>\n" for item in items)
    return Markup(f'<{tag} class="csbp-list">\n{body}</{tag}>\n')


def references(refs: Sequence[Reference], heading: str = "References") -> Markup:
    """Sources by type (types by label), newest first within a type: a heading, then a list per type."""
    out = [f"## {md_text(heading)}\n\n"]
    for _key, grouped in itertools.groupby(sorted(refs, key=_type_key), key=_type_key):
        group = list(grouped)
        items = "".join(_reference(r) for r in sorted(group, key=operator.attrgetter("year"), reverse=True))
        out.append(f"### {md_text(group[0].type.label)}\n\n<ul>\n{items}</ul>\n\n")
    return Markup("".join(out))


def _type_key(reference: Reference) -> str:
    """Types grouped and ordered by label, ignoring case (as Jinja's `groupby` did)."""
    return reference.type.label.lower()


def _reference(r: Reference) -> str:
    if r.url:
        title = f'<a class="csbp-ref-link" href="{html_text(r.url)}" rel="noopener noreferrer">{html_text(r.title)}</a>'
    else:
        title = f"<em>{html_text(r.title)}</em>"
    note = ""
    if r.note:
        note = f" {html_text(r.note)}" + ("" if r.note.rstrip().endswith((".", "!", "?")) else ".")
    url = f' <span class="csbp-print-url">{html_text(r.url)}</span>' if r.url else ""
    return f"<li>{title}. {html_text(r.publisher)}, {r.year}.{note}{url}</li>\n"


def details(head: str, value_head: str, rows: Iterable[tuple[str, Any]]) -> Markup:
    """A two-column table of an entry's details: `rows` are (label, value) pairs, values plain text
    or Markup (a link, a badge) that is written as it is."""
    body = "".join(f"<tr>\n<td>{html_text(label)}</td>\n<td>{_cell(value)}</td>\n</tr>\n" for label, value in rows)
    return Markup(
        f"<table>\n<thead>\n<tr>\n<th>{html_text(head)}</th>\n<th>{html_text(value_head)}</th>\n</tr>\n</thead>\n"
        f"<tbody>\n{body}</tbody>\n</table>\n\n"
    )


def _cell(value: Any) -> str:
    """A table cell's value: markup (a link, a badge) as it is, anything else escaped."""
    return value.__html__() if hasattr(value, "__html__") else html_text(value)


def marking_banner(tlp: str) -> Markup:
    """A banner on a page marked above TLP:CLEAR, then a blank line; nothing on a TLP:CLEAR page."""
    if tlp == "TLP:CLEAR":
        return Markup("")
    return Markup(
        f'<div class="csbp-tlp csbp-tlp--{_html_text(TLP_CSS[tlp])}" role="note"><strong>{_html_text(tlp)}</strong> '
        "Sharing is limited: see the handbook's sharing rules before passing this on.</div>\n\n"
    )


@pass_context
def page_header(
    context: Context, entry: Entry, boost: float = 1, tags: Sequence[str] = (), keywords: Sequence[str] = ()
) -> Markup:
    """The top of an entry's page: front matter, title, marking, a retired entry's notice, summary.

    `keywords` go inside the summary paragraph: Material's search shows only the matching
    paragraph of a result, so a reader who finds a practice by an abbreviation sees its summary."""
    matter = {"title": plain(entry.title), "description": plain(entry.summary), "search": {"boost": boost}}
    out = [front_matter(context, {**matter, "tags": list(tags)}), f"\n# {md_text(entry.title)}\n\n"]
    out.append(f"{marking_banner(entry.tlp)}\n")
    if entry.retired:
        out.append(
            '!!! warning "Retired entry"\n'
            "    This entry is no longer recommended and is kept so that old links keep working.\n"
        )
        if entry.replaced_by is not None:
            out.append(f"    Use {link(context, entry.replaced_by)} instead.\n")
        out.append("\n")
    terms = ""
    if keywords:
        terms = (
            ' <span class="csbp-keywords"><span class="csbp-keywords__label">Related terms:</span> '
            f"{html_text(', '.join(keywords))}</span>"
        )
    out.append(f'<p class="csbp-summary">{_html_text(entry.summary)}{terms}</p>\n')
    return Markup("".join(out))


@pass_context
def entry_details(context: Context, entry: Entry) -> Markup:
    """The bottom of an entry's page: its id, marking, status, owner and review dates, with a
    warning when its review is overdue."""
    overdue = entry.review_due < context["handbook"].today and not entry.retired
    due = entry.review_due.isoformat()
    table = details(
        "Field",
        "Value",
        [
            ("Id", Markup("<code>%s</code>") % entry.id),
            ("Marking", entry.tlp),
            ("Status", entry.status.label if entry.status else "Not set"),
            ("Owner", entry.owner),
            ("Last reviewed", entry.last_reviewed.isoformat()),
            ("Next review due", Markup("%s <strong>(overdue)</strong>") % due if overdue else due),
        ],
    )
    out = f"## About this entry\n\n{table}\n"
    if overdue:
        out += (
            '!!! danger "Review overdue"\n'
            f"    This entry was due for review on {md_text(due)}. "
            "Check it against current guidance before relying on it.\n\n"
        )
    return Markup(out)


@pass_context
def practice_row(context: Context, practice: Practice) -> Markup:
    """A practice in the practices index, with the ids of its terms per facet for the filter form (facets.js)."""
    terms = "".join(
        f' data-{_html_text(vocabulary)}="{_html_text(" ".join(t.id for t in practice.facet_terms(vocabulary)))}"'
        for vocabulary, _attribute in FACETS
    )
    link = _link(_url(context, practice.src), practice.title)
    return Markup(f'<li class="csbp-practice-list__item"{terms}>{link}: {_html_text(practice.summary)}</li>')


@pass_context
def change_row(context: Context, entry: Entry, index: int, kind_label: str) -> Markup:
    """One history item of one entry on What's new."""
    item = entry.history[index]
    note = f". {html_text(item.note)}" if item.note else ""
    return Markup(
        f"<li>{html_text(item.date.isoformat())} · <strong>{html_text(item.change.capitalize())}</strong> "
        f"{html_text(kind_label)}: {_link(_url(context, entry.src), entry.title)}{note}</li>\n"
    )


@pass_context
def practice_rows(context: Context, practices: Sequence[Practice]) -> Markup:
    """The practices index's rows, one per line."""
    return Markup("\n".join(practice_row(context, practice) for practice in practices))


@pass_context
def change_rows(context: Context, rows: Sequence[tuple[Entry, int, str]]) -> Markup:
    """What's new lines of one month: (entry, history index, kind label) each."""
    return Markup("\n".join(change_row(context, *row) for row in rows))


GLOBALS = {
    "marking_banner": marking_banner,
    "page_header": page_header,
    "entry_details": entry_details,
    "link": link,
    "term_link": term_link,
    "entry_item": entry_item,
    "entry_list": entry_list,
    "facets": facets,
    "md_items": md_items,
    "references": references,
    "details": details,
    "practice_rows": practice_rows,
    "change_rows": change_rows,
}
