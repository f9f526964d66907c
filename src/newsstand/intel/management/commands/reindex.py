import os

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Recompute embeddings (missing ones, or all with --embeddings), near-duplicates, stories, "
            "hashtags and related articles for every article, with a progress bar, while the site runs.")

    def add_arguments(self, parser):
        parser.add_argument("--embeddings", action="store_true", help="re-embed articles that already have a vector")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from newsstand.intel.reindex import reindex

        summary = reindex(embeddings=options["embeddings"], progress=not options["no_progress"])
        self.stdout.write(summary.describe())
