"""Article page HTML → ExtractedPage: the main text (sanitized HTML and plain text) plus metadata.

Tuning, measured with `bench/extraction_f1.py` (Zyte article-extraction-benchmark, 181 pages,
4-gram shingle F1 as upstream defines it; the scorer reproduces upstream's published figures):

    FIGURES_PLACEHOLDER

Pure: no HTTP, no clock, no Django. trafilatura's own "today" (htmldate's upper bound on dates)
is replaced by a fixed far-future bound, so the same page always gives the same result; whoever
stores the article can clamp a future date against the fetch time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html
import trafilatura
from trafilatura.deduplication import LRUCache
from trafilatura.metadata import extract_metadata as _trafilatura_metadata
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

    favor_precision: bool = False
    favor_recall: bool = False
    include_tables: bool = True
    include_images: bool = True
    include_links: bool = True
    # Drop paragraphs repeated within the page (a fresh cache per call keeps this pure: the
    # shared default cache would hide an article the second time the same process saw it).
    deduplicate: bool = False
    # Skip trafilatura's internal comparison with its readability/jusText fallbacks.
    fast: bool = False
    # Below this many words, try trafilatura.baseline (JSON-LD articleBody, <article>, all <p>)
    # and keep whichever is longer. 0 turns it off.
    thin_words: int = 0


TUNING = Tuning()

# An article needs at least this many words outside links. The benchmark's shortest gold body
# has 18 words; a login wall or a nav-only page has a handful once links are set aside.
MIN_MAIN_WORDS = 15
NO_TEXT = "The page has no main text (nothing that looks like an article was found)"

# Fixed, far-future upper bound for htmldate (its default is "today", i.e. the clock).
_DATE_PARAMS = {
    "original_date": True,
    "extensive_search": False,
    "max_date": "2099-12-31",
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
}
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?=$|[-_])")


def extract_page(html: str, url: str, tuning: Tuning = TUNING) -> ExtractedPage:
    """Extract the article in `html` (fetched from `url`). Raises ExtractionError if there is none."""
    tree = _load(html)
    base = _base_url(tree, url)
    clean = sanitize_html(_body_html(tree, base, tuning), base_url=base)
    text = html_to_text(clean)
    if tuning.thin_words and len(text.split()) < tuning.thin_words:
        clean, text = max((clean, text), _baseline(tree, base), key=lambda pair: len(pair[1]))
    if _main_words(clean) < MIN_MAIN_WORDS:
        raise ExtractionError(NO_TEXT)
    return _page(_metadata(tree, url, base), clean, text)


def extract_metadata(html: str, url: str) -> ExtractedPage:
    """Only the metadata (title, byline, date, images, ...); html and text are empty."""
    tree = _load(html)
    return _page(_metadata(tree, url, _base_url(tree, url)), "", "")


def _page(meta: dict, html: str, text: str) -> ExtractedPage:
    return ExtractedPage(
        title=meta["title"],
        byline=meta["byline"],
        published=meta["published"],
        html=html,
        text=text,
        lead_image_url=meta["lead_image_url"] or _first_image(html),
        canonical_url=meta["canonical_url"],
        language=meta["language"],
        site_name=meta["site_name"],
        word_count=len(text.split()),
    )


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


def _body_html(tree: lxml.html.HtmlElement, base: str | None, tuning: Tuning) -> str:
    try:
        result = trafilatura.extract(
            tree,
            url=base,
            output_format="html",
            include_comments=False,  # reader comments are not the article
            fast=tuning.fast,
            favor_precision=tuning.favor_precision,
            favor_recall=tuning.favor_recall,
            include_tables=tuning.include_tables,
            include_images=tuning.include_images,
            include_links=tuning.include_links,
            deduplicate=LRUCache(maxsize=1024) if tuning.deduplicate else False,
        )
    except (ValueError, TypeError, AttributeError, lxml.etree.LxmlError):
        # trafilatura's fallbacks are third-party code; a crash on odd markup means "no text"
        return ""
    return result or ""


def _baseline(tree: lxml.html.HtmlElement, base: str | None) -> tuple[str, str]:
    try:
        body, _, _ = trafilatura.baseline(tree)
    except (ValueError, TypeError, AttributeError, lxml.etree.LxmlError):
        return "", ""
    clean = sanitize_html(lxml.html.tostring(body, encoding="unicode"), base_url=base)
    return clean, html_to_text(clean)


def _main_words(clean_html: str) -> int:
    """Words that are not link text: a nav-only page is all links, an article is mostly not."""
    if not clean_html:
        return 0
    root = lxml.html.fragment_fromstring(clean_html, create_parent="div")
    for link in root.iter("a"):
        link.text = None
        for child in link:
            child.drop_tree()
    return len(root.text_content().split())


def _first_image(clean_html: str) -> str | None:
    match = re.search(r'<img[^>]*?\ssrc="(https?://[^"]+)"', clean_html)
    return lxml.html.fromstring(f'<i title="{match.group(1)}"></i>').get("title") if match else None


# --- metadata ----------------------------------------------------------------------------------


def _metadata(tree: lxml.html.HtmlElement, url: str, base: str | None) -> dict:
    try:
        found = _trafilatura_metadata(tree, default_url=base, date_config=dict(_DATE_PARAMS))
    except Exception:  # metadata is a bonus: odd JSON-LD or dates must not lose the article
        found = None
    get = (lambda name: getattr(found, name, None)) if found is not None else (lambda name: None)
    image = _meta(tree, "og:image", "og:image:url", "og:image:secure_url", "twitter:image")
    return {
        "title": _text_or_none(get("title")),
        "byline": _text_or_none(get("author")),
        "published": _parse_date(get("date")),
        "lead_image_url": _absolute(image, base) if image else None,
        "canonical_url": _canonical(tree, base),
        "language": _language(tree),
        "site_name": _text_or_none(_meta(tree, "og:site_name") or get("sitename")),
    }


def _meta(tree: lxml.html.HtmlElement, *names: str) -> str | None:
    """The first non-empty <meta property|name=...> content among `names`, in that order."""
    for name in names:
        value = _first(tree, f'//meta[@property="{name}" or @name="{name}"]/@content')
        if value and value.strip():
            return value.strip()
    return None


def _canonical(tree: lxml.html.HtmlElement, base: str | None) -> str | None:
    for href in (
        _first(tree, '//link[@rel="canonical"]/@href'),
        _meta(tree, "og:url"),
    ):
        absolute = _absolute(href, base) if href else None
        if absolute:
            return absolute
    return None


def _language(tree: lxml.html.HtmlElement) -> str | None:
    candidates = (
        tree.get("lang"),
        tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
        _first(tree, '//meta[translate(@http-equiv, "CONTENTLAGU", "contentlagu")'
               '="content-language"]/@content'),
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
