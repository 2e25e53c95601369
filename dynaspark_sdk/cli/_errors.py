"""An exception a command raised -> one line on stderr and the exit status."""

from __future__ import annotations

import os
import sys

from ._output import EXIT_FAILURE, EXIT_USAGE, Output, StdoutError, UsageError


def report(exc: BaseException, out: Output) -> int:
    """Report an exception raised by a command on one line; return the exit status."""
    from dynaspark_sdk import APIStatusError, DynasparkError, InvalidRequestError

    kind = type(exc).__name__
    if isinstance(exc, UsageError):
        return out.error(str(exc), exit_code=EXIT_USAGE, kind="UsageError")
    if isinstance(exc, StdoutError):
        # The interpreter's last flush of stdout would fail again, with a traceback.
        silence_broken_pipe()
        return out.error(str(exc), exit_code=EXIT_FAILURE, kind="StdoutError")
    if isinstance(exc, InvalidRequestError):
        from dynaspark_sdk.frontend import LONG_PROMPT_ADVICE

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


def silence_broken_pipe() -> None:
    # stdout's reader went away (`dynaspark text ... | head`): point stdout at /dev/null so
    # the interpreter's final flush does not fail again with a traceback.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
