"""gpt4free's own API server (what `g4f api` serves: `g4f.api.create_app()`, FastAPI) with its
Dynaspark provider pointed at UPSTREAM_URL, under the same uvicorn settings as the gateway.

    python -m benchmarks._g4f_api UPSTREAM_URL   # prints its own URL (ending in /v1), serves until killed

Only in the benchmark venv (g4f 0.5.2.0, fastapi, python-multipart): never a project dependency.
"""

from __future__ import annotations

import socket
import sys


def main(upstream: str) -> None:
    """Serve on a free port of 127.0.0.1; print the URL first."""
    import uvicorn
    from g4f.api import AppConfig, create_app
    from g4f.Provider import Dynaspark

    # The provider's hard-coded endpoint, pointed at the emulator (as target 2 does in-process).
    Dynaspark.api_endpoint = upstream.rstrip("/") + "/generate_response"
    AppConfig.set_config(ignore_cookie_files=True, provider="Dynaspark")
    app = create_app()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}/v1", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1])
