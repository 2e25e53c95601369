"""The servers the benchmarks call, each in its own process, on 127.0.0.1 only.

A server in the measuring process would share its GIL and its CPU clock with the client
being measured; in a child process it does not, so `time.process_time()` in the benchmark
counts the client alone. `spawn(kind, ...)` starts ``python -m benchmarks._servers KIND``,
reads the URL the child prints once it listens, and stops the child (by its own pid) on exit.

Kinds:

``emulator``
    The SDK's emulator (`dynaspark_sdk.testing.run_forever`, asyncio + h11) with a rate limit
    no benchmark reaches.
``discard``
    Reads every request body to its end in 64 KiB reads, keeps none of it, answers
    ``{"response": "<n> bytes"}``: an upload sink whose memory does not grow with the body.
``stamped-sse``
    ``GET`` anything: a ``text/event-stream`` of ``events`` OpenAI-style events (query
    parameter, default 5), ``gap`` seconds apart (default 0.02, the first one also after a
    gap), each carrying ``time.perf_counter()`` taken just before the write that sends it.
    Linux's perf_counter is CLOCK_MONOTONIC, one clock for every process on the machine, so a
    client subtracts it from its own perf_counter at arrival to get the delivery lag.
``link``
    A realistic link in front of ``--upstream``: TLS terminated with ``--cert``/``--key``, and
    ``--latency`` seconds added to every byte in each direction (see `LatencyRelay`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator

import h11

__all__ = ["LatencyRelay", "spawn"]

_READ_BYTES = 65536

Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter


# --------------------------------------------------------------------------- parent side


@contextlib.contextmanager
def spawn(kind: str, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run a server of `kind` in a child process for the `with` block; yields its URL."""
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._servers", kind, *args],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        if not url.startswith(("http://", "https://")):
            raise RuntimeError(f"the {kind} server did not start (it printed {url!r})")
        yield url
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


# --------------------------------------------------------------------------- child side


def _announce(url: str) -> None:
    print(url, flush=True)


async def _h11_loop(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    answer: _Answer,
) -> None:
    """Serve HTTP/1.1 requests on one connection with keep-alive; `answer` writes each response."""
    connection = h11.Connection(h11.SERVER)
    try:
        while True:
            request: h11.Request | None = None
            body_bytes = 0
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(_READ_BYTES)
                    connection.receive_data(data)
                    if not data and connection.their_state is not h11.DONE:
                        return
                elif isinstance(event, h11.Request):
                    request = event
                elif isinstance(event, h11.Data):
                    body_bytes += len(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    break
                else:
                    return
            assert request is not None
            await answer(connection, writer, request, body_bytes)
            if connection.our_state is h11.MUST_CLOSE or connection.their_state is h11.MUST_CLOSE:
                return
            connection.start_next_cycle()
    except (ConnectionError, h11.ProtocolError):
        return
    finally:
        writer.close()


class _Answer:
    async def __call__(
        self, connection: h11.Connection, writer: asyncio.StreamWriter, request: h11.Request, body_bytes: int
    ) -> None:
        raise NotImplementedError


class _DiscardAnswer(_Answer):
    async def __call__(
        self, connection: h11.Connection, writer: asyncio.StreamWriter, request: h11.Request, body_bytes: int
    ) -> None:
        body = json.dumps({"response": f"{body_bytes} bytes"}).encode()
        headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
        writer.write(connection.send(h11.Response(status_code=200, headers=headers)) or b"")
        writer.write(connection.send(h11.Data(data=body)) or b"")
        writer.write(connection.send(h11.EndOfMessage()) or b"")
        await writer.drain()


class _StampedAnswer(_Answer):
    async def __call__(
        self, connection: h11.Connection, writer: asyncio.StreamWriter, request: h11.Request, body_bytes: int
    ) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.target.decode()).query))
        events = int(query.get("events", "5"))
        gap = float(query.get("gap", "0.02"))
        headers = [("content-type", "text/event-stream; charset=utf-8"), ("cache-control", "no-cache")]
        writer.write(connection.send(h11.Response(status_code=200, headers=headers)) or b"")
        await writer.drain()
        for _ in range(events):
            await asyncio.sleep(gap)
            # Taken just before the write: the transport sends at once when its buffer is empty.
            stamp = time.perf_counter()
            payload = json.dumps({"choices": [{"delta": {"content": f"{stamp:.9f} "}}]})
            writer.write(connection.send(h11.Data(data=f"data: {payload}\n\n".encode())) or b"")
            await writer.drain()
        writer.write(connection.send(h11.Data(data=b"data: [DONE]\n\n")) or b"")
        writer.write(connection.send(h11.EndOfMessage()) or b"")
        await writer.drain()


async def _serve_h11(answer: _Answer) -> None:
    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _h11_loop(reader, writer, answer)

    server = await asyncio.start_server(connection, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    _announce(f"http://127.0.0.1:{port}")
    async with server:
        await server.serve_forever()


class LatencyRelay:
    """Forwards TCP bytes both ways, each byte delivered `latency` seconds after it arrived.

    Chunks keep their order and are never held back by each other (a chunk is due at its
    arrival time plus `latency`), so the link adds delay, not a bandwidth cap. The kernel
    completes a TCP handshake before user space sees the connection, so the handshake's round
    trip cannot be delayed directly; instead the first bytes a client sends on a new
    connection are held until one round trip after the accept, which is exactly when they
    could have left a client whose connect() had waited for the SYN-ACK. Everything after it
    then runs on the same timeline as on a real link with that latency.
    """

    def __init__(self, upstream: tuple[str, int], latency: float) -> None:
        self.upstream = upstream
        self.latency = latency

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        """Serve one client connection until either side closes."""
        loop = asyncio.get_running_loop()
        accepted = loop.time()
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.close()
            return
        handshake_done = accepted + 2 * self.latency
        await asyncio.gather(
            self._pump(client_reader, upstream_writer, handshake_done),
            self._pump(upstream_reader, client_writer, 0.0),
            return_exceptions=True,
        )

    async def _pump(self, reader: Reader, writer: Writer, not_before: float) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    with contextlib.suppress(OSError):
                        writer.close()
                    return
                writer.write(data)
                await writer.drain()

        delivering = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(_READ_BYTES)
                queue.put_nowait((max(loop.time(), not_before) + self.latency, data))
                if not data:
                    break
            await delivering
        except (ConnectionError, OSError):
            delivering.cancel()
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_READ_BYTES):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(OSError, ssl.SSLError, RuntimeError):
            writer.close()


async def _serve_link(upstream_url: str, cert: str, key: str, latency: float) -> None:
    upstream = urllib.parse.urlsplit(upstream_url)
    assert upstream.hostname is not None and upstream.port is not None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def terminate_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(upstream.hostname, upstream.port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    tls_server = await asyncio.start_server(terminate_tls, "127.0.0.1", 0, ssl=context, backlog=1024)
    tls_port = tls_server.sockets[0].getsockname()[1]
    relay = LatencyRelay(("127.0.0.1", tls_port), latency)
    relay_server = await asyncio.start_server(relay.handle, "127.0.0.1", 0, backlog=1024)
    port = relay_server.sockets[0].getsockname()[1]
    _announce(f"https://127.0.0.1:{port}")
    async with tls_server, relay_server:
        await relay_server.serve_forever()


def _serve_emulator() -> None:
    from dynaspark_sdk.testing import Emulator, run_forever

    with contextlib.suppress(KeyboardInterrupt):
        run_forever("127.0.0.1", 0, Emulator(rate_limit=10**9), on_ready=_announce)


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks._servers KIND [options]``: serve until terminated."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks._servers")
    parser.add_argument("kind", choices=["emulator", "discard", "stamped-sse", "link"])
    parser.add_argument("--upstream", help="link: the plain-HTTP server behind the link")
    parser.add_argument("--cert", help="link: PEM certificate")
    parser.add_argument("--key", help="link: PEM private key")
    parser.add_argument("--latency", type=float, default=0.010, help="link: one-way seconds")
    options = parser.parse_args(argv)
    if options.kind == "emulator":
        _serve_emulator()
    elif options.kind == "discard":
        asyncio.run(_serve_h11(_DiscardAnswer()))
    elif options.kind == "stamped-sse":
        asyncio.run(_serve_h11(_StampedAnswer()))
    else:
        asyncio.run(_serve_link(options.upstream, options.cert, options.key, options.latency))


if __name__ == "__main__":
    main()
