"""`dynaspark probe`: check a running service against the spec, spending at most 10 requests.

    dynaspark probe                                   # the live service
    dynaspark --base-url http://127.0.0.1:8765 probe  # an emulator, or anything else
    dynaspark --json probe

One small request per operation, through the SDK's public `Client` where the SDK has the
call (text, streamed text, image, speech, status) and as plain HTTP where it has none (chat
on each known chat path, the deliberately bad request, the models listings its docs claim).
Every answer is recorded as it came off the wire and checked against the spec that ships
with this package (`_generated/openapi.json`): status, content type, the body against its
schema, the stream's events and `[DONE]`, the rate-limit headers. The result is one `Row` per
operation and check; a row whose verdict is "drift" or "failed" makes the exit status 1.

The ten requests:

1. `GET /status`
2. chat with an image (multipart) on the spec's chat path
3. chat without an image (url-encoded) on the other known chat path: `/dsai_fuck_u_spammer`
   (gpt4free from 0.5.2.3) and `/generate_response` (before) are both tried, one request
   each, and which one answers is reported; the one the spec does not name as the chat
   operation's path not answering is "absent", not drift
4. `GET /api/generate_response` (text; its content type tests the docs' text/plain claim)
5. the same with `stream=true`
6. `GET /api/generate_image` without a model (tests the spec's default model)
7. speech (`model=openai-audio`)
8. a bad request, `GET /api/generate_image` with `width=1`: the error body's shape
9. `GET /text/models` and 10. `GET /image/models` (claims of the docs, never seen on the wire)

Parts of the spec marked ASSUMED are listed at the end, each confirmed, contradicted or not
checked; the docs' unverified claims likewise (confirmed, contradicted or absent). Those rows
inform; what fails the probe is drift in what the answers showed.

Where things live: `_run.py` the ten requests; `_wire.py` recording them as they came off the
wire; `_checks.py` what each answer is checked for, the docs' claims and the ASSUMED parts;
`_schema.py` the subset of OpenAPI and JSON Schema the checks read the spec with;
`_report.py` the rows and the report.
"""

from ._report import MAX_REQUESTS, ProbeReport, Row
from ._run import probe

# The spec's reading, for the tests (not public: not in __all__).
from ._schema import chat_paths as chat_paths
from ._schema import load_spec as load_spec
from ._schema import schema_problems as schema_problems

__all__ = ["MAX_REQUESTS", "ProbeReport", "Row", "probe"]
