"""An OpenAI-compatible gateway to Dynaspark: `/v1/chat/completions`, `/v1/models`,
`/v1/images/generations` and `/v1/audio/speech` in OpenAI's shapes, over one `AsyncClient`.

Serve it with `dynaspark gateway` (or `serve_forever()` from Python), or mount `create_app()`
in any ASGI server or app. Needs
the `gateway` extra (Starlette and uvicorn): `pip install 'dynaspark-sdk[gateway]'`.
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401
except ImportError:  # pragma: no cover - depends on the installation
    raise ImportError("the gateway needs Starlette and uvicorn: pip install 'dynaspark-sdk[gateway]'") from None

from ._app import MAX_BODY_BYTES, create_app
from ._serving import RunningGateway, serve_forever, serve_in_thread
from ._shapes.errors import GatewayError

__all__ = ["MAX_BODY_BYTES", "GatewayError", "RunningGateway", "create_app", "serve_forever", "serve_in_thread"]
