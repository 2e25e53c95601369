"""The `dynaspark` argument parser: the global options, every command and its arguments."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import NoReturn

from ._chat import run_chat
from ._generate import run_image, run_speak, run_text
from ._info import run_models, run_probe, run_status
from ._local import run_demo, run_gateway, run_serve_fake
from ._output import PROG, Output, UsageError

_DESCRIPTION = """\
Talk to the Dynaspark LLM service: chat, text, images and speech, or run its offline emulator.
"""

_EPILOG = """\
environment:
  DYNASPARK_API_KEY   the API key (safer than --api-key, which other users can see in `ps`)
  DYNASPARK_BASE_URL  the service's address (e.g. a `dynaspark serve-fake` emulator)

exit status: 0 ok, 1 the service or the network failed, 2 bad usage, 130 interrupted.
Run `dynaspark COMMAND --help` for a command's options.
"""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are raised, so `main` can report them on one line."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def _fault(text: str) -> object:
    """A `--fault` SPEC read into a `ScriptedFault` (the emulator is loaded only when one is given)."""
    from dynaspark_sdk.testing import parse_fault

    try:
        return parse_fault(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, not {value}")
    return value


def _add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The options every command shares. On a command's parser they default to SUPPRESS, so
    they may come after the command too without hiding values given before it."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("global options" + (" (also accepted before the command)" if suppress else ""))
    group.add_argument("--base-url", metavar="URL", default=default(None), help="the service's address")
    group.add_argument(
        "--api-key",
        metavar="KEY",
        default=default(os.environ.get("DYNASPARK_API_KEY")),
        help="API key (default: $DYNASPARK_API_KEY; none is sent when there is none)",
    )
    group.add_argument(
        "--proxy",
        metavar="URL",
        default=default(None),
        help="proxy URL: http://, https:// (socks5:// needs httpx[socks])",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive_float,
        default=default(None),
        help="per-request timeout (default: 90 s to read, as the free instance wakes slowly)",
    )
    group.add_argument(
        "--retries",
        metavar="N",
        type=int,
        default=default(None),
        help="retries on 429/5xx/connection errors (default 2)",
    )
    group.add_argument(
        "--json",
        dest="json_output",
        action="store_true",
        default=default(False),
        help='machine-readable JSON on stdout (errors too: {"error": {...}})',
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="log HTTP traffic on stderr (API keys redacted)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole `dynaspark` argument parser."""
    parser = _Parser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    _add_global_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands", parser_class=_Parser)
    made: list[_Parser] = []

    def command(name: str, handler: Callable[[argparse.Namespace, Output], int], help_text: str) -> _Parser:
        sub: _Parser = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        made.append(sub)
        return sub

    chat = command(
        "chat",
        run_chat,
        "Chat (POST /dsai_fuck_u_spammer, falling back to /generate_response): one answer for PROMPT or piped"
        " stdin, else an interactive session.",
    )
    chat.add_argument("prompt", nargs="?", metavar="PROMPT", help="the message ('-' reads stdin)")
    chat.add_argument("--model", help="a chat model or alias (see `dynaspark models`)")
    chat.add_argument("--image", metavar="PATH_OR_URL", help="an image (JPEG, PNG, GIF, WebP) sent with each message")
    chat.add_argument(
        "-i",
        "--interactive",
        action="store_true",
        help="a session even when stdin is not a terminal (one message per line; /reset, /exit)",
    )

    text = command("text", run_text, "Generate text with the public API (GET /api/generate_response).")
    text.add_argument("prompt", metavar="PROMPT", help="the prompt ('-' reads stdin)")
    text.add_argument("--model", help="text model (the service's default when not given)")
    text.add_argument("--system", metavar="TEXT", help="a system prompt")
    text.add_argument("--temperature", metavar="T", type=float, help="0 to 3")
    text.add_argument("--top-p", metavar="P", type=float, help="0 to 1")
    text.add_argument("--presence-penalty", metavar="X", type=float, help="-2 to 2")
    text.add_argument("--frequency-penalty", metavar="X", type=float, help="-2 to 2")
    text.add_argument("--seed", metavar="N", type=int, help="for repeatable answers")
    text.add_argument("--json-mode", action="store_true", help="ask the model for a JSON answer (json=true)")
    text.add_argument("--private", action="store_const", const=True, default=None, help="private=true")
    text.add_argument("--referrer", metavar="NAME", help="referrer to report to the service")
    text.add_argument(
        "--no-stream", action="store_true", help="wait for the whole answer (implied by the global --json)"
    )

    image = command("image", run_image, "Generate an image (GET /api/generate_image) and save it.")
    image.add_argument("prompt", metavar="PROMPT", help="what to draw")
    image.add_argument("-o", "--output", required=True, metavar="FILE", help="where to save the image")
    image.add_argument("--width", metavar="PX", type=int, help="64 to 2048 (default 768)")
    image.add_argument("--height", metavar="PX", type=int, help="64 to 2048 (default 768)")
    image.add_argument("--model", help="flux (default), turbo or gptimage")
    image.add_argument("--nologo", action="store_const", const=True, default=None, help="no logo on the image")
    image.add_argument("--seed", metavar="N", type=int, help="for a repeatable image")
    image.add_argument("--watermark", metavar="TEXT", help="watermark text (wm=)")

    speak = command("speak", run_speak, "Speak TEXT (model openai-audio) and save the MP3.")
    speak.add_argument("text", metavar="TEXT", help="what to say ('-' reads stdin)")
    speak.add_argument("-o", "--output", required=True, metavar="FILE", help="where to save the MP3")
    speak.add_argument("--voice", help="alloy (default), echo, fable, onyx, nova or shimmer")

    command("status", run_status, "Ask whether the service is up (GET /status).")
    command("models", run_models, "List chat models, aliases, image models and voices (no request is made).")

    serve_fake = command(
        "serve-fake", run_serve_fake, "Run the offline emulator of the service until Ctrl-C, printing its URL."
    )
    serve_fake.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve_fake.add_argument("--port", type=_port, default=8765, help="port (default 8765; 0 picks a free one)")
    serve_fake.add_argument(
        "--allowed-host",
        metavar="NAME",
        action="append",
        default=[],
        help="also answer requests for this Host name, and from web pages served from it (repeatable; '*': any)."
        " Always answered: IP addresses, localhost, *.localhost, *.local, *.internal and this machine's name",
    )
    serve_fake.add_argument(
        "--stream-delay",
        metavar="S",
        type=_non_negative_float,
        default=0.0,
        help="seconds between a stream's events (default 0)",
    )
    serve_fake.add_argument(
        "--chat-path",
        metavar="PATH",
        action="append",
        help="serve chat only at PATH (repeat for several; default: every path the spec knows, newest first)",
    )
    serve_fake.add_argument(
        "--answers",
        metavar="FILE",
        help='play a model: answer with the texts of this JSON file, in order (a list, or {"chat": [...], "text":'
        " [...]}), then echo again",
    )
    serve_fake.add_argument(
        "--rate-limit",
        metavar="N",
        type=_non_negative_int,
        default=100,
        help="requests per API key and window, as the free key's (default 100; 0: no limit)",
    )
    serve_fake.add_argument(
        "--rate-window",
        metavar="SECONDS",
        type=_positive_float,
        default=3600.0,
        help="length of a key's rate-limit window, from its first counted request (default 3600)",
    )
    serve_fake.add_argument(
        "--fault",
        metavar="SPEC",
        type=_fault,
        action="append",
        default=[],
        help=(
            "answer the next requests with a fault, to rehearse failures (repeat for several; default: none):"
            " KIND[:ARG[:ARG]][xTIMES][@PATH], KIND one of status:CODE[:RETRY_AFTER], html-page[:STATUS],"
            " bad-json, missing-response, wrong-content-type[:TYPE], reset, cut-stream[:EVENTS],"
            " slow-first-byte:SECONDS, slow-stream:SECONDS; e.g. status:503x3 (three 503s),"
            " status:429:30, cut-stream:2@/api/generate_response"
        ),
    )

    command(
        "probe",
        run_probe,
        "Check the service against the spec: at most 10 requests, one row per operation and check; exit 1 on drift.",
    )

    demo = command("demo", run_demo, "Run the SDK end to end against a local emulator: offline, in a few seconds.")
    demo.add_argument(
        "--output-dir", metavar="DIR", help="where to save the demo's image and MP3 (default: a new temporary folder)"
    )
    gateway = command(
        "gateway", run_gateway, "Serve an OpenAI-compatible API (/v1) over Dynaspark until Ctrl-C (the gateway extra)."
    )
    gateway.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    gateway.add_argument("--port", type=_port, default=8000, help="port (default 8000; 0 picks a free one)")
    gateway.add_argument(
        "--gateway-key",
        metavar="KEY",
        default=os.environ.get("DYNASPARK_GATEWAY_KEY"),
        help="require 'Authorization: Bearer KEY' (default: $DYNASPARK_GATEWAY_KEY; none: no check)",
    )
    gateway.add_argument(
        "--allowed-host",
        metavar="NAME",
        action="append",
        default=[],
        help="also answer requests for this Host name (repeatable; '*': any). Always answered: IP addresses,"
        " localhost, *.localhost, *.local, *.internal and this machine's name",
    )
    gateway.add_argument(
        "--cors-origin",
        metavar="ORIGIN",
        action="append",
        default=[],
        help="let web pages of this origin (https://app.example.com) call the gateway (repeatable; '*': any)."
        " Pages on localhost, 127.0.0.1 and [::1] may always",
    )
    gateway.add_argument(
        "--allow-private-image-urls",
        action="store_true",
        help="fetch image URLs on loopback, private and link-local addresses too (default: refused)",
    )
    gateway.add_argument(
        "--strict-params",
        action="store_true",
        help="refuse (400) parameters that only tune sampling, length or bookkeeping (temperature,"
        " max_tokens, ...) instead of accepting and ignoring them",
    )
    gateway.add_argument(
        "--upstream-transport",
        choices=("auto", "aiohttp", "httpx"),
        default="auto",
        help="how the gateway sends to Dynaspark: over aiohttp (the aiohttp extra; about 40%% less CPU"
        " per call), over httpx's own transport, or auto (default: aiohttp when it is installed and no"
        " --proxy is given)",
    )
    gateway.add_argument(
        "--responses-db",
        metavar="PATH",
        help="keep /v1/responses' stored responses in this SQLite file, so conversations survive a restart"
        " (default: in memory, the newest 64 MB)",
    )
    # Last, so each command's usage line shows its own arguments first.
    for sub in made:
        _add_global_options(sub, suppress=True)
    return parser
