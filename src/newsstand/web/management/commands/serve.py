import os
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the site with gunicorn (a production server). Needs only `newsstand migrate` first."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=int(os.environ.get("NEWSSTAND_WEB_WORKERS", 2)))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("NEWSSTAND_WEB_THREADS", 4)))

    def handle(self, *args, host, port, workers, threads, **options):
        # Hashed static names need a manifest; building it here (quick, incremental) is what
        # spares users a separate collectstatic step.
        call_command("collectstatic", interactive=False, verbosity=0)
        argv = [sys.executable, "-m", "gunicorn", "newsstand.wsgi:application",
                "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", str(threads),
                "--access-logfile", "-", "--error-logfile", "-", "--timeout", "60",
                "--config", "python:newsstand.web.gunicorn_conf"]
        self.stdout.write(f"Serving on http://{host}:{port}/ with {workers} worker(s)")
        sys.stdout.flush()
        os.execv(sys.executable, argv)  # gunicorn takes over this process (and its signals)
