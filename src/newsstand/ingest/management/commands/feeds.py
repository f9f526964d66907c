import sys
from pathlib import Path
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from newsstand.ingest.models import Feed
from newsstand.ingest.opml import OpmlOutline, build_opml, parse_opml
from newsstand.ingest.subscribe import SubscribeError, add_feed, create_feed


class Command(BaseCommand):
    help = "Manage feed subscriptions: add, list, remove, import, export."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="subscribe to a feed, or a site whose feed is found for you")
        add.add_argument("url")
        add.add_argument("--source", help="publisher name (default: the feed's title)")
        sub.add_parser("list", help="every feed with its health")
        remove = sub.add_parser("remove", help="unsubscribe (articles already stored stay)")
        remove.add_argument("feed", help="feed URL or id")
        imp = sub.add_parser("import", help="subscribe to every feed in an OPML file")
        imp.add_argument("file")
        exp = sub.add_parser("export", help="write all subscriptions as OPML")
        exp.add_argument("file", nargs="?", help="default: standard output")

    def handle(self, *args, action, **options):
        getattr(self, "do_" + action)(**options)

    def do_add(self, url, source, **_):
        try:
            feed = add_feed(url, source)
        except SubscribeError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Added {feed.url} (source: {feed.source.name}, id {feed.pk}).")

    def do_list(self, **_):
        now = timezone.now()
        feeds = Feed.objects.select_related("source").order_by("source__name", "url")
        if not feeds:
            self.stdout.write("No feeds yet. Add one with: newsstand feeds add URL")
        for feed in feeds:
            status = f"HTTP {feed.last_status}" if feed.last_status else "never polled"
            if not feed.enabled:
                when = "disabled: " + (feed.disabled_reason or "by hand")
            elif feed.next_poll_at <= now:
                when = "next poll: due now"
            else:
                when = f"next poll in {timeuntil(feed.next_poll_at, now)}"
            self.stdout.write(f"[{feed.pk}] {feed.health.upper():8} {feed.source.name} — {feed.url}")
            line = f"      {status}; {when}"
            if feed.last_success_at:
                line += f"; last success {timesince(feed.last_success_at, now)} ago"
            self.stdout.write(line)
            if feed.consecutive_errors:
                self.stdout.write(f"      {feed.consecutive_errors} failure(s) in a row; last: {feed.last_error}")
            if feed.last_warning:
                self.stdout.write(f"      note: {feed.last_warning}")

    def do_remove(self, feed, **_):
        feeds = Feed.objects.filter(pk=int(feed)) if feed.isdigit() else Feed.objects.filter(url=feed)
        found = feeds.first()
        if found is None:
            raise CommandError(f"No feed {feed!r}. See: newsstand feeds list")
        found.delete()
        self.stdout.write(f"Removed {found.url}.")

    def do_import(self, file, **_):
        try:
            outlines = parse_opml(Path(file).read_bytes())
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from error
        except ValueError as error:
            raise CommandError(f"{file} is not a usable OPML file: {error}") from error
        added = 0
        for outline in outlines:
            if Feed.objects.filter(url=outline.xml_url).exists():
                continue
            # An outline names a feed; its folder (category) is the reader's grouping, not a
            # publisher, so the outline's own title names the source.
            create_feed(outline.xml_url, outline.title or urlsplit(outline.xml_url).hostname or outline.xml_url,
                        title=outline.title, home_url=outline.html_url)
            added += 1
        self.stdout.write(f"Imported {added} new feed(s) of {len(outlines)} in {file}; "
                          "they are polled on the next `newsstand fetch` or by the scheduler.")

    def do_export(self, file, **_):
        # The outline title is the source's name, so export → import keeps publishers intact.
        outlines = [OpmlOutline(xml_url=f.url, title=f.source.name,
                                html_url=f.source.homepage_url or None, category=None)
                    for f in Feed.objects.select_related("source").order_by("source__name", "url")]
        data = build_opml(outlines)
        if file:
            Path(file).write_bytes(data)
            self.stdout.write(f"Wrote {len(outlines)} feed(s) to {file}.")
        else:
            sys.stdout.buffer.write(data)
