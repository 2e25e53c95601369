"""Imports the sync shell (`client.py`) needs only once a client exists, done then rather than
at import time.

`from dynaspark_sdk import Client` should cost little more than `import httpx`: the core
(attrs classes, the generated models, anyio) is loaded by the first `Client()`. Nothing
written by hand uses this: the async shell imports its core plainly (each name once), and
scripts/unasync.py, writing the sync shell from it, turns those imports into a
`deferred_imports()` table (and the same imports under `if TYPE_CHECKING:` for the type
checker). `_shells.py`, imported by both shells before the core, imports the core where it
uses it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["deferred_imports"]


def deferred_imports(namespace: dict[str, Any], imports: Mapping[str, Sequence[str]]) -> Callable[[], None]:
    """A loader that imports `names` from each (relative) module into `namespace`, once.

    Call it before anything in the module uses those names (a client's constructor does).
    """
    package = namespace["__package__"]
    done = False

    def load() -> None:
        nonlocal done
        if done:
            return
        for module_name, names in imports.items():
            module = importlib.import_module(module_name, package)
            for name in names:
                namespace[name] = getattr(module, name)
        done = True

    return load
