"""The SDK in a real `concurrent.futures.ProcessPoolExecutor`, with each start method: workers
make their own clients, and what they return or raise (results, typed errors, a 429 with its
rate-limit numbers) reaches the parent intact. Against the emulator over loopback."""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest

from dynaspark_sdk import ChatResponse, Client, RateLimitError, TextResponse
from dynaspark_sdk.testing import Emulator, EmulatorServer, faults, serve

METHODS = [method for method in ("fork", "spawn", "forkserver") if method in multiprocessing.get_all_start_methods()]


def chat_in_worker(url: str, prompt: str) -> ChatResponse:
    """What a worker runs: a client of its own, one call (module level, so spawn can pickle it)."""
    with Client(base_url=url, max_retries=0) as client:
        return client.chat(prompt)


def text_in_worker(url: str, prompt: str) -> TextResponse:
    with Client(base_url=url, max_retries=0, on_rate_limit="raise") as client:
        return client.generate_text(prompt)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator(rate_limit=1_000_000)) as running:
        yield running


@pytest.mark.skipif(sys.platform == "win32", reason="the start methods differ there")
@pytest.mark.parametrize("method", METHODS)
def test_workers_call_the_service_and_their_results_and_errors_reach_the_parent(
    server: EmulatorServer, method: str
) -> None:
    emulator = server.emulator
    emulator.clear_requests()
    prompts = ["one", "two", "three", "four"]
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context(method)) as pool:
        answers = list(pool.map(chat_in_worker, [server.url] * len(prompts), prompts))
        emulator.inject(faults.status(429, error="rate limited", retry_after=30))
        refused = pool.submit(text_in_worker, server.url, "five").exception(timeout=60)
        text = pool.submit(text_in_worker, server.url, "six").result(timeout=60)
    assert [answer.text for answer in answers] == [f"[gemini-1.5-flash-8b] You said: {p}" for p in prompts]
    assert all(isinstance(answer, ChatResponse) for answer in answers)
    assert isinstance(refused, RateLimitError), refused
    assert (refused.status_code, refused.retry_after, refused.error) == (429, 30.0, "rate limited")
    assert text.text == "[openai] You said: six" and text.usage is not None
    assert sorted({**request.params, **request.fields}["user_input"] for request in emulator.requests) == sorted(
        [*prompts, "five", "six"]
    )
