"""What a front-end built on the SDK needs beyond the clients (the `dynaspark` command uses
these, and your own tools may):

    from dynaspark_sdk.frontend import LONG_PROMPT_ADVICE, detect_image_type, redact

    print(redact(f"GET {url}", also=api_key))    # api_key=[REDACTED], and the key itself
    detect_image_type(data[:12])                 # 'image/png', ... or None for other bytes
    message.replace(LONG_PROMPT_ADVICE, "...")   # advice naming your own command instead
    HostNames(["api.example.com"]).allows(host)  # a server's Host check, against DNS rebinding

A leaf: importing it loads no HTTP library and nothing of the core, so a command line can
clean what it prints before the SDK is loaded.
"""

from __future__ import annotations

from typing import Final

from dynaspark_sdk._host_check import HostNames, check_host_name
from dynaspark_sdk._image_types import detect_image_type
from dynaspark_sdk._secrets import HTTP_LOGGER_ROOTS, REDACTED, redact

__all__ = [
    "HTTP_LOGGER_ROOTS",
    "LONG_PROMPT_ADVICE",
    "REDACTED",
    "HostNames",
    "check_host_name",
    "detect_image_type",
    "redact",
]

#: The advice the error for a text prompt too long for a URL (`generate_text`, `stream_text`)
#: ends with; a front-end may replace it with advice that names its own command.
LONG_PROMPT_ADVICE: Final = "chat() sends long prompts in a POST body"
