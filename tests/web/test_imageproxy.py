"""The image proxy against a real local HTTP server serving real images made with Pillow.

Every refusal answers a clear status with a neutral placeholder body, and leaves the cache
directory empty; successes are resized, upright, metadata-free, cached on disk and served from
there without contacting the publisher again."""

from __future__ import annotations

import io
import os
import struct
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from newsstand.web import imageproxy
from newsstand.web.imageproxy import IMAGE_WIDTHS, prune_cache, signed_image_url

WEBP = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"  # what Chromium sends
LEGACY = "image/png,image/*;q=0.8,*/*;q=0.5"


# --- images ---------------------------------------------------------------------------------------

def photo(size=(1600, 1000), orientation: int | None = None) -> bytes:
    """A JPEG with camera EXIF (maker, model, GPS) and, optionally, an orientation tag."""
    im = Image.linear_gradient("L").resize(size).convert("RGB")
    im.paste((200, 30, 30), (0, 0, size[0] // 4, size[1] // 4))  # a red block top-left
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc."          # Make
    exif[0x0110] = "Model X"              # Model
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS IFD: latitude
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, exif=exif, comment=b"secret comment")
    return out.getvalue()


def transparent_png(size=(800, 600)) -> bytes:
    im = Image.new("RGBA", size, (0, 0, 0, 0))
    im.paste((20, 120, 220, 255), (100, 100, 500, 400))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of `width` x `height` all-zero pixels: tiny on the wire, enormous
    decoded (Pillow keeps a byte per pixel)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def decoded(response) -> Image.Image:
    im = Image.open(io.BytesIO(response.content))
    im.load()
    return im


# --- helpers --------------------------------------------------------------------------------------

@pytest.fixture
def cache(settings, tmp_path) -> Path:
    return Path(settings.DATA_DIR) / "images"


def cached_files(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []


def get(client, path: str, accept: str = WEBP, **headers):
    return client.get(path, HTTP_ACCEPT=accept, **headers)


def assert_refused(response, status: int, cache: Path):
    assert response.status_code == status, response.headers.get("X-Image-Error")
    assert response["Content-Type"] == "image/svg+xml"  # the neutral grey box
    assert b"<rect" in response.content and b"script" not in response.content
    assert response["Cache-Control"] == "no-store"
    assert response["X-Image-Error"]
    assert cached_files(cache) == []


# --- success --------------------------------------------------------------------------------------

def test_resizes_to_webp_strips_metadata_and_caches(client, local_server, cache):
    url = local_server.route("/photo.jpg", photo(), content_type="image/jpeg")
    response = get(client, signed_image_url(url, 360))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert response["Vary"] == "Accept"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["ETag"].startswith('"')
    im = decoded(response)
    assert im.format == "WEBP" and im.size == (360, 225)
    assert not im.getexif() and "exif" not in im.info and "icc_profile" not in im.info
    assert "xmp" not in im.info
    assert len(cached_files(cache)) == 1


def test_jpeg_for_browsers_without_webp_and_no_metadata_left(client, local_server, cache):
    url = local_server.route("/photo.jpg", photo(), content_type="image/jpeg")
    response = get(client, signed_image_url(url, 480), accept=LEGACY)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    im = decoded(response)
    assert im.format == "JPEG" and im.size == (480, 300)
    assert not im.getexif() and "exif" not in im.info and "comment" not in im.info
    assert b"SpyCam" not in response.content and b"secret comment" not in response.content
    assert im.getpixel((5, 5))[0] > 150  # the red block is still top-left


def test_exif_orientation_is_applied_before_it_is_dropped(client, local_server):
    # Stored 1600x1000 with "rotate 90° clockwise to view" (6): shown 1000 wide, 1600 high.
    url = local_server.route("/turned.jpg", photo(orientation=6), content_type="image/jpeg")
    im = decoded(get(client, signed_image_url(url, 360), accept=LEGACY))
    assert im.size == (360, 576)
    assert im.getpixel((im.width - 5, 5))[0] > 150  # top-left block is now top-right
    assert not im.getexif()


def test_transparency_kept_as_png_or_webp(client, local_server):
    url = local_server.route("/logo.png", transparent_png(), content_type="image/png")
    legacy = get(client, signed_image_url(url, 240), accept=LEGACY)
    assert legacy["Content-Type"] == "image/png"
    im = decoded(legacy)
    assert im.mode == "RGBA" and im.size == (240, 180) and im.getpixel((2, 2))[3] == 0
    webp = decoded(get(client, signed_image_url(url, 240)))
    assert webp.format == "WEBP" and webp.mode == "RGBA" and webp.getpixel((2, 2))[3] == 0


def test_never_upscales(client, local_server):
    url = local_server.route("/small.jpg", photo(size=(200, 100)), content_type="image/jpeg")
    assert decoded(get(client, signed_image_url(url, 1200))).size == (200, 100)


def test_cache_hit_does_not_contact_the_publisher(client, local_server, cache):
    url = local_server.route("/photo.jpg", photo(), content_type="image/jpeg")
    path = signed_image_url(url, 720)
    first = get(client, path)
    second = get(client, path)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content and first["ETag"] == second["ETag"]
    assert len(local_server.hits("/photo.jpg")) == 1
    # Other formats and sizes are other cache entries (one more fetch each).
    get(client, path, accept=LEGACY)
    get(client, signed_image_url(url, 120))
    assert len(local_server.hits("/photo.jpg")) == 3 and len(cached_files(cache)) == 3
    assert not [p for p in cache.rglob(".tmp-*")]  # atomic writes leave no temp files


def test_the_cache_keeps_within_its_size_by_dropping_the_least_recently_used(tmp_path):
    folder = tmp_path / "images"
    now = time.time()
    for n in range(10):
        shard = folder / f"{n:02x}"
        shard.mkdir(parents=True, exist_ok=True)
        (shard / f"image-{n}").write_bytes(b"x" * 1000)
        os.utime(shard / f"image-{n}", (now - 1000 + n, now - 1000 + n))  # image-9 used last
    (folder / "00" / ".tmp-crashed").write_bytes(b"half")
    os.utime(folder / "00" / ".tmp-crashed", (now - 7200, now - 7200))

    assert prune_cache(20_000, folder) == (0, 0)  # within the limit: nothing goes
    assert prune_cache(5_000, folder) == (6, 6000)  # down to 90% of the limit
    left = sorted(p.name for p in folder.rglob("*") if p.is_file())
    assert left == [f"image-{n}" for n in range(6, 10)]  # the most recently used stay


def test_a_hit_marks_its_file_as_used(client, local_server, cache):
    url = local_server.route("/photo.jpg", photo(), content_type="image/jpeg")
    path = signed_image_url(url, 360)
    get(client, path)
    [file] = cached_files(cache)
    long_ago = time.time() - 3 * 24 * 3600
    os.utime(file, (long_ago, long_ago))
    assert get(client, path).status_code == 200
    assert file.stat().st_mtime > long_ago + 24 * 3600


def test_if_none_match_answers_304(client, local_server):
    url = local_server.route("/photo.jpg", photo(), content_type="image/jpeg")
    path = signed_image_url(url, 240)
    etag = get(client, path)["ETag"]
    again = get(client, path, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and again["Vary"] == "Accept"
    assert get(client, path, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


def test_quality_parameter(client, local_server):
    url = local_server.route("/photo.jpg", photo(), content_type="image/jpeg")
    low = get(client, signed_image_url(url, 720, quality=50), accept=LEGACY)
    high = get(client, signed_image_url(url, 720, quality=90), accept=LEGACY)
    assert low.status_code == high.status_code == 200
    assert len(low.content) < len(high.content)


def test_cache_dir_setting(client, local_server, settings, tmp_path):
    settings.NEWSSTAND_IMAGE_CACHE_DIR = str(tmp_path / "elsewhere")
    url = local_server.route("/photo.jpg", photo(), content_type="image/jpeg")
    assert get(client, signed_image_url(url, 120)).status_code == 200
    assert len(cached_files(tmp_path / "elsewhere")) == 1


# --- refusals -------------------------------------------------------------------------------------

def test_unsigned_addresses_are_refused(client, local_server, cache):
    url = local_server.route("/photo.jpg", photo(), content_type="image/jpeg")
    encoded = signed_image_url(url, 360).split("/")[3]
    for path in (f"/img/?url={url}&w=360", f"/img/{encoded}?w=360", "/img/", "/img",
                 f"/img//{encoded}?w=360"):
        assert_refused(get(client, path), 403, cache)
    assert local_server.requests == []


def test_tampered_signature_or_url_is_refused(client, local_server, cache):
    url = local_server.route("/photo.jpg", photo(), content_type="image/jpeg")
    _, _, signature, encoded = signed_image_url(url, 360).split("?")[0].split("/")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    other = signed_image_url(local_server.url("/other.jpg"), 360).split("/")[3]
    for path in (f"/img/{flipped}/{encoded}?w=360",           # signature altered
                 f"/img/{signature}/{other}?w=360",           # URL swapped under a valid signature
                 f"/img/{signature[:-2]}/{encoded}?w=360",    # truncated signature
                 f"/img/{signature}/{encoded}!!?w=360",       # not base64url
                 f"/img/{signature}/%C3%A9?w=360"):           # not base64 at all
        assert_refused(get(client, path), 403, cache)
    assert local_server.requests == []


def test_widths_and_qualities_outside_the_allow_lists(client, local_server, cache):
    url = local_server.route("/photo.jpg", photo(), content_type="image/jpeg")
    path = signed_image_url(url, 360).split("?")[0]
    for query in ("w=333", "w=", "", "w=abc", "w=-360", "w=360.0", "w=99999999999", "w=360&q=77", "w=360&q=x"):
        assert_refused(get(client, f"{path}?{query}"), 400, cache)
    assert local_server.requests == []
    with pytest.raises(ValueError):
        signed_image_url(url, 333)
    with pytest.raises(ValueError):
        signed_image_url(url, 360, quality=77)
    assert 360 in IMAGE_WIDTHS


def test_private_addresses_are_refused_by_the_ssrf_guard(client, local_server, cache):
    local_server.route("/photo.jpg", photo(), content_type="image/jpeg")
    # 'localhost' is loopback and not allow-listed (only 127.0.0.1 is, for these tests).
    assert_refused(get(client, signed_image_url(f"http://localhost:{local_server.port}/photo.jpg", 360)),
                   403, cache)
    # A redirect from an allowed host to a private one is checked at the hop too.
    hop = local_server.route("/hop.jpg", status=302,
                             headers={"Location": f"http://localhost:{local_server.port}/photo.jpg"})
    assert_refused(get(client, signed_image_url(hop, 360)), 403, cache)
    assert_refused(get(client, signed_image_url("http://169.254.169.254/latest/meta-data", 360)), 403, cache)
    assert local_server.hits("/photo.jpg") == []


def test_non_http_schemes_are_refused(client, cache):
    for url in ("file:///etc/passwd", "ftp://example.com/a.jpg", "not a url"):
        assert_refused(get(client, signed_image_url(url, 360)), 400, cache)


def test_decompression_bomb_is_refused_before_decoding(client, local_server, cache, settings):
    bomb = png_bomb(30_000, 30_000)  # 900 megapixels in ~100 KB
    assert len(bomb) < 200_000
    url = local_server.route("/bomb.png", bomb, content_type="image/png")
    assert_refused(get(client, signed_image_url(url, 360)), 413, cache)
    # Under Pillow's own limit but over ours: our check, from the header, refuses it.
    settings.NEWSSTAND_IMAGE_MAX_PIXELS = 1_000_000
    url = local_server.route("/big.png", png_bomb(1200, 1000), content_type="image/png")
    response = get(client, signed_image_url(url, 360))
    assert_refused(response, 413, cache)
    assert "1200 x 1000" in response["X-Image-Error"]


def test_too_many_bytes_is_refused(client, local_server, cache, settings):
    settings.NEWSSTAND_IMAGE_MAX_BYTES = 50_000
    body = photo(size=(2400, 1600))
    assert len(body) > 50_000
    url = local_server.route("/huge.jpg", body, content_type="image/jpeg")
    assert_refused(get(client, signed_image_url(url, 360)), 413, cache)


def test_non_images_are_refused(client, local_server, cache):
    html = local_server.route("/page.jpg", "<!doctype html><html><body>Not an image</body></html>",
                              content_type="image/jpeg")  # the header lies; the bytes decide
    assert_refused(get(client, signed_image_url(html, 360)), 415, cache)
    svg = local_server.route("/x.svg", '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                             content_type="image/svg+xml")
    assert_refused(get(client, signed_image_url(svg, 360)), 415, cache)
    empty = local_server.route("/empty.png", b"", content_type="image/png")
    assert_refused(get(client, signed_image_url(empty, 360)), 415, cache)


def test_truncated_images_are_refused(client, local_server, cache):
    whole = photo(size=(1200, 800))
    url = local_server.route("/cut.jpg", whole[: len(whole) * 6 // 10], content_type="image/jpeg")
    assert_refused(get(client, signed_image_url(url, 360)), 422, cache)
    png = transparent_png()
    url = local_server.route("/cut.png", png[: len(png) // 2], content_type="image/png")
    assert_refused(get(client, signed_image_url(url, 360), accept=LEGACY), 422, cache)


def test_publisher_errors(client, local_server, cache):
    gone = local_server.url("/missing.jpg")  # the server answers 404
    assert_refused(get(client, signed_image_url(gone, 360)), 404, cache)
    broken = local_server.route("/broken.jpg", "oops", status=500)
    assert_refused(get(client, signed_image_url(broken, 360)), 502, cache)
    # Fixed upstream later: nothing negative was cached, so the next request succeeds.
    local_server.route("/missing.jpg", photo(), content_type="image/jpeg")
    assert get(client, signed_image_url(gone, 360)).status_code == 200


def test_only_safe_methods(client, local_server):
    url = local_server.route("/photo.jpg", photo(), content_type="image/jpeg")
    path = signed_image_url(url, 360)
    assert client.post(path).status_code == 405
    assert client.head(path, HTTP_ACCEPT=WEBP).status_code == 200


def test_signature_survives_a_key_rotation(client, local_server, settings):
    url = local_server.route("/photo.jpg", photo(), content_type="image/jpeg")
    path = signed_image_url(url, 360)
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "a-brand-new-key-" + "x" * 40
    assert get(client, path).status_code == 403
    settings.SECRET_KEY_FALLBACKS = [old]
    assert get(client, path).status_code == 200


def test_render_is_pure_and_rejects_by_status():
    with pytest.raises(imageproxy.ImageRejected) as err:
        imageproxy.render(b"GIF89a-nonsense", 360, 75, True, 1_000_000)
    assert err.value.status in (415, 422)
    out = imageproxy.render(photo(size=(400, 300)), 240, 75, False, 1_000_000)
    assert out.content_type == "image/jpeg" and Image.open(io.BytesIO(out.data)).size == (240, 180)


def _encoded(im: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def _gif_with_transparency() -> bytes:
    im = Image.new("P", (300, 200), 0)
    im.putpalette([255, 255, 255, 200, 30, 30] + [0] * 762)
    im.paste(1, (50, 50, 250, 150))
    return _encoded(im, "GIF", transparency=0)


@pytest.mark.parametrize("name, make, legacy_type", [
    ("cmyk.jpg", lambda: _encoded(Image.new("CMYK", (600, 400), (0, 200, 200, 0)), "JPEG"), "image/jpeg"),
    ("grey.png", lambda: _encoded(Image.linear_gradient("L").resize((600, 400)), "PNG"), "image/jpeg"),
    ("deep.png", lambda: _encoded(Image.linear_gradient("L").resize((600, 400)).convert("I;16"), "PNG"), "image/jpeg"),
    ("anim.gif", _gif_with_transparency, "image/png"),
    ("in.webp", lambda: _encoded(Image.new("RGB", (600, 400), (10, 200, 10)), "WEBP"), "image/jpeg"),
    ("badexif.jpg", lambda: _encoded(Image.new("RGB", (600, 400), (9, 9, 9)), "JPEG",
                                     exif=b"Exif\x00\x00MM\x00*garbage-not-an-ifd"), "image/jpeg"),
])
def test_other_inputs(client, local_server, name, make, legacy_type):
    url = local_server.route("/" + name, make(), content_type="application/octet-stream")
    legacy = get(client, signed_image_url(url, 240), accept=LEGACY)
    assert legacy.status_code == 200, legacy.get("X-Image-Error")
    assert legacy["Content-Type"] == legacy_type and decoded(legacy).width == 240
    webp = get(client, signed_image_url(url, 240))
    assert webp.status_code == 200 and decoded(webp).format == "WEBP"
