"""The OpenAPI 3.1 description of /api/, written by hand (served at /api/openapi.json).

Hand-written on purpose: it is the contract users' scripts rely on (DESIGN.md), so it changes
only when someone means it to. tests/api/test_openapi.py keeps it honest: every /api/ route is
documented and nothing documented is missing, each listing's parameters match what its view
reads, and real responses validate against these schemas."""

from __future__ import annotations

from copy import deepcopy

ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return _json(ERROR, description)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _query(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _path_param(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "integer", "minimum": 1}}


CURSOR_TEXT = ("Opaque: the `next` value of the previous page. Anything else is a 400. Without q, "
               "pages are keyset-paginated newest first, so no item repeats or goes missing when new "
               "articles arrive; with q, pages follow the search ranking (up to 1,000 results deep).")

_SOURCE_REF = {
    "type": "object",
    "description": "The publisher.",
    "required": ["id", "name"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
}

_SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string", "description": "What was wrong, in plain words."}},
    },
    "SourceRef": _SOURCE_REF,
    "TagRef": {
        "type": "object",
        "description": "A hashtag.",
        "required": ["slug", "name", "kind"],
        "properties": {
            "slug": {"type": "string", "description": "Lowercase key, e.g. nationalcrimeagency (the tag= filter)."},
            "name": {"type": "string", "description": "Display form without '#', e.g. NationalCrimeAgency."},
            "kind": {"type": "string", "enum": ["topic", "person", "org", "place"]},
        },
    },
    "ArticleItem": {
        "type": "object",
        "required": ["id", "url", "permalink", "title", "source", "published_at", "story_id", "tags", "image"],
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string", "format": "uri", "description": "The publisher's URL."},
            "permalink": {"type": "string", "format": "uri", "description": "The article's page on this site."},
            "title": {"type": "string", "description": "Plain text (any markup in it is text, not HTML)."},
            "source": _ref("SourceRef"),
            "published_at": {"type": "string", "format": "date-time"},
            "story_id": {"type": ["integer", "null"], "description": "The story it belongs to, once clustered."},
            "tags": {"type": "array", "items": _ref("TagRef"), "description": "Best-scored first."},
            "image": {"type": ["string", "null"], "format": "uri", "description": "The publisher's lead image."},
        },
    },
    "RelatedItem": {
        "type": "object",
        "required": ["id", "title", "source", "score", "reason"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "source": _ref("SourceRef"),
            "score": {"type": "number", "description": "Higher is more closely related."},
            "reason": {"type": "string", "description": 'Why it is related, e.g. "same story".'},
        },
    },
    "ArticleDetail": {
        "allOf": [
            _ref("ArticleItem"),
            {
                "type": "object",
                "required": ["byline", "text", "html", "related"],
                "properties": {
                    "byline": {"type": "string"},
                    "text": {"type": "string", "description": "The full text, plain."},
                    "html": {"type": "string", "description": "The full text as sanitized HTML."},
                    "related": {"type": "array", "items": _ref("RelatedItem"),
                                "description": "Other outlets' articles on the same story or topic, best first."},
                },
            },
        ],
    },
    "ArticleList": {
        "type": "object",
        "required": ["items", "next"],
        "properties": {
            "items": {"type": "array", "items": _ref("ArticleItem")},
            "next": {"type": ["string", "null"], "description": "Cursor of the next page; null on the last."},
        },
    },
    "Story": {
        "type": "object",
        "required": ["id", "headline", "first_seen_at", "last_updated_at", "article_count", "source_count",
                     "articles", "articles_next"],
        "properties": {
            "id": {"type": "integer"},
            "headline": {"type": "string"},
            "first_seen_at": {"type": "string", "format": "date-time"},
            "last_updated_at": {"type": "string", "format": "date-time"},
            "article_count": {"type": "integer"},
            "source_count": {"type": "integer", "description": "Distinct outlets covering it."},
            "articles": {"type": "array", "items": _ref("ArticleItem"),
                         "description": "Its readable articles, newest first (the first 100)."},
            "articles_next": {"type": ["string", "null"],
                              "description": "When there are more: a cursor for /api/articles?story={id}&cursor=…"},
        },
    },
    "Source": {
        "type": "object",
        "required": ["id", "name", "homepage_url", "favicon_url", "attribution", "license_url", "article_count"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "homepage_url": {"type": ["string", "null"], "format": "uri"},
            "favicon_url": {"type": ["string", "null"], "format": "uri"},
            "attribution": {"type": "string", "description": "The credit line its license asks for."},
            "license_url": {"type": ["string", "null"], "format": "uri"},
            "article_count": {"type": "integer", "description": "Readable articles."},
        },
    },
    "SourceList": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref("Source")}},
    },
    "Tag": {
        "allOf": [
            _ref("TagRef"),
            {"type": "object", "required": ["article_count"],
             "properties": {"article_count": {"type": "integer"}}},
        ],
    },
    "TagList": {
        "type": "object",
        "required": ["items", "next"],
        "properties": {
            "items": {"type": "array", "items": _ref("Tag")},
            "next": {"type": ["string", "null"]},
        },
    },
}

_PATHS = {
    "/api/articles": {
        "get": {
            "operationId": "listArticles",
            "summary": "Readable articles, newest first (best match first with q).",
            "parameters": [
                _query("source", "A source id, or a source's exact name (any case).", {"type": "string"}),
                _query("tag", "A tag slug (a leading # and capitals are ignored).", {"type": "string"}),
                _query("story", "A story id.", {"type": "integer", "minimum": 1}),
                _query("q", "Full-text search: words, \"quoted phrases\", OR, -excluded. "
                            "Combines with source and since, not with tag or story (400).", {"type": "string"}),
                _query("since", "Only articles published at or after this ISO 8601 date or date-time "
                                "(UTC when no zone is given).", {"type": "string", "format": "date-time"}),
                _query("limit", "Items per page, 1 to 100; anything else is a 400.",
                       {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
                _query("cursor", CURSOR_TEXT, {"type": "string"}),
            ],
            "responses": {
                "200": _json(_ref("ArticleList"), "One page of articles."),
                "400": _error("A malformed parameter (limit, cursor, since, story, q)."),
            },
        }
    },
    "/api/articles/{article_id}": {
        "get": {
            "operationId": "getArticle",
            "summary": "One article with its full text and related articles.",
            "parameters": [_path_param("article_id", "The article's id.")],
            "responses": {
                "200": _json(_ref("ArticleDetail"), "The article."),
                "404": _error("No readable article has this id."),
            },
        }
    },
    "/api/stories/{story_id}": {
        "get": {
            "operationId": "getStory",
            "summary": "A story (one event covered by one or more outlets) and its articles.",
            "parameters": [_path_param("story_id", "The story's id.")],
            "responses": {
                "200": _json(_ref("Story"), "The story."),
                "404": _error("No story has this id."),
            },
        }
    },
    "/api/sources": {
        "get": {
            "operationId": "listSources",
            "summary": "Every publisher, by name.",
            "responses": {"200": _json(_ref("SourceList"), "All sources.")},
        }
    },
    "/api/tags": {
        "get": {
            "operationId": "listTags",
            "summary": "Hashtags, most used first.",
            "parameters": [
                _query("limit", "Items per page, 1 to 1000; anything else is a 400.",
                       {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
                _query("cursor", "Opaque: the `next` value of the previous page.", {"type": "string"}),
            ],
            "responses": {
                "200": _json(_ref("TagList"), "One page of tags."),
                "400": _error("A malformed limit or cursor."),
            },
        }
    },
    "/api/openapi.json": {
        "get": {
            "operationId": "getOpenApi",
            "summary": "This document.",
            "responses": {"200": _json({"type": "object"}, "The OpenAPI 3.1 description of the API.")},
        }
    },
}


def schema(server_url: str = "") -> dict:
    doc = {
        "openapi": "3.1.0",
        "info": {
            "title": "Newsstand API",
            "version": "1",
            "description": "Read-only JSON over the articles, stories, sources and tags of this "
                           "Newsstand. Errors are `{\"error\": \"…\"}` with a 4xx status. Strings are "
                           "plain JSON strings; `<`, `>` and `&` are sent as \\u escapes.",
        },
        "paths": deepcopy(_PATHS),
        "components": {"schemas": deepcopy(_SCHEMAS)},
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc
