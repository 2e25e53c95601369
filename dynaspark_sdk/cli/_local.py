"""`dynaspark serve-fake`, `dynaspark demo` and `dynaspark gateway`: the commands that run a
server (the emulator, or the gateway) on this machine."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from ._inputs import client_options
from ._output import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, Output, UsageError

if TYPE_CHECKING:
    from dynaspark_sdk.testing import Emulator


def run_serve_fake(args: argparse.Namespace, out: Output) -> int:
    from dynaspark_sdk.frontend import check_host_name
    from dynaspark_sdk.testing import Emulator, run_forever

    rate_limit = args.rate_limit or None  # 0: no limit
    try:
        paths = {"chat_paths": args.chat_path} if args.chat_path else {}
        emulator = Emulator(
            stream_delay=args.stream_delay, rate_limit=rate_limit, window_seconds=args.rate_window, **paths
        )
    except ValueError as exc:
        raise UsageError(f"--chat-path: {exc}") from None
    for name in args.allowed_host:
        try:
            check_host_name(name)
        except ValueError as exc:
            raise UsageError(f"--allowed-host: {exc}") from None
    for scripted in args.fault:
        emulator.inject(scripted.fault, times=scripted.times, path=scripted.path)
    faulty = sum(scripted.times for scripted in args.fault)
    if args.answers:
        _script_answers(emulator, args.answers)

    def ready(url: str) -> None:
        if out.json:
            out.emit_json({"url": url, "rate_limit": rate_limit, "rate_window": args.rate_window, "faults": faulty})
        else:
            out.line(f"Dynaspark emulator listening on {url}")
        out.note(f"Point the SDK at it with DYNASPARK_BASE_URL={url} (or --base-url {url}); Ctrl-C stops it.")
        limit = f"{rate_limit} requests per key per {args.rate_window:g} s" if rate_limit else "none"
        out.note(f"rate limit: {limit} (--rate-limit, --rate-window)")
        if faulty:
            out.note(f"faults: the next {faulty} matching request(s) get the --fault answers, in order")
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            out.note(f"note: listening on {args.host}, so other machines can reach it too.")

    try:
        run_forever(args.host, args.port, emulator, on_ready=ready, allowed_hosts=args.allowed_host)
    except KeyboardInterrupt:
        out.note(f"stopped after {len(emulator.requests)} requests")
        return EXIT_OK
    except OSError as exc:
        return out.error(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", exit_code=EXIT_FAILURE, kind="OSError"
        )
    return EXIT_OK


def _script_answers(emulator: Emulator, path: str) -> None:
    """`--answers FILE`: the file's texts become the emulator's scripted answers."""
    from dynaspark_sdk.testing import load_answers

    try:
        scripts = load_answers(path)
    except ValueError as exc:
        raise UsageError(f"--answers: {exc}") from None
    for endpoint, texts in scripts.items():
        emulator.script_answers(texts, endpoint=None if endpoint == "any" else endpoint)


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

    from ._gateway import run_gateway_server

    # The upstream client: over aiohttp where it can be (it costs the gateway about 40% less CPU
    # per call than httpx's own transport; BENCHMARKS.md, target 8), as the gpt4free provider's.
    transport = args.upstream_transport
    aiohttp_installed = importlib.util.find_spec("aiohttp") is not None
    if transport == "auto":
        transport = "aiohttp" if args.proxy is None and aiohttp_installed else "httpx"
    elif transport == "aiohttp" and args.proxy is not None:
        return out.error(
            "--upstream-transport aiohttp sends without a proxy (aiohttp's transport takes none): drop --proxy"
            " or choose httpx",
            exit_code=EXIT_USAGE,
            kind="UsageError",
        )
    elif transport == "aiohttp" and not aiohttp_installed:
        return out.error(
            "--upstream-transport aiohttp needs aiohttp: pip install 'dynaspark-sdk[aiohttp]'",
            exit_code=EXIT_USAGE,
            kind="UsageError",
        )
    return run_gateway_server(
        AsyncClient(**client_options(args), use_aiohttp=transport == "aiohttp"),
        transport,
        args.host,
        args.port,
        args.gateway_key,
        out,
        allowed_hosts=args.allowed_host,
        cors_origins=args.cors_origin,
        allow_private_image_urls=args.allow_private_image_urls,
        strict_params=args.strict_params,
        responses_db=args.responses_db,
    )
