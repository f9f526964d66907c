from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from newsstand.ingest.batch import run_fetch


class Command(BaseCommand):
    help = "Poll every due feed once and process all resulting work to completion."
    # Run from cron every few minutes: the system checks (run by migrate, serve and worker)
    # were a sixth of the start-up time of a poll that finds every feed unchanged.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true",
                            help="poll every enabled feed, whatever its schedule (still honouring Retry-After)")
        parser.add_argument("--workers", type=int, default=settings.NEWSSTAND_FETCH_WORKERS,
                            help="parallel fetches (default %(default)s)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        summary = run_fetch(every_enabled=options["all"], workers=options["workers"],
                            progress=not options["no_progress"])
        self.stdout.write(summary.describe())
        for error in dict.fromkeys(summary.errors):
            self.stderr.write(f"  {error}")
        attempted = sum(summary.feeds.values()) + sum(summary.pages.values())
        if attempted and not summary.processed_anything:
            raise CommandError("Nothing could be processed; see the errors above.")
