"""Contributor Markdown is untrusted: a corpus of XSS vectors in every text field of every kind
of entry (and in a hand-written page) is built and opened in Chromium. No script may run (a
page-level canary catches any call) and no event handler or dangerous URL may reach the DOM."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from csbp.validate import SchemaSet
from site_tests.support import FIXTURES, csbp, make_handbook

pytestmark = pytest.mark.browser

VECTORS = [
    line
    for line in (FIXTURES / "untrusted" / "xss-vectors.txt").read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]
ENTRIES = {  # one entry of every kind in the fixture handbook gets the vectors
    "practice": "practices/vehicle-barriers.yaml",
    "lesson": "content/lessons/frontage-attack.yaml",
    "module": "content/modules/frontage-basics.yaml",
}
CANARY = """
window.__fired = [];
window.__xss = function () { window.__fired.push(String(location.href)); };
window.alert = window.confirm = window.prompt = window.print = window.__xss;
"""
DOM_AUDIT = "\n".join(  # the function itself, without its leading comment (Playwright wants a function)
    line
    for line in (Path(__file__).parent / "dom_audit.js").read_text("utf-8").splitlines()
    if not line.startswith("//")
)


class Injector:
    """Walks an entry alongside its schema and puts vectors into every free-text field."""

    def __init__(self, schemas: SchemaSet, kind: str) -> None:
        self.schemas = schemas
        self.root = schemas.schemas[kind]
        self.rotation = itertools.cycle(VECTORS)
        self.markdown_fields: set[str] = set()

    def resolve(self, schema: Any) -> Any:
        if isinstance(schema, dict) and schema.get("$ref", "").startswith("#/"):
            _, group, name = schema["$ref"].split("/")  # local refs: this kind's $defs, else common's
            target = self.root.get(group, {}).get(name) or self.schemas.schemas["common"][group][name]
            return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return self.schemas.resolve(schema) if isinstance(schema, dict) else {}

    def properties(self, schema: dict[str, Any]) -> dict[str, Any]:
        found = dict(schema.get("properties", {}))
        for branch in schema.get("allOf", []):
            found.update({k: v for k, v in branch.get("then", {}).get("properties", {}).items() if v is not False})
        return found

    def fill(self, value: Any, schema: Any, name: str = "") -> Any:
        schema = self.resolve(schema)
        if isinstance(value, dict):
            props = self.properties(schema)
            return {key: self.fill(item, props.get(key, {}), key) for key, item in value.items()}
        if isinstance(value, list):
            items = self.resolve(schema.get("items", {}))
            if items.get("x-markdown"):
                self.markdown_fields.add(name)
                return list(VECTORS)
            return [self.fill(item, items, name) for item in value]
        if isinstance(value, str) and schema.get("x-markdown"):
            self.markdown_fields.add(name)
            return "\n\n".join(VECTORS)[: schema.get("maxLength", 20000)]
        if isinstance(value, str) and self.free_text(schema):
            limit = schema.get("maxLength", 10_000)
            vector = next(v for v in self.rotation if len(value) + 1 + len(v) <= limit)
            return f"{value} {vector}"
        return value

    @staticmethod
    def free_text(schema: dict[str, Any]) -> bool:
        keys = {"enum", "const", "pattern", "format", "x-vocabulary"}
        return schema.get("type") == "string" and not keys & schema.keys()


def markdown_fields_in_schemas(schemas: SchemaSet) -> set[str]:
    """Every property name whose schema is Markdown (or a list of Markdown items)."""
    names: set[str] = set()

    def walk(node: Any, injector: Injector) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                resolved = injector.resolve(sub)
                if resolved.get("x-markdown") or injector.resolve(resolved.get("items", {})).get("x-markdown"):
                    names.add(name)
            for sub in node.values():
                walk(sub, injector)
        elif isinstance(node, list):
            for sub in node:
                walk(sub, injector)

    for kind in ENTRIES:
        walk(schemas.schemas[kind], Injector(schemas, kind))
    return names


@pytest.fixture(scope="module")
def untrusted_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    root = make_handbook(tmp_path_factory.mktemp("untrusted") / "handbook")
    schemas = SchemaSet()
    filled: set[str] = set()
    for kind, relative in ENTRIES.items():
        path = root / relative
        injector = Injector(schemas, kind)
        data = injector.fill(yaml.safe_load(path.read_text("utf-8")), injector.root)
        path.write_text(json.dumps(data, indent=1, default=str), "utf-8")  # JSON is YAML: no quoting surprises
        filled |= injector.markdown_fields
    (root / "content/pages/untrusted.md").write_text("# Untrusted page\n\n" + "\n\n".join(VECTORS) + "\n", "utf-8")
    result = csbp("build", "--root", str(root))
    assert result.returncode == 0, result.stderr
    assert "raw HTML or an unsafe link is removed" in result.stderr  # contributors are told, not silently cut
    return root / "site", filled


def test_the_corpus_holds_at_least_fifty_vectors():
    assert len(VECTORS) >= 50
    assert len(set(VECTORS)) == len(VECTORS)


def test_vectors_reach_every_markdown_field_of_every_kind(untrusted_site):
    _site, filled = untrusted_site
    expected = markdown_fields_in_schemas(SchemaSet())
    assert expected >= {"context", "practice", "what_happened", "body", "trainer_notes", "explanation"}
    assert filled == expected


def test_the_canary_catches_a_script_that_runs(page, untrusted_site):
    """Control: the same harness does see a handler firing, so silence below means something."""
    from site_tests.browser.conftest import serve

    site, _ = untrusted_site
    server, url = serve(site)
    try:
        page.add_init_script(CANARY)
        page.goto(url)
        page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=__xss()>')")
        page.wait_for_function("window.__fired.length > 0", timeout=5_000)
        assert page.evaluate(DOM_AUDIT) != []
    finally:
        server.shutdown()


def test_no_vector_runs_or_reaches_the_dom_on_any_page(page, untrusted_site):
    from site_tests.browser.conftest import serve

    site, _ = untrusted_site
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(CANARY)
    server, url = serve(site)
    problems: dict[str, list[str]] = {}
    try:
        pages = sorted(p.parent.relative_to(site).as_posix() for p in site.rglob("index.html"))
        assert {"practices/vehicle-barriers", "lessons/frontage-attack", "modules/frontage-basics", "untrusted"} <= set(
            pages
        )
        for relative in pages:
            address = url + ("" if relative == "." else relative + "/")
            page.goto(address)
            page.wait_for_load_state("networkidle")
            page.evaluate(
                """() => {
                  document.querySelectorAll('details').forEach(d => { d.open = true; });
                  for (const el of document.querySelectorAll('article *')) {
                    for (const type of ['mouseover', 'pointerover', 'focus', 'animationstart']) {
                      el.dispatchEvent(new Event(type, {bubbles: true}));
                    }
                  }
                }"""
            )
            page.wait_for_timeout(50)
            found = page.evaluate(DOM_AUDIT) + [f"canary fired on {u}" for u in page.evaluate("window.__fired")]
            if found:
                problems[relative] = found
        # Search results are rendered from the index by script: search for an injected title.
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.locator("label.md-search__icon, .md-search__input").first.click()
        page.keyboard.type("barriers", delay=20)
        page.locator(".md-search-result__item").first.wait_for(timeout=10_000)
        page.wait_for_timeout(200)
        found = page.evaluate(DOM_AUDIT) + [f"canary fired on {u}" for u in page.evaluate("window.__fired")]
        if found:
            problems["search results"] = found
    finally:
        server.shutdown()
    assert problems == {}
    assert dialogs == []
    assert page.js_errors == []
