"""Bytes to text for documents from the web, whose declared charsets are often missing or
wrong. Never raises: a mis-decoded character is better than a lost article."""

from __future__ import annotations

import codecs
import re

_BOMS = (  # UTF-32 first: its little-endian BOM starts with the UTF-16 one
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)


def _candidates(label: str | None) -> list[str]:
    """Codecs to try for a declared charset label, best first ([] if the label is unknown).

    Single-byte labels (ascii, latin-1, windows-1252) are common server defaults that are often
    wrong; they can never fail to decode, so valid UTF-8 is tried first (real Western text is
    practically never valid UTF-8 by accident). Latin-1 is read as windows-1252, like browsers do.
    """
    try:
        name = codecs.lookup(label.strip()).name if label else ""
    except LookupError:
        return []
    if name in ("ascii", "iso8859-1", "cp1252"):
        return ["utf-8", "cp1252", "iso8859-1"]
    return [name] if name else []


def _first_that_decodes(content: bytes, codecs_to_try: list[str]) -> str | None:
    for codec in codecs_to_try:
        try:
            return content.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return None


def _sniffed_label(content: bytes) -> str | None:
    """The charset a document declares about itself in its first 2 KB."""
    head = content[:2048]
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    if not match:
        return None
    label = match.group(1).decode("ascii").lower()
    # We could read the declaration as ASCII, so the bytes cannot really be UTF-16/32.
    return "utf-8" if label.startswith(("utf-16", "utf-32", "utf16", "utf32")) else label


def _guess(content: bytes) -> str | None:
    """charset-normalizer's guess, except that windows-1252 wins when it is nearly as plausible:
    on short Western text the detector often picks a Central European or Baltic code page,
    while windows-1252 is by far the most common legacy encoding of unlabelled web text."""
    try:
        import charset_normalizer

        matches = list(charset_normalizer.from_bytes(content))
        if not matches:
            return None
        best = matches[0]
        western = next((m for m in matches if m.encoding == "cp1252"), None)
        if western is not None and western.chaos <= best.chaos + 0.1:
            best = western
        return str(best)
    except Exception:  # a detector bug must never lose an article
        return None


def decode_text(content: bytes, charset: str | None) -> str:
    """Bytes to text, never raising: BOM, then the declared charset if the bytes fit it, then the
    document's own declaration, then valid UTF-8, then charset-normalizer, then lossy UTF-8."""
    for bom, codec in _BOMS:
        if content.startswith(bom):
            return content.decode(codec, errors="replace")
    text = (_first_that_decodes(content, _candidates(charset))
            or _first_that_decodes(content, _candidates(_sniffed_label(content)))
            or _first_that_decodes(content, ["utf-8"])  # cheap, and by far the most common
            or _guess(content))
    return text if text is not None else content.decode("utf-8", errors="replace")
