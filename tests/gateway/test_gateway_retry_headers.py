"""One failing call through the gateway must not become nine (issue 21, point 5): after the
gateway's own retries its 5xx answers say `x-should-retry: false`, which the real `openai`
package obeys; a 429 keeps its Retry-After; the service's rate-limit numbers go on in OpenAI's
header names and formats. Over loopback, with the emulator upstream."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import openai
import pytest

from dynaspark_sdk import AsyncClient, RateLimit, RetryPolicy
from dynaspark_sdk.integrations.gateway import create_app, serve_in_thread
from dynaspark_sdk.integrations.gateway._retry_headers import RateLimitHeaders
from dynaspark_sdk.testing import Emulator, EmulatorServer, faults

pytestmark = pytest.mark.usefixtures("loopback_only")

FAST = RetryPolicy(initial_delay=0.001, max_delay=0.01, max_wait=5)
#: The gateway's attempts per call: one, and two retries.
GATEWAY_ATTEMPTS = 3


@pytest.fixture
def emulator(upstream: EmulatorServer) -> Iterator[Emulator]:
    emulator = upstream.emulator
    emulator.clear_faults()
    emulator.clear_requests()
    yield emulator
    emulator.clear_faults()


@pytest.fixture(scope="module")
def gateway(upstream: EmulatorServer) -> Iterator[str]:
    """A gateway whose upstream client retries twice (three attempts per call)."""
    client = AsyncClient(base_url=upstream.url, max_retries=GATEWAY_ATTEMPTS - 1, retry_policy=FAST)
    with serve_in_thread(create_app(client, log=lambda _: None)) as running:
        yield running.url


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_one_openai_call_against_a_failing_service_makes_only_the_gateway_s_attempts(
    gateway: str, emulator: Emulator, stream: bool
) -> None:
    for _ in range(3 * GATEWAY_ATTEMPTS):  # enough for openai's retries too, were they made
        emulator.inject(faults.status(503))
    # openai's defaults: two retries of its own on a 5xx, unless told not to.
    with openai.OpenAI(base_url=gateway, api_key="unused") as oai, pytest.raises(openai.APIStatusError) as caught:
        oai.chat.completions.create(
            model="gemini-1.5-flash", messages=[{"role": "user", "content": "x"}], stream=stream
        )
    assert caught.value.status_code == 502
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert len(emulator.requests) == GATEWAY_ATTEMPTS


def test_a_429_keeps_retry_after_and_is_not_marked_final(gateway: str, emulator: Emulator) -> None:
    for _ in range(GATEWAY_ATTEMPTS):
        emulator.inject(faults.status(429, retry_after=120))
    with httpx.Client(base_url=gateway, trust_env=False) as http:
        answer = http.post(
            "/chat/completions", json={"model": "text/openai", "messages": [{"role": "user", "content": "x"}]}
        )
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "120"
    assert "x-should-retry" not in answer.headers


def test_the_service_s_rate_limit_numbers_go_on_in_openai_s_headers(gateway: str, emulator: Emulator) -> None:
    with httpx.Client(base_url=gateway, trust_env=False) as http:
        answer = http.post(
            "/chat/completions", json={"model": "gemini-1.5-flash", "messages": [{"role": "user", "content": "x"}]}
        )
    assert answer.status_code == 200
    assert answer.headers["x-ratelimit-limit-requests"] == "1000000"
    remaining = int(answer.headers["x-ratelimit-remaining-requests"])
    assert 0 < remaining < 1_000_000
    # The emulator's window is an hour: a duration such as "59m58s" or "1h0m0s".
    reset = answer.headers["x-ratelimit-reset-requests"]
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(\d+)s", reset)
    assert parts is not None, reset
    hours, minutes, seconds = (int(part or 0) for part in parts.groups())
    assert 3500 < hours * 3600 + minutes * 60 + seconds <= 3602, reset
    assert "x-should-retry" not in answer.headers


def test_each_answer_gets_the_last_numbers_and_the_reset_from_its_own_second() -> None:
    headers = RateLimitHeaders()
    now = 1_765_000_000.25
    limit, remaining, reset = (
        b"x-ratelimit-limit-requests",
        b"x-ratelimit-remaining-requests",
        b"x-ratelimit-reset-requests",
    )
    window = RateLimit(limit=100, remaining=7, reset=int(now) + 360)
    assert headers(window, now) == [(limit, b"100"), (remaining, b"7"), (reset, b"6m0s")]
    # The count left changes from answer to answer; the reset is a duration in whole seconds.
    window = RateLimit(limit=100, remaining=6, reset=int(now) + 360)
    assert headers(window, now + 0.5) == [(limit, b"100"), (remaining, b"6"), (reset, b"6m0s")]
    assert headers(window, now + 1) == [(limit, b"100"), (remaining, b"6"), (reset, b"5m59s")]
    # A new window, and numbers the service did not send.
    assert headers(RateLimit(limit=50, remaining=50, reset=int(now) + 3725), now + 1) == [
        (limit, b"50"),
        (remaining, b"50"),
        (reset, b"1h2m4s"),
    ]
    assert headers(RateLimit(remaining=3), now + 1) == [(remaining, b"3")]
    assert headers(RateLimit(), now + 1) == []


def test_a_refused_request_is_not_marked_final(gateway: str, emulator: Emulator) -> None:
    """x-should-retry is said only of a 5xx: a 4xx means nothing was retried upstream."""
    with httpx.Client(base_url=gateway, trust_env=False) as http:
        answer = http.post("/chat/completions", json={"model": "nope", "messages": [{"role": "user", "content": "x"}]})
    assert answer.status_code == 404
    assert "x-should-retry" not in answer.headers
    assert emulator.requests == []
