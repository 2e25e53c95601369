"""`dynaspark gateway`: serve the gateway with uvicorn until Ctrl-C."""

from __future__ import annotations

import argparse
import ipaddress
from typing import Any, Protocol

from dynaspark_sdk import AsyncClient

__all__ = ["GRACE_SECONDS", "is_loopback", "run"]

#: How long in-flight requests may go on after Ctrl-C before they are cut.
GRACE_SECONDS = 5


class Console(Protocol):
    """What the command writes through (the CLI's output, which keeps the API key out)."""

    json: bool

    def line(self, text: str = "") -> None: ...

    def note(self, text: str) -> None: ...

    def emit_json(self, payload: object) -> None: ...

    def error(self, message: str, *, exit_code: int, kind: str, extra: dict[str, Any] | None = None) -> int: ...


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address or `localhost`."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def upstream_client(args: argparse.Namespace) -> AsyncClient:
    """The upstream client, from the global options as the other commands read them."""
    options: dict[str, Any] = {"api_key": args.api_key or None, "base_url": args.base_url, "proxy": args.proxy}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.retries is not None:
        options["max_retries"] = args.retries
    return AsyncClient(**options)


def run(args: argparse.Namespace, out: Console) -> int:
    """Serve until Ctrl-C; return the exit status (0 after Ctrl-C)."""
    import uvicorn

    from ._app import create_app
    from ._serving import bind, url_of

    client = upstream_client(args)
    gateway_key: str | None = args.gateway_key or None
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        return out.error(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", exit_code=1, kind="OSError"
        )
    url = url_of(sock)
    requests = 0

    def log(line: str) -> None:
        nonlocal requests
        requests += 1
        out.note(line)

    app = create_app(client, gateway_key=gateway_key, log=log)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=GRACE_SECONDS,
    )
    server = uvicorn.Server(config)
    if out.json:
        out.emit_json({"url": url})
    else:
        out.line(f"Dynaspark gateway serving {url} (upstream {client.base_url})")
    out.note(f"Point OpenAI clients at it: OPENAI_BASE_URL={url}; Ctrl-C stops it.")
    if not is_loopback(args.host) and gateway_key is None:
        out.note(
            f"warning: listening on {args.host} without --gateway-key: anyone who can reach this machine"
            " can use the gateway (and its Dynaspark key and rate limit)."
        )
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn finished its graceful shutdown, then re-raised the signal
    finally:
        sock.close()
    out.note(f"stopped after {requests} requests")
    return 0
