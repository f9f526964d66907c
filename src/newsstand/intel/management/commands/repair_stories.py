from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Merge stories that were split and split stories that drifted (recent stories only)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=3, help="stories updated in the last N days (default 3)")

    def handle(self, *args, **options):
        if options["days"] < 1:
            raise CommandError("--days must be at least 1")
        from newsstand.intel.repair import repair_stories

        report = repair_stories(days=options["days"])
        self.stdout.write(f"Checked {report.checked} stories: merged {report.merged}, "
                          f"moved {report.split} drifted articles.")
