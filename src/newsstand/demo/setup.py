"""Subscribes the database to the demo publisher's feeds (idempotent)."""

from newsstand.demo.corpus import ATTRIBUTION, LICENSE_URL
from newsstand.demo.site import SITE_NAME, demo_feeds
from newsstand.ingest.models import Feed, Source


def install_demo_feeds(base_url: str) -> list[Feed]:
    source, _ = Source.objects.update_or_create(
        name=SITE_NAME,
        defaults={"homepage_url": "https://en.wikinews.org/", "attribution": ATTRIBUTION,
                  "license_url": LICENSE_URL},
    )
    return [Feed.objects.get_or_create(url=base_url + feed.path, defaults={"source": source, "title": feed.title})[0]
            for feed in demo_feeds()]
