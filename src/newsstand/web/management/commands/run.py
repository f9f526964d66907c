"""`newsstand run [--demo]`: the whole product on one machine, as one process tree: the web
server, a task worker and the feed scheduler (plus, with --demo, a local publisher serving
the bundled Wikinews feeds). Ctrl-C stops everything."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from newsstand.news.models import Article


class Command(BaseCommand):
    help = "Run web server, worker and scheduler together (--demo: with the bundled demo news)."

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="serve and ingest the bundled Wikinews demo")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--demo-port", type=int, default=int(os.environ.get("NEWSSTAND_DEMO_PORT", 8001)))

    def handle(self, *args, demo, host, port, demo_port, **options):
        call_command("migrate", interactive=False, verbosity=0)
        env = dict(os.environ)
        if demo:
            self.start_demo(demo_port, env)
        children = [
            self.spawn(["serve", "--host", host, "--port", str(port)], env),
            self.spawn(["worker"], env),
            self.spawn(["scheduler"], env),
        ]
        self.stdout.write(self.style.SUCCESS(f"Newsstand is running on http://{host}:{port}/ (Ctrl-C stops it)"))
        self.supervise(children)

    def start_demo(self, demo_port: int, env: dict) -> None:
        from newsstand.demo.server import start_demo_server
        from newsstand.demo.setup import install_demo_feeds

        try:
            start_demo_server("127.0.0.1", demo_port)
        except OSError as error:
            raise CommandError(f"The demo publisher cannot listen on 127.0.0.1:{demo_port} ({error.strerror}); "
                               "set NEWSSTAND_DEMO_PORT or --demo-port to a free port.") from error
        # The demo publisher lives on loopback, which the SSRF guard refuses unless allow-listed.
        allowed = [*settings.NEWSSTAND_ALLOWED_FETCH_HOSTS, "127.0.0.1"]
        settings.NEWSSTAND_ALLOWED_FETCH_HOSTS = allowed
        env["NEWSSTAND_ALLOWED_FETCH_HOSTS"] = ",".join(dict.fromkeys(allowed))
        if "NEWSSTAND_DOMAIN_RATE" not in os.environ:
            # The demo publisher is our own process; pacing requests to it protects nobody.
            settings.NEWSSTAND_DOMAIN_RATE = 0
            env["NEWSSTAND_DOMAIN_RATE"] = "0"
        install_demo_feeds(f"http://127.0.0.1:{demo_port}")
        if not Article.objects.exists():
            self.stdout.write("Loading the demo news through the pipeline (poll → fetch → extract)…")
            call_command("fetch", all=True)

    def spawn(self, command: list[str], env: dict) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "newsstand.cli", *command], env=env)

    def supervise(self, children: list[subprocess.Popen]) -> None:
        def stop(*_):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            self.stderr.write("A component stopped unexpectedly; shutting down the rest.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
