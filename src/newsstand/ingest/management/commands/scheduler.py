from django.core.management.base import BaseCommand

from newsstand.ingest.scheduler import enqueue_due_work, run_forever


class Command(BaseCommand):
    help = "Queue polls of due feeds (and re-queue lost page jobs), every --tick seconds."

    def add_arguments(self, parser):
        parser.add_argument("--tick", type=float, default=15.0)
        parser.add_argument("--once", action="store_true", help="queue what is due now, then exit")

    def handle(self, *args, **options):
        if options["once"]:
            feeds, pages = enqueue_due_work()
            self.stdout.write(f"Queued {feeds} feed poll(s) and {pages} page job(s).")
            return
        run_forever(options["tick"])
