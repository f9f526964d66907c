"""A fast path for plain, well-formed RSS 2.0/0.91/0.92 and Atom 1.0 documents.

`parse_fast(content, url, media_type, charset)` returns the ParsedFeed that feedparser's
path in feedparse.py would return, or None ("not for me"). It reads the document with
lxml (hardened: no entities, no network, no DTD) and replays, for a small whitelist of
elements and attributes, exactly what feedparser's strict (expat) parser does with them:
the same text transforms (feedparser's own URI joining, relative-URI resolution inside
HTML, date parser, cp1252 mapping, UTF-8 repair), the same order-dependent overwrites,
and then the same ParsedFeed assembly as feedparse.py. Anything outside the whitelist —
another namespace or element, an attribute, mixed content, a comment inside text, a
DOCTYPE, a charset other than UTF-8, an odd media type — returns None and the caller
falls back to feedparser, so correctness never depends on this module's coverage.
tests/ingest/test_feedfast.py proves the equality differentially over the corpora.
Pure: bytes in, ParsedFeed or None out.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri, resolve_relative_uris
from lxml import etree

from newsstand.ingest import feedparse as fp
from newsstand.ingest.sanitize import plain_paragraphs

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, recover=False,
    load_dtd=False, dtd_validation=False, remove_comments=False, remove_pis=False,
)
_XML_MEDIA = frozenset({"application/xml", "text/xml", "application/rss+xml", "application/atom+xml"})
_DECL = re.compile(rb"^<\?xml\s[^>]*?\?>")
_DECL_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")
_DECL_VERSION = re.compile(rb"""version\s*=\s*["']([^"']*)["']""")

ATOM = "http://www.w3.org/2005/Atom"
_XML_NS = "http://www.w3.org/XML/1998/namespace"
# Namespace URI -> the only prefix the document may bind it to (feedparser's own names).
_RSS_NAMESPACES = {
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://search.yahoo.com/mrss/": "media",
    "http://search.yahoo.com/mrss": "media",
    ATOM: "atom",
}
_CAN_BE_RELATIVE = _FeedParserMixin.can_be_relative_uri
_CAN_CONTAIN_RELATIVE = _FeedParserMixin.can_contain_relative_uris
_HTML_TYPES = _FeedParserMixin.html_types
_looks_like_html = _FeedParserMixin.looks_like_html
_map_type = _FeedParserMixin.map_content_type
_EMAIL = re.compile(r'''(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?''')
_QUERY_FIX = re.compile("&([A-Za-z0-9_]+);")
# feedparser works out every element's base URI afresh, and a document repeats the same few
# (base, xml:base) pairs: memoized, since urllib's urljoin was a third of this module's time.
_absolute_uri = functools.lru_cache(maxsize=1024)(make_safe_absolute_uri)

# Allowed children, by container; the value is the element's kind.
_RSS_CHANNEL = {
    "title": "title", "link": "link", "description": "description", "language": "language",
    "lastbuilddate": "updated", "pubdate": "published", "generator": "generator",
    "copyright": "rights", "ttl": "plain", "docs": "plain", "image": "image",
    "category": "category", "item": "item", "atom:link": "atomlink",
}
_RSS_ITEM = {
    "title": "title", "link": "link", "description": "description", "guid": "guid",
    "pubdate": "published", "dc:date": "updated", "author": "author", "dc:creator": "author",
    "category": "category", "comments": "plain", "enclosure": "enclosure",
    "content:encoded": "content_encoded", "media:thumbnail": "thumbnail", "media:content": "media",
}
_RSS_IMAGE = {"url": "url", "title": "title", "link": "link", "width": "plain0", "height": "plain0",
              "description": "description"}
_ATOM_FEED = {
    "title": "title", "subtitle": "subtitle", "link": "atomlink", "id": "guid", "updated": "updated",
    "published": "published", "author": "atomauthor",
    "generator": "generator", "rights": "rights", "category": "category", "entry": "item",
    "icon": "plain",  # no handler in feedparser: its generic push/pop (logo has one: not here)
}
_ATOM_ENTRY = {
    "title": "title", "link": "atomlink", "id": "guid", "updated": "updated", "published": "published",
    "author": "atomauthor", "summary": "summary", "content": "content", "category": "category",
}
_ATOM_AUTHOR = {"name": "name", "email": "email", "uri": "url"}
_ONCE_OK = {"category", "atomlink", "enclosure", "thumbnail", "media", "item", "author", "atomauthor"}
# Attributes allowed per kind (besides xml:base and xml:lang).
_ATTRS = {
    "guid": {"ispermalink"} , "category": {"domain", "term", "scheme", "label"},
    "atomlink": {"rel", "href", "type", "hreflang", "title", "length"},
    "enclosure": {"url", "length", "type"}, "thumbnail": {"url", "width", "height"},
    "media": {"url", "medium", "type", "width", "height", "filesize", "duration", "lang",
              "bitrate", "framerate", "samplingrate", "channels", "expression", "isdefault"},
    "generator": {"uri", "version"},
}
_TEXT_TYPED = {"title", "subtitle", "rights", "summary", "content"}


class _Unsupported(Exception):
    """Something the fast path does not reproduce identically: fall back."""


def parse_fast(content: bytes, url: str, media_type: str, charset: str | None) -> fp.ParsedFeed | None:
    """The feedparser path's ParsedFeed for a plain RSS 2.0 or Atom 1.0 document, else None."""
    if media_type and media_type not in _XML_MEDIA:
        return None
    if charset is not None and charset.strip().lower() != "utf-8":
        return None
    if not content.startswith(b"<") or content.startswith(b"<!"):
        return None
    decl = _DECL.match(content)
    if decl:
        encoding = _DECL_ENCODING.search(decl.group(0))
        if encoding and encoding.group(1).lower() != b"utf-8":
            return None
        version = _DECL_VERSION.search(decl.group(0))
        if not version or version.group(1) != b"1.0":
            return None
    elif content.startswith(b"<?"):
        return None
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content or b"\r" in content:
        return None
    try:
        content.decode("utf-8")
        root = etree.fromstring(content, _PARSER)
    except (etree.XMLSyntaxError, ValueError, UnicodeDecodeError):
        return None
    try:
        tree = root.getroottree()
        if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
            return None
        state = _State(url)
        raw = state.run(root)
        if raw is None:
            return None
    except (_Unsupported, RecursionError):
        return None
    return _assemble(state.version, raw[0], raw[1], url)


def _assemble(version: str, feed: dict, raw_entries: list, url: str) -> fp.ParsedFeed:
    # As in feedparse._parse_xml_feed for a document feedparser reads without complaint.
    warnings: list[str] = []
    entries = []
    for number, raw in enumerate(raw_entries, start=1):
        try:
            entries.append(fp._xml_entry(raw, url))
        except Exception as exc:
            warnings.append(f"Entry {number} was skipped because it could not be read: {exc}")
    return fp.ParsedFeed(
        format=version,
        title=fp._detail_text(feed, "title"),
        home_url=fp._http_url(feed.get("link"), url),
        icon_url=fp._feed_icon(feed, url),
        language=fp._clean(feed.get("language")) or None,
        entries=tuple(entries),
        warnings=tuple(warnings),
    )


class _State:
    """The part of feedparser's parser state that the whitelisted elements touch."""

    def __init__(self, url: str) -> None:
        self.baseuri = _absolute_uri("", url) or _absolute_uri(url) or ""
        self.feed: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.version = ""
        self.depth = 0
        self.title_depth = -1
        self.inentry = False
        self.inimage = False
        self.has_content = False
        self.guidislink = False
        self.depth_map: dict[int, dict[str, int]] = {}

    # -------------------------------------------------------------- walking

    def run(self, root: Any) -> tuple[dict, list] | None:
        if root.tag == "rss":
            versions = {"2.0": "rss20", "0.91": "rss091u", "0.92": "rss092"}
            version = root.get("version")
            if version not in versions or set(root.keys()) - {"version"}:
                return None
            self.check_namespaces(root, rss=True)
            self.version = versions[version]
            self.start_element(root, rss=True)
            channels = self.children(root)
            if len(channels) != 1 or channels[0].tag != "channel" or channels[0].attrib:
                return None
            channel = channels[0]
            self.check_container_text(root)
            self.start_element(channel, rss=True)
            self.walk(channel, _RSS_CHANNEL, rss=True, ctx=self.feed)
            self.end_element()
            self.end_element()
        elif root.tag == f"{{{ATOM}}}feed":
            if set(root.keys()) - {f"{{{_XML_NS}}}lang", f"{{{_XML_NS}}}base"}:
                return None
            self.check_namespaces(root, rss=False)
            self.version = "atom10"
            self.start_element(root, rss=False)
            self.walk(root, _ATOM_FEED, rss=False, ctx=self.feed)
            self.end_element()
        else:
            return None
        return self.feed, self.entries

    def check_namespaces(self, root: Any, *, rss: bool) -> None:
        for element in root.iter():
            for prefix, uri in element.nsmap.items():
                if rss:
                    if _RSS_NAMESPACES.get(uri) != prefix:
                        raise _Unsupported(uri)
                elif uri != ATOM or prefix is not None:
                    raise _Unsupported(uri)

    @staticmethod
    def children(element: Any) -> list:
        kids = []
        for child in element:
            if isinstance(child.tag, str):
                kids.append(child)
            elif not isinstance(child, (etree._Comment, etree._ProcessingInstruction)):
                raise _Unsupported("entity or other node")
        return kids

    @staticmethod
    def check_container_text(element: Any) -> None:
        if (element.text or "").strip():
            raise _Unsupported("text in a container")
        for child in element:
            if (child.tail or "").strip():
                raise _Unsupported("text in a container")

    def name(self, element: Any, rss: bool) -> str:
        tag = element.tag
        if not isinstance(tag, str) or not tag.startswith("{"):
            if not rss:
                raise _Unsupported("no namespace in Atom")
            return tag.lower()
        uri, local = tag[1:].split("}", 1)
        local = local.lower()
        if rss:
            prefix = _RSS_NAMESPACES.get(uri)
            if prefix is None:
                raise _Unsupported(uri)
            return f"{prefix}:{local}"
        if uri != ATOM:
            raise _Unsupported(uri)
        return local

    def start_element(self, element: Any, *, rss: bool) -> dict[str, str]:
        """feedparser's unknown_starttag bookkeeping: depth, xml:base, xml:lang, attrs."""
        self.depth += 1
        attrs: dict[str, str] = {}
        for key, value in element.attrib.items():
            if key.startswith("{"):
                uri, local = key[1:].split("}", 1)
                if uri != _XML_NS or local not in ("base", "lang"):
                    raise _Unsupported(key)
                key = f"xml:{local}"
            else:
                key = key.lower()
                if key in ("base", "lang"):
                    raise _Unsupported(key)
            if key in attrs:
                raise _Unsupported("attribute twice")
            attrs[key] = value.lower() if key in ("rel", "type") else value
        baseuri = attrs.get("xml:base") or self.baseuri
        if self.baseuri:
            self.baseuri = _absolute_uri(self.baseuri, baseuri) or self.baseuri
        else:
            self.baseuri = _urljoin(self.baseuri, baseuri)
        if "xml:lang" in attrs:
            if self.depth != 1 or not attrs["xml:lang"]:
                raise _Unsupported("xml:lang below the root")
            self.feed["language"] = attrs["xml:lang"].replace("_", "-")
        self.basestack = getattr(self, "basestack", [])
        self.basestack.append(self.baseuri)
        return attrs

    def end_element(self) -> None:
        self.basestack.pop()
        if self.basestack and self.basestack[-1]:
            self.baseuri = self.basestack[-1]
        self.depth -= 1

    def walk(self, container: Any, allowed: dict[str, str], *, rss: bool, ctx: dict) -> None:
        self.check_container_text(container)
        seen: set[str] = set()
        for child in self.children(container):
            name = self.name(child, rss)
            kind = allowed.get(name)
            if kind is None:
                raise _Unsupported(name)
            if kind not in _ONCE_OK:
                if name in seen:
                    raise _Unsupported(f"two {name}")
                seen.add(name)
            self.element(child, name, kind, rss=rss, ctx=ctx)

    # -------------------------------------------------------------- elements

    def element(self, el: Any, name: str, kind: str, *, rss: bool, ctx: dict) -> None:
        attrs = self.start_element(el, rss=rss)
        plain_attrs = {k: v for k, v in attrs.items() if not k.startswith("xml:")}
        if kind in ("item", "image", "atomauthor"):
            if plain_attrs:
                raise _Unsupported("attributes")
            if kind == "item":
                self.item(el, rss)
            elif kind == "image":
                self.image(el)
            else:
                self.atom_author(el, ctx)
            self.end_element()
            return
        allowed_attrs = _ATTRS.get(kind, {"type"} if (kind in _TEXT_TYPED and not rss) else set())
        if set(plain_attrs) - allowed_attrs:
            raise _Unsupported("attributes")
        if kind in ("atomlink", "enclosure", "thumbnail", "media", "generator", "category"):
            if len(el) or (el.text or "").strip() and kind not in ("generator", "category"):
                raise _Unsupported("content in an empty element")
        if kind not in ("atomlink", "enclosure", "media") and len(el):
            raise _Unsupported("mixed content")
        text = el.text or ""
        if kind == "plain":
            self.store(ctx, name, self.finish(name, text, None), None)
        elif kind != "plain0":
            getattr(self, f"k_{kind}")(plain_attrs, text, ctx)
        self.end_element()

    def item(self, el: Any, rss: bool) -> None:
        entry: dict[str, Any] = {}
        self.entries.append(entry)
        self.inentry = True
        self.guidislink = False
        self.title_depth = -1
        self.walk(el, _RSS_ITEM if rss else _ATOM_ENTRY, rss=rss, ctx=entry)
        self.inentry = False
        self.has_content = False

    def image(self, el: Any) -> None:
        if self.inentry:
            raise _Unsupported("image in an item")
        image = self.feed.setdefault("image", {})
        self.inimage = True
        self.title_depth = -1
        self.walk(el, _RSS_IMAGE, rss=True, ctx=image)
        self.inimage = False

    def atom_author(self, el: Any, ctx: dict) -> None:
        ctx.setdefault("authors", []).append({})
        self.inauthor_ctx = ctx
        self.walk(el, _ATOM_AUTHOR, rss=False, ctx=ctx)
        # pop('author'): the element's own text is only whitespace, so "" is stored.
        self.store(ctx, "author", "", None)
        self.sync_author(ctx)

    # -------------------------------------------------------------- pop()

    def finish(self, element: str, text: str, params: dict | None) -> str:
        """feedparser's pop() for an element expecting text; `params` is contentparams."""
        output = text.strip()
        if element in _CAN_BE_RELATIVE and output:
            if element != "id" or self.guidislink:
                output = _urljoin(self.baseuri or "", output)
        ctype = params.get("type") if params else None
        if not self.version.startswith("atom") and ctype == "text/plain":
            if _looks_like_html(output):
                params["type"] = ctype = "text/html"
        if _map_type(ctype or "text/html") in _HTML_TYPES and element in _CAN_CONTAIN_RELATIVE \
                and not (plain_paragraphs(output) and "<br" not in output):
            # (Plain paragraphs hold no URL, and feedparser gives them back unchanged:
            # test_feedfast.py checks that; a <br> it would rewrite as <br />.)
            output = resolve_relative_uris(output, self.baseuri, "utf-8", ctype or "text/html")
        if output.isascii():  # both repairs below leave ASCII as it is
            return output
        try:
            output = output.encode("iso-8859-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
        return output.translate(_cp1252)

    def store(self, ctx: dict, element: str, output: str, params: dict | None) -> None:
        """The storing half of pop(), for the entry or the feed (or image) context."""
        if self.inentry:
            if element == "content":
                detail = dict(params)  # its values are strings or None
                detail["value"] = output
                ctx.setdefault("content", []).append(detail)
            elif element == "link":
                output = _QUERY_FIX.sub(r"&\g<1>", output.replace("&amp;", "&"))
                ctx["link"] = output
                if output:
                    ctx["links"][-1]["href"] = output
            else:
                if element == "description":
                    element = "summary"
                depths = self.depth_map.setdefault(id(ctx), {})
                old = depths.get(element)
                if old is None or self.depth <= old:
                    depths[element] = self.depth
                    ctx[element] = output
                if params is not None:
                    detail = dict(params)  # its values are strings or None
                    detail["value"] = output
                    ctx[element + "_detail"] = detail
        else:
            if element == "description":
                element = "subtitle"
            ctx[element] = output
            if element == "link":
                output = _QUERY_FIX.sub(r"&\g<1>", output)
                ctx["link"] = output
                ctx["links"][-1]["href"] = output
            elif params is not None:
                detail = dict(params)  # its values are strings or None
                detail["value"] = output
                ctx[element + "_detail"] = detail

    def content_params(self, attrs: dict, default: str) -> dict:
        ctype = _map_type(attrs.get("type", default))
        if ctype not in ("text/plain", "text/html"):
            raise _Unsupported(f"content type {ctype}")
        return {"type": ctype, "language": None, "base": self.baseuri}

    def text_element(self, element: str, attrs: dict, text: str, ctx: dict, default: str) -> str:
        params = self.content_params(attrs, default)
        output = self.finish(element, text, params)
        if element == "title" and -1 < self.title_depth <= self.depth:
            return output
        self.store(ctx, element, output, params)
        return output

    # -------------------------------------------------------------- handlers

    def k_title(self, attrs: dict, text: str, ctx: dict) -> None:
        if self.text_element("title", attrs, text, ctx, "text/plain"):
            self.title_depth = self.depth

    def k_subtitle(self, attrs: dict, text: str, ctx: dict) -> None:
        self.text_element("subtitle", attrs, text, ctx, "text/plain")

    def k_rights(self, attrs: dict, text: str, ctx: dict) -> None:
        self.text_element("rights", attrs, text, ctx, "text/plain")

    def k_description(self, attrs: dict, text: str, ctx: dict) -> None:
        if "summary" in ctx and not self.has_content:
            raise _Unsupported("description read as content")
        self.text_element("description", attrs, text, ctx, "text/html")

    def k_summary(self, attrs: dict, text: str, ctx: dict) -> None:
        if "summary" in ctx and not self.has_content:
            raise _Unsupported("summary read as content")
        self.text_element("summary", attrs, text, ctx, "text/plain")

    def _content(self, attrs: dict, text: str, ctx: dict, default: str) -> None:
        self.has_content = True
        params = self.content_params(attrs, default)
        copy_to_summary = params["type"] in ({"text/plain"} | _HTML_TYPES)
        output = self.finish("content", text, params)
        self.store(ctx, "content", output, params)
        if copy_to_summary:
            ctx.setdefault("summary", output)

    def k_content(self, attrs: dict, text: str, ctx: dict) -> None:
        # Atom <content> pushes twice and leaves one push on feedparser's stack; only an
        # entry's last elements are safe after that, so content must be the entry's last.
        if not self.inentry:
            raise _Unsupported("content outside an entry")
        self._content(attrs, text, ctx, "text/plain")

    def k_content_encoded(self, attrs: dict, text: str, ctx: dict) -> None:
        self._content(attrs, text, ctx, "text/html")

    def k_link(self, attrs: dict, text: str, ctx: dict) -> None:
        # An RSS <link> element: no href attribute, so its text is pushed.
        ctx.setdefault("links", [])
        if not (self.inentry and self.inimage):
            ctx["links"].append({"rel": "alternate", "type": "text/html"})
        output = self.finish("link", text, None)
        self.store(ctx, "link", output, None)

    def k_atomlink(self, attrs: dict, text: str, ctx: dict) -> None:
        attrs = dict(attrs)
        attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
        if "href" not in attrs:
            raise _Unsupported("link without href")
        attrs["href"] = _urljoin(self.baseuri or "", attrs["href"])
        ctx.setdefault("links", []).append(attrs)
        if attrs.get("rel") == "alternate" and _map_type(attrs.get("type")) in _HTML_TYPES:
            ctx["link"] = attrs["href"]

    def k_guid(self, attrs: dict, text: str, ctx: dict) -> None:
        self.guidislink = attrs.get("ispermalink", "true") == "true"
        output = self.finish("id", text, None)
        self.store(ctx, "id", output, None)
        ctx.setdefault("guidislink", self.guidislink and "link" not in ctx)
        if self.guidislink:
            ctx.setdefault("link", output)

    def k_published(self, attrs: dict, text: str, ctx: dict) -> None:
        output = self.finish("published", text, None)
        self.store(ctx, "published", output, None)
        ctx["published_parsed"] = _parse_date(output)

    def k_updated(self, attrs: dict, text: str, ctx: dict) -> None:
        output = self.finish("updated", text, None)
        self.store(ctx, "updated", output, None)
        ctx["updated_parsed"] = _parse_date(output)

    def k_language(self, attrs: dict, text: str, ctx: dict) -> None:
        self.store(ctx, "language", self.finish("language", text, None), None)

    def k_generator(self, attrs: dict, text: str, ctx: dict) -> None:
        ctx["generator_detail"] = {}
        output = self.finish("generator", text, None)
        self.store(ctx, "generator", output, None)
        ctx["generator_detail"]["name"] = output

    def k_category(self, attrs: dict, text: str, ctx: dict) -> None:
        self.add_tag(ctx, attrs.get("term"), attrs.get("scheme", attrs.get("domain")), attrs.get("label"))
        value = self.finish("category", text, None)
        if not value:
            return
        tags = ctx["tags"]
        if tags and not tags[-1]["term"]:
            tags[-1]["term"] = value
        else:
            self.add_tag(ctx, value, None, None)

    @staticmethod
    def add_tag(ctx: dict, term: Any, scheme: Any, label: Any) -> None:
        tags = ctx.setdefault("tags", [])
        if not term and not scheme and not label:
            return
        value = {"term": term, "scheme": scheme, "label": label}
        if value not in tags:
            tags.append(value)

    def k_enclosure(self, attrs: dict, text: str, ctx: dict) -> None:
        attrs = _enforce_href(dict(attrs))
        attrs["rel"] = "enclosure"
        ctx.setdefault("links", []).append(attrs)

    def k_thumbnail(self, attrs: dict, text: str, ctx: dict) -> None:
        ctx.setdefault("media_thumbnail", []).append(dict(attrs))
        url = self.finish("url", text, None)
        if url is not None and url.strip() and "url" not in ctx["media_thumbnail"][-1]:
            ctx["media_thumbnail"][-1]["url"] = url

    def k_media(self, attrs: dict, text: str, ctx: dict) -> None:
        ctx.setdefault("media_content", []).append(dict(attrs))

    def k_author(self, attrs: dict, text: str, ctx: dict) -> None:
        # RSS <author> and dc:creator: a text element feeding the authors list.
        ctx.setdefault("authors", []).append({})
        self.store(ctx, "author", self.finish("author", text, None), None)
        self.sync_author(ctx)

    def k_name(self, attrs: dict, text: str, ctx: dict) -> None:
        self.save_author(ctx, "name", text.strip())

    def k_email(self, attrs: dict, text: str, ctx: dict) -> None:
        self.save_author(ctx, "email", text.strip())

    def k_url(self, attrs: dict, text: str, ctx: dict) -> None:
        output = self.finish("href", text, None)
        if self.inimage:
            self.store(ctx, "href", output, None)
        else:  # Atom author <uri>
            self.store(ctx, "href", output, None)
            self.save_author(ctx, "href", output)

    def save_author(self, ctx: dict, key: str, value: str) -> None:
        ctx.setdefault("author_detail", {})[key] = value
        self.sync_author(ctx)
        ctx.setdefault("authors", [{}])[-1][key] = value

    @staticmethod
    def sync_author(ctx: dict) -> None:
        detail = ctx.get("authors", [{}])[-1]
        if detail:
            name, email = detail.get("name"), detail.get("email")
            if name and email:
                ctx["author"] = f"{name} ({email})"
            elif name:
                ctx["author"] = name
            elif email:
                ctx["author"] = email
            return
        author, email = ctx.get("author"), None
        if not author:
            return
        match = _EMAIL.search(author)
        if match:
            email = match.group(0)
            author = author.replace(email, "").replace("()", "").replace("<>", "").replace("&lt;&gt;", "")
            author = author.strip()
            if author and author[0] == "(":
                author = author[1:]
            if author and author[-1] == ")":
                author = author[:-1]
            author = author.strip()
        if author or email:
            ctx.setdefault("author_detail", detail)
        if author:
            detail["name"] = author
        if email:
            detail["email"] = email


def _enforce_href(attrs: dict) -> dict:
    href = attrs.get("url", attrs.get("uri", attrs.get("href", None)))
    if href:
        attrs.pop("url", None)
        attrs.pop("uri", None)
        attrs["href"] = href
    return attrs
