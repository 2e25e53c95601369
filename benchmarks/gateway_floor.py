"""Target 11: the gateway's cost per call against the floor, and against gpt4free's API server.

Three servers, each in its own process on 127.0.0.1, in front of the same emulator (its own
process too), all under uvicorn with the same settings (httptools and uvloop where installed,
no access log):

- *ours*: the real `dynaspark gateway` command (`--retries 0`), its upstream client over
  aiohttp (the command's default where aiohttp is installed, as in the benchmark venv);
- *floor*: `benchmarks/_floor.py`, a raw ASGI app that parses the OpenAI JSON body, makes the
  same upstream form POST through one shared `httpx.AsyncClient` (keep-alive, at most 10
  upstream calls at once) and answers a fixed OpenAI-shaped JSON (or its SSE): the least a
  gateway on this stack can cost;
- *g4f*: gpt4free's own API server (`g4f api`, g4f 0.5.2.0, its FastAPI app) with its
  Dynaspark provider pointed at the emulator (`benchmarks/_g4f_api.py`), where g4f, fastapi
  and python-multipart are installed (the benchmark venv); skipped elsewhere.

The client is the `openai` package in this process: `OpenAI.chat.completions.create` one call
at a time (*1 in flight*), and `AsyncOpenAI` with 50 tasks calling at once (*50 in flight*),
non-streamed and streamed (every chunk read). After an untimed warm-up, every figure is
taken per round; a figure is the median over rounds, a ratio the median of the per-round
ratios to the floor, shown with the spread of those ratios (their quartiles).

*How CPU is counted.* A server's CPU is its process's CPU time, user and system, of all its
threads, read from Linux's CPU-time clock of that process (`clock_gettime` on the clock of
another pid, nanoseconds: see `_process_cpu`) before and after the calls it is charged with.
Where that clock cannot be read, /proc's user + system time in 10 ms ticks is read instead,
and the rows say so: a round of 100 calls of about 1.3 ms is then only some 13 ticks, and
two runs' verdicts may disagree on that alone. The kernel's share counts (sockets, epoll);
the client's and the emulator's CPU does not.

*1 in flight*: each round makes `CALLS_ONE` calls to each contender, taking turns in groups of
`GROUP` calls (A B C, then C B A, ...), and reads each server's clock at the round's start and
end: the contenders meet the same moments of the machine's load (batches that follow one
another do not, on a shared machine), and what a server does after its answer went out (the
gateway's log line) is counted. An idle uvicorn server uses next to nothing in between.

*50 in flight*: per round one batch of `CALLS_MANY` calls to each contender (A B C, then
C B A, ...): the server's CPU per call over the batch, and the calls per second of wall time.
Under 50 calls at once a server's CPU per call is not a property of its code alone: it falls
as more requests are handled per turn of its event loop (fewer wake-ups, fuller reads and
writes per system call), which depends on how fast the client, the emulator and the other
work of the machine feed it. So these rows show what a server costs in this setup, on this
2-core machine, with its load at the time; they cannot tell a difference of a few percent in
the code from one in how requests happened to batch (the callgrind counts of target 8 and
BENCHMARKS.md say where the code stands). The same holds, less, for the rate.

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
from ._process_cpu import ProcessCPU
from ._servers import spawn

__all__ = ["floor_server", "run"]

CPU_GOAL = 1.10
RATE_GOAL = 0.95
MODEL = "gemini-1.5-flash-8b"
PROMPT = "hello"
IN_FLIGHT = 50
#: One call in flight: rounds, calls to each contender per round, and how many calls to one
#: contender in a row before the next takes its turn.
ROUNDS_ONE, CALLS_ONE, GROUP = 15, 100, 10
#: `IN_FLIGHT` in flight: rounds, and calls per batch (one batch per contender per round).
ROUNDS_MANY, CALLS_MANY = 9, 400
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def floor_server(upstream: str) -> contextlib.AbstractContextManager[tuple[str, int]]:
    """The floor (`benchmarks/_floor.py`) in its own process in front of `upstream`; (url, pid)."""
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

        self.name, self.url = name, url
        self.cpu = ProcessCPU(pid)
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


def _interleaved(contenders: list[_Contender], calls: int, stream: bool, reverse: bool) -> dict[str, float]:
    """One round of one call in flight: `calls` calls to each contender, in groups of `GROUP`
    taking turns (A B C, then C B A, ...; `reverse` starts with the other order), so that
    every contender meets the same moments of the machine's load. Each server's CPU clock is
    read at the round's start and end: what it did between its calls (a log line written
    after the answer went out) counts too, and an idle server uses next to nothing. Returns
    server CPU seconds per call, by contender."""
    groups, size = (calls // GROUP, GROUP) if calls >= GROUP else (1, calls)
    before = {c.name: c.cpu.seconds() or 0.0 for c in contenders}
    for group in range(groups):
        for contender in contenders[::-1] if (group % 2 == 1) != reverse else contenders:
            for _ in range(size):
                contender.one(stream)
    return {c.name: ((c.cpu.seconds() or 0.0) - before[c.name]) / (groups * size) for c in contenders}


def _batch(contender: _Contender, loop: asyncio.AbstractEventLoop, calls: int, stream: bool) -> tuple[float, float]:
    """One batch of `calls` calls to one contender, `IN_FLIGHT` at a time; (server CPU seconds
    per call, calls per second of wall time)."""
    cpu0, wall0 = contender.cpu.seconds() or 0.0, time.perf_counter()
    left = [calls]

    async def worker() -> None:
        while left[0] > 0:
            left[0] -= 1
            await contender.one_async(stream)

    async def all_workers() -> None:
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))

    loop.run_until_complete(all_workers())
    wall, cpu = time.perf_counter() - wall0, (contender.cpu.seconds() or 0.0) - cpu0
    return cpu / calls, calls / wall


Figures = dict[tuple[str, int, bool], dict[str, list[float]]]


def _measure(contenders: list[_Contender], budget: Budget) -> tuple[Figures, Figures]:
    """Per mode (label, in flight, streamed) and contender: CPU per call and (at `IN_FLIGHT`
    in flight) req/s, per round."""
    cpu: Figures = {}
    rate: Figures = {}
    loop = asyncio.new_event_loop()
    try:
        for stream in (False, True):  # one call in flight
            mode = (f"1 in flight, {'streamed' if stream else 'non-streamed'}", 1, stream)
            cpu[mode] = {c.name: [] for c in contenders}
            _interleaved(contenders, budget.pick(50, 2), stream, False)  # warm-up: connections, caches, imports
            for index in range(budget.pick(ROUNDS_ONE, 1)):
                for name, per_call in _interleaved(
                    contenders, budget.pick(CALLS_ONE, 4), stream, index % 2 == 1
                ).items():
                    cpu[mode][name].append(per_call)
        calls = budget.pick(CALLS_MANY, 60)
        for stream in (False, True):
            mode = (f"{IN_FLIGHT} in flight, {'streamed' if stream else 'non-streamed'}", IN_FLIGHT, stream)
            cpu[mode] = {c.name: [] for c in contenders}
            rate[mode] = {c.name: [] for c in contenders}
            for contender in contenders:  # warm-up: the connections at this concurrency
                _batch(contender, loop, max(calls // 4, IN_FLIGHT), stream)
            for index in range(budget.pick(ROUNDS_MANY, 1)):
                for contender in contenders if index % 2 == 0 else contenders[::-1]:
                    per_call, per_second = _batch(contender, loop, calls, stream)
                    cpu[mode][contender.name].append(per_call)
                    rate[mode][contender.name].append(per_second)
    finally:

        async def close_all() -> None:
            await asyncio.gather(*(c.asynchronous.close() for c in contenders))

        loop.run_until_complete(close_all())
        loop.close()
    return cpu, rate


def _round_ratios(values: dict[str, list[float]], name: str) -> list[float]:
    """The per-round ratios of `name` to the floor (a round where either measured none left
    out: from /proc's 10 ms ticks, a smoke run's few calls may show none)."""
    return [a / b for a, b in zip(values[name], values["floor"], strict=True) if a > 0 and b > 0]


def _ratio(values: dict[str, list[float]], name: str) -> float | None:
    """Median of the per-round ratios to the floor; None when no round measured both."""
    ratios = _round_ratios(values, name)
    return statistics.median(ratios) if ratios else None


def _spread(values: dict[str, list[float]], name: str) -> str:
    """The quartiles of the per-round ratios to the floor, for the row ("" under 4 rounds)."""
    ratios = _round_ratios(values, name)
    if len(ratios) < 4:
        return ""
    low, _, high = statistics.quantiles(ratios, n=4)
    return f" (rounds {low:.2f}-{high:.2f}x)"


def _rows(cpu: Figures, rate: Figures, g4f_note: str | None, coarse: str) -> list[Row]:
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
                what, show = f"server CPU per chat call{coarse}", format_us
                met, goal_text = ratio is not None and ratio <= goal, f"<= {goal:.2f}x"
            else:
                what, show = "throughput", _per_second
                met, goal_text = ratio is not None and ratio >= goal, f">= {goal:.2f}x"
            rows.append(
                Row(
                    "11",
                    f"gateway {what}, {label}",
                    show(statistics.median(values["ours"])) + _spread(values, "ours"),
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
                        show(statistics.median(values["g4f"])) + _spread(values, "g4f"),
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
        for name, start in (("ours", _ours), ("floor", floor_server), ("g4f", _g4f)):
            if name == "g4f" and g4f_note:
                continue
            url, pid = stack.enter_context(start(upstream))
            contender = _Contender(name, url, pid)
            stack.callback(contender.close)
            contenders.append(contender)
        cpu, rate = _measure(contenders, budget)
        coarse = contenders[0].cpu.coarse_note
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
    return [*_rows(cpu, rate, g4f_note, coarse), load]
