"""The clients' default settings, in a module that imports nothing but httpx, so that the
shells can name them in their signatures without loading the core (see `_lazy`)."""

from __future__ import annotations

import httpx

from ._generated.spec_values import DEFAULT_BASE_URL

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_MAX_CONCURRENCY", "DEFAULT_SLOT_TIMEOUT", "DEFAULT_TIMEOUT"]

#: The free instance can take 30-60 s to wake, so reading waits up to 90 s; connecting,
#: writing and waiting for a pooled connection are bounded more tightly.
DEFAULT_TIMEOUT = httpx.Timeout(90.0, connect=15.0, write=30.0, pool=30.0)

#: The service serves at most 10 requests at once (its documentation says so).
DEFAULT_MAX_CONCURRENCY = 10

#: How long a request may wait for one of the request slots. Waiting for a slot is waiting for
#: other requests to finish, each bounded by its own timeout, so it is not the request's own
#: timeout: a batch of thousands of short calls queues for minutes. Ten minutes lets such a
#: batch finish, and still turns a queue stuck behind hung requests into an APITimeoutError.
DEFAULT_SLOT_TIMEOUT = 600.0

#: How many repair turns a call with `tools=` or `response_format=` sends after a wrong answer.
DEFAULT_MAX_REPAIRS = 1
