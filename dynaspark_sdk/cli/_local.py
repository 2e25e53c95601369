"""`dynaspark serve-fake`, `dynaspark demo` and `dynaspark gateway`: the commands that run a
server (the emulator, or the gateway) on this machine."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._inputs import client_options
from ._output import EXIT_FAILURE, EXIT_OK, Output, UsageError


def run_serve_fake(args: argparse.Namespace, out: Output) -> int:
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


def run_demo(args: argparse.Namespace, out: Output) -> int:
    from ._demo import run_demo

    output_dir = Path(args.output_dir).expanduser() if args.output_dir else None
    if output_dir is not None and not output_dir.is_dir():
        raise UsageError(f"--output-dir {args.output_dir} is not a directory")
    # With --json the narrative goes to stderr so stdout holds only the summary.
    summary = run_demo(out.stderr if out.json else out.stdout, output_dir=output_dir)
    if out.json:
        out.emit_json(summary.as_json())
    return EXIT_OK


def run_gateway(args: argparse.Namespace, out: Output) -> int:
    from dynaspark_sdk import AsyncClient
    from dynaspark_sdk.integrations.gateway._command import run

    return run(AsyncClient(**client_options(args)), args.host, args.port, args.gateway_key, out)
