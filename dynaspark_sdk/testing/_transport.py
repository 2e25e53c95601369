"""httpx transports that answer from an `Emulator` in process: no sockets, no threads.

How a plan becomes httpx behaviour:

- ``first_byte_delay`` and ``Delay`` steps sleep (``time.sleep`` / ``anyio.sleep``);
- a reset before the answer raises `httpx.ReadError` (the request went out; reading the answer
  failed), a reset in the body raises it from the response stream;
- a ``Cut`` makes the response stream raise `httpx.RemoteProtocolError` after the bytes sent
  so far, as httpx does when a server closes in the middle of a body;
- the body is streamed step by step, so a streaming reader sees the first event before the
  emulator has "sent" the last.

A wait longer than the request's read timeout sleeps the timeout and raises
`httpx.ReadTimeout`, as a real connection would.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx

from ._emulator import Emulator
from ._plan import BodyStep, Cut, Delay, Reset, ResponsePlan, SendBytes

__all__ = ["AsyncEmulatorTransport", "EmulatorTransport"]


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout", {})
    value = timeout.get("read") if isinstance(timeout, dict) else None
    return float(value) if value is not None else None


def _wait_or_timeout(seconds: float, request: httpx.Request) -> tuple[float, bool]:
    """How long to sleep, and whether a ReadTimeout must follow the sleep."""
    limit = _read_timeout(request)
    if limit is not None and seconds > limit:
        return limit, True
    return seconds, False


def _call(emulator: Emulator, request: httpx.Request, body: bytes) -> ResponsePlan:
    url = request.url
    return emulator.handle(
        request.method,
        url.path,
        url.params.multi_items(),
        request.headers.multi_items(),
        body,
        scheme=url.scheme,
    )


def _reset_error(request: httpx.Request) -> httpx.ReadError:
    return httpx.ReadError("[Errno 104] Connection reset by peer (emulated)", request=request)


def _cut_error(request: httpx.Request) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError(
        "peer closed connection without sending complete message body (emulated)", request=request
    )


class _PlanStream(httpx.SyncByteStream):
    def __init__(self, steps: tuple[BodyStep, ...], request: httpx.Request) -> None:
        self._steps = steps
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        for step in self._steps:
            if isinstance(step, SendBytes):
                yield step.data
            elif isinstance(step, Delay):
                seconds, timed_out = _wait_or_timeout(step.seconds, self._request)
                time.sleep(seconds)
                if timed_out:
                    raise httpx.ReadTimeout("timed out (emulated)", request=self._request)
            elif isinstance(step, Reset):
                raise _reset_error(self._request)
            elif isinstance(step, Cut):
                raise _cut_error(self._request)


class _AsyncPlanStream(httpx.AsyncByteStream):
    def __init__(self, steps: tuple[BodyStep, ...], request: httpx.Request) -> None:
        self._steps = steps
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for step in self._steps:
            if isinstance(step, SendBytes):
                yield step.data
            elif isinstance(step, Delay):
                seconds, timed_out = _wait_or_timeout(step.seconds, self._request)
                await anyio.sleep(seconds)
                if timed_out:
                    raise httpx.ReadTimeout("timed out (emulated)", request=self._request)
            elif isinstance(step, Reset):
                raise _reset_error(self._request)
            elif isinstance(step, Cut):
                raise _cut_error(self._request)


def _response(plan: ResponsePlan, stream: httpx.SyncByteStream | httpx.AsyncByteStream) -> httpx.Response:
    return httpx.Response(
        plan.status,
        headers=list(plan.headers),
        stream=stream,
        extensions={"http_version": b"HTTP/1.1"},
    )


class EmulatorTransport(httpx.BaseTransport):
    """A sync httpx transport answering from `emulator`, in process.

    Example::

        emulator = Emulator()
        http = httpx.Client(transport=EmulatorTransport(emulator), base_url="http://dynaspark.test")
    """

    def __init__(self, emulator: Emulator | None = None) -> None:
        self.emulator = emulator if emulator is not None else Emulator()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer `request` as the emulator plans it (see the module's docstring)."""
        plan = _call(self.emulator, request, request.read())
        if plan.first_byte_delay > 0:
            seconds, timed_out = _wait_or_timeout(plan.first_byte_delay, request)
            time.sleep(seconds)
            if timed_out:
                raise httpx.ReadTimeout("timed out (emulated)", request=request)
        if plan.reset_before_head:
            raise _reset_error(request)
        return _response(plan, _PlanStream(plan.body, request))


class AsyncEmulatorTransport(httpx.AsyncBaseTransport):
    """An async httpx transport answering from `emulator`, in process (asyncio or trio).

    Example::

        emulator = Emulator()
        http = httpx.AsyncClient(transport=AsyncEmulatorTransport(emulator), base_url="http://dynaspark.test")
    """

    def __init__(self, emulator: Emulator | None = None) -> None:
        self.emulator = emulator if emulator is not None else Emulator()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer `request` as the emulator plans it (see the module's docstring)."""
        plan = _call(self.emulator, request, await request.aread())
        if plan.first_byte_delay > 0:
            seconds, timed_out = _wait_or_timeout(plan.first_byte_delay, request)
            await anyio.sleep(seconds)
            if timed_out:
                raise httpx.ReadTimeout("timed out (emulated)", request=request)
        if plan.reset_before_head:
            raise _reset_error(request)
        return _response(plan, _AsyncPlanStream(plan.body, request))
