"""A page's YAML front matter (title, description, search settings, tags), as yaml.dump writes it.

Every page starts with one, so writing it is a measurable part of rendering: front matter of
plain words, numbers, flags and lists is written directly (`simple_yaml`, held to yaml.dump by
site_tests/test_render.py); anything else goes to yaml.dump.
"""

from __future__ import annotations

import re
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


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: same output, several times faster


def dump_front_matter(data: dict[str, Any]) -> Markup:
    dumped = simple_yaml(data)
    if dumped is None:
        dumped = yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=True, width=1000).strip()
    return Markup(f"---\n{dumped}\n---\n")


# A string yaml.dump writes as is: starts with a letter, no character that could make it a comment,
# a key, a quote or a break; short of the dump's line width.
_PLAIN_SCALAR = re.compile(r"[^\W\d_][^\x00-\x1f\x7f-\xa0\u2028\u2029\ufeff#:\\\"']{0,899}(?<! )")
_RESOLVER = yaml.resolver.Resolver()


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if "." in text and "e" not in text and text[0].isdigit() else None
    if (
        isinstance(value, str)
        and _PLAIN_SCALAR.fullmatch(value)
        and value.isprintable()
        and _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) == "tag:yaml.org,2002:str"
    ):
        return value
    return None


def simple_yaml(data: dict[str, Any]) -> str | None:
    """What yaml.dump writes for front matter of plain words, numbers, flags, lists and one level of
    mapping, without the dumper's set-up for each call (a third of rendering a small page); None
    for anything else, which goes to yaml.dump."""
    if not data:
        return None
    lines: list[str] = []
    for key in sorted(data):
        value = data[key]
        if not isinstance(key, str) or _scalar(key) != key:
            return None
        if isinstance(value, dict) and value:
            lines.append(f"{key}:")
            for inner in sorted(value):
                text = _scalar(value[inner])
                if text is None or not isinstance(inner, str) or _scalar(inner) != inner:
                    return None
                lines.append(f"  {inner}: {text}")
        elif isinstance(value, list):
            lines.append(f"{key}:" if value else f"{key}: []")
            for item in value:
                text = _scalar(item)
                if text is None or isinstance(item, bool | int | float):
                    return None
                lines.append(f"- {text}")
        else:
            text = _scalar(value)
            if text is None:
                return None
            lines.append(f"{key}: {text}")
    return "\n".join(lines)
