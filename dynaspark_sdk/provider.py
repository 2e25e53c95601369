"""Deprecated: the gpt4free provider now lives in `dynaspark_sdk.integrations.gpt4free`.

`from dynaspark_sdk import Dynaspark` is the import to use; this module only re-exports it,
so that code written for earlier releases (`from dynaspark_sdk.provider import Dynaspark`)
keeps working. It will be removed in a future release.
"""

from __future__ import annotations

from .integrations.gpt4free import Dynaspark

__all__ = ["Dynaspark"]
