"""Our own image proxy: `/img/<signature>/<base64url source URL>?w=<width>&q=<quality>`.

Pages never hotlink publishers' images: the reader's browser would tell every publisher what
they read, and a 6000-pixel original would be sent to a phone. Instead a page asks
`signed_image_url(url, width)` for an address here, and this view fetches the original once,
resizes it, strips its metadata, re-encodes it (WebP where the browser accepts it) and keeps the
result on disk for good.

Why each rule exists:
- Signed URLs (HMAC-SHA256 over the source URL, key derived from SECRET_KEY, compared in constant
  time): without them anyone could use us as an open proxy, fetching anything through our server.
- Widths from an allow-list (IMAGE_WIDTHS) and qualities from a short list: every variant is a
  file in the cache, so free-form sizes would let one signed URL fill the disk.
- Fetching through `newsstand.ingest.fetch.fetch`: the same SSRF guard, redirect checks, byte cap
  and wall-clock deadline as feeds and pages, not a second, weaker fetcher.
- A pixel cap checked after reading the header and before decoding: a 20 KB PNG can claim
  100,000 x 100,000 pixels (40 GB decoded); it is refused before a single pixel is decoded.
- Re-encoding with no EXIF, XMP, ICC or comments: photos carry GPS positions and camera serials.
  Orientation is applied first and colours are converted to sRGB, so dropping them loses nothing.
- Failures answer a 4xx/5xx status *with a tiny neutral image body* and `no-store`: the status
  says plainly that the image is bad (and nothing is cached, by us or by anyone downstream), while
  the body lets an `<img>` draw a quiet grey box instead of a broken-image icon.

The cache is a directory of files (NEWSSTAND_IMAGE_CACHE_DIR, default DATA_DIR/images) keyed by
(url, width, quality, output family); it can be deleted at any time and rebuilds itself. Each
process (and machine) may fill its own copy: nothing here must agree between processes. It is
kept within NEWSSTAND_IMAGE_CACHE_MB: every PRUNE_EVERY_WRITES new files, a background thread
deletes the least recently used ones (a file's mtime, renewed by a hit at most once a day).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import logging
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import parse_etags
from django.views.decorators.http import require_safe

from newsstand.ingest.fetch import FetchConfig, FetchError, fetch

log = logging.getLogger(__name__)

IMAGE_WIDTHS: tuple[int, ...] = tuple(getattr(settings, "NEWSSTAND_IMAGE_WIDTHS",
                                              (120, 240, 360, 480, 720, 960, 1200)))
IMAGE_QUALITIES: tuple[int, ...] = (50, 60, 70, 75, 80, 85, 90)
DEFAULT_QUALITY = 75
CACHE_CONTROL_HIT = "public, max-age=31536000, immutable"
_SALT = "newsstand.web.imageproxy"
_B64 = re.compile(r"^[A-Za-z0-9_-]+$")
# Decoders we expose to untrusted bytes; each extra format is extra attack surface.
_INPUT_FORMATS = ["JPEG", "PNG", "GIF", "WEBP"]
_ACCEPT_UPSTREAM = "image/webp,image/png,image/jpeg,image/gif;q=0.9,image/*;q=0.5"
# Decoding a large image takes a lot of memory; a few at a time per process keeps a web worker
# within its memory budget when a page with thirty new images is opened.
_DECODE_SLOTS = threading.BoundedSemaphore(2)


# --- signing ---------------------------------------------------------------------------------------

def _sign(url: str, secret: str | bytes | None = None) -> str:
    digest = salted_hmac(_SALT, url, secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _encode_url(url: str) -> str:
    return base64.urlsafe_b64encode(url.encode()).rstrip(b"=").decode()


def _decode_url(encoded: str) -> str | None:
    if not _B64.match(encoded) or len(encoded) % 4 == 1:
        return None
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def _signature_ok(url: str, signature: str) -> bool:
    # Old keys (SECRET_KEY_FALLBACKS) keep already-rendered pages' images working after a rotation.
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(constant_time_compare(_sign(url, secret), signature) for secret in secrets)


def signed_image_url(url: str, width: int, quality: int = DEFAULT_QUALITY) -> str:
    """The proxy address (site-relative) of `url` resized to `width` pixels wide."""
    if width not in IMAGE_WIDTHS:
        raise ValueError(f"width {width} is not one of IMAGE_WIDTHS {IMAGE_WIDTHS}")
    if quality not in IMAGE_QUALITIES:
        raise ValueError(f"quality {quality} is not one of {IMAGE_QUALITIES}")
    query = f"w={width}" if quality == DEFAULT_QUALITY else f"w={width}&q={quality}"
    return f"{_signed_path(url, settings.SECRET_KEY)}?{query}"


@functools.lru_cache(maxsize=2048)
def _signed_path(url: str, secret: str) -> str:
    """Pages sign the same URL for every width of a srcset, and the same favicons on every
    card: one HMAC per URL (and key) per process. Bounded; keyed by the key it signs with."""
    return f"/img/{_sign(url, secret)}/{_encode_url(url)}"


# --- the transformation (pure: bytes in, bytes out) ---------------------------------------------

class ImageRejected(Exception):
    """Bytes we will not turn into an image; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Rendered:
    data: bytes
    content_type: str


# EXIF orientation -> the transpose that shows the picture upright (as ImageOps.exif_transpose).
_ORIENTATION = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE",
                6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90"}


def render(data: bytes, width: int, quality: int, webp: bool, max_pixels: int) -> Rendered:
    """Resize `data` to at most `width` pixels wide (never upscaling), upright, in sRGB, with no
    metadata; WebP if `webp`, else JPEG (PNG when the picture has transparency)."""
    from PIL import Image

    try:
        im = Image.open(io.BytesIO(data), formats=_INPUT_FORMATS)
    except Image.DecompressionBombError:
        raise ImageRejected(413, "The image has too many pixels") from None
    except Exception:  # UnidentifiedImageError, or a header so broken the plugin gave up
        raise ImageRejected(415, "The address does not point to an image we can read "
                                 "(JPEG, PNG, GIF or WebP)") from None
    w, h = im.size
    if w <= 0 or h <= 0 or w * h > max_pixels:  # before anything is decoded
        raise ImageRejected(413, f"The image is {w} x {h} pixels, more than the "
                                 f"{max_pixels:,}-pixel limit")
    try:
        return _render_checked(im, width, quality, webp)
    except ImageRejected:
        raise
    except Exception as exc:  # truncated or corrupt data: Pillow raises OSError, SyntaxError...
        raise ImageRejected(422, f"The image is damaged or truncated ({type(exc).__name__})") from None


def _render_checked(im, width: int, quality: int, webp: bool) -> Rendered:
    from PIL import Image

    orientation = _orientation(im)
    src_w, src_h = im.size
    turned = orientation in (5, 6, 7, 8)
    shown_w, shown_h = (src_h, src_w) if turned else (src_w, src_h)
    out_w = min(width, shown_w)
    out_h = max(1, round(shown_h * out_w / shown_w))
    size = (out_h, out_w) if turned else (out_w, out_h)
    # JPEG can decode straight at 1/2, 1/4 or 1/8 scale (DCT scaling): 10x+ faster for a large
    # photo. Ask for twice the target so the final filter still has pixels to work with.
    im.draft("RGB" if im.mode in ("RGB", "YCbCr") else None, (size[0] * 2, size[1] * 2))
    im.load()
    icc = im.info.get("icc_profile")
    im = _to_rgb(im)
    if im.size != size:
        im = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if orientation in _ORIENTATION:
        im = im.transpose(getattr(Image.Transpose, _ORIENTATION[orientation]))
    if icc:
        im = _to_srgb(im, icc)
    if im.mode == "RGBA" and im.getchannel("A").getextrema()[0] == 255:
        im = im.convert("RGB")  # an alpha channel with nothing transparent in it
    # A brand-new info dict: nothing from the original (EXIF, XMP, ICC, comments) can reach the
    # encoder, whatever each plugin's defaults are.
    im.info = {}
    out = io.BytesIO()
    if webp:
        im.save(out, "WEBP", quality=quality, method=4)
        return Rendered(out.getvalue(), "image/webp")
    if im.mode == "RGBA":
        im.save(out, "PNG", optimize=False)
        return Rendered(out.getvalue(), "image/png")
    im.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return Rendered(out.getvalue(), "image/jpeg")


def _orientation(im) -> int:
    """The EXIF orientation (1 = upright). Broken EXIF is common and no reason to refuse a photo."""
    if im.format not in ("JPEG", "WEBP"):
        return 1
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception:
        return 1
    return value if value in _ORIENTATION else 1


def _to_rgb(im):
    if im.mode in ("RGB", "RGBA"):
        return im
    has_alpha = im.mode in ("LA", "La", "PA", "RGBa") or "transparency" in im.info
    return im.convert("RGBA" if has_alpha else "RGB")


def _to_srgb(im, icc: bytes):
    """Convert from the embedded colour profile to sRGB, since the profile is about to be
    dropped (a Display P3 photo would otherwise look washed out). Best effort."""
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(source).lower().replace(" ", ""):
            return im
        return ImageCms.profileToProfile(im, source, ImageCms.createProfile("sRGB"), outputMode=im.mode)
    except Exception:  # a broken profile is not worth refusing the image for
        return im


def content_type_of(data: bytes) -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    return "image/jpeg"


# --- the disk cache ---------------------------------------------------------------------------------

def cache_dir() -> Path:
    configured = getattr(settings, "NEWSSTAND_IMAGE_CACHE_DIR", "")
    return Path(configured) if configured else Path(settings.DATA_DIR) / "images"


def cache_path(url: str, width: int, quality: int, webp: bool) -> Path:
    family = "webp" if webp else "legacy"  # legacy: JPEG, or PNG when transparent
    key = hashlib.sha256(f"{url}\n{width}\n{quality}\n{family}".encode()).hexdigest()
    return cache_dir() / key[:2] / key


def _read_cache(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _write_cache(path: Path, data: bytes) -> None:
    """Atomically: readers (other threads, processes) see the old state or the whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


# --- keeping the cache within its size -----------------------------------------------------------

PRUNE_EVERY_WRITES = 100
# A hit renews its file's mtime (the "last used" mark pruning goes by) at most this often,
# so that a popular image costs one utime a day, not one per request.
USED_MARK_SECONDS = 24 * 3600
_STALE_TEMP_SECONDS = 3600
_writes = 0
_writes_lock = threading.Lock()
_pruning = threading.Lock()


def _mark_used(path: Path) -> None:
    try:
        if time.time() - path.stat().st_mtime > USED_MARK_SECONDS:
            os.utime(path)
    except OSError:
        pass  # pruned meanwhile: the bytes are already served


def prune_cache(limit_bytes: int, folder: Path | None = None) -> tuple[int, int]:
    """Delete the least recently used files until the cache holds at most 90% of
    `limit_bytes` (headroom, so that pruning does not run again at the next write). Also
    removes temporary files a crashed write left behind. Returns (files removed, bytes freed)."""
    folder = folder or cache_dir()
    now, total, files = time.time(), 0, []
    removed = freed = 0
    for shard in (folder.iterdir() if folder.is_dir() else ()):
        if not shard.is_dir():
            continue
        for entry in os.scandir(shard):
            try:
                info = entry.stat()
            except OSError:
                continue
            if entry.name.startswith(".tmp-"):
                if now - info.st_mtime > _STALE_TEMP_SECONDS:
                    Path(entry.path).unlink(missing_ok=True)
                continue
            files.append((info.st_mtime, info.st_size, entry.path))
            total += info.st_size
    if total <= limit_bytes:
        return 0, 0
    target = limit_bytes * 0.9
    for _used, size, path in sorted(files):
        if total <= target:
            break
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass  # another process pruned it
        total -= size
        removed, freed = removed + 1, freed + size
    log.info("image cache: removed %d least recently used file(s), %.1f MB, to stay within %.0f MB",
             removed, freed / 1e6, limit_bytes / 1e6)
    return removed, freed


def _after_write() -> None:
    global _writes
    with _writes_lock:
        _writes += 1
        due = _writes % PRUNE_EVERY_WRITES == 0
    limit = int(float(settings.NEWSSTAND_IMAGE_CACHE_MB) * 1024 * 1024)
    if not due or limit <= 0 or not _pruning.acquire(blocking=False):
        return

    def prune() -> None:
        try:
            prune_cache(limit)
        except OSError as exc:
            log.warning("image cache: pruning failed: %s", exc)
        finally:
            _pruning.release()

    threading.Thread(target=prune, name="image-cache-prune", daemon=True).start()


def etag_of(data: bytes) -> str:
    return '"' + hashlib.blake2b(data, digest_size=16).hexdigest() + '"'


# --- the view ---------------------------------------------------------------------------------------

def _fallback(status: int, message: str, width: int | None = None) -> HttpResponse:
    """A failure: the status tells scripts and crawlers what went wrong; the body is a neutral
    grey box so that a page shows a quiet gap rather than a broken-image icon. no-store keeps
    it out of every cache (ours writes nothing either), so a fixed upstream image shows up."""
    w = width if width in IMAGE_WIDTHS else 240
    h = round(w * 2 / 3)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
           f'preserveAspectRatio="none"><rect width="100%" height="100%" fill="#d4d4d4"/></svg>')
    response = HttpResponse(svg, status=status, content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"
    # The body is ours and inert, but nothing inside an SVG may ever run, even opened directly.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response["X-Image-Error"] = " ".join(message.encode("ascii", "replace").decode().split())[:300]
    _count("error", str(status))
    return response


def _count(result: str, status: str = "") -> None:
    from newsstand.web import metrics

    metrics.inc("newsstand_image_proxy_total", result=result, status=status)


def _wants_webp(request: HttpRequest) -> bool:
    return "image/webp" in request.headers.get("Accept", "")


def _parse_choice(raw: str | None, allowed: tuple[int, ...], default: int | None) -> int | None:
    if raw is None and default is not None:
        return default
    if raw is None or not (raw.isascii() and raw.isdigit()) or int(raw) not in allowed:
        return None
    return int(raw)


def _fetch_config() -> FetchConfig:
    base = FetchConfig.from_settings()
    timeout = float(getattr(settings, "NEWSSTAND_IMAGE_FETCH_TIMEOUT", 15))
    return replace(base, max_bytes=int(settings.NEWSSTAND_IMAGE_MAX_BYTES),
                   total_timeout=min(base.total_timeout, timeout))


_FETCH_STATUS = {"blocked": 403, "bad_url": 400, "too_large": 413, "redirects": 502,
                 "timeout": 504, "network": 502}


def _upstream_error(err: FetchError) -> tuple[int, str]:
    if err.kind == "http":
        # The publisher says the image is gone: so do we. Anything else upstream is their outage.
        return (404 if err.status in (404, 410) else 502), err.message
    return _FETCH_STATUS.get(err.kind, 502), err.message


def _respond(request: HttpRequest, data: bytes, etag: str) -> HttpResponse:
    wanted = parse_etags(request.headers.get("If-None-Match", ""))
    if "*" in wanted or etag in wanted or "W/" + etag in wanted:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(data, content_type=content_type_of(data))
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL_HIT
    response["Vary"] = "Accept"
    return response


@require_safe
def image(request: HttpRequest, signature: str, encoded: str) -> HttpResponse:
    url = _decode_url(encoded)
    width_raw = request.GET.get("w")
    width = _parse_choice(width_raw, IMAGE_WIDTHS, None)
    if url is None or not signature or not _signature_ok(url, signature):
        return _fallback(403, "This image address is not signed by this site (or was altered)", width)
    if width is None:
        return _fallback(400, f"w must be one of {', '.join(map(str, IMAGE_WIDTHS))}")
    quality = _parse_choice(request.GET.get("q"), IMAGE_QUALITIES, DEFAULT_QUALITY)
    if quality is None:
        return _fallback(400, f"q must be one of {', '.join(map(str, IMAGE_QUALITIES))}", width)
    webp = _wants_webp(request)
    path = cache_path(url, width, quality, webp)
    cached = _read_cache(path)
    if cached is not None:
        _mark_used(path)
        _count("hit")
        return _respond(request, cached, etag_of(cached))
    try:
        fetched = fetch(url, config=_fetch_config(), accept=_ACCEPT_UPSTREAM)
    except FetchError as err:
        status, message = _upstream_error(err)
        log.info("image proxy: fetch failed url=%s kind=%s status=%s: %s", url, err.kind, status, err)
        return _fallback(status, message, width)
    if not _DECODE_SLOTS.acquire(timeout=30):
        return _fallback(503, "The image service is busy; try again", width)
    try:
        rendered = render(fetched.content, width, quality, webp,
                          int(settings.NEWSSTAND_IMAGE_MAX_PIXELS))
    except ImageRejected as rejected:
        log.info("image proxy: refused url=%s status=%s: %s", url, rejected.status, rejected.message)
        return _fallback(rejected.status, rejected.message, width)
    finally:
        _DECODE_SLOTS.release()
    try:
        _write_cache(path, rendered.data)
        _after_write()
    except OSError as exc:  # a full or read-only disk costs speed, not the image
        log.warning("image proxy: could not cache path=%s: %s", path, exc)
    _count("miss")
    return _respond(request, rendered.data, etag_of(rendered.data))


@require_safe
def unsigned(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other /img/ address (the seed's `/img/?url=…` shape included): we only serve URLs we
    signed, so this is a plain refusal, not a 404 that invites guessing."""
    return _fallback(403, "This image address is not signed by this site")
