"""Stored responses (`/v1/responses` with `store`): what a store does, the in-memory store (the
default, bounded), and `AsyncResponseStore`, which calls either from the event loop. The store
in a file, where conversations survive a restart (`create_app(responses_db=PATH)`,
`dynaspark gateway --responses-db PATH`), is SQLite: `_sqlite_response_store.py`.

Each response is kept with its input items and its turn of the conversation (the input and the
answer as chat messages), as the JSON text the gateway rendered, and with the id of the
response before it; `history()` walks that chain. A response to a string input answered with
text only (most of them) comes with its two texts instead (`save_text_turn`): its items and
turn are `text_turn(...)`'s. A response belongs to the key that stored it (a keyed hash of the
bearer token, never the token itself): another key sees none of them. When the responses
outgrow `max_bytes` (their JSON, in characters; a text turn's as its JSON would be, escapes
aside), the oldest go first.

The in-memory store is a dict in the order of saving: a save is a few dict operations, cheap
enough to run on the event loop for every response (it runs nowhere else, so it takes no lock).
It keeps the texts as given (a text turn's two texts, its items and turn rendered only when
read), but in UTF-8 where Python would take 4 bytes a character, so that its memory stays near
what `max_bytes` counts (about 1.1 times for English, 2 for Chinese). The SQLite store renders
a text turn's JSON when it saves it.

The SQLite store's calls may wait on the disk: `AsyncResponseStore` runs them in a worker
thread, one at a time.
"""

from __future__ import annotations

import abc
import collections
import hashlib
import json
import secrets
import sys
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import anyio
import anyio.to_thread
import attrs

from ._shapes.responses import text_turn, text_turn_json

__all__ = [
    "MEMORY_MAX_BYTES",
    "AsyncResponseStore",
    "BrokenChain",
    "MemoryResponseStore",
    "ResponseStore",
    "StoredResponse",
    "duplicate_id_error",
    "remember_owner",
]

T = TypeVar("T")

#: How much an in-memory store keeps (its responses' JSON) before it drops the oldest.
MEMORY_MAX_BYTES = 64 * 1024 * 1024
#: How many tokens' owners are remembered (the cache is emptied when full), and the longest
#: token remembered (a longer one is hashed each time).
_OWNERS_KEPT = 1024
_OWNER_KEY_LIMIT = 512


def remember_owner(owners: dict[Any, str], key: str | bytes | None, owner: str) -> None:
    """Remember `owner` for `key` (a token, or the header it came in) in the cache `owners`:
    at most `_OWNERS_KEPT` of them (emptied when full), and no key over `_OWNER_KEY_LIMIT` long,
    so no caller fills memory with long ones."""
    if key is not None and len(key) > _OWNER_KEY_LIMIT:
        return
    if len(owners) >= _OWNERS_KEPT:
        owners.clear()
    owners[key] = owner


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


class ResponseStore(abc.ABC):
    """What every store does (blocking calls, see `AsyncResponseStore`). `path` is the file it
    keeps its responses in (None: in memory); `max_bytes` how much of their JSON (characters) it
    keeps before it drops the oldest; `salt` the key of its owners' hash."""

    #: Whether its calls take microseconds and may be made on the event loop.
    on_loop: ClassVar[bool]

    def __init__(self, path: str | None, max_bytes: int, salt: bytes) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._salt = salt
        # The owners of the tokens seen lately: a hash per request is more than a lookup.
        self._owners: dict[str, str] = {}

    def owner(self, token: str) -> str:
        """The owner a bearer token stands for (a keyed hash: the store never holds a key)."""
        owner = self._owners.get(token)
        if owner is None:
            owner = hashlib.blake2b(token.encode("utf-8", "surrogatepass"), key=self._salt[:64]).hexdigest()
            remember_owner(self._owners, token, owner)
        return owner

    @abc.abstractmethod
    def save(self, owner: str, ident: str, previous_id: str | None, response: str, items: str, turn: str) -> None:
        """Keep the response `ident` for `owner`, dropping the oldest responses when over
        `max_bytes`: its JSON as answered (`response`), its input items and its turn of the
        conversation (chat messages), as JSON, and the id of the response before it. An id
        stored already is refused (ValueError), the stored response kept."""

    def save_text_turn(
        self, owner: str, ident: str, previous_id: str | None, response: str, said: str, answered: str
    ) -> None:
        """`save()` of a response to a string input, `said`, answered with text only,
        `answered`: its items and turn are `text_turn(...)`'s (a store may keep the two texts
        and render them when they are read)."""
        self.save(owner, ident, previous_id, response, *text_turn_json(ident, said, answered))

    @abc.abstractmethod
    def load(self, owner: str, ident: str) -> StoredResponse | None:
        """The response `ident` of `owner` (None: not stored, or another key's)."""

    @abc.abstractmethod
    def history(self, owner: str, ident: str) -> list[dict[str, Any]] | None:
        """The conversation up to and including the response `ident` of `owner`, as chat
        messages (None: no such response). Raises BrokenChain when a response before it has
        been deleted or dropped."""

    @abc.abstractmethod
    def delete(self, owner: str, ident: str) -> bool:
        """Delete the response `ident` of `owner`; whether there was one."""

    @abc.abstractmethod
    def close(self) -> None:
        """Let go of the responses (a file keeps them)."""


def duplicate_id_error(ident: str) -> ValueError:
    """The error for saving a response whose id is stored already."""
    return ValueError(f"a response with id {ident!r} is stored already")


# A row of the in-memory store: (owner, previous id or "", response, items, turn, size, kind),
# the texts as given or in UTF-8 (see `_compact`). Of kind `_JSON`, items and turn are their
# JSON; of kind `_TEXT_TURN` (`save_text_turn`), the input and the answer, as text.
_Row = tuple[str, str, str | bytes, str | bytes, str | bytes, int, bool]
_JSON, _TEXT_TURN = False, True
#: What a text turn's items and turn add to its two texts and its id (`resp_...`), in characters.
_TEXT_TURN_FRAME = sum(map(len, text_turn_json("resp_", "", ""))) - len("resp_")


def _compact(text: str) -> str | bytes:
    """`text`, or its UTF-8 where CPython keeps it in 4 bytes a character (all of a text that
    has one character past U+FFFF, an emoji): near the characters `max_bytes` counts, as SQLite
    kept it. (Lone surrogates kept: `json.loads` reads them back with "surrogatepass".)"""
    if sys.getsizeof(text) > 3 * len(text) + 80:  # (1 or 2 bytes a character: at most 2 * len + 80)
        return text.encode("utf-8", "surrogatepass")
    return text


def _text(kept: str | bytes) -> str:
    """A text `_compact` kept, as text again."""
    return kept if isinstance(kept, str) else kept.decode("utf-8", "surrogatepass")


class MemoryResponseStore(ResponseStore):
    """The in-memory store, bounded by `max_bytes` (see the module's docstring). Not thread
    safe: called from one thread (the server's event loop)."""

    on_loop = True

    def __init__(self, max_bytes: int = MEMORY_MAX_BYTES) -> None:
        # A salt of this process's own: nothing outlives it.
        super().__init__(None, max_bytes, secrets.token_bytes(32))
        # OrderedDict, not dict: its oldest entry is popped in O(1) (a dict's first entry is found
        # past the holes its deletions left, O(n) as a bounded store drops one at every save).
        self._rows: collections.OrderedDict[str, _Row] = collections.OrderedDict()
        self._size = 0

    def save(self, owner: str, ident: str, previous_id: str | None, response: str, items: str, turn: str) -> None:
        rows = self._rows
        if ident in rows:
            raise duplicate_id_error(ident)
        self._keep(rows, owner, ident, previous_id, response, items, turn, len(items) + len(turn), _JSON)

    def save_text_turn(
        self, owner: str, ident: str, previous_id: str | None, response: str, said: str, answered: str
    ) -> None:
        # The two texts kept, their items and turn rendered only when read (see `load`).
        rows = self._rows
        if ident in rows:
            raise duplicate_id_error(ident)
        size = _TEXT_TURN_FRAME + len(ident) + 2 * len(said) + len(answered)  # (escapes aside)
        if not (response.isascii() and said.isascii() and answered.isascii()):
            self._keep(rows, owner, ident, previous_id, response, said, answered, size, _TEXT_TURN)
            return
        size += len(response)  # (most answers: what `_keep` does, without its call)
        rows[ident] = (owner, previous_id or "", response, said, answered, size, _TEXT_TURN)
        self._size += size
        if self._size > self.max_bytes:
            self._evict()

    def _keep(
        self,
        rows: collections.OrderedDict[str, _Row],
        owner: str,
        ident: str,
        previous_id: str | None,
        response: str,
        first: str,
        second: str,
        size: int,
        kind: bool,
    ) -> None:
        """Keep a row whose items and turn (or texts) come to `size` characters, with the
        response's."""
        size += len(response)
        if response.isascii() and first.isascii() and second.isascii():  # (most: a flag read)
            rows[ident] = (owner, previous_id or "", response, first, second, size, kind)
        else:
            rows[ident] = (owner, previous_id or "", _compact(response), _compact(first), _compact(second), size, kind)
        self._size += size
        if self._size > self.max_bytes:
            self._evict()

    def _evict(self) -> None:
        rows = self._rows
        while self._size > self.max_bytes and rows:
            self._size -= rows.popitem(last=False)[1][5]

    def load(self, owner: str, ident: str) -> StoredResponse | None:
        row = self._rows.get(ident)
        if row is None or row[0] != owner:
            return None
        if row[6] is _TEXT_TURN:
            items, turn = text_turn(ident, _text(row[3]), _text(row[4]))
        else:
            items, turn = json.loads(row[3]), json.loads(row[4])
        return StoredResponse(ident, row[1] or None, json.loads(row[2]), items, turn)

    @staticmethod
    def _turn(row: _Row) -> list[dict[str, Any]]:
        """The row's turn of the conversation, as chat messages."""
        if row[6] is _TEXT_TURN:
            return [{"role": "user", "content": _text(row[3])}, {"role": "assistant", "content": _text(row[4])}]
        result: list[dict[str, Any]] = json.loads(row[4])
        return result

    def history(self, owner: str, ident: str) -> list[dict[str, Any]] | None:
        rows = self._rows
        row = rows.get(ident)
        if row is None or row[0] != owner:
            return None
        chain = [row]
        while row[1]:
            before = rows.get(row[1])
            if before is None or before[0] != owner:  # deleted, dropped (or never this key's)
                raise BrokenChain(row[1])
            row = before
            chain.append(row)
        return [message for row in reversed(chain) for message in self._turn(row)]

    def delete(self, owner: str, ident: str) -> bool:
        row = self._rows.get(ident)
        if row is None or row[0] != owner:
            return False
        del self._rows[ident]
        self._size -= row[5]
        return True

    def close(self) -> None:
        self._rows.clear()
        self._size = 0


class AsyncResponseStore:
    """A `ResponseStore` for the event loop: in memory, called directly (microseconds); in a
    file, in a worker thread, one call at a time."""

    def __init__(self, store: ResponseStore) -> None:
        self.store = store
        #: Whether the store's calls run on the event loop (in memory): they may be made directly.
        self.on_loop = store.on_loop
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        """`call(*args)` on the store, off the event loop when it can block."""
        if self.on_loop:
            return call(*args)
        if self._limiter is None:  # made on the server's event loop, at the first call
            self._limiter = anyio.CapacityLimiter(1)
        return await anyio.to_thread.run_sync(call, *args, limiter=self._limiter)
