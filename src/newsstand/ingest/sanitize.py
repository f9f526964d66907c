"""Make third-party HTML safe to serve, and turn HTML into plain text.

`sanitize_html` is an allow-list (nh3, i.e. Rust's ammonia): anything not listed is dropped, so a
new attack vector has to get past a list of harmless tags rather than a list of known-bad ones.
It runs in three steps:

1. nh3 with our allow-list; relative URLs are resolved against the page URL as they pass.
2. A tidy pass with lxml: h1 becomes h2 (the page's own headline is ours to render), links
   whose URL was stripped lose their tag but keep their words, images without a usable src go,
   and elements left empty go.
3. nh3 again, so that whatever the tidy pass printed is itself checked by the allow-list:
   safety never depends on the tidy code being right.
"""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html
import nh3

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "q",
        "cite", "em", "strong", "b", "i", "u", "s", "sub", "sup", "a", "img", "figure",
        "figcaption", "pre", "code", "table", "thead", "tbody", "tfoot", "tr", "th", "td",
        "caption", "hr", "abbr", "time",
    }
)  # fmt: skip

# No class/style/id anywhere: they only matter to the publisher's stylesheet and scripts.
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "time": {"datetime"},
    "ol": {"start"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}

# Dropped together with everything inside them: their content is code, widgets, controls or
# duplicates (noscript usually repeats a lazy-loaded image), never article text. A <form> is only
# unwrapped, like any unknown tag: some sites wrap the whole page in one.
DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "template", "noscript", "iframe", "frame", "frameset", "object",
        "embed", "applet", "svg", "math", "button", "select", "textarea", "input", "title",
        "head", "canvas", "audio", "video", "dialog",
    }
)  # fmt: skip

URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"

# Elements that mean something even when they hold no text.
_VOID_OK = frozenset({"br", "hr", "img", "td", "th", "tr"})
_SIZE = re.compile(r"\d{1,4}")
# XML 1.0 forbids these; lxml refuses a string that contains them.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """Return `html` reduced to the allow-list, with URLs made absolute against `base_url`."""
    if not html or not html.strip():
        return ""
    base = base_url if _is_web_url(base_url) else None
    first = _clean(_CONTROL_CHARS.sub("", html), base)
    if _nothing_to_tidy(first):
        return first.strip()  # the usual feed summary: steps 2 and 3 would change nothing
    return _clean(_tidy(first), base).strip()


def _clean(html: str, base: str | None) -> str:
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_filter_attribute,
        url_schemes=set(URL_SCHEMES),
        url_relative=_absolutizer(base),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def _absolutizer(base: str | None):
    """nh3 hands us each relative URL; resolving it here means no second parse of the HTML."""
    if base is None:
        return None  # without a base, relative URLs pass through unchanged (harmless)

    def resolve(url: str) -> str | None:
        try:
            absolute = urljoin(base, url.strip())
        except ValueError:
            return None
        return absolute if _is_web_url(absolute) else None

    return resolve


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute in ("width", "height", "colspan", "rowspan", "start"):
        # Only plain numbers: "100%" or "calc(...)" are layout, not content.
        return value if _SIZE.fullmatch(value.strip()) else None
    return value


def _is_web_url(url: str | None) -> bool:
    if not url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


# The usual feed summary: paragraphs of text with inline markup, no attributes anywhere.
_INLINE_TAGS = frozenset({"em", "strong", "b", "i", "u", "s", "sub", "sup", "code", "q", "cite", "abbr", "time"})
_ANY_TAG = re.compile(r"<(/?)([^>]*)>")
_EMPTY_ELEMENT = re.compile(r"<([a-z0-9]+)>\s*</\1>")


def _nothing_to_tidy(cleaned: str) -> bool:
    """True when `cleaned` (typically nh3's output) is only top-level
    paragraphs and text with attribute-less inline tags and <br>, well nested, none empty:
    _tidy would find nothing to change and lxml nothing to re-nest (it reads HTML 4, so a
    <p> inside a heading or an inline element would come back moved).
    tests/ingest/test_sanitize.py checks this shortcut against the full path."""
    if "&nbsp;" in cleaned or _EMPTY_ELEMENT.search(cleaned):  # (lxml drops a lone nbsp)
        return False
    tags = _ANY_TAG.findall(cleaned)
    if cleaned.count("<") != len(tags):
        return False  # a "<" that starts no tag (never in nh3's output, but in raw input)
    open_tags: list[str] = []
    for closing, tag in tags:
        if tag == "br" and not closing:
            continue
        if tag != "p" and tag not in _INLINE_TAGS:
            return False
        if closing:
            if not open_tags or open_tags.pop() != tag:
                return False
        elif tag == "p" and open_tags:
            return False
        else:
            open_tags.append(tag)
    return not open_tags


def _tidy(html: str) -> str:
    root = _parse_fragment(html)
    if root is None:
        return ""
    for heading in root.iter("h1"):
        heading.tag = "h2"
    for link in list(root.iter("a")):
        if not link.get("href"):
            link.drop_tag()  # its URL was unsafe; the words stay
    for image in list(root.iter("img")):
        if not image.get("src"):
            image.drop_tree()
    _drop_empty(root)
    return _inner_html(root)


def _drop_empty(root: lxml.html.HtmlElement) -> None:
    # Deepest first, so that a <p> holding only an empty <strong> goes too.
    for element in reversed(list(root.iterdescendants())):
        if not isinstance(element.tag, str) or element.tag in _VOID_OK:
            continue
        if len(element) == 0 and not (element.text or "").strip():
            if element.text:
                element.drop_tag()  # keep the space, or "a<b> </b>c" would become "ac"
            else:
                element.drop_tree()  # lxml keeps the tail


# huge_tree lifts libxml2's nesting limit (256), past which it silently drops the text.
_PARSER = lxml.html.HTMLParser(huge_tree=True)


def _parse_fragment(html: str) -> lxml.html.HtmlElement | None:
    try:
        return lxml.html.fragment_fromstring(html, create_parent="div", parser=_PARSER)
    except (lxml.etree.ParserError, ValueError):
        return None


def _inner_html(root: lxml.html.HtmlElement) -> str:
    head = html_lib.escape(root.text or "", quote=False)
    return head + "".join(lxml.html.tostring(child, encoding="unicode") for child in root)


# ---------------------------------------------------------------------------------------------
# HTML → plain text

# A new paragraph starts at each of these; everything else flows inline.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
        "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
        "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "html", "legend", "li",
        "main", "menu", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "tfoot",
        "thead", "tr", "ul",
    }
)  # fmt: skip
# Cells sit side by side: a space keeps "Name" and "Age" from fusing into "NameAge".
_CELL_TAGS = frozenset({"td", "th"})
_SKIPPED_TAGS = frozenset({"script", "style", "template", "noscript", "head", "title"})
# Zero-width space, BOM and soft hyphen carry nothing in plain text, and a paragraph made of them
# alone should vanish; nbsp is a space. (ZWJ/ZWNJ stay: emoji and some scripts need them.)
_INVISIBLE = str.maketrans({"\u200b": None, "\ufeff": None, "\xad": None, "\xa0": " "})
_WHITESPACE = re.compile(r"[^\S\n]+")  # whitespace other than newlines
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n\s*")
_ENTITY = re.compile(r"&(#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")


def html_to_text(html: str) -> str:
    """Plain text of `html`: one paragraph per block, separated by blank lines; <br> → newline."""
    if not html or not html.strip():
        return ""
    if "<" not in html:
        blocks = _BLANK_LINE.split(html_lib.unescape(html))
        return "\n\n".join(filter(None, (_finish_paragraph([block]) for block in blocks)))
    html = _CONTROL_CHARS.sub("", html)
    if plain_paragraphs(html):
        return _simple_text(html)
    root = _parse_fragment(html)
    if root is None:
        return ""
    # iterwalk skips comments together with their tails; unwrapping them first keeps the words.
    lxml.etree.strip_tags(root, lxml.etree.Comment, lxml.etree.ProcessingInstruction)
    return "\n\n".join(_paragraphs(root))


# What nh3 writes in text; anything else is left to lxml's HTML 4 entity rules.
_OTHER_ENTITY = re.compile(r"&(?!(?:amp|lt|gt|quot);)")
_SPLIT_TAGS = re.compile(r"(<[^>]*>)")


def plain_paragraphs(html: str) -> bool:
    """Paragraphs and text with attribute-less inline tags and <br> only, well nested, none
    empty, no entity but &amp; &lt; &gt; &quot;: what most feeds' summaries are, and what
    several steps can take a short way through."""
    return _nothing_to_tidy(html) and not _OTHER_ENTITY.search(html)


def _simple_text(html: str) -> str:
    """html_to_text for what _nothing_to_tidy accepts (paragraphs, inline tags, <br>):
    the same paragraphs as the tree walk, without building the tree."""
    paragraphs: list[str] = []
    buffer: list[str] = []
    for piece in _SPLIT_TAGS.split(html):
        if not piece.startswith("<"):
            buffer.append(_spaces(html_lib.unescape(piece)))
        elif piece == "<br>":
            buffer.append("\n")
        elif piece in ("<p>", "</p>"):
            if paragraph := _finish_paragraph(buffer):
                paragraphs.append(paragraph)
            buffer.clear()
    if paragraph := _finish_paragraph(buffer):
        paragraphs.append(paragraph)
    return "\n\n".join(paragraphs)


def _paragraphs(root: lxml.html.HtmlElement) -> list[str]:
    """Walk the tree without recursion (deep nesting must not hit Python's recursion limit)."""
    paragraphs: list[str] = []
    buffer: list[str] = []
    skipped = None  # an element whose whole subtree we are passing over

    def flush() -> None:
        paragraph = _finish_paragraph(buffer)
        if paragraph:
            paragraphs.append(paragraph)
        buffer.clear()

    for event, element in lxml.etree.iterwalk(root, events=("start", "end")):
        if skipped is not None:
            if event == "end" and element is skipped:
                skipped = None
                buffer.append(_spaces(element.tail))
            continue
        tag = element.tag if isinstance(element.tag, str) else ""  # "" for entities
        if event == "start":
            if not tag or tag in _SKIPPED_TAGS:
                skipped = element
            elif tag == "pre":
                flush()
                if preformatted := _preformatted(element):
                    paragraphs.append(preformatted)
                skipped = element
            else:
                if tag in _BLOCK_TAGS:
                    flush()
                elif tag == "br":
                    buffer.append("\n")
                elif tag in _CELL_TAGS:
                    buffer.append(" ")
                buffer.append(_spaces(element.text))
            continue
        if tag in _BLOCK_TAGS:
            flush()
        elif tag in _CELL_TAGS:
            buffer.append(" ")
        if element is not root:
            buffer.append(_spaces(element.tail))
    flush()
    return paragraphs


def _spaces(text: str | None) -> str:
    """Source line breaks are only spaces in HTML; "\n" in the buffer means a <br>."""
    return text.replace("\r", " ").replace("\n", " ") if text else ""


def _preformatted(element: lxml.html.HtmlElement) -> str:
    # Keep the lines and indentation of code and poems, but no blank lines: those would split
    # it into several "paragraphs" for whoever reads the text next.
    text = element.text_content().translate(_INVISIBLE).expandtabs(4)
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def _finish_paragraph(pieces: list[str]) -> str:
    joined = "".join(pieces).translate(_INVISIBLE)
    cleaned = (_WHITESPACE.sub(" ", line).strip() for line in joined.split("\n"))
    return "\n".join(line for line in cleaned if line)


def plain_text(value: str) -> str:
    """A one-line string for titles and bylines: no tags, no entities, single spaces."""
    if not value:
        return ""
    text = value
    if "<" in text:
        text = html_to_text(text)
    # Feeds often escape twice ("&amp;amp;"), so decode until no entity is left (bounded).
    for _ in range(3):
        if not _ENTITY.search(text):
            break
        text = html_lib.unescape(text)
    return " ".join(text.split())
