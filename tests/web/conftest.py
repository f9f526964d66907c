import pytest


@pytest.fixture(autouse=True)
def _fresh_page_cache():
    """Each test starts with an empty page cache (newsstand.web.pagecache): a page cached by
    one test must not answer the next one's request for the same URL."""
    from newsstand.web import pagecache

    pagecache.clear()
    yield
    pagecache.clear()
