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

Where things live: `_parser.py` the arguments of every command; one module per group of
commands (`_chat.py` chat, `_generate.py` text/image/speak, `_info.py` status/models/probe,
`_local.py` serve-fake/demo/gateway, `_demo.py` the demo itself); `_inputs.py` the client,
stdin and files a command takes; `_output.py` stdout/stderr without the API key, exit
statuses, --debug logging; `_errors.py` an exception -> one line and an exit status; here, `main`.

Only the standard library is imported at module level (except by `_demo.py`, loaded when
`dynaspark demo` runs): `import dynaspark_sdk.cli` and `dynaspark --help` stay fast; the SDK
is loaded by the command that needs it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence

from ._errors import report, silence_broken_pipe
from ._output import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, PROG, Output, UsageError, debug_logging
from ._parser import build_parser

__all__ = ["main"]


def _global_options_given(tokens: Sequence[str]) -> argparse.Namespace:
    """`--json` and the API key from arguments that did not parse (for reporting that error
    the way the user asked, and without the key): read from the tokens themselves."""
    options = tokens[: tokens.index("--")] if "--" in tokens else list(tokens)
    key = os.environ.get("DYNASPARK_API_KEY")
    for index, token in enumerate(options):
        if token == "--api-key" and index + 1 < len(options):
            key = options[index + 1]
        elif token.startswith("--api-key="):
            key = token.removeprefix("--api-key=")
    return argparse.Namespace(json_output="--json" in options, api_key=key)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: `sys.argv[1:]`); return the exit status."""
    stdout, stderr = sys.stdout, sys.stderr
    parser = build_parser()
    tokens = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(tokens)
    except UsageError as exc:
        # As JSON too when --json was given, though the arguments as a whole did not parse.
        return Output(_global_options_given(tokens), stdout, stderr).error(
            str(exc), exit_code=EXIT_USAGE, kind="UsageError"
        )
    except SystemExit as exc:  # --help prints and exits
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.version:
        from dynaspark_sdk import __version__

        stdout.write(f"dynaspark-sdk {__version__}\n")
        return EXIT_OK
    out = Output(args, stdout, stderr)
    if args.command is None:
        return out.error(
            "choose a command: chat, text, image, speak, status, models, probe, serve-fake, demo"
            " (see 'dynaspark --help')",
            exit_code=EXIT_USAGE,
            kind="UsageError",
        )
    debug = debug_logging(out) if args.debug else contextlib.nullcontext()
    handler: Callable[[argparse.Namespace, Output], int] = args.handler
    try:
        with debug:
            return handler(args, out)
    except KeyboardInterrupt:
        out.end_line()
        stderr.write(f"{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        silence_broken_pipe()
        return EXIT_FAILURE
    except Exception as exc:
        if args.debug:
            import traceback

            out.note("".join(traceback.format_exception(exc)).rstrip())
        return report(exc, out)
