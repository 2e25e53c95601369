"""Target 11: the gateway's cost per call against the floor, and against gpt4free's API server.

Three servers, each in its own process on 127.0.0.1, in front of the same emulator (its own
process too), all under uvicorn with the same settings (httptools and uvloop where installed,
no access log):

- *ours*: the real `dynaspark gateway` command (`--retries 0`);
- *floor*: `benchmarks/_floor.py`, a raw ASGI app that parses the OpenAI JSON body, makes the
  same upstream form POST through one shared `httpx.AsyncClient` (keep-alive, at most 10
  upstream calls at once) and answers a fixed OpenAI-shaped JSON (or its SSE): the least a
  gateway on this stack can cost;
- *g4f*: gpt4free's own API server (`g4f api`, g4f 0.5.2.0, its FastAPI app) with its
  Dynaspark provider pointed at the emulator (`benchmarks/_g4f_api.py`), where g4f, fastapi
  and python-multipart are installed (the benchmark venv); skipped elsewhere.

The client is the `openai` package in this process: `OpenAI.chat.completions.create` one call
at a time (*1 in flight*), and `AsyncOpenAI` with 50 tasks calling at once (*50 in flight*),
non-streamed and streamed (every chunk read). Per batch: the server process's CPU time
(user + system, from /proc) per call, and at 50 in flight the calls per second of wall time.
Batches of the contenders alternate (A B C, then C B A, ...) after an untimed warm-up batch;
a figure is the median over rounds, a ratio the median of the per-round ratios to the floor.

Goals (issue 27): our server CPU per call <= 1.10x the floor's, at 1 and at 50 in flight,
streamed and not; our req/s at 50 in flight >= 0.95x the floor's. gpt4free's rows are info.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from ._harness import Budget, Row, format_us, verdict
from ._servers import spawn

__all__ = ["run"]

CPU_GOAL = 1.10
RATE_GOAL = 0.95
MODEL = "gemini-1.5-flash-8b"
PROMPT = "hello"
IN_FLIGHT = 50
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def _server(argv: list[str], marker: str = "http://") -> Iterator[tuple[str, int]]:
    """A server process that prints its /v1 URL on a line starting with `marker`; (url, pid)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DYNASPARK_", "OPENAI_"))}
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        while line and marker not in line:
            line = child.stdout.readline()
        if marker not in line:
            raise RuntimeError(f"{argv[:4]} did not start")
        url = next(word for word in line.split() if word.startswith("http://"))
        yield url, child.pid
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def _ours(upstream: str) -> contextlib.AbstractContextManager[tuple[str, int]]:
    argv = [sys.executable, "-m", "dynaspark_sdk", "--base-url", upstream, "--retries", "0", "gateway", "--port", "0"]
    return _server(argv, "Dynaspark gateway serving ")


def _floor(upstream: str) -> contextlib.AbstractContextManager[tuple[str, int]]:
    return _server([sys.executable, "-m", "benchmarks._floor", upstream])


def _g4f(upstream: str) -> contextlib.AbstractContextManager[tuple[str, int]]:
    return _server([sys.executable, "-m", "benchmarks._g4f_api", upstream])


def g4f_missing() -> str | None:
    """What keeps gpt4free's API server from running here (None: nothing)."""
    missing = [name for name in ("g4f", "fastapi", "multipart") if importlib.util.find_spec(name) is None]
    return ", ".join(missing) + " not installed" if missing else None


class _Contender:
    """One server and the openai clients that call it."""

    def __init__(self, name: str, url: str, pid: int) -> None:
        import openai

        self.name, self.url, self.pid = name, url, pid
        # gpt4free's server picks the provider from the body; the others ignore the field.
        self.extra = {"provider": "Dynaspark"} if name == "g4f" else {}
        self.sync = openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=60)
        self.asynchronous = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0, timeout=60)

    def one(self, stream: bool) -> None:
        messages: Any = [{"role": "user", "content": PROMPT}]
        if stream:
            text = "".join(
                chunk.choices[0].delta.content or ""
                for chunk in self.sync.chat.completions.create(
                    model=MODEL, messages=messages, stream=True, extra_body=self.extra
                )
                if chunk.choices
            )
        else:
            answer = self.sync.chat.completions.create(model=MODEL, messages=messages, extra_body=self.extra)
            text = answer.choices[0].message.content or ""
        if "hello" not in text:
            raise RuntimeError(f"{self.name} answered {text!r}")

    async def one_async(self, stream: bool) -> None:
        messages: Any = [{"role": "user", "content": PROMPT}]
        if stream:
            pieces = []
            async for chunk in await self.asynchronous.chat.completions.create(
                model=MODEL, messages=messages, stream=True, extra_body=self.extra
            ):
                if chunk.choices:
                    pieces.append(chunk.choices[0].delta.content or "")
            text = "".join(pieces)
        else:
            answer = await self.asynchronous.chat.completions.create(
                model=MODEL, messages=messages, extra_body=self.extra
            )
            text = answer.choices[0].message.content or ""
        if "hello" not in text:
            raise RuntimeError(f"{self.name} answered {text!r}")

    def close(self) -> None:
        self.sync.close()


def _batch(
    contender: _Contender, loop: asyncio.AbstractEventLoop, calls: int, in_flight: int, stream: bool
) -> tuple[float, float]:
    """Run one batch; (server CPU seconds per call, calls per second of wall time)."""
    cpu0, wall0 = _cpu_seconds(contender.pid), time.perf_counter()
    if in_flight == 1:
        for _ in range(calls):
            contender.one(stream)
    else:
        left = [calls]

        async def worker() -> None:
            while left[0] > 0:
                left[0] -= 1
                await contender.one_async(stream)

        async def all_workers() -> None:
            await asyncio.gather(*(worker() for _ in range(in_flight)))

        loop.run_until_complete(all_workers())
    wall, cpu = time.perf_counter() - wall0, _cpu_seconds(contender.pid) - cpu0
    return cpu / calls, calls / wall


Figures = dict[tuple[str, int, bool], dict[str, list[float]]]


def _measure(contenders: list[_Contender], budget: Budget) -> tuple[Figures, Figures]:
    """Per mode (label, in flight, streamed) and contender: CPU per call and req/s, per round."""
    cpu: Figures = {}
    rate: Figures = {}
    loop = asyncio.new_event_loop()
    try:
        for in_flight, calls in ((1, budget.pick(200, 4)), (IN_FLIGHT, budget.pick(500, 60))):
            for stream in (False, True):
                mode = (f"{in_flight} in flight, {'streamed' if stream else 'non-streamed'}", in_flight, stream)
                cpu[mode] = {c.name: [] for c in contenders}
                rate[mode] = {c.name: [] for c in contenders}
                for contender in contenders:  # warm-up: connections, caches, the first-call imports
                    _batch(contender, loop, max(calls // 4, in_flight), in_flight, stream)
                for index in range(budget.pick(7, 1)):
                    order = contenders if index % 2 == 0 else contenders[::-1]
                    for contender in order:
                        per_call, per_second = _batch(contender, loop, calls, in_flight, stream)
                        cpu[mode][contender.name].append(per_call)
                        rate[mode][contender.name].append(per_second)
    finally:

        async def close_all() -> None:
            await asyncio.gather(*(c.asynchronous.close() for c in contenders))

        loop.run_until_complete(close_all())
        loop.close()
    return cpu, rate


def _ratio(values: dict[str, list[float]], name: str) -> float | None:
    """Median of the per-round ratios to the floor; None when no round measured both (/proc
    counts CPU in 10 ms ticks: a smoke run's few calls may show none)."""
    pairs = [(a, b) for a, b in zip(values[name], values["floor"], strict=True) if a > 0 and b > 0]
    return statistics.median(a / b for a, b in pairs) if pairs else None


def _rows(cpu: Figures, rate: Figures, g4f_note: str | None) -> list[Row]:
    rows = []
    # Where gpt4free's server cannot run, our rows say so (its own rows are left out).
    skipped = f"; g4f api skipped: {g4f_note}" if g4f_note else ""
    for figures, goal in ((cpu, CPU_GOAL), (rate, RATE_GOAL)):
        for mode, values in figures.items():
            label, in_flight, _ = mode
            if figures is rate and in_flight == 1:
                continue
            floor = statistics.median(values["floor"])
            ratio = _ratio(values, "ours")
            show: Callable[[float], str]
            if figures is cpu:
                what, show = "server CPU per chat call", format_us
                met, goal_text = ratio is not None and ratio <= goal, f"<= {goal:.2f}x"
            else:
                what, show = "throughput", _per_second
                met, goal_text = ratio is not None and ratio >= goal, f">= {goal:.2f}x"
            rows.append(
                Row(
                    "11",
                    f"gateway {what}, {label}",
                    show(statistics.median(values["ours"])),
                    f"floor {show(floor)}{skipped}",
                    ratio,
                    goal_text,
                    verdict(met) if ratio is not None else "info",
                )
            )
            if "g4f" in values:
                rows.append(
                    Row(
                        "11",
                        f"g4f api {what}, {label}",
                        show(statistics.median(values["g4f"])),
                        f"floor {show(floor)}",
                        _ratio(values, "g4f"),
                        "-",
                        "info",
                    )
                )
    return rows


def _per_second(rate: float) -> str:
    return f"{rate:,.0f} req/s"


def _load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def run(budget: Budget) -> list[Row]:
    """Measure target 11 and return its rows."""
    if importlib.util.find_spec("openai") is None or importlib.util.find_spec("uvicorn") is None:
        return [
            Row("11", "gateway against the floor", "-", "-", None, "-", "skipped (openai or uvicorn not installed)")
        ]
    g4f_note = g4f_missing()
    before = _load_average()
    with contextlib.ExitStack() as stack:
        upstream = stack.enter_context(spawn("emulator"))
        contenders = []
        for name, start in (("ours", _ours), ("floor", _floor), ("g4f", _g4f)):
            if name == "g4f" and g4f_note:
                continue
            url, pid = stack.enter_context(start(upstream))
            contender = _Contender(name, url, pid)
            stack.callback(contender.close)
            contenders.append(contender)
        cpu, rate = _measure(contenders, budget)
    after = _load_average()
    load = Row(
        "11",
        "machine load average (1 min) during target 11",
        f"{after:.1f} at the end",
        f"{before:.1f} at the start",
        None,
        "-",
        "info",
    )
    return [*_rows(cpu, rate, g4f_note), load]
