"""WeChat's retries racing each other: the effects land once, every delivery gets the reply."""

from __future__ import annotations

import threading

import pytest

from functions.customers.models import CustomerRow
from infra.local.wechat_sim import WeChat, deliver
from tests.callback.stories import counters, new_id, open_store, qr_scene
from tests.races import ask_http

sim = WeChat()


def race(client, deliveries: list[tuple[str, str]]) -> list:
    """Run every (xml, nonce) delivery at once; their (status, reply) in order."""
    barrier = threading.Barrier(len(deliveries))
    results: list = [None] * len(deliveries)

    def run(i: int, xml: str, nonce: str) -> None:
        barrier.wait()
        # A delivery answered 5xx is delivered again, as WeChat does (tests/races.py).
        results[i] = ask_http(lambda: deliver(client, sim, xml, nonce=nonce), status=lambda r: r[0])

    threads = [threading.Thread(target=run, args=(i, *d)) for i, d in enumerate(deliveries)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# Not `patient_clients`: the callback refuses a DynamoDB attempt whose worst case (connect +
# read timeout) would overrun WeChat's deadline, so long timeouts would only make it answer 503.
# A delivery answered 503 is delivered again instead, as WeChat does.
@pytest.mark.slow
def test_three_parallel_deliveries_of_one_subscribe_leave_one_effect(client):
    # Given a store code
    store_id, welcome = open_store(client)
    scene = qr_scene(client, store_id, staff_id="carol")
    followers = [new_id("o") for _ in range(5)]
    # And a warm container: its DynamoDB clients exist (15 threads building them at once take
    # longer than the callback's deadline allows, and a cold start is not what this tests)
    warm_up = sim.event(new_id("o"), "subscribe", f"qrscene_{scene}")
    assert ask_http(lambda: deliver(client, sim, warm_up), status=lambda r: r[0])[0] == 200
    # When each follower's subscribe arrives three times at once (WeChat's retries racing)
    deliveries = [
        (sim.event(o, "subscribe", f"qrscene_{scene}", create_time=1700000000), str(n))
        for o in followers
        for n in range(3)
    ]
    results = race(client, deliveries)
    # Then every delivery got the store's welcome
    assert all(status == 200 and reply["Content"] == welcome for status, reply in results), results
    # And each follower has one record and one touch; the store counted each once
    for openid in followers:
        rows = list(CustomerRow.query(openid, consistent_read=True))
        assert [r.sk for r in rows][0] == "PROFILE" and len(rows) == 2  # profile + one touch
        assert rows[0].touches == 1 and rows[0].first_staff_id == "carol"
    assert counters(store_id)["scans"] == len(followers) + 1
    assert counters(store_id)["new_followers"] == len(followers) + 1
