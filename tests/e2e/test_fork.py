"""A Client used before `os.fork()` works in the child, over its own connections, and the
parent's pool stays intact (its kept-alive connection still serves it). Over loopback sockets."""

from __future__ import annotations

import os
import signal
import threading
import warnings
from collections.abc import Iterator

import pytest

from dynaspark_sdk import Client
from dynaspark_sdk.testing import Emulator, EmulatorServer, faults, serve

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

#: Only a hang guard for the child: its one request takes milliseconds.
CHILD_GUARD_SECONDS = 20


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator()) as running:
        yield running


def fork() -> int:
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a process with threads (the emulator's server) may
        # deadlock; the child here touches no lock the server's thread could hold.
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


def in_child(client: Client, prompts: list[str]) -> tuple[int, str]:
    """Run `client.generate_text` for each prompt in a forked child; (exit status, what it wrote)."""
    read_end, write_end = os.pipe()
    pid = fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        os.close(read_end)
        code = 1
        try:
            signal.alarm(CHILD_GUARD_SECONDS)
            texts = [client.generate_text(prompt).text for prompt in prompts]
            os.write(write_end, "\n".join(texts).encode())
            code = 0
        except BaseException as error:
            os.write(write_end, repr(error).encode())
        finally:
            os._exit(code)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode()


def test_a_client_used_before_a_fork_works_in_the_child_and_the_parent(server: EmulatorServer) -> None:
    with Client(base_url=server.url, max_retries=0) as client:
        assert client.generate_text("parent before").text.endswith("parent before")
        assert server.connections.accepted == 1  # the parent's one kept-alive connection

        code, written = in_child(client, ["child one", "child two"])
        assert code == 0, written
        assert written.splitlines()[0].endswith("child one")
        assert written.splitlines()[1].endswith("child two")
        # The child opened a connection of its own (and reused it), instead of the parent's socket.
        assert server.connections.accepted == 2

        # The parent's pool is intact: its connection still serves it, no new one was needed.
        assert client.generate_text("parent after").text.endswith("parent after")
        assert server.connections.accepted == 2

        # And a second child, forked after all that, is as well off.
        code, written = in_child(client, ["second child"])
        assert code == 0, written
        assert written.endswith("second child")
        assert server.connections.accepted == 3
        assert client.generate_text("parent at the end").text.endswith("parent at the end")
        assert server.connections.accepted == 3
    prompts = [request.params["user_input"] for request in server.emulator.requests]
    assert prompts == ["parent before", "child one", "child two", "parent after", "second child", "parent at the end"]


def test_a_slot_a_parents_thread_holds_is_free_in_the_child(server: EmulatorServer) -> None:
    server.emulator.inject(faults.slow_first_byte(1.0), times=1)
    with Client(base_url=server.url, max_retries=0, max_concurrency=1, slot_timeout=5) as client:
        slow = threading.Thread(target=client.generate_text, args=("slow parent",))
        slow.start()
        try:
            while not server.emulator.requests:  # the parent's thread holds the one slot now
                threading.Event().wait(0.01)
            code, written = in_child(client, ["child"])
        finally:
            slow.join(timeout=30)
        assert not slow.is_alive(), "the parent's call hung"
    assert code == 0, written
    assert written.endswith("child")
