"""The access_token: one stable_token fetch for everyone, one forced refresh after 40001, never a loop."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests

from functions.core import wechat
from tests.notifications.conftest import _app_id, calls, cold_token
from tests.races import ask

STABLE = "cgi-bin/stable_token"
pytestmark = pytest.mark.slow


def containers(n: int) -> list[wechat.TokenCache]:
    """`n` fresh processes' worth of token caches (each with its own in-memory copy)."""
    return [wechat.TokenCache(_app_id(), wechat.fetch_stable_token) for _ in range(n)]


def race(n: int, fn) -> list:
    """fn(0..n-1) at once, each asked until it answers (tests/races.py)."""
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(lambda i: ask(lambda: fn(i)).value, range(n)))


@pytest.mark.usefixtures("patient_clients")
def test_fifty_cold_containers_needing_a_token_at_once_fetch_it_exactly_once(sandbox):
    # Given nothing cached anywhere
    cold_token()
    caches = containers(50)
    # When 50 containers need a token at the same moment
    tokens = race(50, lambda i: caches[i].get())
    # Then one of them asked WeChat, and every one uses that token
    assert calls(sandbox, STABLE) == 1
    assert len(set(tokens)) == 1


@pytest.mark.usefixtures("patient_clients")
def test_fifty_threads_of_one_process_fetch_once_and_then_read_memory(sandbox):
    # Given a cold process
    cold_token()
    # When 50 of its threads need a token at once, and then 500 calls more
    tokens = race(50, lambda i: wechat.access_token())
    tokens += [wechat.access_token() for _ in range(500)]
    # Then one stable_token call served them all
    assert calls(sandbox, STABLE) == 1
    assert len(set(tokens)) == 1


def test_a_new_container_reuses_the_token_another_fetched(sandbox):
    # Given one container fetched and stored the token
    cold_token()
    first = containers(1)[0].get()
    # When a container with an empty memory starts
    second = containers(1)[0].get()
    # Then it reads the shared token instead of asking WeChat
    assert second == first
    assert calls(sandbox, STABLE) == 1


@pytest.mark.usefixtures("patient_clients")
def test_after_40001_fifty_callers_share_exactly_one_forced_refresh(sandbox):
    # Given every container has the token, and then WeChat invalidates it
    cold_token()
    caches = containers(50)
    race(50, lambda i: caches[i].get())
    requests.post(f"{sandbox.url}/sandbox/expire-token", timeout=5)
    before = calls(sandbox, STABLE)

    # When all 50 call an API at once, each getting 40001 with the old token
    def call_api(i: int) -> dict:
        token = caches[i].get()
        try:
            return wechat._request("GET", "cgi-bin/tags/get", {"access_token": token}, None)
        except wechat.WeChatError as error:
            assert error.errcode == 40001
        fresh = caches[i].replace_invalid(token)
        return wechat._request("GET", "cgi-bin/tags/get", {"access_token": fresh}, None)

    results = race(50, call_api)
    # Then exactly one forced refresh happened, and every retry succeeded with its token
    assert calls(sandbox, STABLE) - before == 1
    assert all("tags" in r for r in results)
    assert len({c._token.value for c in caches}) == 1


def test_call_retries_once_with_the_refreshed_token(sandbox):
    # Given a token WeChat no longer accepts
    cold_token()
    wechat.access_token()
    requests.post(f"{sandbox.url}/sandbox/expire-token", timeout=5)
    # When an API is called through the client
    result = wechat.call("cgi-bin/tags/get")
    # Then it refreshed once and the retry succeeded
    assert "tags" in result
    assert calls(sandbox, STABLE) == 2  # the first fetch, the one forced refresh
    assert calls(sandbox, "cgi-bin/tags/get") == 2


def test_a_second_40001_within_30_s_is_not_force_refreshed_again(sandbox):
    # Given a forced refresh just happened
    cold_token()
    wechat.access_token()
    requests.post(f"{sandbox.url}/sandbox/expire-token", timeout=5)
    wechat.call("cgi-bin/tags/get")
    stable_calls = calls(sandbox, STABLE)
    # When the new token is refused too
    requests.post(f"{sandbox.url}/sandbox/expire-token", timeout=5)
    # Then the call fails (to be retried later by its queue) without another forced refresh
    with pytest.raises(wechat.WeChatError) as raised:
        wechat.call("cgi-bin/tags/get")
    assert raised.value.errcode == 40001 and raised.value.transient
    assert calls(sandbox, STABLE) == stable_calls


def test_the_daily_forced_refresh_budget_is_never_exceeded(sandbox):
    # Given today's forced refreshes are used up
    cold_token()
    wechat.access_token()
    day = (datetime.now(UTC) + wechat.WECHAT_DAY_TZ).date().isoformat()
    wechat.TokenRow(f"TOKEN#{_app_id()}", wechat.TOKEN_SK).update(
        actions=[wechat.TokenRow.forced_day.set(day), wechat.TokenRow.forced_count.set(wechat.FORCED_PER_DAY)]
    )
    requests.post(f"{sandbox.url}/sandbox/expire-token", timeout=5)
    stable_calls = calls(sandbox, STABLE)
    # When WeChat refuses the token
    with pytest.raises(wechat.WeChatError):
        wechat.call("cgi-bin/tags/get")
    # Then no forced refresh is attempted
    assert calls(sandbox, STABLE) == stable_calls


def test_a_refresher_that_died_holding_the_lease_is_taken_over(sandbox, monkeypatch):
    # Given a refresher took the lease and died before storing a token
    cold_token()
    monkeypatch.setattr(wechat, "LEASE_S", 0.5)
    dead = containers(1)[0]
    assert dead._take_lease(None)
    # When another container needs the token
    started = time.monotonic()
    token = containers(1)[0].get()
    # Then it waited for the lease to run out, then fetched it itself
    assert token
    assert time.monotonic() - started >= 0.4
    assert calls(sandbox, STABLE) == 1


def test_a_failed_fetch_frees_the_lease_for_the_next_caller(sandbox):
    # Given WeChat fails the first stable_token call
    cold_token()
    requests.post(
        f"{sandbox.url}/sandbox/faults", json={"api": STABLE, "errcode": -1, "count": 1}, timeout=5
    ).raise_for_status()
    cache = containers(1)[0]
    with pytest.raises(wechat.WeChatError):
        cache.get()
    # When the next caller asks, right away
    started = time.monotonic()
    assert cache.get()
    # Then it did not have to wait out a lease (5 s; what is left is a fetch, however slow the machine)
    assert time.monotonic() - started < wechat.LEASE_S - 1


def test_the_token_ages_with_the_shared_clock(sandbox):
    # Given a container holding a fresh token
    from datetime import timedelta

    from functions.core import clock

    cold_token()
    cache = containers(1)[0]
    cache.get()
    cache.get()
    assert calls(sandbox, STABLE) == 1
    # When the shared clock moves past the token's refresh time (tests move it; so does Lambda's)
    clock.set_now(clock.now() + timedelta(seconds=7200))
    cache.get()
    # Then the token is asked for again, once
    assert calls(sandbox, STABLE) == 2
