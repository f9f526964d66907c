"""parse_feed (lxml fast path) vs the feedparser path vs raw feedparser.parse, same run.

Run: .venv/bin/python bench/feedparse_speed.py
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from newsstand.ingest import feedparse  # noqa: E402
from tests.ingest.test_feedfast import realistic_atom, realistic_rss  # noqa: E402


def best_ms(fn, repeat: int = 5, number: int = 30) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best * 1000


def main() -> None:
    for name, content, url in (
        ("rss20 x20 (content:encoded, media, enclosures, dc)", realistic_rss(20), "https://news.example.com/feed"),
        ("atom10 x20", realistic_atom(20), "https://blog.example.com/atom.xml"),
    ):
        fast = best_ms(lambda: feedparse.parse_feed(content, url))
        slow = best_ms(lambda: feedparse._parse_xml_feed(content, url, "", None))
        raw = best_ms(lambda: feedparser.parse(io.BytesIO(content), response_headers={"content-type": "application/xml"}))
        print(f"{name}: parse_feed {fast:.2f} ms | feedparser path {slow:.2f} ms | feedparser.parse {raw:.2f} ms"
              f" | speedup vs path {slow / fast:.2f}x, vs raw feedparser {raw / fast:.2f}x")


if __name__ == "__main__":
    main()
