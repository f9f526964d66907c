"""The bundled demo news: 295 English Wikinews articles (2019 to March 2021), CC BY 2.5.
Wikinews asks for credit ("Wikinews"), a link to each original and the license name."""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "wikinews_en_2019_2021.jsonl.gz"
LICENSE_NAME = "CC BY 2.5"
LICENSE_URL = "https://creativecommons.org/licenses/by/2.5/"
ATTRIBUTION = "From Wikinews, the free news source, under CC BY 2.5"

DATELINE = re.compile(r"^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \w+ \d{1,2}, \d{4}\b\s*")


@dataclass(frozen=True)
class DemoArticle:
    slug: str
    original_url: str
    title: str
    published: datetime
    paragraphs: tuple[str, ...]


def clean_url(url: str) -> str:
    # The upstream scrape doubled the slash after the host.
    return re.sub(r"(?<!:)//+", "/", url)


def split_paragraphs(text: str) -> tuple[str, ...]:
    paragraphs = [re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", text)]
    paragraphs = [p for p in paragraphs if p]
    if paragraphs:
        # The date is in the page's metadata; sometimes the scrape glued it to the lead.
        paragraphs[0] = DATELINE.sub("", paragraphs[0])
    paragraphs = [p for p in paragraphs if p]
    return tuple(paragraphs)


@cache
def load_corpus() -> tuple[DemoArticle, ...]:
    articles = []
    with gzip.open(DATA_FILE, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if row["title"].startswith("TEST PAGE"):
                continue  # two editors' test pages in the scrape, not news
            url = clean_url(row["url"])
            slug = url.rsplit("/wiki/", 1)[-1]
            # Wikinews gives a day, not a time: noon UTC keeps the day right in every zone.
            published = datetime.combine(date.fromisoformat(row["date"]), time(12), tzinfo=timezone.utc)
            articles.append(DemoArticle(slug, url, row["title"].strip(), published, split_paragraphs(row["text"])))
    return tuple(sorted(articles, key=lambda a: a.published))
