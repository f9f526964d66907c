"""The OpenAPI schema is the API's contract: every /api/ route is in it and everything in it is
routed; each listing's parameters are exactly those its view reads; and real responses of every
endpoint validate against the documented shapes, with no undocumented field."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from newsstand.api import views
from newsstand.api.openapi import schema

pytestmark = pytest.mark.django_db

NOT_DOCUMENTED = {"api-not-found"}  # the catch-all that answers JSON 404s


def api_routes() -> set[str]:
    """OpenAPI path templates of every named route under /api/, from the live URL resolver."""
    found: set[str] = set()

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern) and route.startswith("api/") and p.name not in NOT_DOCUMENTED:
                found.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))

    walk(get_resolver().url_patterns, "")
    return found


def test_every_api_route_is_documented_and_vice_versa():
    documented = set(schema()["paths"])
    routes = api_routes()
    assert routes, "no /api/ routes found"
    assert routes - documented == set(), "routes missing from the OpenAPI schema"
    assert documented - routes == set(), "documented paths that are not routed"


def test_path_parameters_match_the_templates():
    for path, item in schema()["paths"].items():
        for method, op in item.items():
            named = set(re.findall(r"{(\w+)}", path))
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert named == declared, (path, method)


def test_listing_parameters_are_exactly_what_the_views_read():
    paths = schema()["paths"]
    query = lambda path: tuple(p["name"] for p in paths[path]["get"].get("parameters", []) if p["in"] == "query")
    assert query("/api/articles") == views.ARTICLE_LIST_PARAMS
    assert query("/api/tags") == views.TAG_LIST_PARAMS


def test_schema_is_served_and_well_formed(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    doc = response.json()
    assert doc["openapi"] == "3.1.0" and doc["servers"] == [{"url": "http://testserver"}]
    refs = set(re.findall(r'"#/components/schemas/(\w+)"', response.content.decode()))
    assert refs <= set(doc["components"]["schemas"]), "dangling $ref"
    for path, item in doc["paths"].items():
        for op in item.values():
            assert op["operationId"] and op["summary"] and "200" in op["responses"], path
            for param in op.get("parameters", []):
                assert param["description"] and param["schema"], (path, param["name"])


# --- responses against the schema -----------------------------------------------------------------

def validate(value, sch: dict, doc: dict, where: str = "$") -> None:
    """The subset of JSON Schema the document uses; objects may carry no undocumented field."""
    if "$ref" in sch:
        return validate(value, doc["components"]["schemas"][sch["$ref"].rsplit("/", 1)[1]], doc, where)
    if "allOf" in sch:
        props = {}
        for part in sch["allOf"]:
            resolved = doc["components"]["schemas"][part["$ref"].rsplit("/", 1)[1]] if "$ref" in part else part
            props.update(resolved.get("properties", {}))
            validate_shallow(value, resolved, doc, where)
        assert set(value) <= set(props), f"{where}: undocumented fields {set(value) - set(props)}"
        return None
    validate_shallow(value, sch, doc, where)
    if isinstance(value, dict) and "properties" in sch:
        assert set(value) <= set(sch["properties"]), f"{where}: undocumented fields {set(value) - set(sch['properties'])}"
    return None


TYPES = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float),
         "boolean": bool, "null": type(None)}


def validate_shallow(value, sch: dict, doc: dict, where: str) -> None:
    if "$ref" in sch:
        return validate(value, sch, doc, where)
    kinds = sch.get("type")
    if kinds:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        ok = any(isinstance(value, TYPES[k]) and not (k in ("integer", "number") and isinstance(value, bool))
                 for k in kinds)
        assert ok, f"{where}: {value!r} is not {kinds}"
    if "enum" in sch:
        assert value in sch["enum"], f"{where}: {value!r} not in {sch['enum']}"
    if sch.get("format") == "date-time" and isinstance(value, str):
        assert datetime.fromisoformat(value).tzinfo is not None, f"{where}: {value!r}"
    if isinstance(value, dict):
        for name in sch.get("required", []):
            assert name in value, f"{where}: missing {name}"
        for name, sub in sch.get("properties", {}).items():
            if name in value:
                validate(value[name], sub, doc, f"{where}.{name}")
    if isinstance(value, list) and "items" in sch:
        for i, item in enumerate(value):
            validate(item, sch["items"], doc, f"{where}[{i}]")
    return None


def response_schema(doc, path: str, status: int) -> dict:
    return doc["paths"][path]["get"]["responses"][str(status)]["content"]["application/json"]["schema"]


def test_real_responses_match_the_schema(client, newsroom):
    doc = schema()
    article = newsroom.visible[0]
    cases = [
        ("/api/articles", "/api/articles?limit=2", 200),
        ("/api/articles", "/api/articles?q=harbour", 200),
        ("/api/articles", "/api/articles?limit=0", 400),
        ("/api/articles/{article_id}", f"/api/articles/{article.pk}", 200),
        ("/api/articles/{article_id}", "/api/articles/999999", 404),
        ("/api/stories/{story_id}", f"/api/stories/{newsroom.story.pk}", 200),
        ("/api/stories/{story_id}", "/api/stories/999999", 404),
        ("/api/sources", "/api/sources", 200),
        ("/api/tags", "/api/tags?limit=1", 200),
        ("/api/tags", "/api/tags?cursor=zzz", 400),
        ("/api/openapi.json", "/api/openapi.json", 200),
    ]
    for template, url, status in cases:
        response = client.get(url)
        assert response.status_code == status, url
        validate(response.json(), response_schema(doc, template, status), doc, url)
    documented = {(path, int(code)) for path, item in doc["paths"].items() for code in item["get"]["responses"]}
    assert documented == {(t, s) for t, _, s in cases}, "every documented response is exercised"
