"""A page's YAML front matter (title, description, search settings, tags)."""

from __future__ import annotations

from typing import Any

import yaml
from jinja2 import pass_context
from markupsafe import Markup

from csbp.searchindex import compact_front_matter
from csbp.urls import page_url


@pass_context
def front_matter(context: Any, data: dict[str, Any]) -> Markup:
    """The `front_matter` filter; in a large handbook, the page is marked for a compact search
    record (searchindex.py)."""
    if context.get("compact_search"):
        data = compact_front_matter(data, page_url(context["page_src"]))
    return dump_front_matter(data)


def dump_front_matter(data: dict[str, Any]) -> Markup:
    dumped = yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=True, width=1000).strip()
    return Markup(f"---\n{dumped}\n---\n")


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's writer where present
