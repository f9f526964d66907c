"""Images on our pages always go through the image proxy (newsstand.web.imageproxy), so
readers' browsers never contact publishers directly and every image is resized for the
slot it fills. Without the proxy a page shows no image rather than a hotlink or a
placeholder."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache

log = logging.getLogger(__name__)


@cache
def proxy():
    """The proxy module, or None while it is not installed (its import is guarded so pages
    keep working; the failure is logged once per process)."""
    try:
        from newsstand.web import imageproxy
    except ImportError as exc:
        log.info("image proxy unavailable, pages render without images: %s", exc)
        return None
    if not (hasattr(imageproxy, "signed_image_url") and hasattr(imageproxy, "IMAGE_WIDTHS")):
        log.warning("newsstand.web.imageproxy lacks signed_image_url/IMAGE_WIDTHS; no images")
        return None
    return imageproxy


@dataclass(frozen=True)
class Picture:
    src: str
    srcset: str
    sizes: str
    width: int


def picture(url: str, sizes: str, *, largest: int = 1600, default: int = 640) -> Picture | None:
    """A srcset over the proxy's allowed widths up to `largest`; `src` (for browsers without
    srcset support) is the allowed width closest to `default`."""
    module = proxy()
    if not url or module is None:
        return None
    widths = sorted(w for w in module.IMAGE_WIDTHS if w <= largest) or [min(module.IMAGE_WIDTHS)]
    fallback = min(widths, key=lambda w: abs(w - default))
    srcset = ", ".join(f"{module.signed_image_url(url, w)} {w}w" for w in widths)
    return Picture(module.signed_image_url(url, fallback), srcset, sizes, fallback)


def icon(url: str, size: int = 32) -> str | None:
    """A source's favicon or logo at the smallest allowed width that still looks sharp."""
    module = proxy()
    if not url or module is None:
        return None
    widths = sorted(module.IMAGE_WIDTHS)
    width = next((w for w in widths if w >= size), widths[-1])
    return module.signed_image_url(url, width)


def absolute_image(request, url: str, width: int = 1200) -> str | None:
    """For OpenGraph/JSON-LD, which need one absolute URL of a large size."""
    module = proxy()
    if not url or module is None:
        return None
    widths = sorted(module.IMAGE_WIDTHS)
    chosen = min(widths, key=lambda w: abs(w - width))
    return request.build_absolute_uri(module.signed_image_url(url, chosen))
