"""`RetryPolicy(max_retries=N)` is honoured; an explicit `max_retries=` wins over it (both clients)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import respx
from conftest import BASE_URL, Dual
from wire import json_answer

from dynaspark_sdk import InternalServerError, InvalidRequestError, RetryPolicy

pytestmark = pytest.mark.anyio
CHAT = f"{BASE_URL}/dsai_fuck_u_spammer"


def fast(max_retries: int) -> RetryPolicy:
    return RetryPolicy(max_retries=max_retries, initial_delay=0.001, max_delay=0.01)


@pytest.fixture
def failing() -> Iterator[respx.Route]:
    with respx.mock(assert_all_mocked=True) as router:
        yield router.post(CHAT).mock(return_value=json_answer({"error": "down"}, status=503))


async def attempts(dual: Dual, route: respx.Route) -> int:
    before = route.call_count
    with pytest.raises(InternalServerError):
        await dual.call("chat", "hi")
    return route.call_count - before


async def test_the_policys_max_retries_is_honoured(make_dual: Callable[..., Dual], failing: respx.Route) -> None:
    assert await attempts(make_dual(retry_policy=fast(5)), failing) == 6
    assert await attempts(make_dual(retry_policy=fast(0)), failing) == 1


async def test_max_retries_given_as_well_wins(make_dual: Callable[..., Dual], failing: respx.Route) -> None:
    assert await attempts(make_dual(retry_policy=fast(5), max_retries=1), failing) == 2


async def test_default_is_two_retries(make_dual: Callable[..., Dual], failing: respx.Route) -> None:
    dual = make_dual(retry_policy=RetryPolicy(initial_delay=0.001, max_delay=0.01))
    assert await attempts(dual, failing) == 3


async def test_with_options_retry_policy_brings_its_max_retries(
    make_dual: Callable[..., Dual], failing: respx.Route
) -> None:
    dual = make_dual(retry_policy=fast(1))
    more = Dual(dual.kind, dual.client.with_options(retry_policy=fast(4)))
    assert await attempts(more, failing) == 5
    both = Dual(dual.kind, dual.client.with_options(retry_policy=fast(4), max_retries=0))
    assert await attempts(both, failing) == 1
    # Changing only max_retries keeps the rest of the policy.
    fewer = Dual(dual.kind, dual.client.with_options(max_retries=3))
    assert await attempts(fewer, failing) == 4
    assert await attempts(dual, failing) == 2  # the original is unchanged


async def test_bad_retry_settings_are_refused(make_dual: Callable[..., Dual]) -> None:
    with pytest.raises(InvalidRequestError, match="max_retries"):
        make_dual(retry_policy=RetryPolicy(max_retries=-1))
    with pytest.raises(InvalidRequestError, match="retry_policy"):
        make_dual(retry_policy={"max_retries": 3})
