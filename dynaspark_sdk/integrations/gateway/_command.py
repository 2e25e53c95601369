"""`dynaspark gateway`: serve the gateway with uvicorn until Ctrl-C."""

from __future__ import annotations

import ipaddress
import sqlite3
from collections.abc import Sequence
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


def run(
    client: AsyncClient,
    host: str,
    port: int,
    gateway_key: str | None,
    out: Console,
    *,
    allowed_hosts: Sequence[str] = (),
    cors_origins: Sequence[str] = (),
    allow_private_image_urls: bool = False,
    strict_params: bool = False,
    responses_db: str | None = None,
) -> int:
    """Serve the gateway over `client` on host:port until Ctrl-C; return the exit status (0
    after Ctrl-C, 1 when it cannot listen or open `responses_db`, 2 for a bad --allowed-host
    or --cors-origin). The keyword arguments are `create_app`'s."""
    try:
        import uvicorn  # noqa: F401 - only whether it is installed (make_server imports it)
    except ImportError:
        return out.error(
            "dynaspark gateway needs uvicorn: pip install 'dynaspark-sdk[gateway]'", exit_code=2, kind="ImportError"
        )

    from ._app import create_app
    from ._serving import bind, make_server, url_of

    gateway_key = gateway_key or None
    requests = 0

    def log(line: str) -> None:
        nonlocal requests
        requests += 1
        out.note(line)

    try:
        app = create_app(
            client,
            gateway_key=gateway_key,
            log=log,
            allowed_hosts=allowed_hosts,
            cors_origins=cors_origins,
            allow_private_image_urls=allow_private_image_urls,
            strict_params=strict_params,
            responses_db=responses_db,
        )
    except ValueError as exc:
        return out.error(str(exc), exit_code=2, kind="UsageError")
    except sqlite3.Error as exc:
        return out.error(f"cannot open the responses database {responses_db}: {exc}", exit_code=1, kind="OSError")
    try:
        sock = bind(host, port)
    except OSError as exc:
        return out.error(f"cannot listen on {host}:{port}: {exc.strerror or exc}", exit_code=1, kind="OSError")
    url = url_of(sock)
    server = make_server(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=GRACE_SECONDS
    )
    try:
        if not is_loopback(host) and gateway_key is None:
            out.note(
                f"warning: listening on {host} without --gateway-key: anyone who can reach this machine"
                " can use the gateway (and its Dynaspark key and rate limit)."
            )
        if out.json:
            out.emit_json({"url": url})
        else:
            out.line(f"Dynaspark gateway serving {url} (upstream {client.base_url})")
        out.note(f"Point OpenAI clients at it: OPENAI_BASE_URL={url}; Ctrl-C stops it.")
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # After uvicorn's graceful shutdown it re-raises the signal; before it started, this is
        # a Ctrl-C as the server came up. Either way a requested stop: exit status 0.
        pass
    finally:
        sock.close()
    out.note(f"stopped after {requests} requests")
    return 0
