"""Article page HTML → ExtractedPage: the main text (sanitized HTML and plain text) plus metadata.

Tuning, measured with `bench/extraction_f1.py` (Zyte article-extraction-benchmark, 181 pages,
4-gram shingle F1 as upstream defines it; the scorer reproduces upstream's published figures):

                                             P      R      F1    pages/s vs (a)
    (a) trafilatura.extract(html), defaults    0.928  0.978  0.953   1.00
    (b) extract_page, chosen tuning            0.965  0.974  0.970   0.77
    best published (rs_trafilatura)                          0.970

    Variants of (b), one change each (F1):  favor_precision off 0.963 · favor_recall 0.962 ·
    no retry when thin 0.965 · retry below 200 words 0.969 · trafilatura's own inline images
    0.962 · no images at all 0.970 · no tables 0.965 · no links 0.970 ·
    deduplicate 0.967 · fast (no readability/jusText comparison) 0.959 · keep the title heading
    0.968 · trafilatura.baseline() when under 50 words 0.968, under 150 words 0.940 (dropped) ·
    the comparison only when the fast run gives under 100 words 0.969 (0.82 of (a)'s speed),
    under 200, 300, 400, 600 words 0.970 (0.77, 0.74, 0.68, 0.61), always 0.970 (0.65).

Chosen: trafilatura's comparison with readability/jusText only when its fast run gives under
200 words (the same P, R and F1 on the benchmark; a third less work on a full article); favor_precision,
and when that leaves under 50 words (it sometimes keeps a teaser and
drops the article) a second run without it; tables and links kept; reader comments dropped;
a heading repeating the title dropped. Images: trafilatura's include_images drags captions,
credits and gallery text into the body (-0.008 F1), so the text comes from an image-free run and
the page's own <img> elements are placed between its blocks (_place_images; a second, illustrated
trafilatura run did this before at 1.7x the cost). Metadata skips trafilatura's category, tag and
license scans. What remains over plain trafilatura is metadata, the image walk and sanitizing.

Pure: no HTTP, no clock, no Django. trafilatura's own "today" (htmldate's upper bound on dates)
is replaced by a fixed far-future bound, so the same page always gives the same result; whoever
stores the article can clamp a future date against the fetch time.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html
from trafilatura.core import bare_extraction, determine_returnstring
from trafilatura.deduplication import LRUCache
from trafilatura.settings import Document, Extractor
from trafilatura import metadata as trafilatura_metadata
from trafilatura.utils import load_html

from newsstand.ingest.sanitize import html_to_text, plain_text, sanitize_html


@dataclass(frozen=True)
class ExtractedPage:
    title: str | None
    byline: str | None
    published: datetime | None  # aware, UTC
    html: str  # sanitized article body
    text: str  # plain text, paragraphs separated by blank lines
    lead_image_url: str | None
    canonical_url: str | None
    language: str | None
    site_name: str | None
    word_count: int


class ExtractionError(ValueError):
    """The page holds no article we can use; `message` says why in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Tuning:
    """trafilatura's knobs plus our own; the defaults are the measured best (see above)."""

    favor_precision: bool = True
    favor_recall: bool = False
    include_tables: bool = True
    include_images: bool = False
    include_links: bool = True
    # Drop paragraphs repeated within the page (a fresh cache per call keeps this pure: the
    # shared default cache would hide an article the second time the same process saw it).
    deduplicate: bool = False
    # Skip trafilatura's internal comparison with its readability/jusText fallbacks...
    fast: bool = True
    # ...unless the fast run leaves fewer words than this: then extract again with it.
    compare_below_words: int = 200
    # Below this many words, extract again without favor_precision and keep the longer text.
    retry_words: int = 50
    # The page's images placed between the extracted blocks, without captions (_place_images).
    place_images: bool = True
    # Drop a heading that opens the body and repeats the title: our page shows the title itself.
    drop_title_heading: bool = True


TUNING = Tuning()

# An article needs at least this many words outside links. The benchmark's shortest gold body
# has 18 words; a login wall or a nav-only page has a handful once links are set aside.
MIN_MAIN_WORDS = 15
# Enough for a photo essay; galleries of hundreds of thumbnails are not article content.
MAX_IMAGES = 30
NO_TEXT = "The page has no main text (nothing that looks like an article was found)"

# Fixed, far-future upper bound for htmldate (its default is "today", i.e. the clock).
_DATE_PARAMS = {"original_date": True, "extensive_search": False, "max_date": "2099-12-31",
                "outputformat": "%Y-%m-%dT%H:%M:%S%z"}  # fmt: skip
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_IMG_SRC = re.compile(r'<img\s[^>]*?src="(https?://[^"]+)"')
# Site furniture that trafilatura sometimes keeps as "images".
_CHROME_IMAGE = re.compile(
    r"logo|icon|avatar|sprite|spacer|pixel|badge|gravatar|placeholder|lazy|preload|blank|1x1|missing|thumb", re.I)
# Where the article's text may sit in a page; div/section count only with text of their own.
_TEXT_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "ul", "ol", "table", "dl",
                "div", "section")
_OFF_ARTICLE_TAGS = frozenset({"nav", "aside", "header", "footer", "form", "button", "noscript", "template"})
_OFF_ARTICLE_NAMES = re.compile(
    r"related|promo|teaser|recirc|share|social|newsletter|advert|sidebar|comment|widget|most-?read|trending", re.I)
_WORD = re.compile(r"\w+")
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?=$|[-_])")


def extract_page(html: str, url: str, tuning: Tuning = TUNING) -> ExtractedPage:
    """Extract the article in `html` (fetched from `url`). Raises ExtractionError if there is none."""
    tree = _load(html)
    base = _base_url(tree, url)
    meta = _metadata(tree, base)
    clean, text = _article(tree, base, meta.title, tuning)
    if _main_words(clean, tree) < MIN_MAIN_WORDS:
        raise ExtractionError(NO_TEXT)
    return replace(
        meta,
        html=clean,
        text=text,
        lead_image_url=meta.lead_image_url or _first_image(clean),
        word_count=len(text.split()),
    )


def extract_metadata(html: str, url: str) -> ExtractedPage:
    """Only the metadata (title, byline, date, images, ...); html and text are empty."""
    tree = _load(html)
    return _metadata(tree, _base_url(tree, url))


# --- loading -----------------------------------------------------------------------------------


def _load(html: str) -> lxml.html.HtmlElement:
    if not isinstance(html, str) or not html.strip():
        raise ExtractionError("The page is empty")
    try:
        tree = load_html(_CONTROL_CHARS.sub("", html))
    except Exception:  # lxml/charset detection on junk can fail in many ways; all mean "not HTML"
        tree = None
    if tree is None:
        raise ExtractionError("The page could not be read as HTML")
    return tree


def _base_url(tree: lxml.html.HtmlElement, url: str) -> str | None:
    """Where relative links point: the page's <base href> if any, else the page URL."""
    base = _web_url(url)
    href = _first(tree, "//base/@href")
    if href:
        return _absolute(href, base) or base
    return base


# --- body --------------------------------------------------------------------------------------


def _article(
    tree: lxml.html.HtmlElement, base: str | None, title: str | None, tuning: Tuning
) -> tuple[str, str]:
    """The article body as sanitized HTML and as plain text."""
    images = tuning.include_images and not tuning.place_images
    body = _body_html(tree, base, tuning, images=images)
    if tuning.fast and tuning.compare_below_words and _word_count(body) < tuning.compare_below_words:
        # A thin fast result is where trafilatura's own comparison with readability/jusText
        # rescues a page; on a full article it rarely changes anything and costs a third.
        tuning = replace(tuning, fast=False)
        body = _body_html(tree, base, tuning, images=images)
    if tuning.favor_precision and _word_count(body) < tuning.retry_words:
        # Precision mode sometimes keeps a teaser and drops the article; a thin result is the sign.
        tuning = replace(tuning, favor_precision=False)
        body = max(body, _body_html(tree, base, tuning, images=False), key=_word_count)
    if tuning.drop_title_heading and title:
        body = _without_title_heading(body, title)
    if tuning.place_images and body and tree.find(".//img") is not None:
        body = _place_images(body, tree)
    clean = sanitize_html(body, base_url=base)
    return clean, html_to_text(clean)


def _body_html(tree: lxml.html.HtmlElement, base: str | None, tuning: Tuning, images: bool) -> str:
    # bare_extraction + determine_returnstring is trafilatura.extract minus the Simhash
    # fingerprint it computes for every HTML output (18% of the CPU per page, never used here).
    options = Extractor(
        output_format="html",
        url=base,
        comments=False,  # reader comments are not the article
        fast=tuning.fast,
        precision=tuning.favor_precision,
        recall=tuning.favor_recall,
        tables=tuning.include_tables,
        images=images,
        links=tuning.include_links,
        dedup=LRUCache(maxsize=1024) if tuning.deduplicate else False,
    )
    try:
        document = bare_extraction(tree, options=options, as_dict=False)
        if not isinstance(document, Document):
            return ""
        return determine_returnstring(document, options) or ""
    except (ValueError, TypeError, AttributeError, lxml.etree.LxmlError):
        # trafilatura's fallbacks are third-party code; a crash on odd markup means "no text"
        return ""


def _word_count(html: str) -> int:
    return len(html_to_text(html).split())


def _place_images(skeleton: str, tree: lxml.html.HtmlElement) -> str:
    """Put the page's own <img> elements into `skeleton` (the image-free extraction) after the
    article block each followed in the page. Only images between two article blocks count
    (before the first sits the hero, shown apart as lead_image_url; after the last, related
    posts and galleries), and only inside the article's container, outside any nav, aside or
    related/share box within it. trafilatura's own illustrated run also keeps captions,
    credits and gallery text, which cost precision; a second run for image positions alone
    cost 70% more time than this walk and placed images no better on the benchmark pages."""
    doc = _parse_body(skeleton)
    if doc is None:
        return skeleton
    blocks: dict[tuple[str, ...], lxml.html.HtmlElement] = {}
    for block in doc:
        blocks.setdefault(tuple(_words(block.text_content())), block)
    blocks.pop((), None)
    anchor, matched, placed_after, waiting = None, [], [], []
    for element in tree.iter("img", *_TEXT_BLOCKS):
        if element.tag == "img":
            if anchor is not None:
                waiting.append((anchor, element))
            continue
        if element.tag in ("div", "section") and not (element.text or "").strip():
            continue  # a wrapper: its own text, if any, is what trafilatura turns into a block
        block = blocks.get(tuple(_words(element.text_content())))
        if block is not None:
            placed_after += waiting
            anchor, waiting = block, []
            matched.append(element)
    if not placed_after:
        return skeleton
    container = _common_ancestor(matched)
    seen: set[str] = set()
    last: dict[int, lxml.html.HtmlElement] = {}  # anchor → the image last placed after it
    for anchor, image in placed_after:
        src = _image_source(image)
        if not src or src in seen or len(seen) >= MAX_IMAGES or not _in_article(image, container):
            continue
        seen.add(src)
        placed = lxml.html.Element("img", src=src)
        for name in ("alt", "title", "width", "height"):
            if image.get(name):
                placed.set(name, image.get(name))
        last.get(id(anchor), anchor).addnext(placed)
        last[id(anchor)] = placed
    return lxml.html.tostring(doc, encoding="unicode")


def _image_source(image: lxml.html.HtmlElement) -> str | None:
    """The real picture: lazy-loading pages put a placeholder in src and the image elsewhere."""
    src = (image.get("src") or "").strip()
    if src and not src.startswith("data:") and not _CHROME_IMAGE.search(src):
        return src
    for name in ("data-src", "data-lazy-src", "data-original", "data-srcset", "srcset"):
        value = (image.get(name) or "").strip()
        candidate = value.split(",")[0].split()[0] if value and name.endswith("srcset") else value
        if candidate and not candidate.startswith("data:") and not _CHROME_IMAGE.search(candidate):
            return candidate
    return None


def _common_ancestor(elements: list[lxml.html.HtmlElement]) -> lxml.html.HtmlElement | None:
    if len(elements) == 1:
        return elements[0].getparent()
    chain = [elements[0], *elements[0].iterancestors()]
    depth = {id(element): level for level, element in enumerate(chain)}
    deepest = 0
    for element in elements[1:]:
        for candidate in (element, *element.iterancestors()):
            if id(candidate) in depth:
                deepest = max(deepest, depth[id(candidate)])
                break
    return chain[deepest]


def _in_article(image: lxml.html.HtmlElement, container: lxml.html.HtmlElement | None) -> bool:
    for parent in image.iterancestors():
        if parent is container:
            return True
        names = f"{parent.get('class') or ''} {parent.get('id') or ''}"
        if parent.tag in _OFF_ARTICLE_TAGS or _OFF_ARTICLE_NAMES.search(names):
            return False
    return False


def _parse_body(html: str) -> lxml.html.HtmlElement | None:
    if not html.strip():
        return None
    try:
        root = lxml.html.fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return None
    return root.find("body") if root.tag == "html" else root


def _without_title_heading(body: str, title: str) -> str:
    container = _parse_body(body)
    first = container[0] if container is not None and len(container) else None
    if first is None or first.tag not in _HEADINGS or (container.text or "").strip():
        return body
    if _words(first.text_content()) != _words(title):
        return body
    first.drop_tree()
    return lxml.html.tostring(container, encoding="unicode")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _main_words(clean_html: str, tree: lxml.html.HtmlElement) -> int:
    """Words that are not link text or form furniture: a nav-only page or a login wall is all
    links, labels and buttons, an article is mostly not. Two checks, because trafilatura's last
    resort returns the page's raw text, one line per element, with the links unwrapped."""
    root = _parse_body(clean_html)
    if root is None:
        return 0
    for link in root.iter("a"):
        link.text = None
        for child in link:
            child.drop_tree()
    furniture = _furniture(tree)
    pieces = (piece for element in root.iter() for piece in (element.text, element.tail) if piece)
    lines = (line for piece in pieces for line in piece.splitlines())
    return sum(len(line.split()) for line in lines if tuple(_words(line)) not in furniture)


def _furniture(tree: lxml.html.HtmlElement) -> set[tuple[str, ...]]:
    """The word sequences of the page's links, labels and buttons."""
    found = set()
    for element in tree.iter("a", "button", "label", "option", "legend"):
        words = tuple(_words(element.text_content()))
        if words:
            found.add(words)
    return found


def _first_image(clean_html: str) -> str | None:
    # sanitize_html prints every attribute double-quoted and drops non-http(s) src values.
    match = _IMG_SRC.search(clean_html)
    return html_lib.unescape(match.group(1)) if match else None


# --- metadata ----------------------------------------------------------------------------------


def _metadata(tree: lxml.html.HtmlElement, base: str | None) -> ExtractedPage:
    try:
        found = _page_metadata(tree, base)
    except Exception:  # metadata is a bonus: odd JSON-LD or dates must not lose the article
        found = None
    get = (lambda name: getattr(found, name, None)) if found is not None else (lambda name: None)
    image = _meta(tree, "og:image", "og:image:url", "og:image:secure_url", "twitter:image")
    return ExtractedPage(
        title=_text_or_none(get("title")),
        byline=_text_or_none(get("author")),
        published=_parse_date(get("date")),
        lead_image_url=_absolute(image, base) if image else None,
        canonical_url=_canonical(tree, base),
        language=_language(tree),
        site_name=_text_or_none(_meta(tree, "og:site_name") or _named_site(get("sitename"), get("url"))),
        html="",
        text="",
        word_count=0,
    )


def _page_metadata(tree: lxml.html.HtmlElement, base: str | None) -> Document:
    """trafilatura.extract_metadata's steps for the fields we keep. Its categories, tags and
    license scans walk the whole page and were 40% of its time (bench/ingest.py's pages)."""
    found = trafilatura_metadata.examine_meta(tree)
    if found.author and " " not in found.author:
        found.author = None  # a lone handle or word is rarely a byline (trafilatura does the same)
    found = trafilatura_metadata.extract_meta_json(tree, found)
    found.title = found.title or trafilatura_metadata.extract_title(tree)
    found.author = found.author or trafilatura_metadata.extract_author(tree)
    found.url = found.url or trafilatura_metadata.extract_url(tree, base)
    found.date = trafilatura_metadata.find_date(tree, **_DATE_PARAMS, url=found.url)
    found.sitename = (found.sitename or trafilatura_metadata.extract_sitename(tree) or "").lstrip("@") or None
    found.clean_and_trim()
    return found


def _named_site(sitename: str | None, url: str | None) -> str | None:
    """trafilatura's site name unless it is only the host name it fell back to."""
    if not sitename or not url:
        return sitename
    parts = urlsplit(url)
    hosts = {(parts.hostname or "").removeprefix("www."), parts.netloc.lower().removeprefix("www.")}
    return None if sitename.lower().removeprefix("www.") in hosts else sitename


def _meta(tree: lxml.html.HtmlElement, *names: str) -> str | None:
    """The first non-empty <meta property|name=...> content among `names`, in that order."""
    for name in names:
        value = _first(tree, f'//meta[@property="{name}" or @name="{name}"]/@content')
        if value and value.strip():
            return value.strip()
    return None


def _canonical(tree: lxml.html.HtmlElement, base: str | None) -> str | None:
    hrefs = (_first(tree, '//link[@rel="canonical"]/@href'), _meta(tree, "og:url"))
    return next((url for href in hrefs if href and (url := _absolute(href, base))), None)


def _language(tree: lxml.html.HtmlElement) -> str | None:
    equiv = '//meta[translate(@http-equiv, "CONTENTLAGU", "contentlagu")="content-language"]'
    candidates = (
        tree.get("lang"),
        tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
        _first(tree, f"{equiv}/@content"),
        _meta(tree, "og:locale", "language", "dc.language"),
    )
    for value in candidates:
        match = _LANGUAGE.match((value or "").strip())
        if match:
            return match.group(0).lower()
    return None


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, pattern)
        except ValueError:
            continue
        # No zone given: UTC is the least surprising guess (off by hours at worst, not days).
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    return None


# --- small helpers -----------------------------------------------------------------------------


def _first(tree: lxml.html.HtmlElement, xpath: str) -> str | None:
    try:
        found = tree.xpath(xpath)
    except lxml.etree.XPathError:
        return None
    return str(found[0]) if found else None


def _web_url(url: str | None) -> str | None:
    """`url` if it is an absolute http(s) URL, else None."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url.strip()
    return None


def _absolute(href: str, base: str | None) -> str | None:
    try:
        joined = urljoin(base, href.strip()) if base else href.strip()
    except ValueError:
        return None
    return _web_url(joined)


def _text_or_none(value: str | None) -> str | None:
    text = plain_text(value or "")
    return text or None
