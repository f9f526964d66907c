"""Reading query parameters strictly: anything malformed raises InvalidQuery, which the
views answer with a 400 page naming the parameter, never a 500 and never a silent guess."""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta, timezone as dt_timezone

from django.shortcuts import render

from newsstand.news.queries import InvalidQuery

MAX_PARAM_CHARS = 300


def text(request, name: str, max_chars: int = MAX_PARAM_CHARS) -> str:
    value = request.GET.get(name, "")
    if len(value) > max_chars:
        raise InvalidQuery(f"“{name}” is longer than {max_chars} characters")
    if "\x00" in value:
        raise InvalidQuery(f"“{name}” contains a NUL character")
    return value.strip()


def optional_int(request, name: str) -> int | None:
    value = text(request, name)
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise InvalidQuery(f"“{name}” must be a whole number")
    return int(value)


def optional_date(request, name: str) -> date | None:
    value = text(request, name)
    if not value:
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else _bad_date(name)
    except ValueError:
        return _bad_date(name)


def _bad_date(name: str):
    raise InvalidQuery(f"“{name}” must be a date written YYYY-MM-DD")


def day_start(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=dt_timezone.utc)


def day_end(day: date | None) -> datetime | None:
    """The end of a day, exclusive: "to 2024-05-01" includes all of May 1st."""
    if day is None:
        return None
    if day == date.max:
        return None  # nothing is published after the last representable day
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=dt_timezone.utc)


def answers_bad_input(view):
    """Turn InvalidQuery from anywhere in a view into a 400 page that says what was wrong."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except InvalidQuery as exc:
            return render(request, "400.html", {"reason": str(exc)}, status=400)

    return wrapped


def search_form(request) -> dict:
    """The search page's (and search feed's) parameters, checked together."""
    form = {
        "q": text(request, "q"),
        "source": optional_int(request, "source"),
        "from": optional_date(request, "from"),
        "to": optional_date(request, "to"),
        "sort": text(request, "sort") or "relevance",
    }
    if form["sort"] not in ("relevance", "newest"):
        raise InvalidQuery("“sort” must be relevance or newest")
    if form["from"] and form["to"] and form["from"] > form["to"]:
        raise InvalidQuery("“from” is after “to”")
    return form
