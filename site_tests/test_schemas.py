"""The JSON Schemas are what contributors' editors read: valid 2020-12, every field described."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from csbp.validate import SchemaSet

SCHEMAS = SchemaSet()


@pytest.mark.parametrize("name", sorted(SCHEMAS.schemas))
def test_schema_is_valid_under_the_2020_12_metaschema(name):
    Draft202012Validator.check_schema(SCHEMAS.schemas[name])
    assert SCHEMAS.schemas[name]["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def undescribed_fields(schema: Any, trail: str = "") -> list[str]:
    """Property names, anywhere in a schema, whose own schema (or the one it refers to) lacks a description."""
    missing: list[str] = []
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            if sub is False:
                continue
            resolved = SCHEMAS.resolve(sub)
            if "$ref" in resolved and resolved["$ref"].startswith("#/"):
                resolved = {**SCHEMAS.schemas["common"]["$defs"].get(resolved["$ref"].split("/")[-1], {}), **resolved}
            if not (isinstance(resolved, dict) and resolved.get("description")):
                missing.append(f"{trail}{name}")
        for key, sub in schema.items():
            if key == "if":  # conditions name fields already described where they are defined
                continue
            missing += undescribed_fields(sub, f"{trail}{key}." if key not in ("properties",) else trail)
    elif isinstance(schema, list):
        for sub in schema:
            missing += undescribed_fields(sub, trail)
    return missing


@pytest.mark.parametrize("name", sorted(SCHEMAS.schemas))
def test_every_field_has_a_description(name):
    assert undescribed_fields(SCHEMAS.schemas[name]) == []


def test_the_description_audit_notices_a_bare_field():
    bare = {"properties": {"a": {"type": "string", "description": "A."}, "b": {"type": "string"}}}
    assert undescribed_fields(bare) == ["b"]
    assert undescribed_fields({"properties": {"c": {"$ref": "common.schema.json#/$defs/date"}}}) == []
