"""The gateway's response stores, in process. The tests of `make_store` run against the
in-memory store (the default) and the SQLite store in a file, which must behave alike: what is
kept and dropped (oldest first, by the responses' JSON in characters), chains and broken
chains, delete, owners that see only their own, and owners that are a keyed hash, never the
token. Then what is each one's own: the memory the in-memory store takes, a file's salt, which
calls leave the event loop, and sqlite3 loaded only for a file."""

from __future__ import annotations

import gc
import hashlib
import json
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dynaspark_sdk.integrations.gateway._response_store import (
    MEMORY_MAX_BYTES,
    AsyncResponseStore,
    BrokenChain,
    MemoryResponseStore,
    ResponseStore,
)
from dynaspark_sdk.integrations.gateway._shapes.responses import text_turn, text_turn_json
from dynaspark_sdk.integrations.gateway._sqlite_response_store import DISK_MAX_BYTES, SQLiteResponseStore

MakeStore = Callable[..., ResponseStore]


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeStore]:
    """Opens a store of the kind under test (`max_bytes` as given); the SQLite one in a file of
    its own (`name`: open that file again); all closed at the end."""
    opened: list[ResponseStore] = []

    def make(max_bytes: int | None = None, name: str = "responses.sqlite3") -> ResponseStore:
        bound = {} if max_bytes is None else {"max_bytes": max_bytes}
        store: ResponseStore
        if request.param == "memory":
            store = MemoryResponseStore(**bound)
        else:
            store = SQLiteResponseStore(str(tmp_path / name), **bound)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def stored(ident: str, previous: str | None, text: str) -> tuple[str, str | None, str, str, str]:
    """What `ResponseStore.save` takes after the owner."""
    return ident, previous, json.dumps({"id": ident}), "[]", json.dumps([{"role": "user", "content": text}])


def size(row: tuple[str, str | None, str, str, str]) -> int:
    """What a response counts against `max_bytes`: its JSON's characters."""
    return sum(len(text) for text in row[2:])


def kept(store: ResponseStore, owner: str, *idents: str) -> list[str]:
    return [ident for ident in idents if store.load(owner, ident) is not None]


def test_the_stores_defaults(make_store: MakeStore) -> None:
    store = make_store()
    memory = isinstance(store, MemoryResponseStore)
    assert store.max_bytes == (MEMORY_MAX_BYTES if memory else DISK_MAX_BYTES)
    assert (store.path is None) == memory
    # The in-memory store is called on the event loop; a file's calls may wait on the disk.
    assert AsyncResponseStore(store).on_loop == memory


def test_a_bounded_store_drops_the_oldest_and_a_broken_chain_says_which(make_store: MakeStore) -> None:
    store = make_store(max_bytes=400)
    owner = store.owner("k")
    store.save(owner, *stored("resp_1", None, "a" * 100))
    store.save(owner, *stored("resp_2", "resp_1", "b" * 100))
    assert store.history(owner, "resp_2") == [
        {"role": "user", "content": "a" * 100},
        {"role": "user", "content": "b" * 100},
    ]
    store.save(owner, *stored("resp_3", "resp_2", "c" * 100))
    assert store.load(owner, "resp_1") is None
    with pytest.raises(BrokenChain) as caught:
        store.history(owner, "resp_3")
    assert caught.value.missing == "resp_1"
    assert store.history(store.owner("other"), "resp_3") is None


@pytest.mark.parametrize("count", [1, 2, 65])
def test_a_saved_response_is_found_at_once(make_store: MakeStore, count: int) -> None:
    store = make_store()
    owner = store.owner("k")
    for index in range(count):
        store.save(owner, *stored(f"resp_{index}", f"resp_{index - 1}" if index else None, str(index)))
    last = f"resp_{count - 1}"
    assert store.history(owner, last) == [{"role": "user", "content": str(i)} for i in range(count)]
    loaded = store.load(owner, last)
    assert loaded is not None and loaded.response == {"id": last}
    assert loaded.previous_id == (f"resp_{count - 2}" if count > 1 else None)
    assert loaded.items == [] and loaded.turn == [{"role": "user", "content": str(count - 1)}]
    store.save(owner, *stored("resp_new", None, "x"))
    assert store.delete(owner, "resp_new") and store.load(owner, "resp_new") is None
    assert store.load(store.owner("other"), last) is None


def test_the_oldest_go_first_until_the_rest_fit(make_store: MakeStore) -> None:
    rows = [stored(f"resp_{index}", None, "x" * 50) for index in range(1, 8)]
    unit = size(rows[0])  # every row the same size
    store = make_store(max_bytes=3 * unit)
    owner = store.owner("k")
    for row in rows[:3]:
        store.save(owner, *row)
    assert kept(store, owner, "resp_1", "resp_2", "resp_3") == ["resp_1", "resp_2", "resp_3"]  # exactly full
    store.load(owner, "resp_1")  # read lately, still the oldest: the order is the order of saving
    store.save(owner, *rows[3])
    assert kept(store, owner, "resp_1", "resp_2", "resp_3", "resp_4") == ["resp_2", "resp_3", "resp_4"]
    # Twice the size: the two oldest go.
    double = stored("resp_5", None, "x" * (50 + unit))
    assert size(double) == 2 * unit
    store.save(owner, *double)
    assert kept(store, owner, "resp_2", "resp_3", "resp_4", "resp_5") == ["resp_4", "resp_5"]
    # A deleted response no longer counts: a new one fits beside the rest.
    assert store.delete(owner, "resp_4")
    store.save(owner, *rows[5])
    assert kept(store, owner, "resp_5", "resp_6") == ["resp_5", "resp_6"]
    # One over the bound alone: nothing is kept, itself included; then the store fills again.
    store.save(owner, *stored("resp_8", None, "x" * (50 + 2 * unit + 1)))
    assert kept(store, owner, "resp_5", "resp_6", "resp_8") == []
    store.save(owner, *rows[6])
    assert kept(store, owner, "resp_7") == ["resp_7"]


@pytest.mark.parametrize("text", ["caf\u00e9", "\u597d\u7684", "Sure \U0001f600", "a" * 300 + "\U0001f600"])
def test_any_text_comes_back_as_saved_and_counts_in_characters(make_store: MakeStore, text: str) -> None:
    turn = [{"role": "user", "content": text}]
    row = (
        "resp_a",
        None,
        json.dumps({"id": "resp_a", "text": text}, ensure_ascii=False),
        "[]",
        json.dumps(turn, ensure_ascii=False),
    )
    exactly, under = make_store(max_bytes=size(row)), make_store(max_bytes=size(row) - 1, name="under.sqlite3")
    for store in (exactly, under):
        store.save(store.owner("k"), *row)
    loaded = exactly.load(exactly.owner("k"), "resp_a")
    assert loaded is not None and loaded.response == {"id": "resp_a", "text": text} and loaded.turn == turn
    assert exactly.history(exactly.owner("k"), "resp_a") == turn
    assert under.load(under.owner("k"), "resp_a") is None


@pytest.mark.parametrize("answered", ["An answer.", "caf\u00e9 \u597d", "Sure \U0001f600", ""])
def test_a_text_turn_comes_back_as_its_json_would_and_counts_the_same(make_store: MakeStore, answered: str) -> None:
    # `save_text_turn` (a string input answered with text) keeps what `save` keeps of the JSON
    # `text_turn_json` renders, and counts as many characters (escapes aside: none here).
    said = "Name a colour \u00e9."
    response = json.dumps({"id": "resp_ab", "text": answered}, ensure_ascii=False)
    items, turn = text_turn_json("resp_ab", said, answered)
    json_size = len(response) + len(items) + len(turn)
    exactly, under = make_store(max_bytes=json_size), make_store(max_bytes=json_size - 1, name="under.sqlite3")
    for store in (exactly, under):
        store.save_text_turn(store.owner("k"), "resp_ab", None, response, said, answered)
    assert under.load(under.owner("k"), "resp_ab") is None
    loaded = exactly.load(exactly.owner("k"), "resp_ab")
    assert loaded is not None
    assert (loaded.previous_id, loaded.response) == (None, json.loads(response))
    assert (loaded.items, loaded.turn) == (json.loads(items), json.loads(turn)) == text_turn("resp_ab", said, answered)
    # In a chain with turns saved as JSON, in order.
    store = make_store(name="chain.sqlite3")
    owner = store.owner("k")
    store.save(owner, *stored("resp_a", None, "first"))
    store.save_text_turn(owner, "resp_b", "resp_a", "{}", said, answered)
    store.save(owner, *stored("resp_c", "resp_b", "third"))
    assert store.history(owner, "resp_c") == [
        {"role": "user", "content": "first"},
        *json.loads(turn),
        {"role": "user", "content": "third"},
    ]
    with pytest.raises(ValueError, match="'resp_b' is stored already"):
        store.save_text_turn(owner, "resp_b", None, "{}", "again", "again")


def test_responses_of_every_key_count_against_one_bound(make_store: MakeStore) -> None:
    rows = [stored(f"resp_{index}", None, "x") for index in range(3)]
    store = make_store(max_bytes=2 * size(rows[0]))
    first, second = store.owner("key one"), store.owner("key two")
    store.save(first, *rows[0])
    store.save(second, *rows[1])
    store.save(second, *rows[2])
    assert kept(store, first, "resp_0") == []
    assert kept(store, second, "resp_1", "resp_2") == ["resp_1", "resp_2"]


def test_a_deleted_response_breaks_the_chain_after_it(make_store: MakeStore) -> None:
    store = make_store()
    owner = store.owner("k")
    store.save(owner, *stored("resp_a", None, "a"))
    store.save(owner, *stored("resp_b", "resp_a", "b"))
    store.save(owner, *stored("resp_c", "resp_b", "c"))
    assert store.delete(owner, "resp_b")
    assert not store.delete(owner, "resp_b")  # once
    with pytest.raises(BrokenChain) as caught:
        store.history(owner, "resp_c")
    assert caught.value.missing == "resp_b"
    # The rest stays: the response itself, and the conversation before the gap.
    assert store.history(owner, "resp_a") == [{"role": "user", "content": "a"}]
    loaded = store.load(owner, "resp_c")
    assert loaded is not None and loaded.previous_id == "resp_b"
    assert store.history(owner, "resp_b") is None


def test_another_key_sees_nothing(make_store: MakeStore) -> None:
    store = make_store()
    mine, theirs = store.owner("my key"), store.owner("their key")
    store.save(mine, *stored("resp_a", None, "a"))
    store.save(mine, *stored("resp_b", "resp_a", "b"))
    assert store.load(theirs, "resp_b") is None
    assert store.history(theirs, "resp_b") is None
    assert not store.delete(theirs, "resp_b")
    assert store.history(mine, "resp_b") == [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    # Nor through a chain: continuing another key's response finds a gap there.
    store.save(theirs, *stored("resp_c", "resp_b", "c"))
    with pytest.raises(BrokenChain) as caught:
        store.history(theirs, "resp_c")
    assert caught.value.missing == "resp_b"


def test_a_long_conversation_comes_back_in_order(make_store: MakeStore) -> None:
    store = make_store()
    owner = store.owner("k")
    turns = 300

    def turn(index: int) -> list[dict[str, str]]:
        return [{"role": "user", "content": str(index)}, {"role": "assistant", "content": f"answer {index}"}]

    for index in range(turns):
        store.save(owner, f"resp_{index}", f"resp_{index - 1}" if index else None, "{}", "[]", json.dumps(turn(index)))
    history = store.history(owner, f"resp_{turns - 1}")
    assert history == [message for index in range(turns) for message in turn(index)]
    assert store.history(owner, "resp_9") == history[:20]  # from a turn in the middle: the turns up to it


def test_an_id_stored_already_is_refused_and_the_first_kept(make_store: MakeStore) -> None:
    first = stored("resp_a", None, "first")
    store = make_store(max_bytes=2 * size(first))
    owner = store.owner("k")
    store.save(owner, *first)
    with pytest.raises(ValueError, match="'resp_a' is stored already"):
        store.save(store.owner("other"), *stored("resp_a", None, "again"))
    loaded = store.load(owner, "resp_a")
    assert loaded is not None and loaded.turn == [{"role": "user", "content": "first"}]
    # The refused one did not count: one more of the same size fits.
    store.save(owner, *stored("resp_b", None, "third"))
    assert kept(store, owner, "resp_a", "resp_b") == ["resp_a", "resp_b"]


def test_an_owner_is_a_keyed_hash_of_the_token(make_store: MakeStore) -> None:
    token = "sk-secret-token-\u00e9"
    store = make_store()
    owner = store.owner(token)
    assert owner == store.owner(token) != store.owner(token + "x")
    assert token not in owner and "secret" not in owner
    assert len(owner) == 128 and int(owner, 16) >= 0
    # Keyed: not the hash anyone could compute from the token.
    assert owner != hashlib.blake2b(token.encode()).hexdigest()
    # With a salt of its own: another store (another process's, another file) hashes differently.
    assert make_store(name="another.sqlite3").owner(token) != owner


@pytest.mark.parametrize("text", ["Sure. " * 300, "\u597d\u7684\u3002" * 300, "Sure. " * 300 + "\U0001f600"])
@pytest.mark.parametrize("text_turn", [False, True], ids=["json", "text turn"])
def test_the_memory_store_takes_about_the_memory_it_counts(text: str, text_turn: bool) -> None:
    # Python keeps a text with an emoji in 4 bytes a character, all of it: not the store.
    store = MemoryResponseStore()
    owner = store.owner("k")
    tracemalloc.start()
    try:
        counted = 0
        for index in range(200):  # the texts made here, as the gateway renders them, and let go
            ident, answer = f"resp_{index:04}", json.dumps({"text": text}, ensure_ascii=False)
            said, answered = "Hi", f"{text} {index}"  # (a text of its own, as each answer is)
            if text_turn:
                store.save_text_turn(owner, ident, None, answer, said, answered)
                counted += len(answer) + sum(map(len, text_turn_json(ident, said, answered)))
            else:
                turn = json.dumps([{"role": "assistant", "content": answered}], ensure_ascii=False)
                store.save(owner, ident, None, answer, "[]", turn)
                counted += len(answer) + 2 + len(turn)
        del answer, answered
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held < 2.5 * counted  # (2 bytes a character for Chinese, as Python keeps it)
    history = store.history(owner, "resp_0199")
    assert history is not None and history[-1] == {"role": "assistant", "content": f"{text} 199"}


def test_the_memory_store_s_salt_is_drawn_per_store() -> None:
    assert MemoryResponseStore().owner("k") != MemoryResponseStore().owner("k")


def test_a_file_keeps_its_salt_and_never_the_token(tmp_path: Path) -> None:
    token = "sk-secret-token-8f3a"
    path = str(tmp_path / "responses.sqlite3")
    store = SQLiteResponseStore(path)
    owner = store.owner(token)
    store.save(owner, *stored("resp_a", None, "a"))
    store.close()
    again = SQLiteResponseStore(path)
    try:
        assert again.owner(token) == owner and again.load(owner, "resp_a") is not None
    finally:
        again.close()
    assert not any(token.encode() in file.read_bytes() for file in tmp_path.iterdir())


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_only_a_file_s_calls_leave_the_event_loop(kind: str, tmp_path: Path) -> None:
    store = MemoryResponseStore() if kind == "memory" else SQLiteResponseStore(str(tmp_path / "r.sqlite3"))
    try:
        ran_in = await AsyncResponseStore(store).run(threading.get_ident)
    finally:
        store.close()
    assert (ran_in == threading.get_ident()) == (kind == "memory")


def test_the_default_gateway_loads_no_sqlite(tmp_path: Path) -> None:
    # The in-memory store needs no sqlite3 (milliseconds of import); a store in a file does.
    code = (
        "import sys\n"
        "from dynaspark_sdk import AsyncClient\n"
        "from dynaspark_sdk.gateway import create_app\n"
        "create_app(AsyncClient(base_url='http://127.0.0.1:9'))\n"
        "print('sqlite3' in sys.modules)\n"
        "create_app(AsyncClient(base_url='http://127.0.0.1:9'), responses_db=sys.argv[1])\n"
        "print('sqlite3' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r.sqlite3")], capture_output=True, text=True)
    assert done.stdout.split() == ["False", "True"], done.stderr
