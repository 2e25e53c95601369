"""Imports a module needs only once a client exists, done then rather than at import time.

`from dynaspark_sdk import Client` should cost little more than `import httpx`: the core
(attrs classes, the generated models, anyio) is loaded when the first client is made. A
module lists those imports twice: under `if TYPE_CHECKING:` for the type checker, and in
`deferred_imports()`, whose loader puts the same names into the module's globals.
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
