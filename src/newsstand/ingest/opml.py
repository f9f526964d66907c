"""OPML subscription lists: import (parse) and export (build).

Parsing is XXE-safe: lxml never loads a DTD, never touches the network and never resolves
entities in text (libxml2 also caps entity amplification, so "billion laughs" fails).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree


@dataclass(frozen=True)
class OpmlOutline:
    xml_url: str
    title: str
    html_url: str | None
    category: str | None  # the enclosing folder outline's title, if nested


# Characters XML 1.0 cannot carry; lxml refuses them, so export drops them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_opml(content: bytes) -> list[OpmlOutline]:
    """Every outline that has an xmlUrl, folders flattened into `category`, document order."""
    content = content.lstrip(b" \t\r\n")  # stray blank lines before <?xml are common, and fatal to libxml2
    if not content:
        raise ValueError("The OPML file is empty")
    try:
        root = etree.fromstring(content, _safe_parser())
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"The OPML file is not well-formed XML: {_syntax_error(exc)}") from exc
    if _local_name(root) != "opml":
        name = _local_name(root)
        raise ValueError(f"This is not an OPML file (its root element is <{name}>, not <opml>)")
    body = next((child for child in root if _local_name(child) == "body"), None)
    if body is None:
        raise ValueError("The OPML file has no <body>, so it lists no subscriptions")
    found: list[OpmlOutline] = []
    _collect(body, None, found)
    return found


def _collect(parent: etree._Element, category: str | None, found: list[OpmlOutline]) -> None:
    for node in parent:
        if _local_name(node) != "outline":
            continue
        attrs = {str(k).lower(): (v or "").strip() for k, v in node.attrib.items()}
        title = _outline_title(attrs)
        xml_url = attrs.get("xmlurl", "")
        if xml_url:
            folder = category or _category_attr(attrs)
            found.append(OpmlOutline(xml_url, title, attrs.get("htmlurl") or None, folder))
            _collect(node, category, found)  # a feed outline is not a folder
        else:
            _collect(node, title or category, found)


def _outline_title(attrs: dict[str, str]) -> str:
    # `text` is the required attribute; many exporters also (or only) write `title`.
    return " ".join((attrs.get("text") or attrs.get("title") or "").split())


def _category_attr(attrs: dict[str, str]) -> str | None:
    # OPML 2.0's category="/Tech/News,/Other": take the last step of the first path.
    first = attrs.get("category", "").split(",")[0]
    step = first.strip().strip("/").rsplit("/", 1)[-1].strip()
    return step or None


def _local_name(node: etree._Element) -> str:
    tag = node.tag
    if not isinstance(tag, str):  # entity references and the like
        return ""
    return etree.QName(tag).localname.lower()


def _syntax_error(exc: etree.XMLSyntaxError) -> str:
    message = str(exc.msg or exc).split(", line ")[0]
    line, column = exc.position if exc.position else (0, 0)
    return f"{message} at line {line}, column {column}"


def build_opml(outlines: Iterable[OpmlOutline], title: str = "Newsstand subscriptions") -> bytes:
    """OPML 2.0 in UTF-8; categories become folder outlines, uncategorized feeds come first."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = _xml_text(title)
    body = etree.SubElement(root, "body")
    loose: list[OpmlOutline] = []
    grouped: dict[str, list[OpmlOutline]] = {}
    for outline in outlines:
        if outline.category:
            grouped.setdefault(outline.category, []).append(outline)
        else:
            loose.append(outline)
    for outline in loose:
        _feed_element(body, outline)
    for category, members in grouped.items():
        name = _xml_text(category)
        folder = etree.SubElement(body, "outline", text=name, title=name)
        for outline in members:
            _feed_element(folder, outline)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _feed_element(parent: etree._Element, outline: OpmlOutline) -> None:
    # text is written even when empty so that a title round-trips exactly.
    node = etree.SubElement(parent, "outline", type="rss", text=_xml_text(outline.title))
    if outline.title:
        node.set("title", _xml_text(outline.title))
    node.set("xmlUrl", _xml_text(outline.xml_url))
    if outline.html_url:
        node.set("htmlUrl", _xml_text(outline.html_url))


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("", value or "")
