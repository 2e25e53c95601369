"""What the `dynaspark` command writes: results on stdout, notes and errors on stderr (the API
key taken out of all of it), the exit statuses, and --debug logging."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

from dynaspark_sdk.frontend import redact

if TYPE_CHECKING:
    from dynaspark_sdk import RateLimit

    from ._spinner import Spinner

PROG = "dynaspark"

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad command-line usage: reported on one line, exit status 2."""


class StdoutError(Exception):
    """stdout cannot take a result (a full disk, say): reported on stderr only, exit status 1."""


class Output:
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


def rate_limit_json(rate_limit: RateLimit) -> dict[str, int | None]:
    return {"limit": rate_limit.limit, "remaining": rate_limit.remaining, "reset": rate_limit.reset}


class _RedactingFilter(logging.Filter):
    """Keeps the API key out of --debug lines, whichever logger they come from."""

    def __init__(self, out: Output) -> None:
        super().__init__()
        self._out = out

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._out.clean(message, strict=True)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


@contextlib.contextmanager
def debug_logging(out: Output) -> Iterator[None]:
    """Log the SDK's and httpx's records (httpx2's too) on stderr for the duration of a command."""
    from dynaspark_sdk.frontend import HTTP_LOGGER_ROOTS

    handler = logging.StreamHandler(out.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: debug: %(name)s: %(message)s"))
    handler.addFilter(_RedactingFilter(out))
    loggers = [logging.getLogger(name) for name in ("dynaspark_sdk", *HTTP_LOGGER_ROOTS)]
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
