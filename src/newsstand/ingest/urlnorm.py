"""Canonical article URLs: the key that tells us two links point at the same article.

The same article reaches us as `http://www.example.com/a/?utm_source=rss#top`,
`https://example.com/a` and `https://amp.example.com/a/amp`; all three must give one key.
We only ever compare keys, never fetch them, so merging "www." into the bare host (or http into
https) costs nothing even for the rare site where they differ.

`canonical_url` never raises: a malformed URL comes back as a best-effort cleaned string, so
one bad feed entry cannot stop a whole poll.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Query keys that only say where a click came from. Matched case-insensitively.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "ttclid", "igshid", "igsh", "mc_cid", "mc_eid", "mkt_tok", "ref", "ref_src", "ref_url",
        "referrer", "cmpid", "cmp", "ito", "_ga", "_gl", "ocid", "smid", "smtyp", "sr_share",
        "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4",
        "spm", "scm", "_hsenc", "_hsmi", "hsctatracking", "s_cid", "wt.mc_id", "icid", "xtor",
        "fb_action_ids", "fb_action_types", "fb_source", "fb_ref", "li_fat_id", "oly_anon_id",
        "oly_enc_id", "vero_id", "vero_conv", "__twitter_impression", "rss",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "ga_", "itm_")

# Query parameters that only ask for the AMP rendering of the same article.
_AMP_PARAMS = {"amp": {"", "1", "true", "yes"}, "outputtype": {"amp"}, "_amp": {"", "1", "true"}}
# Host prefixes for the mobile/AMP/"www" copies of a site.
_HOST_PREFIXES = ("www.", "m.", "amp.", "mobile.")
_DEFAULT_PORTS = {"80", "443"}

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters that may appear unescaped in a path or query (RFC 3986 pchar + "/" + "?").
_SAFE_RAW = _UNRESERVED | frozenset("!$&'()*+,;=:@/?")
_ALL_SAFE_RAW = re.compile("[" + re.escape("".join(sorted(_SAFE_RAW))) + "]*")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_SCHEMELESS_HOST = re.compile(r"^[\w-]+(\.[\w-]+)+(:\d+)?([/?#]|$)")


def canonical_url(url: str) -> str:
    """The deduplication key for `url` (see the module docstring); never raises."""
    try:
        text = str(url).strip()
    except Exception:  # a str() that fails on an odd object: nothing better to return
        return ""
    try:
        return _canonical(text)
    except Exception:  # junk in, best effort out: a key is better than a crashed poll
        return text


def same_article_url(a: str, b: str) -> bool:
    return canonical_url(a) == canonical_url(b)


def _canonical(text: str) -> str:
    text = _add_scheme(text)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        return text  # mailto:, ftp:, relative paths…: not article links, left as they are
    host, port = _split_netloc(parts.netloc)
    host = _normalize_host(host)
    if not host:
        return text
    path = _normalize_path(parts.path)
    query = _normalize_query(parts.query)
    fragment = parts.fragment
    # "#!" (old AJAX crawling) carries the article in the fragment; any other fragment is a
    # position on the page.
    tail = f"#{_normalize_escapes(fragment)}" if fragment.startswith("!") else ""
    port_part = f":{port}" if port and port not in _DEFAULT_PORTS else ""
    return f"https://{host}{port_part}{path}{'?' + query if query else ''}{tail}"


def _add_scheme(text: str) -> str:
    if text.startswith("//"):
        return "https:" + text
    if "://" not in text and _SCHEMELESS_HOST.match(text):
        return "https://" + text  # "example.com/a" as typed by people
    return text


def _split_netloc(netloc: str) -> tuple[str, str]:
    """Host and port, dropping any user:password@ (never part of an article's identity)."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):  # IPv6 literal
        host, _, rest = hostport.partition("]")
        return host + "]", rest[1:] if rest.startswith(":") else ""
    host, _, port = hostport.partition(":")
    port = port.lstrip("0") or ("0" if port else "")
    return host, port if port.isdigit() else ""


def _normalize_host(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    if host.startswith("["):
        return host
    host = _idna(host)
    # Strip mirror prefixes repeatedly ("www.m.example.com"), but never down to a bare TLD.
    stripped = True
    while stripped:
        stripped = False
        for prefix in _HOST_PREFIXES:
            rest = host[len(prefix) :]
            if host.startswith(prefix) and "." in rest:
                host, stripped = rest, True
    return host


def _idna(host: str) -> str:
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:  # labels IDNA 2003 cannot encode (emoji, too long): keep as text
        return host


def _normalize_path(path: str) -> str:
    path = _normalize_escapes(path)
    segments = [s for s in path.split("/") if s]  # also collapses "//"
    segments = _resolve_dots(segments)
    # AMP copies: "/amp/story", "/story/amp", "/story.amp.html". Loop: "/amp/story/amp".
    while segments and segments[0].lower() == "amp":
        segments.pop(0)
    while segments and segments[-1].lower() == "amp":
        segments.pop()
    if segments and segments[-1].lower().endswith(".amp.html"):
        segments[-1] = segments[-1][: -len(".amp.html")] + ".html"
    return "/" + "/".join(segments)


def _resolve_dots(segments: list[str]) -> list[str]:
    out: list[str] = []
    for segment in segments:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    return out


def _normalize_query(query: str) -> str:
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        key, equals, value = pair.partition("=")
        key, value = _normalize_escapes(key), _normalize_escapes(value)
        if _is_tracking(key) or _is_amp_param(key, value):
            continue
        kept.append((key, equals, value))
    kept.sort()
    return "&".join(f"{key}{equals}{value}" for key, equals, value in kept)


def _is_tracking(key: str) -> bool:
    lowered = _decode_all(key).lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _is_amp_param(key: str, value: str) -> bool:
    allowed = _AMP_PARAMS.get(_decode_all(key).lower())
    return allowed is not None and _decode_all(value).lower() in allowed


def _decode_all(text: str) -> str:
    return _PERCENT.sub(lambda m: chr(int(m.group(1), 16)), text)


def _normalize_escapes(text: str) -> str:
    """One spelling per character: unreserved characters decoded ("%7E" → "~"), other escapes
    upper-cased ("%2f" → "%2F"), and raw spaces or non-ASCII encoded as UTF-8 escapes."""
    if _ALL_SAFE_RAW.fullmatch(text):
        return text  # the usual case, and the loop below would give it back unchanged
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "%" and _PERCENT.match(text, i):
            decoded = chr(int(text[i + 1 : i + 3], 16))
            out.append(decoded if decoded in _UNRESERVED else text[i : i + 3].upper())
            i += 3
            continue
        if char in _SAFE_RAW:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        i += 1
    return "".join(out)
