"""The OpenAI-compatible gateway: `create_app()` builds it as an ASGI application.

    import uvicorn
    from dynaspark_sdk.gateway import create_app

    uvicorn.run(create_app(), host="127.0.0.1", port=8000)  # then point OpenAI clients at /v1

`serve_forever(app, host, port)` serves it in the foreground until Ctrl-C, with a graceful
shutdown; `serve_in_thread(app)` runs it in a background thread of your program (tests,
notebooks).
Needs the `gateway` extra: `pip install 'dynaspark-sdk[gateway]'`. `dynaspark gateway` runs
the same from the command line. Details in `dynaspark_sdk.integrations.gateway`.
"""

from __future__ import annotations

from .integrations.gateway import create_app, serve_forever, serve_in_thread

__all__ = ["create_app", "serve_forever", "serve_in_thread"]
