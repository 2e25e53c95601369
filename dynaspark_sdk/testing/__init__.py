"""An emulator of the whole Dynaspark service, for offline tests and benchmarks.

A pure core, `Emulator`, answers each request with a `ResponsePlan` (status, headers, body
steps); thin shells carry plans out: `EmulatorTransport` / `AsyncEmulatorTransport` in
process (no sockets), `serve()` on a real loopback socket. Faults (`faults.status(503)`,
`faults.reset()`, `faults.cut_stream()`, ...) are queued with `Emulator.inject`, and
`Emulator.requests` records what arrived; `Emulator.script_answers` plays a model (tool calls,
JSON, mistakes) instead of echoing; `parse_fault("status:503x3")` reads a fault written as text
(what `dynaspark serve-fake --fault` takes)::

    import httpx
    from dynaspark_sdk.testing import Emulator, EmulatorTransport, faults, serve

    emulator = Emulator(rate_limit=10)
    emulator.inject(faults.status(503))
    with httpx.Client(transport=EmulatorTransport(emulator), base_url="http://dynaspark.test") as http:
        assert http.get("/status").status_code == 503
        assert http.get("/status").json()["status"] == "ok"

    with serve(emulator) as server:
        httpx.get(server.url + "/api/generate_response", params={"user_input": "hi"})
        server.connections.open, server.connections.peak  # client connections now, and at most

The exact, deterministic rules of the answers (texts, token counts, stream events, MP3 and
PNG bodies, rate limiting) are documented at the top of ``dynaspark_sdk/testing/_emulator.py``.
No extra dependency: the loopback server uses h11, which httpx already depends on.
"""

from __future__ import annotations

from . import faults
from ._emulator import DEFAULT_TEXT_MODEL, Emulator, RecordedRequest, default_seed, echo_line
from ._fault_specs import FAULT_SPEC_SYNTAX, ScriptedFault, parse_fault
from ._forms import UploadedFile
from ._media import MP3_FRAME_BYTES, MP3_FRAME_HEADER
from ._plan import BodyStep, Cut, Delay, Reset, ResponsePlan, SendBytes
from ._scripts import Responder, load_answers
from ._server import ConnectionCount, EmulatorServer, run_forever, serve
from ._transport import AsyncEmulatorTransport, EmulatorTransport
from .faults import Fault

#: The earlier name of `SendBytes`, kept as an alias (it read like the client's request).
Send = SendBytes

__all__ = [
    "DEFAULT_TEXT_MODEL",
    "FAULT_SPEC_SYNTAX",
    "MP3_FRAME_BYTES",
    "MP3_FRAME_HEADER",
    "AsyncEmulatorTransport",
    "BodyStep",
    "ConnectionCount",
    "Cut",
    "Delay",
    "Emulator",
    "EmulatorServer",
    "EmulatorTransport",
    "Fault",
    "RecordedRequest",
    "Reset",
    "Responder",
    "ResponsePlan",
    "ScriptedFault",
    "Send",
    "SendBytes",
    "UploadedFile",
    "default_seed",
    "echo_line",
    "faults",
    "load_answers",
    "parse_fault",
    "run_forever",
    "serve",
]
