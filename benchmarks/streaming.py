"""Target 3: streaming. How late the first chunk reaches the caller, and how fast SSE decodes.

*First-chunk lag.* The ``stamped-sse`` server (`benchmarks._servers`) sleeps, then writes
each event with the `time.perf_counter()` of that write inside it; on Linux that clock is
CLOCK_MONOTONIC, shared by every process, so the client's perf_counter when the text reaches
the caller minus the stamp is the time from the server's flush to the caller. Each stream
carries 3 events 20 ms apart (the first one also 20 ms after the headers, as a model thinks
before its first token); the figure is the median over streams of the first event's lag,
with the worst stream's lag shown too. Baseline: raw httpx reading the same stream with
`iter_lines()`.

*Decoding throughput.* A ~50 MB `text/event-stream` body of OpenAI-style events (one word
each, as the emulator sends them) is cut into 64 KiB pieces and handed, as an
`httpx.Response`, to the SDK's decoders and to httpx-sse's `EventSource.iter_sse()`: the same
bytes, through the same `iter_bytes()` path. Two levels: events (`SSEDecoder` against
httpx-sse), and text (`text_decoder_for("text/event-stream")`, which also parses each event's
JSON, against httpx-sse plus `json.loads` of each event). Figures are MB/s; the ratio is the
SDK's time over httpx-sse's (<= 1.00x means not slower).
"""

from __future__ import annotations

import importlib
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx

from ._harness import Budget, Measured, Row, alternate, format_ms, has_trio, verdict
from ._servers import spawn

__all__ = ["run"]

LAG_GOAL = 0.005
PIECE_BYTES = 65536
WORDS = ("The ", "quick ", "brown ", "fox ", "jumps ", "over ", "the ", "lazy ", "dog. ", "Ünïcödé ", "✓ ")


# --------------------------------------------------------------------------- first-chunk lag


def _stamp(text: str) -> float:
    return float(text.strip())


def _sdk_sync_lags(url: str, streams: int) -> list[float]:
    from dynaspark_sdk import Client

    lags = []
    with Client(base_url=url) as client:
        for _ in range(streams):
            with client.stream_text("go", extra_query={"events": 3}) as stream:
                first = next(stream)
                lags.append(time.perf_counter() - _stamp(first))
                stream.until_done()
    return lags


async def _sdk_async_lags(url: str, streams: int) -> list[float]:
    from dynaspark_sdk import AsyncClient

    lags = []
    async with AsyncClient(base_url=url) as client:
        for _ in range(streams):
            async with client.stream_text("go", extra_query={"events": 3}) as stream:
                first = await anext(stream)
                lags.append(time.perf_counter() - _stamp(first))
                async for _ in stream:
                    pass
    return lags


def _raw_lags(url: str, streams: int) -> list[float]:
    lags = []
    with httpx.Client(base_url=url) as client:
        for _ in range(streams):
            params = {"user_input": "go", "stream": "true", "events": "3"}
            with client.stream("GET", "/api/generate_response", params=params) as response:
                first: float | None = None
                for line in response.iter_lines():
                    if first is None and line.startswith("data: {"):
                        content = json.loads(line[6:])["choices"][0]["delta"]["content"]
                        first = time.perf_counter() - _stamp(content)
                assert first is not None
                lags.append(first)
    return lags


def _lag_rows(budget: Budget) -> list[Row]:
    streams = budget.pick(40, 2)
    with spawn("stamped-sse") as url:
        raw = _raw_lags(url, streams)
        measured = {"sync Client.stream_text": _sdk_sync_lags(url, streams)}
        for backend in ("asyncio", "trio") if has_trio() else ("asyncio",):
            lags = anyio.run(_sdk_async_lags, url, streams, backend=backend)
            measured[f"async AsyncClient.stream_text ({backend})"] = lags
    rows = []
    for label, lags in measured.items():
        median = statistics.median(lags)
        rows.append(
            Row(
                target="3",
                measurement=f"first chunk after the server's flush, {label} (worst {format_ms(max(lags))})",
                value=format_ms(median),
                baseline=f"httpx iter_lines {format_ms(statistics.median(raw))} (worst {format_ms(max(raw))})",
                ratio=None,
                goal=f"<= {LAG_GOAL * 1e3:.0f} ms",
                verdict=verdict(median <= LAG_GOAL),
            )
        )
    return rows


# --------------------------------------------------------------------------- throughput


def event_stream_body(megabytes: float) -> tuple[list[bytes], str, int]:
    """A body of about `megabytes` MB cut into pieces, with the text and event count it holds."""
    events, words = [], []
    size = 0
    index = 0
    while size < megabytes * 1_000_000:
        word = WORDS[index % len(WORDS)]
        index += 1
        event = ("data: " + json.dumps({"choices": [{"delta": {"content": word}}]}) + "\n\n").encode()
        events.append(event)
        words.append(word)
        size += len(event)
    events.append(b"data: [DONE]\n\n")
    body = b"".join(events)
    pieces = [body[start : start + PIECE_BYTES] for start in range(0, len(body), PIECE_BYTES)]
    return pieces, "".join(words), len(events)


def _response(pieces: list[bytes]) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=iter(pieces))


def _sdk_events(pieces: list[bytes]) -> int:
    from dynaspark_sdk._sse import SSEDecoder

    decoder = SSEDecoder()
    count = 0
    for chunk in _response(pieces).iter_bytes():
        count += len(decoder.feed(chunk))
    return count + len(decoder.flush())


def _sdk_text(pieces: list[bytes]) -> str:
    from dynaspark_sdk._text_decoders import text_decoder_for

    decoder = text_decoder_for("text/event-stream")
    for chunk in _response(pieces).iter_bytes():
        decoder.feed(chunk)
    decoder.close()
    text: str = decoder.text
    return text


def _httpx_sse_events(httpx_sse: Any, pieces: list[bytes]) -> int:
    return sum(1 for _ in httpx_sse.EventSource(_response(pieces)).iter_sse())


def _httpx_sse_text(httpx_sse: Any, pieces: list[bytes]) -> str:
    parts = []
    for event in httpx_sse.EventSource(_response(pieces)).iter_sse():
        if event.data != "[DONE]":
            parts.append(json.loads(event.data)["choices"][0]["delta"]["content"])
    return "".join(parts)


def _throughput_rows(budget: Budget) -> list[Row]:
    megabytes = 50.0 if not budget.smoke else 0.5
    try:
        httpx_sse: Any = importlib.import_module("httpx_sse")
    except ImportError:
        httpx_sse = None
    pieces, text, count = event_stream_body(megabytes)
    size = sum(len(piece) for piece in pieces)
    # Same bytes, same answers: a decoder that skipped work would not be a fair comparison.
    checks: dict[str, Callable[[], object]] = {
        "sdk events": lambda: _sdk_events(pieces) == count,
        "sdk text": lambda: _sdk_text(pieces) == text,
    }
    contenders = {
        "sdk events": _batch(lambda: _sdk_events(pieces)),
        "sdk text": _batch(lambda: _sdk_text(pieces)),
    }
    if httpx_sse is not None:
        checks["httpx-sse events"] = lambda: _httpx_sse_events(httpx_sse, pieces) == count
        checks["httpx-sse text"] = lambda: _httpx_sse_text(httpx_sse, pieces) == text
        contenders["httpx-sse events"] = _batch(lambda: _httpx_sse_events(httpx_sse, pieces))
        contenders["httpx-sse text"] = _batch(lambda: _httpx_sse_text(httpx_sse, pieces))
    for name, check in checks.items():
        if not check():
            raise RuntimeError(f"{name} decoded the benchmark body wrongly")
    results = alternate(contenders, calls=1, rounds=budget.pick(5, 1), warmup=budget.pick(1, 0))
    rows = []
    for level, what in (("events", "SSEDecoder"), ("text", 'text_decoder_for("text/event-stream")')):
        ours = results[f"sdk {level}"]
        measurement = f"SSE decoding of {size / 1e6:.0f} MB to {level}: {what}"
        theirs = results.get(f"httpx-sse {level}")
        if theirs is None:
            value = _rate(size, ours)
            rows.append(Row("3", measurement, value, "-", None, "<= 1.00x", "skipped (no httpx-sse)"))
            continue
        ratio = ours.wall_ratio(theirs)
        rows.append(
            Row(
                target="3",
                measurement=measurement,
                value=_rate(size, ours),
                baseline=f"httpx-sse{' + json.loads' if level == 'text' else ''} {_rate(size, theirs)}",
                ratio=ratio,
                goal="<= 1.00x",
                verdict=verdict(ratio <= 1.0),
            )
        )
    return rows


def _batch(work: Callable[[], object]) -> Callable[[], None]:
    def once() -> None:
        work()

    return once


def _rate(size: int, measured: Measured) -> str:
    return f"{size / measured.wall_median / 1e6:,.1f} MB/s"


def run(budget: Budget) -> list[Row]:
    """Measure target 3 and return its rows."""
    return _lag_rows(budget) + _throughput_rows(budget)
