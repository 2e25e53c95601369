"""Target 8: what the OpenAI-compatible gateway adds, over loopback.

*Added latency per call.* The emulator runs in its own process, and `dynaspark gateway` (the
real command, uvicorn) in another, in front of it. Baseline: the SDK's `Client` calling the
emulator directly (`chat("hello")`, `generate_text("hello")`). Contender: a plain
`httpx.Client` posting the same prompt to the gateway's `/v1/chat/completions` (model
`gemini-1.5-flash-8b`, then `text/openai`) and reading the answer's JSON. Batches alternate
(see `_harness`); the figure is the median over rounds of the per-round difference, per call,
so the machine's drift cancels out. Goal: <= 1 ms.

*First streamed byte.* The gateway's upstream is the ``stamped-sse`` server, whose events carry
the `time.perf_counter()` of their write (CLOCK_MONOTONIC on Linux: one clock for every
process). A client streams `text/x` through the gateway and takes, at the first content chunk,
its own perf_counter minus the stamp: the time from the upstream's flush to the client, through
the gateway. Baseline: the SDK's `Client.stream_text` reading the same server directly. Goal:
the median through the gateway <= 2 ms.

*Gateway CPU.* Both figures above are wall time across three processes on a shared machine,
so they move with the load; the gateway process's own CPU time per call (from /proc, summed
over every batch) is reported next to them, against the client CPU of the direct SDK call.

*Gateway instructions.* Where valgrind is installed (not in smoke mode), the gateway also runs
under ``valgrind --tool=callgrind`` with collection off until it is warm, then on for a batch
of chat and text calls: user-space instructions per call, the same from run to run whatever
the machine's load (it leaves out the kernel's share, about a tenth of the CPU time). Batches
of Responses API calls (`/v1/responses`, with `store: false`, then stored in the default
in-memory store) are counted apart, against the chat call of the same model in the same run:
goal, for both, no more than chat's (see `COUNT_NOISE`).

*Responses API.* The latency and CPU rows run for `/v1/responses` too (same model, stored in
the default in-memory store), and storing a response is timed in process: goal <= 100 us.
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
from ._servers import spawn

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
_CALLS = {"chat": "chat call", "text": "text call", "responses": "Responses API call (stored)"}


class _Gateway:
    """A running `dynaspark gateway`: its /v1 `url`, and the CPU seconds its process has used."""

    def __init__(self, url: str, pid: int) -> None:
        self.url = url
        self.pid = pid
        self._stat = f"/proc/{pid}/stat"

    def cpu(self) -> float | None:
        """User + system CPU seconds of the gateway process so far (None where /proc is missing)."""
        try:
            with open(self._stat) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
        Client(base_url=upstream) as sdk,
        httpx.Client(base_url=gateway.url, trust_env=False) as http,
    ):
        gateway_cpu = {"chat": [0.0, 0], "text": [0.0, 0], "responses": [0.0, 0]}

        def count_cpu(operation: str, before: float | None) -> None:
            after = gateway.cpu()
            if before is not None and after is not None:
                spent = gateway_cpu[operation]
                spent[0] += after - before
                spent[1] += calls

        def post(model: str) -> None:
            before = gateway.cpu()
            for _ in range(calls):
                response = http.post(
                    "/chat/completions", json={"model": model, "messages": [{"role": "user", "content": PROMPT}]}
                )
                response.raise_for_status()
                response.json()["choices"][0]["message"]["content"]
            count_cpu("chat" if model.startswith("gemini") else "text", before)

        def respond() -> None:
            # The Responses API's plain call, stored (its default) in the in-memory store.
            before = gateway.cpu()
            for _ in range(calls):
                response = http.post("/responses", json={"model": "gemini-1.5-flash-8b", "input": PROMPT})
                response.raise_for_status()
                response.json()["output"][0]["content"][0]["text"]
            count_cpu("responses", before)

        def sdk_chat() -> None:
            for _ in range(calls):
                sdk.chat(PROMPT, model="gemini-1.5-flash-8b")

        def sdk_text() -> None:
            for _ in range(calls):
                sdk.generate_text(PROMPT)

        contenders = {
            "sdk chat": sdk_chat,
            "gateway chat": lambda: post("gemini-1.5-flash-8b"),
            "sdk text": sdk_text,
            "gateway text": lambda: post("text/openai"),
            "sdk responses": sdk_chat,
            "gateway responses": respond,
        }
        results = alternate(contenders, calls=calls, rounds=budget.pick(15, 2))
    rows = []
    operations = (("chat", "Client.chat"), ("text", "Client.generate_text"), ("responses", "Client.chat"))
    for operation, sdk_call in operations:
        direct, through = results[f"sdk {operation}"], results[f"gateway {operation}"]
        added = statistics.median(g - d for g, d in zip(through.wall, direct.wall, strict=True))
        rows.append(
            Row(
                target="8",
                measurement=f"gateway's added latency per {_CALLS[operation]} (httpx -> gateway -> emulator), wall",
                value=f"{'+' if added >= 0 else '-'}{format_us(abs(added))} ({format_us(through.wall_median)} a call)",
                baseline=f"sdk {sdk_call} {format_us(direct.wall_median)}",
                ratio=through.wall_ratio(direct),
                goal=f"added <= {ADDED_GOAL * 1e3:.0f} ms",
                verdict=verdict(added <= ADDED_GOAL),
            )
        )
        seconds, count = gateway_cpu[operation]
        if count:
            rows.append(
                Row(
                    target="8",
                    measurement=f"gateway process CPU per {_CALLS[operation]} (uvicorn + Starlette + AsyncClient)",
                    value=format_us(seconds / count),
                    baseline=f"client CPU of sdk {sdk_call} {format_us(direct.cpu_median)}",
                    # /proc counts clock ticks (10 ms): a smoke run's few calls may show none.
                    ratio=seconds / count / direct.cpu_median if direct.cpu_median > 0 and seconds > 0 else None,
                    goal="-",
                    verdict="info",
                )
            )
    return rows


def _instruction_rows(budget: Budget) -> list[Row]:
    """The gateway's user-space instructions per call under callgrind (see the module's
    docstring): chat and text, then `/v1/responses` unstored and stored, each against the chat
    completion of the same model and prompt measured in the same run. Goal for both Responses
    rows: no more than chat's, within `COUNT_NOISE` (0.3%, the counts' noise from run to run)."""
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

            for model in models:
                post(model, 30)  # imports done, pools and caches warm
            respond(30)
            pid = str(gateway.pid)
            # One count per batch: a dump ends each (`out.1`, `out.2`, `out.3`); the last is written at exit.
            batches: dict[str, Callable[[], None]] = {
                "chat": lambda: post(models[0], calls),
                "text": lambda: post(models[1], calls),
                "responses": lambda: respond(calls, store=False),
                "stored": lambda: respond(calls),
            }
            for index, batch in enumerate(batches.values()):
                subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
                batch()
                subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)
                if index < len(batches) - 1:
                    subprocess.run(["callgrind_control", "-d", pid], check=True, capture_output=True)
        totals = dict.fromkeys(batches, 0)
        for name in glob.glob(out + "*"):
            operation = {".1": "chat", ".2": "text", ".3": "responses"}.get(name[-2:], "stored")
            with open(name) as dump:
                for line in dump:
                    if line.startswith("totals:"):  # (its "summary:" line counts from the start: 0)
                        totals[operation] += int(line.split()[1])
    chat, text, responses, stored = (totals[operation] / calls for operation in batches)
    return [
        Row(
            target="8",
            measurement="gateway process instructions per call, chat and text alike (callgrind, user space)",
            value=f"{(chat + text) / 2e6:.3f} M",
            baseline="-",
            ratio=None,
            goal="-",
            verdict="info",
        ),
        Row(
            target="8",
            measurement="gateway process instructions per Responses API call, store: false (callgrind, user space)",
            value=f"{responses / 1e6:.3f} M",
            baseline=f"chat completion, same model {chat / 1e6:.3f} M",
            ratio=responses / chat if chat else None,
            goal="<= chat's",
            verdict=verdict(responses <= chat * (1 + COUNT_NOISE)),
        ),
        Row(
            target="8",
            measurement="gateway process instructions per Responses API call, stored (callgrind, user space)",
            value=f"{stored / 1e6:.3f} M",
            baseline=f"chat completion, same model {chat / 1e6:.3f} M",
            ratio=stored / chat if chat else None,
            goal="<= chat's",
            verdict=verdict(stored <= chat * (1 + COUNT_NOISE)),
        ),
    ]


def _store_rows(budget: Budget) -> list[Row]:
    """What storing one response costs the gateway (in-memory SQLite, the default store), in
    process: what `/v1/responses` adds to the answer it renders anyway (the input items and the
    turn as JSON, the row), for a request `{"input": PROMPT}`."""
    from dynaspark_sdk.integrations.gateway._response_store import ResponseStore
    from dynaspark_sdk.integrations.gateway._shapes.parameters import policies
    from dynaspark_sdk.integrations.gateway._shapes.response_objects import (
        NO_USAGE_JSON,
        encode,
        output_message_json,
        response_ids,
        response_json,
    )
    from dynaspark_sdk.integrations.gateway._shapes.responses import parse_responses

    model = "gemini-1.5-flash-8b"
    count = budget.pick(5000, 20)
    store = ResponseStore()
    owner = store.owner("a key")
    request = parse_responses({"model": model, "input": PROMPT}, (model,), policies())
    answer = f"[{model}] You said: {PROMPT}"
    rendered = []
    for _ in range(count):  # the answers, as the gateway renders them before it stores one
        ident, item = response_ids()
        output = output_message_json(item, encode(answer))
        body = response_json(ident, "completed", 0, 0, encode(model), output, NO_USAGE_JSON, request.echo_json())
        rendered.append((ident, body))
    started = time.perf_counter()
    for ident, body in rendered:
        items, turn = request.stored_json(ident, answer)
        store.save(owner, ident, request.previous_response_id, body, items, turn)
    store.close()  # with the last rows it holds to write in one go (in memory it writes them in batches)
    per_save = (time.perf_counter() - started) / count
    per_insert = _bare_sqlite_insert([body for _, body in rendered])
    return [
        Row(
            target="8",
            measurement="storing a response (in-memory SQLite, the default store), per response",
            value=format_us(per_save),
            baseline=f"bare SQLite insert of the same JSON {format_us(per_insert)}",
            ratio=per_save / per_insert if per_insert else None,
            goal=f"<= {STORE_GOAL * 1e6:.0f} us",
            verdict=verdict(per_save <= STORE_GOAL),
        )
    ]


def _bare_sqlite_insert(bodies: list[str]) -> float:
    """The floor of any SQLite store, measured in the same run: one committed INSERT of each
    rendered response into a one-table in-memory database, per response."""
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
