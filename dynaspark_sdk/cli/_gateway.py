"""`dynaspark gateway`: serve the gateway with uvicorn until Ctrl-C, on its public API
(`dynaspark_sdk.gateway`)."""

from __future__ import annotations

import ipaddress
import sqlite3
from collections.abc import Sequence

from dynaspark_sdk import AsyncClient

from ._output import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, Output

__all__ = ["is_loopback", "run_gateway_server"]


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address or `localhost`."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run_gateway_server(
    client: AsyncClient,
    transport: str,
    host: str,
    port: int,
    gateway_key: str | None,
    out: Output,
    *,
    allowed_hosts: Sequence[str] = (),
    cors_origins: Sequence[str] = (),
    allow_private_image_urls: bool = False,
    strict_params: bool = False,
    responses_db: str | None = None,
) -> int:
    """Serve the gateway over `client` (sending over `transport`, "aiohttp" or "httpx", as the
    banner says) on host:port until Ctrl-C; return the exit status (0
    after Ctrl-C, 1 when it cannot listen or open `responses_db`, 2 for a bad --allowed-host
    or --cors-origin). The keyword arguments are `create_app`'s."""
    try:
        import uvicorn  # noqa: F401 - only whether it is installed (serve_forever imports it)
    except ImportError:
        return out.error(
            "dynaspark gateway needs uvicorn: pip install 'dynaspark-sdk[gateway]'",
            exit_code=EXIT_USAGE,
            kind="ImportError",
        )

    from dynaspark_sdk.gateway import create_app, serve_forever

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
        return out.error(str(exc), exit_code=EXIT_USAGE, kind="UsageError")
    except sqlite3.Error as exc:
        return out.error(
            f"cannot open the responses database {responses_db}: {exc}", exit_code=EXIT_FAILURE, kind="OSError"
        )

    listening = False

    def ready(url: str) -> None:
        nonlocal listening
        listening = True
        if not is_loopback(host) and gateway_key is None:
            out.note(
                f"warning: listening on {host} without --gateway-key: anyone who can reach this machine"
                " can use the gateway (and its Dynaspark key and rate limit)."
            )
        if out.json:
            out.emit_json({"url": url})
        else:
            out.line(f"Dynaspark gateway serving {url} (upstream {client.base_url}, over {transport})")
        out.note(f"Point OpenAI clients at it: OPENAI_BASE_URL={url}; Ctrl-C stops it.")

    try:
        serve_forever(app, host, port, on_ready=ready, lifespan="off")
    except KeyboardInterrupt:
        # After uvicorn's graceful shutdown it re-raises the signal; before it started, this is
        # a Ctrl-C as the server came up. Either way a requested stop: exit status 0.
        pass
    except OSError as exc:
        if listening:
            raise  # not a failure to listen: a fault of the running server, shown as it is
        return out.error(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", exit_code=EXIT_FAILURE, kind="OSError"
        )
    out.note(f"stopped after {requests} requests")
    return EXIT_OK
