"""Feed bytes in, ParsedFeed out.

RSS 0.9x/1.0/2.0 and Atom go through feedparser; JSON Feed 1.0/1.1 is read with the
standard `json` module into the same types. Pure: no I/O, no clock, no Django.
"""

from __future__ import annotations

import html
import io
import json
import re
import time
import xml.sax
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from newsstand.ingest.discovery import looks_like_html


@dataclass(frozen=True)
class ParsedEntry:
    guid: str | None
    link: str | None
    title: str
    author: str
    published: datetime | None
    updated: datetime | None
    summary_html: str
    content_html: str
    image_url: str | None
    tags: tuple[str, ...]


@dataclass(frozen=True)
class ParsedFeed:
    format: str
    title: str
    home_url: str | None
    icon_url: str | None
    language: str | None
    entries: tuple[ParsedEntry, ...]
    warnings: tuple[str, ...]


class FeedParseError(ValueError):
    """The bytes are not a usable feed; `message` says why in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_JSON_MEDIA_TYPES = ("application/feed+json", "application/json")
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),  # before utf-16-le: it shares the first two bytes
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)


def parse_feed(
    content: bytes, url: str, *, media_type: str = "", charset: str | None = None
) -> ParsedFeed:
    """Parse an RSS, Atom or JSON Feed document; raise FeedParseError when it is none."""
    media_type, _, params = media_type.partition(";")
    media_type = media_type.strip().lower()
    if charset is None:  # a whole Content-Type header passed as media_type still counts
        found = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", params, re.IGNORECASE)
        charset = found.group(1) if found else None
    first = _first_char(content)
    if not first:
        raise FeedParseError("The response is empty")
    if first in "{[" or (media_type in _JSON_MEDIA_TYPES and first != "<"):
        return _parse_json_feed(content, url, charset)
    from newsstand.ingest.feedfast import parse_fast  # lazy: feedfast imports this module

    fast = parse_fast(content, url, media_type, charset)  # plain RSS 2.0 / Atom 1.0, or None
    return fast if fast is not None else _parse_xml_feed(content, url, media_type, charset)


def _split_bom(content: bytes) -> tuple[bytes, str | None]:
    for bom, codec in _BOMS:
        if content.startswith(bom):
            return content[len(bom) :], codec
    return content, None


def _first_char(content: bytes) -> str:
    """The first non-whitespace character, reading past a byte-order mark."""
    body, codec = _split_bom(content)
    # latin-1 never fails, and ASCII '<' and '{' are the same bytes in every ASCII-based charset.
    return body[:1024].decode(codec or "latin-1", "ignore").lstrip()[:1]


# ---------------------------------------------------------------- RSS / Atom


def _parse_xml_feed(content: bytes, url: str, media_type: str, charset: str | None) -> ParsedFeed:
    headers = {"content-type": _content_type_header(media_type, charset)}
    if url:
        headers["content-location"] = url  # feedparser's base URI for relative links
    try:
        # A file object, never bytes or a str: feedparser treats a str as a URL to fetch
        # and bytes as a file name to open, and neither may happen here.
        result = feedparser.parse(
            io.BytesIO(content),
            response_headers=headers,
            resolve_relative_uris=True,
            sanitize_html=False,  # the contract hands raw HTML on; it is sanitized later
        )
    except Exception as exc:  # feedparser is not supposed to raise; keep our promise anyway
        raise FeedParseError(f"The feed could not be read ({type(exc).__name__}: {exc})") from exc

    feed, raw_entries = result.get("feed") or {}, result.get("entries") or []
    version = result.get("version") or ""
    problem = result.get("bozo_exception") if result.get("bozo") else None
    # Zero items in a known format is a valid, empty feed, even when the XML broke after the
    # channel. An error: no format and no items, or broken XML that yielded nothing at all.
    if not raw_entries and not version:
        raise FeedParseError(_why_not_a_feed(content, media_type, problem))
    nothing_read = not raw_entries and not any(key != "language" for key in feed)
    if nothing_read and isinstance(problem, xml.sax.SAXParseException):
        raise FeedParseError(_not_well_formed(problem))

    warnings = [_bozo_warning(problem)] if problem is not None else []
    if not version:
        warnings.append("The document does not name a feed format; its entries were read anyway")
    entries = []
    for number, raw in enumerate(raw_entries, start=1):
        try:
            entries.append(_xml_entry(raw, url))
        except Exception as exc:  # one odd entry must not cost the whole feed
            warnings.append(f"Entry {number} was skipped because it could not be read: {exc}")
    return ParsedFeed(
        format=version or "unknown",
        title=_detail_text(feed, "title"),
        home_url=_http_url(feed.get("link"), url),
        icon_url=_feed_icon(feed, url),
        language=_clean(feed.get("language")) or None,
        entries=tuple(entries),
        warnings=tuple(warnings),
    )


def _feed_icon(feed: Any, url: str) -> str | None:
    # Atom's icon is made for this; an RSS <image> or Atom logo is a bigger picture of the same.
    return _first_url([feed.get("icon"), (feed.get("image") or {}).get("href"), feed.get("logo")], url)


def _content_type_header(media_type: str, charset: str | None) -> str:
    # Without a media type feedparser warns "no Content-type specified", and it reads a
    # charset-less text/xml as US-ASCII (RFC 3023); real servers mean the XML declaration.
    if not media_type or (media_type == "text/xml" and not charset):
        media_type = "application/xml"
    return f"{media_type}; charset={charset}" if charset else media_type


def _why_not_a_feed(content: bytes, media_type: str, problem: object) -> str:
    if looks_like_html(content, media_type):
        return "This is an HTML page, not a feed (it has no RSS, Atom or JSON Feed content)"
    if _first_char(content) != "<":
        return "The response is not a feed: it is neither XML nor JSON"
    if isinstance(problem, xml.sax.SAXParseException):
        return _not_well_formed(problem)
    return "The document is XML but not a feed (its root is not rss, RDF or an Atom feed)"


def _sax_error(exc: xml.sax.SAXParseException) -> str:
    return f"{exc.getMessage()} at line {exc.getLineNumber()}, column {exc.getColumnNumber()}"


def _not_well_formed(exc: xml.sax.SAXParseException) -> str:
    return f"The feed is not well-formed XML: {_sax_error(exc)}, and no entries could be recovered"


_BOZO_WORDS = (
    (feedparser.CharacterEncodingOverride, "The feed's declared character encoding was wrong"),
    (feedparser.CharacterEncodingUnknown, "The feed's character encoding is unknown; text may be garbled"),
    (feedparser.NonXMLContentType, "The feed was served with the wrong media type"),
    (feedparser.UndeclaredNamespace, "The feed uses an undeclared XML namespace"),
)


def _bozo_warning(problem: object) -> str:
    if isinstance(problem, xml.sax.SAXParseException):
        return f"The feed is not well-formed XML ({_sax_error(problem)}); what could be read was kept"
    words = next((w for kind, w in _BOZO_WORDS if isinstance(problem, kind)), "The feed has a problem")
    return f"{words} ({problem})"


def _xml_entry(raw: Any, feed_url: str) -> ParsedEntry:
    # xml:base travels in the *_detail dicts; feedparser resolves links against it but not
    # media or enclosure URLs, so those are resolved here against the same base.
    details = [raw.get("title_detail"), raw.get("summary_detail"), *(raw.get("content") or [])]
    base = next((d["base"] for d in details if d and d.get("base")), feed_url)
    updated = _struct_to_utc(dict.get(raw, "updated_parsed"))  # dict.get skips feedparser's aliases
    return ParsedEntry(
        guid=_clean(raw.get("id")) or None,
        link=_http_url(raw.get("link"), base),
        title=_detail_text(raw, "title"),
        author=_xml_author(raw),
        # feedparser files RSS 1.0's dc:date and Atom's lone <updated> under "updated";
        # for a reader that is the publication date, so fall back to it.
        published=_struct_to_utc(dict.get(raw, "published_parsed")) or updated,
        updated=updated,
        summary_html=_as_html(raw.get("summary"), _detail_type(raw, "summary")),
        content_html=max(
            (_as_html(c.get("value"), (c.get("type") or "").lower()) for c in raw.get("content") or []),
            key=len,
            default="",
        ),
        image_url=_xml_image(raw, base),
        tags=_unique(plain_text(t.get("term") or t.get("label")) for t in raw.get("tags") or []),
    )


def _detail_type(raw: Any, key: str) -> str:
    return ((raw.get(f"{key}_detail") or {}).get("type") or "text/html").lower()


def _detail_text(raw: Any, key: str) -> str:
    return plain_text(raw.get(key), is_html="html" in _detail_type(raw, key))


def _xml_author(raw: Any) -> str:
    names = _unique(plain_text(a.get("name")) for a in raw.get("authors") or [] if isinstance(a, dict))
    if names:
        return ", ".join(names)
    return plain_text((raw.get("author_detail") or {}).get("name") or raw.get("author"))


def _as_html(value: Any, media_type: str) -> str:
    """Raw HTML as given; plain text is escaped so that the field is always HTML."""
    text = _clean_raw(value)
    return text_to_html(text) if text and media_type == "text/plain" else text


def _xml_image(raw: Any, base: str) -> str | None:
    candidates = []
    for media in raw.get("media_content") or []:
        kind = (media.get("medium") or media.get("type") or "").lower()
        if kind.startswith("image") or (not kind and _looks_like_image(media.get("url"))):
            candidates.append(media.get("url"))
    for link in raw.get("links") or []:
        kind = (link.get("type") or "").lower()
        is_image = kind.startswith("image/") or (not kind and _looks_like_image(link.get("href")))
        if link.get("rel") == "enclosure" and is_image:
            candidates.append(link.get("href"))
    candidates += [thumbnail.get("url") for thumbnail in raw.get("media_thumbnail") or []]
    candidates.append((raw.get("image") or {}).get("href"))  # itunes:image
    return _first_url(candidates, base)


def _struct_to_utc(value: time.struct_time | None) -> datetime | None:
    if not value:
        return None
    try:
        # feedparser's tuples are already UTC; a leap second (60) is not a valid datetime.
        return datetime(*value[:5], min(value[5], 59), tzinfo=timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return None


# ---------------------------------------------------------------- JSON Feed

_JSON_VERSIONS = {
    "https://jsonfeed.org/version/1": "json10",
    "https://jsonfeed.org/version/1.1": "json11",
    "1": "json10",
    "1.0": "json10",
    "1.1": "json11",
}


def _parse_json_feed(content: bytes, url: str, charset: str | None) -> ParsedFeed:
    warnings: list[str] = []
    try:
        data = json.loads(_decode_json(content, charset, warnings))
    except json.JSONDecodeError as exc:
        where = f"at line {exc.lineno}, column {exc.colno}"
        raise FeedParseError(f"The JSON Feed is not valid JSON: {exc.msg} {where}") from exc
    except (ValueError, RecursionError) as exc:  # absurdly long numbers, absurd nesting
        raise FeedParseError(f"The JSON Feed could not be read: {exc}") from exc
    format_ = _json_feed_format(data, warnings)
    items = data.get("items")
    if not isinstance(items, list):
        warnings.append("The JSON Feed has no 'items' list")
        items = []
    entries = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, dict):
            entries.append(_json_entry(item, url))
        else:
            warnings.append(f"Item {number} was skipped because it is not a JSON object")
    return ParsedFeed(
        format=format_,
        title=plain_text(data.get("title"), is_html=True),
        home_url=_http_url(data.get("home_page_url"), url),
        icon_url=_first_url([data.get("icon"), data.get("favicon")], url),
        language=_clean(data.get("language")) or None,
        entries=tuple(entries),
        warnings=tuple(warnings),
    )


def _json_feed_format(data: Any, warnings: list[str]) -> str:
    version = data.get("version") if isinstance(data, dict) else None
    key = version.strip().rstrip("/").replace("http://", "https://") if isinstance(version, str) else ""
    if "jsonfeed.org" not in key:
        # Some generators write a bare "1.1"; beside an items list that is still a JSON Feed.
        if key not in _JSON_VERSIONS or not isinstance(data.get("items"), list):
            raise FeedParseError("The JSON is not a JSON Feed (no 'version' naming jsonfeed.org)")
        warnings.append(f"The JSON Feed's version is {version!r} instead of the jsonfeed.org URL")
    elif key not in _JSON_VERSIONS:
        warnings.append(f"Unknown JSON Feed version {version!r}; it was read as version 1.1")
    return _JSON_VERSIONS.get(key, "json11")


def _decode_json(content: bytes, charset: str | None, warnings: list[str]) -> str:
    body, bom_codec = _split_bom(content)
    for codec in [c for c in (bom_codec, charset, "utf-8") if c]:
        try:
            return body.decode(codec)
        except (LookupError, UnicodeDecodeError):
            continue
    warnings.append("The JSON Feed is not valid UTF-8; unreadable characters were replaced")
    return body.decode("utf-8", "replace")


def _json_entry(item: dict[str, Any], base: str) -> ParsedEntry:
    content = _clean_raw(item.get("content_html")) or text_to_html(_clean_raw(item.get("content_text")))
    images = [item.get("image"), item.get("banner_image")]
    for attachment in item.get("attachments") or []:
        if isinstance(attachment, dict) and _str(attachment.get("mime_type")).startswith("image/"):
            images.append(attachment.get("url"))
    guid = item.get("id")  # a string by the spec; some feeds write a number
    if not isinstance(guid, (str, int, float)) or isinstance(guid, bool):
        guid = None
    people = item.get("authors")  # 1.1; "author" is 1.0's single author
    people = people if isinstance(people, list) else [item.get("author")]
    updated = _iso_to_utc(item.get("date_modified"))
    return ParsedEntry(
        guid=_clean(str(guid)) or None if guid is not None else None,
        link=_http_url(item.get("url"), base) or _http_url(item.get("external_url"), base),
        # Plain text by the spec, but generators often HTML-escape it; the contract decodes.
        title=plain_text(item.get("title"), is_html=True),
        author=", ".join(_unique(plain_text(p.get("name")) for p in people if isinstance(p, dict))),
        published=_iso_to_utc(item.get("date_published")) or updated,  # as for RSS and Atom
        updated=updated,
        summary_html=text_to_html(_clean_raw(item.get("summary"))),  # plain text in JSON Feed
        content_html=content,
        image_url=_first_url(images, base),
        tags=_unique(plain_text(tag) for tag in item.get("tags") or [] if isinstance(tag, str)),
    )


def _iso_to_utc(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)  # some feeds put RFC 822 dates here
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)  # a time without an offset is taken as UTC
    try:
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None


# ---------------------------------------------------------------- text and URLs

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TAG_SHAPE = re.compile(r"<[A-Za-z/!?][^<>]*>")
_INLINE_TAGS = frozenset(
    "a abbr b bdi bdo cite code data dfn em font i kbd mark q s small span strong sub sup time u var wbr"
    .split()
)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skipping += 1
        elif tag not in _INLINE_TAGS:
            self.parts.append(" ")  # <p>a</p><p>b</p> reads "a b", not "ab"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skipping = max(0, self._skipping - 1)
        elif tag not in _INLINE_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _html_to_text(value: str) -> str:
    collector = _TextCollector()
    try:
        collector.feed(value)
        collector.close()
    except Exception:  # the stdlib parser is lenient, but a title is not worth a crash
        return html.unescape(re.sub(r"<[^<>]*>", " ", value))
    return "".join(collector.parts)


def plain_text(value: Any, *, is_html: bool = False) -> str:
    """Text with no markup: tags dropped (script and style with their content), entities
    decoded when the value is HTML, whitespace collapsed. Anything but a str gives ""."""
    text = _CONTROL.sub("", value) if isinstance(value, str) else ""
    if is_html:
        text = _html_to_text(text)
    # Plain text that still holds tag shapes (CDATA titles, double-escaped HTML) loses them
    # too; '&' is escaped first so the literal text is not entity-decoded a second time.
    for _ in range(3):
        if not _TAG_SHAPE.search(text):
            break
        text = _html_to_text(text.replace("&", "&amp;"))
    # Whatever the HTML parser left (broken comments such as "<!-- -- x >") goes by force.
    text = _TAG_SHAPE.sub("", text).replace("<!--", "").replace("-->", "")
    return " ".join(text.split())


def text_to_html(text: str) -> str:
    """Plain text as escaped HTML paragraphs ("" for blank text)."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def _clean(value: Any) -> str:
    return _CONTROL.sub("", value).strip() if isinstance(value, str) else ""


def _clean_raw(value: Any) -> str:
    # NUL cannot be stored in PostgreSQL text and means nothing in HTML.
    return value.replace("\x00", "") if isinstance(value, str) else ""


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _unique(values: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _looks_like_image(href: Any) -> bool:
    try:
        path = urlsplit(href).path.lower() if isinstance(href, str) else ""
    except ValueError:
        return False
    return path.endswith((".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif"))


def _http_url(href: Any, base: str) -> str | None:
    """An absolute http(s) URL, or None."""
    href = re.sub(r"[\t\r\n]", "", _clean(href)).replace(" ", "%20")  # as browsers do
    if not href:
        return None
    try:
        absolute = urljoin(base, href) if base else href
        parts = urlsplit(absolute)
    except ValueError:  # e.g. a broken IPv6 literal
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return absolute


def _first_url(candidates: list[Any], base: str) -> str | None:
    return next((u for u in (_http_url(c, base) for c in candidates) if u), None)
