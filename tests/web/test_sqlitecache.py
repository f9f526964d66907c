"""The SQLite file cache behind the page cache (newsstand.web.sqlitecache): Django's cache API,
shared between processes, bounded, and a damaged file is only a miss."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from newsstand.web.sqlitecache import SQLiteCache


@pytest.fixture
def cache(tmp_path):
    return SQLiteCache(str(tmp_path / "cache.sqlite3"), {"OPTIONS": {"MAX_ENTRIES": 10, "CULL_FREQUENCY": 2}})


def test_the_cache_api(cache):
    assert cache.get("page", "missing") == "missing"
    cache.set("page", {"body": b"\x00 bytes", "n": 1}, 60)
    assert cache.get("page") == {"body": b"\x00 bytes", "n": 1}
    assert cache.has_key("page") and not cache.has_key("other")
    assert cache.add("page", "second", 60) is False and cache.get("page")["n"] == 1
    assert cache.add("other", "first", 60) is True and cache.get("other") == "first"
    assert cache.touch("other", 120) is True and cache.touch("nothing", 120) is False
    assert cache.delete("other") is True and cache.get("other") is None
    cache.set("forever", "kept", None)
    assert cache.get("forever") == "kept"
    cache.clear()
    assert cache.get("page") is None and cache.get("forever") is None


def test_an_expired_entry_is_a_miss_and_may_be_added_again(cache):
    cache.set("page", "old", 0)  # Django's meaning of 0: expired at once
    assert cache.get("page") is None and not cache.has_key("page")
    assert cache.add("page", "new", 60) is True and cache.get("page") == "new"


def test_culling_keeps_it_bounded(cache):
    for i in range(25):
        cache.set(f"k{i}", i, 60 + i)
    cache.set("gone", "x", 0)
    cache.cull()
    kept = [i for i in range(25) if cache.get(f"k{i}") is not None]
    assert 0 < len(kept) <= 10
    assert kept == list(range(25 - len(kept), 25))  # the ones closest to expiry went first


def test_entries_are_shared_with_another_process(cache, tmp_path):
    """Another process (as another gunicorn worker would) stores; this one reads, and back."""
    cache.set("from-here", "hello", 60)
    script = textwrap.dedent(f"""
        from newsstand.web.sqlitecache import SQLiteCache
        cache = SQLiteCache({str(tmp_path / "cache.sqlite3")!r}, {{}})
        assert cache.get("from-here") == "hello"
        cache.set("from-there", [1, 2, 3], 60)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert cache.get("from-there") == [1, 2, 3]


def test_a_damaged_file_is_a_miss_then_replaced(cache, tmp_path):
    path = tmp_path / "cache.sqlite3"
    path.write_bytes(b"this is not an SQLite database, just some bytes " * 100)
    fresh = SQLiteCache(str(path), {})
    assert fresh.get("page") is None
    fresh.set("page", "stored again", 60)
    assert fresh.get("page") == "stored again"


def test_the_default_location_follows_the_data_dir(settings, tmp_path):
    """Empty LOCATION: the file lives in NEWSSTAND_DATA_DIR, read at each use (so each test,
    pointed at its own data dir, has its own file)."""
    cache = SQLiteCache("", {})
    settings.DATA_DIR = tmp_path / "one"
    cache.set("page", "in one", 60)
    settings.DATA_DIR = tmp_path / "two"
    assert cache.get("page") is None
    settings.DATA_DIR = tmp_path / "one"
    assert cache.get("page") == "in one"
    assert (tmp_path / "one" / "pagecache.sqlite3").exists()
