"""The `dynaspark` command line (also `python -m dynaspark_sdk`).

    dynaspark chat "Привет! Как дела?"
    dynaspark text "Write a haiku" --temperature 0.7
    dynaspark image "a lighthouse at dusk" -o lighthouse.png
    dynaspark speak "Hello there" -o hello.mp3 --voice nova
    dynaspark serve-fake --port 8765            # the offline emulator
    dynaspark demo                              # everything, offline, in a few seconds

Exit status: 0 success; 1 the service or the network failed; 2 bad usage (arguments the
service would refuse, a missing file); 130 interrupted. Every error is one line on stderr,
`dynaspark: error: ...`, and never shows the API key.

Only the standard library is imported here at module level: `import dynaspark_sdk.cli` and
`dynaspark --help` stay fast; the SDK is loaded by the command that needs it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

if TYPE_CHECKING:
    from dynaspark_sdk import Client, RateLimit

    from ._spinner import Spinner

__all__ = ["main"]

PROG = "dynaspark"

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

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


class UsageError(Exception):
    """Bad command-line usage: reported on one line, exit status 2."""


class StdoutError(Exception):
    """stdout cannot take a result (a full disk, say): reported on stderr only, exit status 1."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are raised, so `main` can report them on one line."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


# --------------------------------------------------------------------------- parser


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

    def command(name: str, handler: Callable[[argparse.Namespace, _Output], int], help_text: str) -> _Parser:
        sub: _Parser = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        made.append(sub)
        return sub

    chat = command(
        "chat",
        _cmd_chat,
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

    text = command("text", _cmd_text, "Generate text with the public API (GET /api/generate_response).")
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

    image = command("image", _cmd_image, "Generate an image (GET /api/generate_image) and save it.")
    image.add_argument("prompt", metavar="PROMPT", help="what to draw")
    image.add_argument("-o", "--output", required=True, metavar="FILE", help="where to save the image")
    image.add_argument("--width", metavar="PX", type=int, help="64 to 2048 (default 768)")
    image.add_argument("--height", metavar="PX", type=int, help="64 to 2048 (default 768)")
    image.add_argument("--model", help="flux (default), turbo or gptimage")
    image.add_argument("--nologo", action="store_const", const=True, default=None, help="no logo on the image")
    image.add_argument("--seed", metavar="N", type=int, help="for a repeatable image")
    image.add_argument("--watermark", metavar="TEXT", help="watermark text (wm=)")

    speak = command("speak", _cmd_speak, "Speak TEXT (model openai-audio) and save the MP3.")
    speak.add_argument("text", metavar="TEXT", help="what to say ('-' reads stdin)")
    speak.add_argument("-o", "--output", required=True, metavar="FILE", help="where to save the MP3")
    speak.add_argument("--voice", help="alloy (default), echo, fable, onyx, nova or shimmer")

    command("status", _cmd_status, "Ask whether the service is up (GET /status).")
    command("models", _cmd_models, "List chat models, aliases, image models and voices (no request is made).")

    serve_fake = command(
        "serve-fake", _cmd_serve_fake, "Run the offline emulator of the service until Ctrl-C, printing its URL."
    )
    serve_fake.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve_fake.add_argument("--port", type=_port, default=8765, help="port (default 8765; 0 picks a free one)")
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

    command(
        "probe",
        _cmd_probe,
        "Check the service against the spec: at most 10 requests, one row per operation and check; exit 1 on drift.",
    )

    demo = command("demo", _cmd_demo, "Run the SDK end to end against a local emulator: offline, in a few seconds.")
    demo.add_argument(
        "--output-dir", metavar="DIR", help="where to save the demo's image and MP3 (default: a new temporary folder)"
    )
    gateway = command(
        "gateway", _cmd_gateway, "Serve an OpenAI-compatible API (/v1) over Dynaspark until Ctrl-C (the gateway extra)."
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
        "--strict-params",
        action="store_true",
        help="refuse (400) parameters that only tune sampling, length or bookkeeping (temperature,"
        " max_tokens, ...) instead of accepting and ignoring them",
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


# --------------------------------------------------------------------------- output


class _Output:
    """Where a command writes: stdout for results, stderr for notes and errors.

    Everything shown passes through `clean()`, which removes the API key whatever the text.
    """

    def __init__(self, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.json = bool(getattr(args, "json_output", False))
        key = getattr(args, "api_key", None)
        self._secret: str | None = key or None
        # Whether the last thing written to stdout left the line open (a stream cut short).
        self._open_line = False
        # Whether a write to stdout failed: then nothing more is written there.
        self._stdout_failed = False

    def clean(self, text: str, *, strict: bool = False) -> str:
        """`text` without the API key or any `api_key=` query value.

        In results (not `strict`) a key shorter than 4 characters is left alone, as the SDK
        does: replacing "ab" everywhere would mangle answers, and no answer carries the key.
        """
        from dynaspark_sdk._secrets import redact

        secret = self._secret if self._secret and (strict or len(self._secret) >= 4) else None
        return redact(text, also=secret)

    def write(self, text: str) -> None:
        """Write a piece of a result to stdout now (streams: no newline, flushed)."""
        if text:
            try:
                self.stdout.write(self.clean(text))
                self.stdout.flush()
            except BrokenPipeError:
                raise  # the reader went away (`| head`): main() ends quietly
            except (OSError, ValueError) as exc:
                self._stdout_failed = True
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raise StdoutError(f"cannot write to stdout: {reason}") from None
            self._open_line = not text.endswith("\n")

    def line(self, text: str = "") -> None:
        """Write one line of a result to stdout."""
        self.write(text + "\n")

    def end_line(self) -> None:
        """End a line of stdout that a stream left open."""
        if self._open_line:
            self.write("\n")

    def emit_json(self, payload: object) -> None:
        """Write one JSON document (one line) to stdout."""
        self.line(json.dumps(payload, ensure_ascii=False))

    def note(self, text: str) -> None:
        """A remark for a person, on stderr."""
        self.stderr.write(self.clean(text, strict=True) + "\n")
        self.stderr.flush()

    def error(self, message: str, *, exit_code: int, kind: str, extra: dict[str, Any] | None = None) -> int:
        """Report an error: one line on stderr (and a JSON object on stdout with --json, unless
        stdout is what failed)."""
        if not self._stdout_failed:
            self.end_line()
        single = " ".join(self.clean(message, strict=True).split()) or kind
        self.stderr.write(f"{PROG}: error: {single}\n")
        self.stderr.flush()
        if self.json and not self._stdout_failed:
            self.emit_json({"error": {"type": kind, "message": single, "exit_code": exit_code, **(extra or {})}})
        return exit_code

    def spinner(self, label: str = "waiting for Dynaspark") -> Spinner:
        """A started spinner on stderr (it draws only when stderr is a terminal)."""
        from ._spinner import Spinner

        return Spinner(self.stderr, label).start()


def _rate_limit_json(rate_limit: RateLimit) -> dict[str, int | None]:
    return {"limit": rate_limit.limit, "remaining": rate_limit.remaining, "reset": rate_limit.reset}


# --------------------------------------------------------------------------- shared helpers


def _client_options(args: argparse.Namespace) -> dict[str, Any]:
    """The client's keyword arguments from the global options."""
    options: dict[str, Any] = {"api_key": args.api_key or None, "base_url": args.base_url, "proxy": args.proxy}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.retries is not None:
        options["max_retries"] = args.retries
    return options


def _client(args: argparse.Namespace) -> Client:
    from dynaspark_sdk import Client

    return Client(**_client_options(args))


def _stdin_is_terminal() -> bool:
    try:
        return bool(sys.stdin.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _read_stdin() -> str:
    try:
        return sys.stdin.read()
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read stdin: {exc}") from None


def _text_argument(value: str, what: str) -> str:
    """The argument itself, or stdin's text for '-'."""
    if value != "-":
        return value
    text = _read_stdin()
    if not text.strip():
        raise UsageError(f"{what} '-' reads stdin, and stdin is empty")
    return text.rstrip("\n")


def _output_path(value: str) -> Path:
    """Check before any request that the output file can be written where asked."""
    path = Path(value).expanduser()
    if path.is_dir():
        raise UsageError(f"{value} is a directory; give a file name with -o")
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"cannot write {value}: no such directory {parent}")
    return path


def _check_image_file(value: str | None) -> None:
    """Refuse a missing image file before a session starts, not at every message."""
    if value is None or value.lower().startswith(("http://", "https://", "data:")):
        return
    if not Path(value).expanduser().is_file():
        raise UsageError(f"no such image file: {value}")


def _save(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------- commands


def _cmd_chat(args: argparse.Namespace, out: _Output) -> int:
    prompt: str | None = args.prompt
    if prompt is not None:
        prompt = _text_argument(prompt, "PROMPT")
    elif not args.interactive and not _stdin_is_terminal():
        piped = _read_stdin()
        if not piped.strip():
            raise UsageError("no prompt: give one, pipe text in, or run on a terminal for a session")
        prompt = piped.rstrip("\n")
    with _client(args) as client:
        if prompt is not None and not args.interactive:
            with out.spinner():
                answer = client.chat(prompt, model=args.model, media=args.image)
            if out.json:
                out.emit_json(
                    {"text": answer.text, "model": answer.model, "rate_limit": _rate_limit_json(answer.rate_limit)}
                )
            else:
                out.line(answer.text)
            return EXIT_OK
        return _chat_session(client, args, out, first=prompt)


def _chat_session(client: Client, args: argparse.Namespace, out: _Output, *, first: str | None) -> int:
    """An interactive chat: the client keeps the history and folds it into each prompt."""
    from dynaspark_sdk import DynasparkError

    terminal = _stdin_is_terminal()
    _check_image_file(args.image)
    conversation = client.conversation(model=args.model)
    if terminal:
        # Line editing and history for input(), where the platform has it.
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401
        out.note(
            "Chatting with Dynaspark. /reset forgets the conversation, /exit (or Ctrl-D) quits; Ctrl-C clears the line."
        )
    worst = EXIT_OK
    pending = [first] if first is not None else []
    while True:
        if pending:
            line = pending.pop()
        else:
            try:
                line = input("you> " if terminal else "")
            except EOFError:
                if terminal:
                    out.note("")
                break
            except KeyboardInterrupt:
                if not terminal:
                    raise
                # As in Python's REPL: Ctrl-C at the prompt drops the line, the session goes on.
                out.note("")
                continue
        text = line.strip()
        if not text:
            continue
        if text in ("/exit", "/quit"):
            break
        if text == "/reset":
            conversation = client.conversation(model=args.model)
            out.note("(conversation reset)")
            continue
        try:
            with out.spinner():
                answer = conversation.send(text, media=args.image)
        except DynasparkError as exc:
            # One failed turn leaves the history as it was; the session goes on.
            worst = max(worst, _report(exc, out))
            continue
        if out.json:
            out.emit_json({"user": text, "text": answer.text, "model": answer.model})
        else:
            out.line(answer.text)
    return worst


def _cmd_text(args: argparse.Namespace, out: _Output) -> int:
    prompt = _text_argument(args.prompt, "PROMPT")
    options: dict[str, Any] = {
        "model": args.model,
        "system": args.system,
        "temperature": args.temperature,
        "top_p": args.top_p,
        "presence_penalty": args.presence_penalty,
        "frequency_penalty": args.frequency_penalty,
        "seed": args.seed,
        "json": args.json_mode,
        "private": args.private,
        "referrer": args.referrer,
    }
    with _client(args) as client:
        if args.no_stream or out.json:
            with out.spinner():
                answer = client.generate_text(prompt, **options)
            if out.json:
                usage = answer.usage
                out.emit_json(
                    {
                        "text": answer.text,
                        "model": answer.model,
                        "usage": None
                        if usage is None
                        else {
                            "prompt_tokens": usage.prompt_tokens,
                            "completion_tokens": usage.completion_tokens,
                            "total_tokens": usage.total_tokens,
                        },
                        "rate_limit": _rate_limit_json(answer.rate_limit),
                    }
                )
            else:
                out.line(answer.text)
            return EXIT_OK
        stream = client.stream_text(prompt, **options)
        with stream, out.spinner() as spinner:
            for piece in stream:
                spinner.stop()
                out.write(piece)
        out.end_line()
    return EXIT_OK


def _cmd_image(args: argparse.Namespace, out: _Output) -> int:
    path = _output_path(args.output)
    with _client(args) as client:
        with out.spinner():
            result = client.generate_image(
                args.prompt,
                width=args.width,
                height=args.height,
                model=args.model,
                nologo=args.nologo,
                seed=args.seed,
                watermark=args.watermark,
            )
        with out.spinner("downloading the image"):
            data = result.download()
    _save(path, data)
    _check_image_extension(path, data, out)
    if out.json:
        out.emit_json(
            {
                "path": str(path),
                "url": result.url,
                "bytes": len(data),
                "model": result.model,
                "seed": result.seed,
                "rate_limit": _rate_limit_json(result.rate_limit),
            }
        )
    else:
        out.line(f"saved {path} ({len(data)} bytes, model {result.model}, seed {result.seed})")
        out.line(f"url: {result.url} (valid for 24 hours)")
    return EXIT_OK


# What each image format may be called.
_IMAGE_SUFFIXES = {
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
}


def _check_image_extension(path: Path, data: bytes, out: _Output) -> None:
    """Warn (on stderr) when the file's extension names another format than the bytes hold:
    the image is saved as it came, never converted."""
    from dynaspark_sdk._media import detect_image_type

    kind = detect_image_type(data[:16])
    suffix = path.suffix.lower()
    if kind is None or not suffix or suffix in _IMAGE_SUFFIXES[kind]:
        return
    name = kind.removeprefix("image/").upper()
    out.note(
        f"{PROG}: warning: {path} holds a {name} image, saved as it came (not converted);"
        f" name it {path.stem}{_IMAGE_SUFFIXES[kind][0]} to match"
    )


def _cmd_speak(args: argparse.Namespace, out: _Output) -> int:
    text = _text_argument(args.text, "TEXT")
    path = _output_path(args.output)
    with _client(args) as client, out.spinner():
        audio = client.generate_audio(text, voice=args.voice) if args.voice else client.generate_audio(text)
    _save(path, audio.data)
    if out.json:
        out.emit_json(
            {
                "path": str(path),
                "bytes": len(audio.data),
                "voice": audio.voice,
                "content_type": audio.content_type,
                "rate_limit": _rate_limit_json(audio.rate_limit),
            }
        )
    else:
        out.line(f"saved {path} ({len(audio.data)} bytes, {audio.content_type}, voice {audio.voice})")
    return EXIT_OK


def _cmd_status(args: argparse.Namespace, out: _Output) -> int:
    with _client(args) as client, out.spinner():
        status = client.status()
    if out.json:
        out.emit_json({"ok": status.ok, "status": status.status, "details": dict(status.details)})
    else:
        out.line(f"{status.status or 'unknown'}{'' if status.ok else ' (not ok)'}")
        for name, value in status.details.items():
            if name != "status":
                out.line(f"  {name}: {json.dumps(value, ensure_ascii=False)}")
    return EXIT_OK if status.ok else EXIT_FAILURE


def _cmd_models(args: argparse.Namespace, out: _Output) -> int:
    from dynaspark_sdk import spec

    if out.json:
        out.emit_json(
            {
                "chat_models": list(spec.CHAT_MODELS),
                "default_chat_model": spec.DEFAULT_CHAT_MODEL,
                "chat_model_aliases": dict(spec.CHAT_MODEL_ALIASES),
                "vision_models": list(spec.VISION_MODELS),
                "image_models": list(spec.IMAGE_MODELS),
                "default_image_model": spec.DEFAULT_IMAGE_MODEL,
                "audio_model": spec.AUDIO_MODEL,
                "voices": list(spec.VOICES),
                "default_voice": spec.DEFAULT_VOICE,
            }
        )
        return EXIT_OK

    def marked(name: str, default: str) -> str:
        return f"{name} (default)" if name == default else name

    out.line("chat models (dynaspark chat --model):")
    for name in spec.CHAT_MODELS:
        alias = spec.CHAT_MODEL_ALIASES.get(name)
        suffix = f"  -> sent as {alias}" if alias else ""
        out.line(f"  {marked(name, spec.DEFAULT_CHAT_MODEL)}{suffix}")
    out.line("image models (dynaspark image --model):")
    out.line("  " + ", ".join(marked(name, spec.DEFAULT_IMAGE_MODEL) for name in spec.IMAGE_MODELS))
    out.line(f"voices (dynaspark speak --voice; model {spec.AUDIO_MODEL}):")
    out.line("  " + ", ".join(marked(name, spec.DEFAULT_VOICE) for name in spec.VOICES))
    return EXIT_OK


def _cmd_serve_fake(args: argparse.Namespace, out: _Output) -> int:
    from dynaspark_sdk.testing import Emulator, run_forever

    try:
        paths = {"chat_paths": args.chat_path} if args.chat_path else {}
        emulator = Emulator(stream_delay=args.stream_delay, **paths)
    except ValueError as exc:
        raise UsageError(f"--chat-path: {exc}") from None

    def ready(url: str) -> None:
        if out.json:
            out.emit_json({"url": url})
        else:
            out.line(f"Dynaspark emulator listening on {url}")
        out.note(f"Point the SDK at it with DYNASPARK_BASE_URL={url} (or --base-url {url}); Ctrl-C stops it.")
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            out.note(f"note: listening on {args.host}, so other machines can reach it too.")

    try:
        run_forever(args.host, args.port, emulator, on_ready=ready)
    except KeyboardInterrupt:
        out.note(f"stopped after {len(emulator.requests)} requests")
        return EXIT_OK
    except OSError as exc:
        return out.error(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", exit_code=EXIT_FAILURE, kind="OSError"
        )
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace, out: _Output) -> int:
    from ._demo import run_demo

    output_dir = Path(args.output_dir).expanduser() if args.output_dir else None
    if output_dir is not None and not output_dir.is_dir():
        raise UsageError(f"--output-dir {args.output_dir} is not a directory")
    # With --json the narrative goes to stderr so stdout holds only the summary.
    summary = run_demo(out.stderr if out.json else out.stdout, output_dir=output_dir)
    if out.json:
        out.emit_json(summary.as_json())
    return EXIT_OK


def _cmd_probe(args: argparse.Namespace, out: _Output) -> int:
    from dynaspark_sdk.integrations.probe import probe

    with out.spinner("probing Dynaspark"):
        report = probe(
            base_url=args.base_url,
            api_key=args.api_key or None,
            proxy=args.proxy,
            timeout=args.timeout,
            max_retries=args.retries or 0,
        )
    if out.json:
        out.emit_json(report.to_dict())
    else:
        for line in report.lines():
            out.line(line)
    return EXIT_OK if report.ok else EXIT_FAILURE


def _cmd_gateway(args: argparse.Namespace, out: _Output) -> int:
    from dynaspark_sdk import AsyncClient
    from dynaspark_sdk.integrations.gateway._command import run

    return run(
        AsyncClient(**_client_options(args)),
        args.host,
        args.port,
        args.gateway_key,
        out,
        strict_params=args.strict_params,
        responses_db=args.responses_db,
    )


# --------------------------------------------------------------------------- errors and main


def _report(exc: BaseException, out: _Output) -> int:
    """Report an exception raised by a command on one line; return the exit status."""
    from dynaspark_sdk import APIStatusError, DynasparkError, InvalidRequestError

    kind = type(exc).__name__
    if isinstance(exc, UsageError):
        return out.error(str(exc), exit_code=EXIT_USAGE, kind="UsageError")
    if isinstance(exc, StdoutError):
        # The interpreter's last flush of stdout would fail again, with a traceback.
        _silence_broken_pipe()
        return out.error(str(exc), exit_code=EXIT_FAILURE, kind="StdoutError")
    if isinstance(exc, InvalidRequestError):
        from dynaspark_sdk._plans import LONG_PROMPT_ADVICE

        # The SDK's advice names its Python method; here the user is at a shell.
        message = exc.message.replace(LONG_PROMPT_ADVICE, "`dynaspark chat` sends long prompts in a POST body")
        return out.error(message, exit_code=EXIT_USAGE, kind=kind)
    if isinstance(exc, APIStatusError):
        return out.error(exc.message, exit_code=EXIT_FAILURE, kind=kind, extra={"status_code": exc.status_code})
    if isinstance(exc, DynasparkError):
        return out.error(exc.message, exit_code=EXIT_FAILURE, kind=kind)
    if isinstance(exc, ValueError):
        return out.error(str(exc), exit_code=EXIT_USAGE, kind=kind)
    if isinstance(exc, ImportError):
        # An option that needs a package this installation lacks (a socks proxy without socksio).
        return out.error(str(exc), exit_code=EXIT_USAGE, kind=kind)
    return out.error(f"unexpected {kind}: {exc}", exit_code=EXIT_FAILURE, kind=kind)


class _RedactingFilter(logging.Filter):
    """Keeps the API key out of --debug lines, whichever logger they come from."""

    def __init__(self, out: _Output) -> None:
        super().__init__()
        self._out = out

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._out.clean(message, strict=True)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


@contextlib.contextmanager
def _debug_logging(out: _Output) -> Iterator[None]:
    """Log the SDK's and httpx's records on stderr for the duration of a command."""
    handler = logging.StreamHandler(out.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: debug: %(name)s: %(message)s"))
    handler.addFilter(_RedactingFilter(out))
    loggers = [logging.getLogger(name) for name in ("dynaspark_sdk", "httpx", "httpcore")]
    previous = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        for logger, level in previous:
            logger.removeHandler(handler)
            logger.setLevel(level)


def _silence_broken_pipe() -> None:
    # stdout's reader went away (`dynaspark text ... | head`): point stdout at /dev/null so
    # the interpreter's final flush does not fail again with a traceback.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: `sys.argv[1:]`); return the exit status."""
    stdout, stderr = sys.stdout, sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        stderr.write(f"{PROG}: error: {exc}\n")
        return EXIT_USAGE
    except SystemExit as exc:  # --help prints and exits
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.version:
        from dynaspark_sdk import __version__

        stdout.write(f"dynaspark-sdk {__version__}\n")
        return EXIT_OK
    out = _Output(args, stdout, stderr)
    if args.command is None:
        return out.error(
            "choose a command: chat, text, image, speak, status, models, probe, serve-fake, demo"
            " (see 'dynaspark --help')",
            exit_code=EXIT_USAGE,
            kind="UsageError",
        )
    debug = _debug_logging(out) if args.debug else contextlib.nullcontext()
    handler: Callable[[argparse.Namespace, _Output], int] = args.handler
    try:
        with debug:
            return handler(args, out)
    except KeyboardInterrupt:
        out.end_line()
        stderr.write(f"{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_broken_pipe()
        return EXIT_FAILURE
    except Exception as exc:
        if args.debug:
            import traceback

            out.note("".join(traceback.format_exception(exc)).rstrip())
        return _report(exc, out)
