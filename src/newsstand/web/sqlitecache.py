"""A Django cache backend in one SQLite file on the local disk, shared by every process of
this machine (all gunicorn workers of `newsstand serve`).

Why not LocMemCache: each worker kept its own copy, so a page was rendered once per worker
and the memory was paid per worker. Why not Django's FileBasedCache: it lists the whole
folder on every set to decide whether to cull. Why not DatabaseCache: it needs a
`createcachetable` step and would add writes to the site's database, which on SQLite has
one writer at a time shared with the task worker.

A read is one primary-key lookup in WAL mode (readers never wait for the writer). Writes
are short autocommit statements; `synchronous=OFF` because a cache may lose its last
writes in a power cut. Expired rows are removed every CULL_EVERY writes, and the oldest go
when MAX_ENTRIES is exceeded. A damaged file is replaced by an empty one, and any error that
persists counts as a miss: nothing here is the only copy of anything.

LOCATION is the file; empty means `<NEWSSTAND_DATA_DIR>/pagecache.sqlite3`, read from the
settings at each use, so a test that points DATA_DIR elsewhere gets its own file."""

from __future__ import annotations

import logging
import os
import pickle
import sqlite3
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache

log = logging.getLogger(__name__)

FILE_NAME = "pagecache.sqlite3"
CULL_EVERY = 200  # writes between two sweeps of expired rows

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS cache_entry ("
    " key TEXT PRIMARY KEY, expires REAL NOT NULL, value BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS cache_entry_expires ON cache_entry (expires)",
)


class SQLiteCache(BaseCache):
    def __init__(self, location: str, params: dict) -> None:
        super().__init__(params)
        self._location = location
        # One connection per thread and file: sqlite3 connections are not shared between
        # threads, and the pid check keeps a child process from using its parent's.
        self._local = threading.local()
        self._writes = 0

    # --- connections ------------------------------------------------------------------------

    def _path(self) -> str:
        return self._location or str(Path(settings.DATA_DIR) / FILE_NAME)

    def _connect(self) -> sqlite3.Connection:
        path = self._path()
        key = (os.getpid(), path)
        conns = getattr(self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = {}
        conn = conns.get(key)
        if conn is None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            for statement in _SCHEMA:
                conn.execute(statement)
            conns[key] = conn
        return conn

    def _forget_connection(self) -> None:
        conns = getattr(self._local, "conns", None) or {}
        conn = conns.pop((os.getpid(), self._path()), None)
        if conn is not None:
            conn.close()

    def _run(self, sql: str, params=(), *, fetch: bool = False):
        """One statement. On an SQLite error, reconnect (which recreates the table) and try
        once more; a file that is not a database (damaged, or something else) is removed
        first. If that fails too, the answer is a miss: pages render without the cache."""
        for attempt in (1, 2):
            try:
                cursor = self._connect().execute(sql, params)
                return cursor.fetchone() if fetch else cursor.rowcount
            except sqlite3.Error as exc:
                self._forget_connection()
                if attempt == 2:
                    log.warning("page cache %s unavailable: %s", self._path(), exc)
                elif isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
                    log.warning("page cache %s is damaged, starting afresh: %s", self._path(), exc)
                    for suffix in ("", "-wal", "-shm"):
                        Path(self._path() + suffix).unlink(missing_ok=True)
        return None if fetch else 0

    # --- the cache API ----------------------------------------------------------------------

    def _expiry(self, timeout) -> float:
        timeout = self.get_backend_timeout(timeout)
        return float("inf") if timeout is None else timeout

    def get(self, key, default=None, version=None):
        key = self.make_and_validate_key(key, version=version)
        row = self._run("SELECT value, expires FROM cache_entry WHERE key = ?", (key,), fetch=True)
        if row is None or row[1] <= time.time():
            return default
        return pickle.loads(row[0])

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        blob = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        self._run("INSERT OR REPLACE INTO cache_entry (key, expires, value) VALUES (?, ?, ?)",
                  (key, self._expiry(timeout), blob))
        self._after_write()

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        blob = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        # Replaces only an expired row: an upsert whose update is conditional.
        changed = self._run(
            "INSERT INTO cache_entry (key, expires, value) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET expires = excluded.expires, value = excluded.value "
            "WHERE cache_entry.expires <= ?",
            (key, self._expiry(timeout), blob, time.time()))
        self._after_write()
        return bool(changed)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        return bool(self._run("UPDATE cache_entry SET expires = ? WHERE key = ? AND expires > ?",
                              (self._expiry(timeout), key, time.time())))

    def delete(self, key, version=None):
        key = self.make_and_validate_key(key, version=version)
        return bool(self._run("DELETE FROM cache_entry WHERE key = ?", (key,)))

    def has_key(self, key, version=None):
        key = self.make_and_validate_key(key, version=version)
        return self._run("SELECT 1 FROM cache_entry WHERE key = ? AND expires > ?",
                         (key, time.time()), fetch=True) is not None

    def clear(self):
        self._run("DELETE FROM cache_entry")

    def close(self, **kwargs):
        # Django calls this after every request; the connections are kept for the next one.
        pass

    # --- culling ----------------------------------------------------------------------------

    def _after_write(self) -> None:
        self._writes += 1
        if self._writes % CULL_EVERY == 0:
            self.cull()

    def cull(self) -> None:
        """Drop expired rows, then the ones closest to expiry beyond MAX_ENTRIES."""
        self._run("DELETE FROM cache_entry WHERE expires <= ?", (time.time(),))
        row = self._run("SELECT COUNT(*) FROM cache_entry", fetch=True)
        excess = (row[0] if row else 0) - self._max_entries
        if excess > 0:
            # CULL_FREQUENCY as Django's backends read it: drop 1/N of the entries (0: all).
            drop = row[0] if self._cull_frequency == 0 else max(excess, row[0] // self._cull_frequency)
            self._run("DELETE FROM cache_entry WHERE key IN "
                      "(SELECT key FROM cache_entry ORDER BY expires LIMIT ?)", (drop,))
