"""The store of responses in a SQLite file (`create_app(responses_db=PATH)`, `dynaspark gateway
--responses-db PATH`), where conversations survive a restart (see `_response_store.py` for
what a store does).

A row keeps one response; `history()` walks the chain of responses in one recursive query.
The owners' salt is kept in the file, so that a key finds its responses after a restart. The
calls are plain, blocking sqlite3, which `AsyncResponseStore` runs in a worker thread, one at
a time; each response is written in a transaction of its own, on disk before its answer is sent.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from ._response_store import BrokenChain, ResponseStore, StoredResponse, duplicate_id_error

__all__ = ["DISK_MAX_BYTES", "SQLiteResponseStore"]

#: How much a store in a file keeps (its rows' JSON) before it drops the oldest.
DISK_MAX_BYTES = 1024 * 1024 * 1024
_INSERT = "INSERT INTO responses (id, owner, previous_id, response, items, turn, size) VALUES (?, ?, ?, ?, ?, ?, ?)"
_SIZE = "SELECT COALESCE(SUM(size), 0) FROM responses"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS responses (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    previous_id TEXT,
    response TEXT NOT NULL,
    items TEXT NOT NULL,
    turn TEXT NOT NULL,
    size INTEGER NOT NULL
);
"""
_CHAIN = """
WITH RECURSIVE chain(id, previous_id, turn, depth) AS (
    SELECT id, previous_id, turn, 0 FROM responses WHERE id = ? AND owner = ?
    UNION ALL
    SELECT r.id, r.previous_id, r.turn, c.depth + 1
    FROM responses r JOIN chain c ON r.id = c.previous_id AND r.owner = ?
)
SELECT id, previous_id, turn FROM chain ORDER BY depth DESC
"""


class SQLiteResponseStore(ResponseStore):
    """The store in the SQLite file `path` (blocking calls; see the module's docstring)."""

    on_loop = False

    def __init__(self, path: str, max_bytes: int = DISK_MAX_BYTES) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        salt = self._setting("owner_salt", lambda: secrets.token_hex(32)).encode("ascii")
        super().__init__(path, max_bytes, salt)
        self._size: int = self._db.execute(_SIZE).fetchone()[0]

    def _setting(self, name: str, make: Callable[[], str]) -> str:
        row = self._db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return str(row[0])
        value = make()
        self._db.execute("INSERT INTO settings (name, value) VALUES (?, ?)", (name, value))
        return value

    def save(self, owner: str, ident: str, previous_id: str | None, response: str, items: str, turn: str) -> None:
        size = len(response) + len(items) + len(turn)
        # "" for no previous response: sqlite3 binds a str directly, None through its adapters.
        row = (ident, owner, previous_id or "", response, items, turn, size)
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.execute(_INSERT, row)
                self._size += size
                if self._size > self.max_bytes:
                    self._evict()
            except BaseException as exc:  # the row is not kept (nor any eviction): count again
                self._db.execute("ROLLBACK")
                self._size = self._db.execute(_SIZE).fetchone()[0]
                if isinstance(exc, sqlite3.IntegrityError):  # (the only constraint a str can break: the id's)
                    raise duplicate_id_error(ident) from None
                raise
            self._db.execute("COMMIT")

    def _evict(self) -> None:
        while self._size > self.max_bytes:
            row = self._db.execute("SELECT seq, size FROM responses ORDER BY seq LIMIT 1").fetchone()
            if row is None:
                self._size = 0
                return
            self._db.execute("DELETE FROM responses WHERE seq = ?", (row[0],))
            self._size -= row[1]

    def load(self, owner: str, ident: str) -> StoredResponse | None:
        with self._lock:
            row = self._db.execute(
                "SELECT previous_id, response, items, turn FROM responses WHERE id = ? AND owner = ?", (ident, owner)
            ).fetchone()
        if row is None:
            return None
        return StoredResponse(ident, row[0] or None, json.loads(row[1]), json.loads(row[2]), json.loads(row[3]))

    def history(self, owner: str, ident: str) -> list[dict[str, Any]] | None:
        with self._lock:
            rows = self._db.execute(_CHAIN, (ident, owner, owner)).fetchall()
        if not rows:
            return None
        if rows[0][1]:  # the first has a previous response (NULL or "": none), no longer stored
            raise BrokenChain(rows[0][1])
        return [message for row in rows for message in json.loads(row[2])]

    def delete(self, owner: str, ident: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT seq, size FROM responses WHERE id = ? AND owner = ?", (ident, owner)
            ).fetchone()
            if row is not None:
                self._db.execute("DELETE FROM responses WHERE seq = ?", (row[0],))
                self._size -= row[1]
        return row is not None

    def close(self) -> None:
        """Close the database (the responses stay in the file)."""
        with self._lock:
            self._db.close()
