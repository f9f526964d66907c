"""Template helpers for the reader pages: times, proxied images, query-string links and
JSON-LD. Each returns escaped HTML built with format_html, never string concatenation."""

from __future__ import annotations

import json
from functools import lru_cache
from urllib.parse import quote

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from newsstand.web import images

register = template.Library()

# The same escapes as django.utils.html.json_script: inside <script>, "</script>" or "<!--"
# in a headline would end or confuse the element; \u003C keeps them inert and valid JSON.
_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026",
                   ord("\u2028"): "\\u2028", ord("\u2029"): "\\u2029"}


@register.simple_tag
def reltime(value):
    """<time> with a relative text, the exact time on hover, and data-reltime so site.js
    re-renders both in the reader's own locale and time zone."""
    if value is None:
        return ""
    return format_html(
        '<time datetime="{}" title="{}" data-reltime>{}</time>',
        value.isoformat(), exact_time(timezone.localtime(value)), naturaltime(value),
    )


def exact_time(local) -> str:
    """`local` as Django's date format "j F Y, H:i T" ("20 November 2026, 11:31 UTC"), written
    out: the generic formatter costs a few times more, and listings show dozens of times."""
    return f"{local.day} {MONTHS[local.month]} {local.year}, {local.hour:02d}:{local.minute:02d} {local.tzname() or ''}"


# Listings link every card to its article, source and story: `{% url %}` resolves the route
# each time. {% path %} resolves each route once per process (and URL prefix), then fills in
# the argument, quoted as reverse() quotes it. For routes with one argument (ids, slugs).
_ARGUMENT = "86753090210"
_SAFE = "!$&'()*+,;=/~:@"  # what reverse() leaves unquoted (RFC 3986 sub-delims and /~:@)


@lru_cache(maxsize=64)
def _route(name: str, prefix: str, urlconf) -> tuple[str, str]:
    before, found, after = reverse(name, args=[_ARGUMENT], urlconf=urlconf).partition(_ARGUMENT)
    if not found:
        raise ValueError(f"route {name!r} does not end in its argument")
    return before, after


@register.simple_tag
def path(name: str, argument) -> str:
    before, after = _route(name, get_script_prefix(), get_urlconf())
    return before + quote(str(argument), safe=_SAFE) + after


@lru_cache(maxsize=64)
def _fixed_route(name: str, prefix: str, urlconf) -> str:
    return reverse(name, urlconf=urlconf)


@register.simple_tag
def route(name: str) -> str:
    """{% url name %} for routes without arguments (the site header and footer on every
    page), resolved once per process and URL prefix."""
    return _fixed_route(name, get_script_prefix(), get_urlconf())


@register.simple_tag
def picture(url, sizes, css_class="", lazy=True, largest=1600, default=640):
    """A proxied <img> with srcset and sizes; nothing without an image (or the proxy). A
    simple tag, not an included template: cards show one each, and a sub-template's context
    cost several times the markup."""
    pic = images.picture(url, sizes, largest=largest, default=default)
    if pic is None:
        return ""
    return format_html('<img{} src="{}" srcset="{}" sizes="{}" alt=""{} decoding="async">',
                       format_html(' class="{}"', css_class) if css_class else "",
                       pic.src, pic.srcset, pic.sizes, mark_safe(' loading="lazy"') if lazy else "")


@register.simple_tag
def source_icon(source, size=20):
    """The publisher's favicon (or logo) beside its name; decorative (alt=""), as the name
    is always printed next to it."""
    url = images.icon(source.favicon_url or source.logo_url, size * 2)
    if not url:
        return ""
    return format_html('<img class="source-icon" src="{}" alt="" width="{}" height="{}" loading="lazy">',
                       url, size, size)


@register.simple_tag(takes_context=True)
def query_with(context, **changes):
    """This page's query string with some parameters replaced (None removes one): the
    "load more" link keeps the reader's filters."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return "?" + encoded if encoded else "?"


@register.filter
def ld_json(data):
    """A dict as the body of <script type="application/ld+json">."""
    return mark_safe(json.dumps(data, ensure_ascii=False).translate(_SCRIPT_ESCAPES))


@register.filter
def excerpt(text, length=220):
    """The first sentences of a text, cut at a word boundary."""
    text = text or ""
    # Only the opening is shown: normalize a prefix long enough for it, not a whole article.
    head = " ".join(text[:length * 4].split())
    text = head if len(head) > length or len(text) <= length * 4 else " ".join(text.split())
    if len(text) <= length:
        return text
    cut = text[:length].rsplit(" ", 1)[0].rstrip(",;:-")
    return cut + "…"
