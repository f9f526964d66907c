"""Image proxy speed, as ratios to baselines measured in the same run (the machine is shared
and noisy; absolute times mean little).

    .venv/bin/python bench/imageproxy.py               # 4 images x 3 widths x 5 rounds
    .venv/bin/python bench/imageproxy.py --rounds 1    # a quick look

Figures (each leads with a ratio; absolute numbers follow):
  1. Cache-miss throughput of the proxy (a request through Django's test client: signature check,
     fetch over HTTP from a publisher on 127.0.0.1 through the SSRF-guarded fetcher, decode, resize,
     strip, encode, atomic cache write) divided by the throughput of Pillow alone on the same bytes
     in memory, for the same output (same width, same format and quality):
       baseline A = the plain Pillow recipe: Image.open, convert, resize(LANCZOS), save;
       baseline B = our own render() alone (the proxy's Pillow pipeline without HTTP, Django, disk).
     A above 1 means the proxy's pipeline (JPEG DCT-domain downscaling, reducing_gap) outruns the
     plain recipe even with the fetch and the cache write on top; B shows what HTTP + Django +
     the cache cost on top of the pixels.
  2. Cache hit against cache miss: requests/s of the same URLs served from the disk cache divided
     by requests/s on a miss (target >= 20x).
Both for WebP output (browsers that accept it) and for JPEG/PNG output (those that do not).

The publisher is `python -m http.server` in a child process (its own GIL). Exit status is
non-zero when a target is missed or a request fails.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_HIT_VS_MISS = 20.0
WIDTHS = (360, 720, 1200)
QUALITY = 75
ACCEPT = {"webp": "image/avif,image/webp,image/apng,image/*,*/*;q=0.8", "legacy": "image/png,image/*;q=0.8"}


def make_images(folder: Path) -> dict[str, bytes]:
    """Photo-like JPEGs in the sizes news sites publish (soft shapes over gradients plus a little
    sensor-like noise: they compress like photos, 300-900 KB, not like flat fills or pure noise),
    and a transparent PNG logo."""
    import random

    from PIL import Image, ImageDraw, ImageFilter

    def photo(w: int, h: int, seed: int) -> bytes:
        rnd = random.Random(seed)
        base = Image.merge("RGB", [Image.linear_gradient("L").resize((w, h)),
                                   Image.radial_gradient("L").resize((w, h)),
                                   Image.linear_gradient("L").rotate(90).resize((w, h))])
        draw = ImageDraw.Draw(base)
        for _ in range(60):
            x, y, r = rnd.randrange(w), rnd.randrange(h), rnd.randrange(20, w // 6)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rnd.randrange(256) for _ in range(3)))
        base = base.filter(ImageFilter.GaussianBlur(3))
        noise = Image.effect_noise((w, h), 60).convert("RGB")
        out = io.BytesIO()
        Image.blend(base, noise, 0.08).save(out, "JPEG", quality=85)
        return out.getvalue()

    logo = Image.new("RGBA", (1200, 900), (0, 0, 0, 0))
    logo.paste((20, 120, 220, 255), (100, 100, 1100, 800))
    png = io.BytesIO()
    logo.save(png, "PNG")
    images = {"a.jpg": photo(2048, 1365, 1), "b.jpg": photo(3000, 2000, 2), "c.jpg": photo(1600, 1067, 3),
              "logo.png": png.getvalue()}
    for name, data in images.items():
        (folder / name).write_bytes(data)
    return images


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_publisher(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                             "--directory", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/a.jpg", timeout=1).read()
            return proc, base
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the local publisher did not start")


def pillow_plain(data: bytes, width: int, fmt: str) -> bytes:
    """Baseline A: what one would write with Pillow and no tricks."""
    from PIL import Image

    im = Image.open(io.BytesIO(data))
    im = im.convert("RGBA" if im.mode in ("RGBA", "LA", "P") else "RGB")
    if im.width > width:
        im = im.resize((width, round(im.height * width / im.width)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if fmt == "webp":
        im.save(out, "WEBP", quality=QUALITY)
    elif im.mode == "RGBA":
        im.save(out, "PNG")
    else:
        im.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def per_second(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of every image x width")
    parser.add_argument("--hits", type=int, default=20, help="cache-hit passes over every URL")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsstand-bench-img-"))
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "newsstand.settings",
        "NEWSSTAND_DATA_DIR": str(work / "data"),
        "NEWSSTAND_ALLOWED_FETCH_HOSTS": "127.0.0.1",
        "NEWSSTAND_LOG_LEVEL": "WARNING",
    })
    (work / "data" / "static").mkdir(parents=True)  # whitenoise warns about a missing STATIC_ROOT
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.test import Client

    from newsstand.web.imageproxy import render, signed_image_url

    images_dir = work / "publisher"
    images_dir.mkdir()
    images = make_images(images_dir)
    publisher, base = start_publisher(images_dir)
    client = Client(HTTP_HOST="127.0.0.1")
    failures = 0
    results: dict[str, dict[str, float]] = {}
    try:
        for family in ("webp", "legacy"):
            accept = ACCEPT[family]
            jobs = [(name, w) for name in images for w in WIDTHS]
            miss_rates, plain_rates, render_rates, hit_rates = [], [], [], []
            last_urls: list[str] = []
            for r in range(args.rounds):
                # A new query string per round makes every URL new to the cache: all misses.
                urls = [signed_image_url(f"{base}/{name}?{family}-{r}", w) for name, w in jobs]
                t = time.perf_counter()
                for url in urls:
                    response = client.get(url, HTTP_ACCEPT=accept)
                    if response.status_code != 200:
                        failures += 1
                        print(f"  FAILED {response.status_code} {response.get('X-Image-Error')}")
                miss_rates.append(per_second(len(urls), time.perf_counter() - t))
                t = time.perf_counter()
                for name, w in jobs:
                    pillow_plain(images[name], w, family)
                plain_rates.append(per_second(len(jobs), time.perf_counter() - t))
                t = time.perf_counter()
                for name, w in jobs:
                    render(images[name], w, QUALITY, family == "webp", 25_000_000)
                render_rates.append(per_second(len(jobs), time.perf_counter() - t))
                last_urls = urls
            for _ in range(max(1, args.rounds)):
                t = time.perf_counter()
                for _ in range(args.hits):
                    for url in last_urls:
                        response = client.get(url, HTTP_ACCEPT=accept)
                        if response.status_code != 200:
                            failures += 1
                hit_rates.append(per_second(args.hits * len(last_urls), time.perf_counter() - t))
            results[family] = {
                "miss": statistics.median(miss_rates),
                "plain": statistics.median(plain_rates),
                "render": statistics.median(render_rates),
                "hit": statistics.median(hit_rates),
            }
    finally:
        publisher.terminate()
        publisher.wait()
        shutil.rmtree(work, ignore_errors=True)

    ok = failures == 0
    print(f"Image proxy: {len(images)} images ({', '.join(f'{n} {len(d) // 1024} KB' for n, d in images.items())}), "
          f"widths {WIDTHS}, quality {QUALITY}, {args.rounds} rounds (medians)")
    for family, r in results.items():
        label = "WebP out" if family == "webp" else "JPEG/PNG out"
        ratio_hit = r["hit"] / r["miss"]
        ok &= ratio_hit >= TARGET_HIT_VS_MISS
        print(f"\n[{label}]")
        print(f"  1A. proxy miss / plain Pillow      = {r['miss'] / r['plain']:.2f}x  "
              f"({r['miss']:.1f} vs {r['plain']:.1f} images/s)")
        print(f"  1B. proxy miss / our render() alone = {r['miss'] / r['render']:.2f}x  "
              f"({r['miss']:.1f} vs {r['render']:.1f} images/s)")
        print(f"      our render() / plain Pillow     = {r['render'] / r['plain']:.2f}x")
        print(f"  2.  cache hit / cache miss          = {ratio_hit:.0f}x  (target >= {TARGET_HIT_VS_MISS:.0f}x; "
              f"{r['hit']:.0f} vs {r['miss']:.1f} requests/s; hit {1000 / r['hit']:.2f} ms, "
              f"miss {1000 / r['miss']:.1f} ms)")
    if failures:
        print(f"\n{failures} request(s) failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
