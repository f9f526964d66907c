"""The JSON edges of the API: responses, errors in plain words, and strict parameter parsing.

Every malformed parameter is a 400 with `{"error": "..."}`, never a 500 and never silently
replaced by a default, so a script with a typo finds out at once."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from datetime import datetime, time, timezone as dt_timezone

from django.http import HttpRequest, HttpResponse
from django.utils.dateparse import parse_date, parse_datetime

from newsstand.news.queries import InvalidQuery
from newsstand.web import params


def is_number(text: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts "٣" and "²", which int() reads or rejects."""
    return text.isascii() and text.isdigit()


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_response(data, status: int = 200) -> HttpResponse:
    # <, > and & only ever occur inside JSON strings, so escaping them changes no value, and a
    # title carrying "<script>" stays inert even if a careless client pastes the body into HTML.
    body = (json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
    response = HttpResponse(body, status=status, content_type="application/json")
    # Public, read-only data: scripts on other sites may read it (no cookies are involved).
    response["Access-Control-Allow-Origin"] = "*"
    return response


def error_response(status: int, message: str) -> HttpResponse:
    return json_response({"error": message}, status=status)


def api_view(view):
    """GET/HEAD only; ApiError (and the query layer's InvalidQuery) become JSON errors."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            response = error_response(405, f"{request.method} is not allowed here; use GET")
            response["Allow"] = "GET, HEAD"
            return response
        try:
            return view(request, *args, **kwargs)
        except ApiError as err:
            return error_response(err.status, err.message)
        except InvalidQuery as err:
            return error_response(400, str(err))

    return wrapper


# --- parameters ---------------------------------------------------------------------------

def param(request: HttpRequest, name: str) -> str | None:
    """A filter's value; absent or empty means "not filtering". Read as the pages read theirs
    (too long, or a NUL character that PostgreSQL cannot store, is a 400)."""
    return params.text(request, name) or None


def int_param(request: HttpRequest, name: str) -> int | None:
    value = param(request, name)
    if value is None:
        return None
    if not is_number(value) or not 0 < int(value) < 2**63:
        raise ApiError(400, f"{name} must be a positive whole number, not {value!r}")
    return int(value)


def limit_param(request: HttpRequest, default: int = 20, maximum: int = 100) -> int:
    """Strict: present means it must be a whole number from 1 to `maximum` (an empty value too)."""
    if "limit" not in request.GET:
        return default
    value = request.GET["limit"]
    if not is_number(value) or not 1 <= int(value) <= maximum:
        raise ApiError(400, f"limit must be a whole number from 1 to {maximum}, not {value!r}")
    return int(value)


def since_param(request: HttpRequest) -> datetime | None:
    """An ISO 8601 date or date-time; without a time zone it is read as UTC."""
    value = param(request, "since")
    if value is None:
        return None
    try:
        when = parse_datetime(value)
        if when is None:
            day = parse_date(value)
            when = datetime.combine(day, time.min) if day else None
        if when is not None:
            when = when.replace(tzinfo=when.tzinfo or dt_timezone.utc).astimezone(dt_timezone.utc)
    except (ValueError, OverflowError):  # impossible (2024-02-31) or beyond year 1..9999 in UTC
        when = None
    if when is None:
        raise ApiError(400, f"since must be an ISO 8601 date or date-time "
                            f"(e.g. 2024-05-01 or 2024-05-01T12:00:00Z), not {value!r}")
    return when


def cursor_param(request: HttpRequest) -> str | None:
    if "cursor" not in request.GET:
        return None
    value = request.GET["cursor"]
    if not value:
        raise ApiError(400, "cursor is empty; pass the `next` value of the previous page")
    return value


# --- keyset cursors ------------------------------------------------------------------------
# Opaque to clients: base64url of "<ISO 8601 published_at>|<id>" of the last item shown.

def encode_cursor(when: datetime, pk: int) -> str:
    raw = f"{when.astimezone(dt_timezone.utc).isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    bad = ApiError(400, "cursor is not one this API made; pass the `next` value of the previous page")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        stamp, _, pk = text.rpartition("|")
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None or not is_number(pk) or not 0 < int(pk) < 2**63:
            raise bad
        return when.astimezone(dt_timezone.utc), int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise bad from None
