import pytest
from django.core.management import call_command

from tests.localserver import LocalServer


@pytest.fixture
def local_server():
    server = LocalServer().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _allow_local_fetches(settings, tmp_path):
    """Tests serve fixtures from 127.0.0.1, so that one host is allow-listed; 'localhost'
    is deliberately not, to test the SSRF guard."""
    settings.NEWSSTAND_ALLOWED_FETCH_HOSTS = ["127.0.0.1"]
    settings.NEWSSTAND_DOMAIN_RATE = 0
    settings.DATA_DIR = tmp_path


@pytest.fixture(autouse=True)
def _fresh_domain_limiter():
    """The limiter is process-wide; a Retry-After pause in one test must not leak into the next."""
    from newsstand.ingest import politeness

    politeness._default = None
    yield
    politeness._default = None


@pytest.fixture(scope="session", autouse=True)
def _collected_static(tmp_path_factory):
    """Pages name hashed static files, as `newsstand serve` builds them at start."""
    from django.conf import settings

    settings.STATIC_ROOT = tmp_path_factory.mktemp("static")
    call_command("collectstatic", interactive=False, verbosity=0)
