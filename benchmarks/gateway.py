"""Target 8: what the OpenAI-compatible gateway adds, over loopback.

*Added latency per call.* The emulator runs in its own process, and `dynaspark gateway` (the
real command, uvicorn) in another, in front of it. Baseline: the SDK's `Client` calling the
emulator directly (`chat("hello")`, `generate_text("hello")`). Contender: a plain
`httpx.Client` posting the same prompt to the gateway (its upstream client over aiohttp, the
command's default where aiohttp is installed) at `/v1/chat/completions` (model
`gemini-1.5-flash-8b`, then `text/openai`) and reading the answer's JSON. Batches alternate
(see `_harness`); the figure is the median over rounds of the per-round difference, per call,
so the machine's drift cancels out. Goal: <= 1 ms.

*The floor's added latency* (info, no goal): the same measurement for `benchmarks/_floor.py`
(target 11's floor: a raw ASGI app under the same uvicorn that makes the same upstream call
and answers a fixed OpenAI-shaped JSON) in front of the same emulator, its batches next to
the direct chat batches: what any gateway on this stack adds on this machine, the least a
gateway can add, to read the gateway's rows against.

*First streamed byte.* The gateway's upstream is the ``stamped-sse`` server, whose events carry
the `time.perf_counter()` of their write (CLOCK_MONOTONIC on Linux: one clock for every
process). A client streams `text/x` through the gateway and takes, at the first content chunk,
its own perf_counter minus the stamp: the time from the upstream's flush to the client, through
the gateway. Baseline: the SDK's `Client.stream_text` reading the same server directly. Goal:
the median through the gateway <= 2 ms.

*Gateway CPU.* Both figures above are wall time across three processes on a shared machine,
so they move with the load; the gateway process's own CPU time per call (and the floor's),
summed over every batch, is reported next to them, against the client CPU of the direct SDK
call. It is read from Linux's CPU-time clock of the server process (nanoseconds, user and
system time of all its threads; see `_process_cpu`), else from /proc in 10 ms ticks, which
the row then says.

*Gateway instructions.* Where valgrind is installed (not in smoke mode), the gateway also runs
under ``valgrind --tool=callgrind`` with collection off until it is warm, then on for a batch
of chat and text calls: user-space instructions per call, the same from run to run whatever
the machine's load (it leaves out the kernel's share, about a tenth of the CPU time). Batches
of Responses API calls (`/v1/responses`, with `store: false`, then stored in the default
in-memory store) are counted apart, against the chat call of the same model in the same run:
goal, for both, no more than chat's (see `COUNT_NOISE`). So are streamed calls (`stream: true`,
each read to its end): `/v1/responses` unstored and stored against a streamed chat completion
of the same model; goal, no more than the chat stream's.

*Responses API.* The latency and CPU rows run for `/v1/responses` too (same model, stored in
the default in-memory store), and storing a response is timed in process, against a bare
in-memory SQLite insert of the same JSON: goal <= 100 us. Storing one in a SQLite file
(`--responses-db`) is timed too (info).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

import httpx

from ._harness import Budget, Row, alternate, format_ms, format_us, verdict
from ._process_cpu import ProcessCPU
from ._servers import spawn
from .gateway_floor import floor_server

__all__ = ["run"]

ADDED_GOAL = 0.001
FIRST_BYTE_GOAL = 0.002
PROMPT = "hello"
STORE_GOAL = 0.0001
#: How far a Responses API count may be over chat's and still meet "no more": callgrind's counts
#: of the same batch repeat to within about 0.1-0.3% from run to run (chat's: 3.315-3.319 M in
#: six runs on 2026-12-07), so a count that close to chat's cannot be told from it.
COUNT_NOISE = 0.003
#: What each operation's rows call one call.
_CALLS = {
    "chat": "chat call",
    "text": "text call",
    "responses": "Responses API call (stored)",
    "floor": "chat call",
}


class _Gateway:
    """A running `dynaspark gateway`: its /v1 `url`, and the CPU its process has used (`cpu`)."""

    def __init__(self, url: str, pid: int) -> None:
        self.url = url
        self.pid = pid
        self.cpu = ProcessCPU(pid)


@contextlib.contextmanager
def _gateway(upstream: str, wrapper: tuple[str, ...] = ()) -> Iterator[_Gateway]:
    """`dynaspark gateway` on a free port in front of `upstream` (run under `wrapper`, a
    command such as valgrind's, if given), for the `with` block."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DYNASPARK_")}
    argv = [*wrapper, sys.executable, "-m", "dynaspark_sdk", "--base-url", upstream, "--retries", "0"]
    child = subprocess.Popen(
        [*argv, "gateway", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        while wrapper and line and not line.startswith("Dynaspark gateway serving "):
            line = child.stdout.readline()
        if not line.startswith("Dynaspark gateway serving "):
            raise RuntimeError(f"the gateway did not start (it printed {line!r})")
        yield _Gateway(line.split()[3], child.pid)
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=120 if wrapper else 15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def _added_rows(budget: Budget) -> list[Row]:
    from dynaspark_sdk import Client

    calls = budget.pick(200, 3)
    with (
        spawn("emulator") as upstream,
        _gateway(upstream) as gateway,
        floor_server(upstream) as (floor_url, floor_pid),
        Client(base_url=upstream) as sdk,
        httpx.Client(base_url=gateway.url, trust_env=False) as http,
        httpx.Client(base_url=floor_url, trust_env=False) as floor_http,
    ):
        # CPU seconds and calls of the server process, by operation (summed over every batch).
        server_cpu = {"chat": [0.0, 0], "text": [0.0, 0], "responses": [0.0, 0], "floor": [0.0, 0]}
        clocks = {"floor": ProcessCPU(floor_pid)}

        def counted(operation: str, batch: Callable[[], None]) -> None:
            clock = clocks.get(operation, gateway.cpu)
            before = clock.seconds()
            batch()
            after = clock.seconds()
            if before is not None and after is not None:
                spent = server_cpu[operation]
                spent[0] += after - before
                spent[1] += calls

        def post(client: httpx.Client, model: str) -> None:
            body = {"model": model, "messages": [{"role": "user", "content": PROMPT}]}
            for _ in range(calls):
                response = client.post("/chat/completions", json=body)
                response.raise_for_status()
                response.json()["choices"][0]["message"]["content"]

        def respond() -> None:
            # The Responses API's plain call, stored (its default) in the in-memory store.
            for _ in range(calls):
                response = http.post("/responses", json={"model": "gemini-1.5-flash-8b", "input": PROMPT})
                response.raise_for_status()
                response.json()["output"][0]["content"][0]["text"]

        def sdk_chat() -> None:
            for _ in range(calls):
                sdk.chat(PROMPT, model="gemini-1.5-flash-8b")

        def sdk_text() -> None:
            for _ in range(calls):
                sdk.generate_text(PROMPT)

        # The floor's batch runs next to the direct chat batch, which is its baseline too.
        contenders = {
            "gateway floor": lambda: counted("floor", lambda: post(floor_http, "gemini-1.5-flash-8b")),
            "sdk chat": sdk_chat,
            "gateway chat": lambda: counted("chat", lambda: post(http, "gemini-1.5-flash-8b")),
            "sdk text": sdk_text,
            "gateway text": lambda: counted("text", lambda: post(http, "text/openai")),
            "sdk responses": sdk_chat,
            "gateway responses": lambda: counted("responses", respond),
        }
        results = alternate(contenders, calls=calls, rounds=budget.pick(15, 2))
        coarse = gateway.cpu.coarse_note
    rows = []
    operations = (
        ("chat", "Client.chat"),
        ("text", "Client.generate_text"),
        ("responses", "Client.chat"),
        ("floor", "Client.chat"),
    )
    for operation, sdk_call in operations:
        direct = results["sdk chat" if operation == "floor" else f"sdk {operation}"]
        through = results[f"gateway {operation}"]
        added = statistics.median(g - d for g, d in zip(through.wall, direct.wall, strict=True))
        server, what = ("floor app", "floor") if operation == "floor" else ("gateway", "gateway")
        rows.append(
            Row(
                target="8",
                measurement=f"{server}'s added latency per {_CALLS[operation]} (httpx -> {what} -> emulator), wall",
                value=f"{'+' if added >= 0 else '-'}{format_us(abs(added))} ({format_us(through.wall_median)} a call)",
                baseline=f"sdk {sdk_call} {format_us(direct.wall_median)}",
                ratio=through.wall_ratio(direct),
                # The floor's row is what any gateway on this stack adds on this machine: no goal.
                goal="-" if operation == "floor" else f"added <= {ADDED_GOAL * 1e3:.0f} ms",
                verdict="info" if operation == "floor" else verdict(added <= ADDED_GOAL),
            )
        )
        seconds, count = server_cpu[operation]
        if count:
            stack = (
                "uvicorn + raw ASGI + httpx.AsyncClient"
                if operation == "floor"
                else "uvicorn + Starlette + AsyncClient"
            )
            rows.append(
                Row(
                    target="8",
                    measurement=f"{server} process CPU per {_CALLS[operation]} ({stack}{coarse})",
                    value=format_us(seconds / count),
                    baseline=f"client CPU of sdk {sdk_call} {format_us(direct.cpu_median)}",
                    # (From /proc's 10 ms ticks, a smoke run's few calls may show none.)
                    ratio=seconds / count / direct.cpu_median if direct.cpu_median > 0 and seconds > 0 else None,
                    goal="-",
                    verdict="info",
                )
            )
    return rows


def _instruction_rows(budget: Budget) -> list[Row]:
    """The gateway's user-space instructions per call under callgrind (see the module's
    docstring): chat and text, then `/v1/responses` unstored and stored, each against the chat
    completion of the same model and prompt measured in the same run; then the same streamed,
    against a streamed chat completion. Goal for the Responses rows: no more than chat's (or
    the chat stream's), within `COUNT_NOISE` (0.3%, the counts' noise from run to run)."""
    if budget.smoke or shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        return []
    calls = 200
    models = ("gemini-1.5-flash-8b", "text/openai")
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "callgrind.out")
        wrapper = ("valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}")
        with (
            spawn("emulator") as upstream,
            _gateway(upstream, wrapper) as gateway,
            httpx.Client(base_url=gateway.url, trust_env=False, timeout=120) as http,
        ):

            def post(model: str, count: int) -> None:
                for _ in range(count):
                    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}]}
                    http.post("/chat/completions", json=body).raise_for_status()

            def respond(count: int, store: bool = True) -> None:
                body = {"model": models[0], "input": PROMPT, "store": store}
                for _ in range(count):
                    http.post("/responses", json=body).raise_for_status()

            def stream(path: str, body: dict[str, object], count: int) -> None:
                for _ in range(count):  # each read to its end, as a client's stream iterator does
                    with http.stream("POST", path, json={**body, "stream": True}) as answer:
                        answer.raise_for_status()
                        for _ in answer.iter_bytes():
                            pass

            chat_body: dict[str, object] = {"model": models[0], "messages": [{"role": "user", "content": PROMPT}]}
            for model in models:
                post(model, 30)  # imports done, pools and caches warm
            respond(30)
            stream("/chat/completions", chat_body, 30)
            stream("/responses", {"model": models[0], "input": PROMPT}, 30)
            pid = str(gateway.pid)
            batches: dict[str, Callable[[], None]] = {
                "chat": lambda: post(models[0], calls),
                "text": lambda: post(models[1], calls),
                "responses": lambda: respond(calls, store=False),
                "stored": lambda: respond(calls),
                "chat_stream": lambda: stream("/chat/completions", chat_body, calls),
                "responses_stream": lambda: stream(
                    "/responses", {"model": models[0], "input": PROMPT, "store": False}, calls
                ),
                "stored_stream": lambda: stream("/responses", {"model": models[0], "input": PROMPT}, calls),
            }
            # One count per batch: each ends with a dump named after it (callgrind writes it to
            # `out.1`, `out.2`, ... with "desc: Trigger: dump <name>"); what is left, written to
            # `out` at exit, was counted with collection off (0).
            for name, batch in batches.items():
                subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
                batch()
                subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)
                subprocess.run(["callgrind_control", "-d", name, pid], check=True, capture_output=True)
        totals = dict.fromkeys(batches, 0)
        for path in glob.glob(out + ".*"):
            operation = ""
            with open(path) as dump:
                for line in dump:
                    if line.startswith("desc: Trigger: "):
                        operation = line.split()[-1]  # "... dump <name>"
                    elif line.startswith("totals:"):  # (its "summary:" line counts from the start: 0)
                        totals[operation] += int(line.split()[1])
    per_call = {operation: total / calls for operation, total in totals.items()}
    chat, text = per_call["chat"], per_call["text"]

    def counted(what: str, count: float) -> Row:
        return Row(
            target="8",
            measurement=f"gateway process instructions per {what} (callgrind, user space)",
            value=f"{count / 1e6:.3f} M",
            baseline="-",
            ratio=None,
            goal="-",
            verdict="info",
        )

    def against(operation: str, baseline: str, what: str) -> Row:
        count, base = per_call[operation], per_call[baseline]
        name = "chat completion" if baseline == "chat" else "streamed chat completion"
        return Row(
            target="8",
            measurement=f"gateway process instructions per {what} (callgrind, user space)",
            value=f"{count / 1e6:.3f} M",
            baseline=f"{name}, same model {base / 1e6:.3f} M",
            ratio=count / base if base else None,
            goal=f"<= {'chat' if baseline == 'chat' else 'chat stream'}'s",
            verdict=verdict(count <= base * (1 + COUNT_NOISE)),
        )

    return [
        counted("call, chat and text alike", (chat + text) / 2),
        against("responses", "chat", "Responses API call, store: false"),
        against("stored", "chat", "Responses API call, stored"),
        counted("streamed chat completion", per_call["chat_stream"]),
        against("responses_stream", "chat_stream", "streamed Responses API call, store: false"),
        against("stored_stream", "chat_stream", "streamed Responses API call, stored"),
    ]


def _store_rows(budget: Budget) -> list[Row]:
    """What storing one response costs the gateway, in process: what `/v1/responses` adds to the
    answer it renders anyway (the input items and the turn as JSON, the save), for a request
    `{"input": PROMPT}`. In the default store (in memory, pure Python), against a bare SQLite
    insert of the same JSON in memory (the floor of the in-memory SQLite store it replaced); and,
    as information, in the store in a file (SQLite, `--responses-db`), in a temporary directory."""
    from dynaspark_sdk.integrations.gateway._response_store import MemoryResponseStore, ResponseStore
    from dynaspark_sdk.integrations.gateway._shapes.parameters import policies
    from dynaspark_sdk.integrations.gateway._shapes.response_objects import (
        NO_USAGE_JSON,
        encode,
        output_message_json,
        response_ids,
        response_json,
    )
    from dynaspark_sdk.integrations.gateway._shapes.responses import parse_responses
    from dynaspark_sdk.integrations.gateway._sqlite_response_store import SQLiteResponseStore

    model = "gemini-1.5-flash-8b"
    request = parse_responses({"model": model, "input": PROMPT}, (model,), policies())
    answer = f"[{model}] You said: {PROMPT}"

    def rendered(count: int) -> list[tuple[str, str]]:
        """The answers, as the gateway renders them before it stores one."""
        bodies = []
        for _ in range(count):
            ident, item = response_ids()
            output = output_message_json(item, encode(answer))
            body = response_json(ident, "completed", 0, 0, encode(model), output, NO_USAGE_JSON, request.echo_json())
            bodies.append((ident, body))
        return bodies

    def per_save(store: ResponseStore, bodies: list[tuple[str, str]]) -> float:
        owner = store.owner("a key")
        started = time.perf_counter()
        for ident, body in bodies:
            items, turn = request.stored_json(ident, answer)
            store.save(owner, ident, request.previous_response_id, body, items, turn)
        elapsed = time.perf_counter() - started
        store.close()
        return elapsed / len(bodies)

    def in_us(seconds: float) -> str:  # (a few microseconds: `format_us` would round away the tenths)
        return f"{seconds * 1e6:.1f} us"

    bodies = rendered(budget.pick(5000, 20))
    in_memory = per_save(MemoryResponseStore(), bodies)
    per_insert = _bare_sqlite_insert([body for _, body in bodies])
    with tempfile.TemporaryDirectory() as directory:
        in_file = per_save(
            SQLiteResponseStore(os.path.join(directory, "responses.sqlite3")), rendered(budget.pick(1000, 20))
        )
    return [
        Row(
            target="8",
            measurement="storing a response (in memory, the default store), per response",
            value=in_us(in_memory),
            baseline=f"bare in-memory SQLite insert of the same JSON {in_us(per_insert)}",
            ratio=in_memory / per_insert if per_insert else None,
            goal=f"<= {STORE_GOAL * 1e6:.0f} us",
            verdict=verdict(in_memory <= STORE_GOAL),
        ),
        Row(
            target="8",
            measurement="storing a response in a SQLite file (--responses-db), per response",
            value=format_us(in_file),
            baseline=f"in memory {in_us(in_memory)}",
            ratio=in_file / in_memory if in_memory else None,
            goal="-",
            verdict="info",
        ),
    ]


def _bare_sqlite_insert(bodies: list[str]) -> float:
    """The floor of an in-memory SQLite store, measured in the same run: one committed INSERT of
    each rendered response into a one-table in-memory database, per response."""
    import sqlite3

    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE responses (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
    started = time.perf_counter()
    for body in bodies:
        with connection:
            connection.execute("INSERT INTO responses (body) VALUES (?)", (body,))
    per_insert = (time.perf_counter() - started) / len(bodies)
    connection.close()
    return per_insert


def _stamp(text: str) -> float:
    return float(text.strip())


def _through_gateway(gateway: str, streams: int) -> list[float]:
    lags = []
    body = {"model": "text/x", "messages": [{"role": "user", "content": "go"}], "stream": True}
    with httpx.Client(base_url=gateway, trust_env=False) as http:
        for _ in range(streams):
            first: float | None = None
            with http.stream("POST", "/chat/completions", json=body) as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    if first is None and line.startswith("data: {"):
                        content = json.loads(line[6:])["choices"][0]["delta"].get("content")
                        if content:
                            first = time.perf_counter() - _stamp(content)
            assert first is not None
            lags.append(first)
    return lags


def _direct(upstream: str, streams: int) -> list[float]:
    from dynaspark_sdk import Client

    lags = []
    with Client(base_url=upstream) as client:
        for _ in range(streams):
            with client.stream_text("go") as stream:
                first = next(stream)
                lags.append(time.perf_counter() - _stamp(first))
                stream.until_done()
    return lags


def _first_byte_rows(budget: Budget) -> list[Row]:
    streams = budget.pick(40, 2)
    with spawn("stamped-sse") as upstream, _gateway(upstream) as gateway:
        _through_gateway(gateway.url, 1)  # connections opened, caches warm
        _direct(upstream, 1)
        through = _through_gateway(gateway.url, streams)
        direct = _direct(upstream, streams)
    median = statistics.median(through)
    return [
        Row(
            target="8",
            measurement=f"first chunk after the upstream's flush, via the gateway (worst {format_ms(max(through))})",
            value=format_ms(median),
            baseline=f"sdk Client.stream_text direct {format_ms(statistics.median(direct))}",
            ratio=None,
            goal=f"<= {FIRST_BYTE_GOAL * 1e3:.0f} ms",
            verdict=verdict(median <= FIRST_BYTE_GOAL),
        )
    ]


def run(budget: Budget) -> list[Row]:
    """Measure target 8 and return its rows."""
    return _added_rows(budget) + _instruction_rows(budget) + _store_rows(budget) + _first_byte_rows(budget)
