"""Races against the moto server: exchanges that outnumber the balance, scans of one card at once,
an order event delivered many times at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from functions.core import clock
from infra.local.wechat_sim import deliver
from tests.points.conftest import give_points, on_sale_direct, open_store, sim, table_card, uid
from tests.races import ask, ask_http


def stored_entries(openid: str) -> dict[str, int]:
    from functions.points.models import ENTRY_PREFIX, EntryRow, ledger_pk

    rows = EntryRow.query(ledger_pk(openid), EntryRow.sk.startswith(ENTRY_PREFIX), consistent_read=True)
    return {row.entry_id: int(row.delta) for row in rows}


@pytest.mark.slow
def test_100_exchanges_against_a_balance_that_covers_3_give_3_coupons(aws, patient_clients):
    from functions.coupons.issuing import coupons_of
    from functions.points import ledger
    from functions.points.exchange import exchange

    # Given a balance of 3 × 40 points (and 30 over), and a campaign costing 40
    openid = uid("o")
    give_points(openid, 150)
    campaign_id = on_sale_direct(40)
    barrier = threading.Barrier(100)

    def racer(_: int):
        barrier.wait()
        return ask(lambda: exchange(openid, campaign_id))

    # When 100 exchanges race
    with ThreadPoolExecutor(max_workers=100) as pool:
        answers = list(pool.map(racer, range(100)))
    # Then exactly 3 succeeded and 97 were refused for want of points
    codes = sorted(a.code for a in answers)
    assert codes.count("ok") == 3 and codes.count("insufficient_points") == 97, codes
    # And the customer holds 3 coupons, 3 debits, and a balance of 30, never below zero
    assert len(coupons_of(openid)) == 3
    entries = stored_entries(openid)
    assert sorted(d for d in entries.values() if d < 0) == [-40, -40, -40]
    assert ledger.balance_of(openid) == sum(entries.values()) == 30
    assert all(a.value.balance >= 0 for a in answers if a.value is not None)


@pytest.mark.slow
def test_concurrent_scans_of_one_card_credit_once_a_day(client):
    from functions.points import ledger

    # Given a table card worth 10 points, and a warm container
    scene = table_card(client, open_store(client), points=10)
    warm = sim.event(uid("o"), "SCAN", scene)
    assert ask_http(lambda: deliver(client, sim, warm), status=lambda r: r[0])[0] == 200
    openid = uid("o")
    base = clock.now_ts()
    # When the customer's phone sends 8 different scans of it at once (distinct messages)
    deliveries = [sim.event(openid, "SCAN", scene, create_time=base + n) for n in range(8)]
    barrier = threading.Barrier(len(deliveries))
    replies: list = [None] * len(deliveries)

    def run(i: int) -> None:
        barrier.wait()
        replies[i] = ask_http(lambda: deliver(client, sim, deliveries[i]), status=lambda r: r[0])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(deliveries))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then every scan was answered, one of them with the points and the others with "already"
    texts = [reply["Content"] for status, reply in replies if status == 200]
    assert len(texts) == len(deliveries), replies
    assert sum(t.startswith("扫码积分 +10") for t in texts) == 1, texts
    # And the ledger has one entry and a balance of 10
    assert list(stored_entries(openid).values()) == [10]
    assert ledger.balance_of(openid) == 10


@pytest.mark.slow
def test_an_order_event_delivered_at_once_many_times_credits_once(aws, patient_clients):
    from functions.notifications.domain import get_notification
    from functions.points import ledger
    from functions.points.earning import on_order_recorded

    openid, order_id = uid("o"), uid("ord")
    give_points(openid, 5)
    event = {"order_id": order_id, "openid": openid, "store_id": None, "total_cents": 9900}
    barrier = threading.Barrier(10)

    def racer(_: int):
        barrier.wait()
        return ask(lambda: on_order_recorded(event))

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(racer, range(10)))
    assert all(a.code == "ok" for a in answers), [a.code for a in answers]
    assert ledger.balance_of(openid) == 104
    assert get_notification(f"receipt-{order_id}")["fields"]["balance"] == "104"
