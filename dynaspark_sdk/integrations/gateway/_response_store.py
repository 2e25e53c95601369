"""Stored responses (`/v1/responses` with `store`), in SQLite: in memory and bounded by default,
or in a file (`create_app(responses_db=PATH)`, `dynaspark gateway --responses-db PATH`), where
conversations survive a restart.

Each row keeps one response: the object as answered, its input items, and its turn of the
conversation (the input and the answer as chat messages) with the id of the response before
it; `history()` walks that chain in one query. Rows belong to the key that stored them
(a keyed hash of the bearer token, never the token itself): another key sees none of them.
When the rows outgrow `max_bytes` (their JSON, in characters), the oldest go first.

The calls are plain, blocking sqlite3. In memory they take microseconds and run on the event
loop; with a file (a commit may wait on the disk) `AsyncResponseStore` runs them in a worker
thread, one at a time. A file gets each response in a transaction of its own, on disk before
the answer is sent. In memory, where nothing outlives the process anyway, responses are
written `_MEMORY_BATCH` at a time, in one transaction (a row costs about half as much): the
rows waiting are written before any read, so a response is found as soon as it is saved (a
write that fails keeps none of its batch, and raises in the call that made it).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import attrs

__all__ = [
    "DISK_MAX_BYTES",
    "MEMORY_MAX_BYTES",
    "AsyncResponseStore",
    "BrokenChain",
    "ResponseStore",
    "StoredResponse",
]

T = TypeVar("T")

#: How much an in-memory store keeps (its rows' JSON) before it drops the oldest.
MEMORY_MAX_BYTES = 64 * 1024 * 1024
#: The same for a store in a file.
DISK_MAX_BYTES = 1024 * 1024 * 1024
#: How many tokens' owners are remembered (the cache is emptied when full).
_OWNERS_KEPT = 1024
#: How many responses an in-memory store writes at a time.
_MEMORY_BATCH = 64
_INSERT = "INSERT INTO responses (id, owner, previous_id, response, items, turn, size) VALUES (?, ?, ?, ?, ?, ?, ?)"

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


class BrokenChain(Exception):
    """A response of the conversation before `previous_response_id` is no longer stored."""

    def __init__(self, missing: str) -> None:
        super().__init__(missing)
        self.missing = missing


@attrs.frozen
class StoredResponse:
    """One stored response: the object, its input items, its turn of the conversation."""

    id: str
    previous_id: str | None
    response: dict[str, Any]
    items: list[dict[str, Any]]
    turn: list[dict[str, Any]]


class ResponseStore:
    """The SQLite store (blocking calls; see the module's docstring). `path` None: in memory."""

    def __init__(self, path: str | None = None, max_bytes: int | None = None) -> None:
        self.path = path
        self.max_bytes = max_bytes if max_bytes is not None else (MEMORY_MAX_BYTES if path is None else DISK_MAX_BYTES)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._salt = self._setting("owner_salt", lambda: secrets.token_hex(32)).encode("ascii")
        # The owners of the tokens seen lately: a hash per request is more than a lookup.
        self._owners: dict[str, str] = {}
        self._size: int = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM responses").fetchone()[0]
        # The rows saved and not yet written (in memory only; see the module's docstring).
        self._waiting: list[tuple[str, str, str, str, str, str, int]] = []
        self._batch = _MEMORY_BATCH if path is None else 1

    def _setting(self, name: str, make: Callable[[], str]) -> str:
        row = self._db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return str(row[0])
        value = make()
        self._db.execute("INSERT INTO settings (name, value) VALUES (?, ?)", (name, value))
        return value

    def owner(self, token: str) -> str:
        """The owner a bearer token stands for (a keyed hash: the store never holds a key)."""
        owner = self._owners.get(token)
        if owner is None:
            owner = hashlib.blake2b(token.encode("utf-8", "surrogatepass"), key=self._salt[:64]).hexdigest()
            if len(self._owners) >= _OWNERS_KEPT:
                self._owners.clear()
            self._owners[token] = owner
        return owner

    def save(self, owner: str, ident: str, previous_id: str | None, response: str, items: str, turn: str) -> None:
        """Keep the response `ident` for `owner`, dropping the oldest rows when over
        `max_bytes`: its JSON as answered (`response`), its input items and its turn of the
        conversation (chat messages), as JSON, and the id of the response before it."""
        size = len(response) + len(items) + len(turn)
        with self._lock:
            # "" for no previous response: sqlite3 binds a str directly, None through its adapters.
            self._waiting.append((ident, owner, previous_id or "", response, items, turn, size))
            if len(self._waiting) >= self._batch:
                self._write()

    def _write(self) -> None:
        """Write the rows waiting, in one transaction, then drop the oldest if over `max_bytes`
        (the lock held)."""
        rows = self._waiting
        if not rows:
            return
        self._waiting = []
        self._db.execute("BEGIN")
        try:
            self._db.executemany(_INSERT, rows)
            self._size += sum(row[6] for row in rows)
            if self._size > self.max_bytes:
                self._evict()
        except BaseException:  # none of the batch is kept (nor any eviction): count again
            self._db.execute("ROLLBACK")
            self._size = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM responses").fetchone()[0]
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
        """The response `ident` of `owner` (None: not stored, or another key's)."""
        with self._lock:
            self._write()
            row = self._db.execute(
                "SELECT previous_id, response, items, turn FROM responses WHERE id = ? AND owner = ?", (ident, owner)
            ).fetchone()
        if row is None:
            return None
        return StoredResponse(ident, row[0] or None, json.loads(row[1]), json.loads(row[2]), json.loads(row[3]))

    def history(self, owner: str, ident: str) -> list[dict[str, Any]] | None:
        """The conversation up to and including the response `ident` of `owner`, as chat
        messages (None: no such response). Raises BrokenChain when a response before it has
        been deleted or dropped."""
        with self._lock:
            self._write()
            rows = self._db.execute(_CHAIN, (ident, owner, owner)).fetchall()
        if not rows:
            return None
        if rows[0][1]:  # the first has a previous response (NULL or "": none), no longer stored
            raise BrokenChain(rows[0][1])
        return [message for row in rows for message in json.loads(row[2])]

    def delete(self, owner: str, ident: str) -> bool:
        """Delete the response `ident` of `owner`; whether there was one."""
        with self._lock:
            self._write()
            row = self._db.execute(
                "SELECT seq, size FROM responses WHERE id = ? AND owner = ?", (ident, owner)
            ).fetchone()
            if row is not None:
                self._db.execute("DELETE FROM responses WHERE seq = ?", (row[0],))
                self._size -= row[1]
        return row is not None

    def close(self) -> None:
        """Write the rows waiting and close the database."""
        with self._lock:
            self._write()
            self._db.close()


class AsyncResponseStore:
    """`ResponseStore` for the event loop: in memory, called directly (microseconds); in a
    file, in a worker thread, one call at a time."""

    def __init__(self, store: ResponseStore) -> None:
        self.store = store
        #: Whether the store's calls run on the event loop (in memory): they may be made directly.
        self.on_loop = store.path is None
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        """`call(*args)` on the store, off the event loop when it can block."""
        if self.on_loop:
            return call(*args)
        if self._limiter is None:  # made on the server's event loop, at the first call
            self._limiter = anyio.CapacityLimiter(1)
        return await anyio.to_thread.run_sync(call, *args, limiter=self._limiter)
