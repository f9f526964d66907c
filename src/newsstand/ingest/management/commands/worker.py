import os

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Run a background task worker. Any number may run, on any number of machines sharing "
            "one PostgreSQL database; on SQLite run one.")

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between queue checks when idle")
        parser.add_argument("--batch", action="store_true", help="exit once the queue is empty")
        parser.add_argument("--max-tasks", type=int, default=None, help="exit after this many tasks")
        parser.add_argument("--worker-id", default=None)

    def handle(self, *args, **options):
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        extra = {"interval": options["interval"], "batch": options["batch"], "queue_name": "*", "reload": False}
        if options["max_tasks"]:
            extra["max_tasks"] = options["max_tasks"]
        if options["worker_id"]:
            extra["worker_id"] = options["worker_id"]
        call_command("db_worker", **extra)
