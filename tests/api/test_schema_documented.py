"""The OpenAPI document explains everything it shows: every operation, every parameter and every member of
every schema has a description, and every member has a type a client can rely on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.plumbing import get_doc

from integrations.api.strict import StrictFields, StrictQuery
from integrations.webhooks import TEST_EVENT
from slaportal.publishing import EVENTS

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# What makes a schema say what its value is; a schema with none of these accepts anything.
TYPING_KEYWORDS = {"type", "$ref", "oneOf", "anyOf", "allOf", "enum", "const"}

# Members that are free-form on purpose, by "Component.member" ({*} for a map's values).
FREE_FORM = {
    # An activity's `details` is the CRM's own data (campaign, page, ...): SLA Portal stores it as sent and
    # reads none of it, so any JSON value is as valid as another.
    "ActivityRequest.details{*}",
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    # Building the document touches no database.
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, operation) for every path operation and every webhook."""
    for section in ("paths", "webhooks"):
        for path, item in schema.get(section, {}).items():
            for method in METHODS:
                if method in item:
                    yield f"{method.upper()} {path}", item[method]


def members(name: str, node: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """("Component.member", schema) for every member of an object schema, and of the objects inline in it."""
    for key, sub in (node.get("properties") or {}).items():
        yield f"{name}.{key}", sub
        yield from members(f"{name}.{key}", sub)
    if isinstance(node.get("items"), dict):
        yield from members(f"{name}[]", node["items"])
    if isinstance(node.get("additionalProperties"), dict):
        yield from members(f"{name}{{*}}", node["additionalProperties"])


def free_form(path: str, node: dict[str, Any]) -> Iterator[str]:
    """The places in `node` (a member's schema) where any value at all would do."""
    if not TYPING_KEYWORDS & node.keys():
        yield path
        return
    for keyword in ("oneOf", "anyOf", "allOf"):
        for index, sub in enumerate(node.get(keyword, [])):
            yield from free_form(f"{path}.{keyword}[{index}]", sub)
    if isinstance(node.get("items"), dict):
        yield from free_form(f"{path}[]", node["items"])
    for index, sub in enumerate(node.get("prefixItems", [])):
        yield from free_form(f"{path}[{index}]", sub)
    if isinstance(node.get("additionalProperties"), dict):
        yield from free_form(f"{path}{{*}}", node["additionalProperties"])
    for key, sub in (node.get("properties") or {}).items():
        yield from free_form(f"{path}.{key}", sub)


def test_every_operation_has_a_description(schema):
    missing = [name for name, operation in operations(schema) if not operation.get("description")]
    assert not missing, "operations without a description:\n" + "\n".join(missing)


def test_no_operation_is_described_by_an_internal_docstring(schema):
    # A view without a description of its own inherits the first docstring up its classes: StrictQuery's
    # is about how the code checks query parameters, not about the operation.
    internal = get_doc(StrictQuery)
    borrowed = [name for name, operation in operations(schema) if operation.get("description") == internal]
    assert not borrowed, "operations described by StrictQuery's docstring:\n" + "\n".join(borrowed)


def test_no_schema_is_described_by_an_internal_docstring(schema):
    # Serializers inherit the first docstring up their classes too: no mixin of ours may lend one.
    internal = {get_doc(mixin) for mixin in (StrictFields, StrictQuery)} - {""}
    borrowed = [
        name
        for name, component in schema["components"]["schemas"].items()
        if component.get("description") in internal
    ]
    assert not borrowed, "schemas described by a mixin's docstring:\n" + "\n".join(borrowed)


def test_bodies_are_required_and_every_list_takes_the_page_parameters(schema):
    for name, operation in operations(schema):
        if name.startswith(("POST", "PUT")) and "requestBody" in operation:
            assert operation["requestBody"].get("required") is True, name
        ok = operation.get("responses", {}).get("200", {})
        body = ok.get("content", {}).get("application/json", {}).get("schema", {})
        if body.get("$ref", "").startswith("#/components/schemas/Paginated"):
            names = {parameter["name"] for parameter in operation.get("parameters", [])}
            assert {"cursor", "page_size"} <= names, name
            assert operation["operationId"].endswith("_list"), name


def test_every_parameter_has_a_description(schema):
    missing = [
        f"{name} {parameter['in']}:{parameter['name']}"
        for name, operation in operations(schema)
        for parameter in operation.get("parameters", [])
        if not parameter.get("description")
    ]
    assert not missing, "parameters without a description:\n" + "\n".join(missing)


def test_every_schema_member_has_a_description(schema):
    missing = [
        path
        for name, component in schema["components"]["schemas"].items()
        for path, member in members(name, component)
        if not member.get("description")
    ]
    assert not missing, f"{len(missing)} members without a description:\n" + "\n".join(missing)


def test_no_member_is_described_by_a_form_field_help_text_meant_for_people_editing_it(schema):
    # Django's user model says of `username` "Required. 150 characters or fewer...": a response's
    # `owner` is not required of anyone.
    borrowed = [
        path
        for name, component in schema["components"]["schemas"].items()
        for path, member in members(name, component)
        if str(member.get("description", "")).startswith("Required.")
    ]
    assert not borrowed, "\n".join(borrowed)


def test_no_schema_member_is_free_form_unless_meant_to_be(schema):
    untyped = [
        place
        for name, component in schema["components"]["schemas"].items()
        for key, member in (component.get("properties") or {}).items()
        for place in free_form(f"{name}.{key}", member)
    ]
    unexpected = sorted(set(untyped) - FREE_FORM)
    assert not unexpected, "members that accept any value:\n" + "\n".join(unexpected)
    # The allowance is kept to what is still free-form: a member typed since is taken out of it.
    assert set(untyped) >= FREE_FORM, f"no longer free-form: {sorted(FREE_FORM - set(untyped))}"


def test_the_document_is_openapi_3_1_with_its_server_and_tags(schema):
    assert schema["openapi"] == "3.1.0"
    assert schema["servers"] == [{"url": "/api/v1", "description": "This SLA Portal"}]
    assert schema["info"]["license"]["identifier"] == "MIT"
    # Paths are documented without a trailing slash (the slashed ones answer too, undocumented).
    assert [path for path in schema["paths"] if path.endswith("/")] == []
    defined = {tag["name"] for tag in schema["tags"]}
    used = {tag for _, operation in operations(schema) for tag in operation.get("tags", [])}
    assert used <= defined, used - defined
    assert all(tag.get("description") for tag in schema["tags"])


def test_every_event_of_the_catalogue_is_a_signed_webhook_in_the_document(schema):
    assert set(schema["webhooks"]) == set(EVENTS) | {TEST_EVENT}
    for event, item in schema["webhooks"].items():
        operation = item["post"]
        assert {p["name"] for p in operation["parameters"] if p["in"] == "header"} == {
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
        }, event
        assert operation["security"] == [{"standardWebhooksSignature": []}], event
        payload = operation["requestBody"]["content"]["application/json"]["schema"]["allOf"]
        assert payload[0]["$ref"].startswith("#/components/schemas/"), event
        assert payload[1] == {"properties": {"event": {"const": event}}}
