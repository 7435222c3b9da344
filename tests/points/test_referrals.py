"""Referrals: a new follower through a share code is the sharer's, once, never their own, never
re-attributed; the follower's first order rewards the sharer once, with a message."""

from __future__ import annotations

import threading

import pytest

from tests.conftest import customer_headers
from tests.points.conftest import callback, sim, uid
from tests.races import ask_http


def ref_code(client, openid: str) -> str:
    return client.http.get("/me", headers=customer_headers(openid)).json_body["ref_code"]


def follow_through(client, openid: str, code: str) -> str:
    return callback(client, sim.event(openid, "subscribe", f"qrscene_ref/{code}"))


def first_order(openid: str, order_id: str | None = None) -> None:
    from functions.points.referrals import on_order_recorded

    on_order_recorded({"order_id": order_id or uid("ord"), "openid": openid, "total_cents": 100})


def test_a_new_follower_is_the_sharers_and_the_first_order_rewards_once(client):
    from functions.notifications.domain import get_notification
    from functions.points import ledger
    from functions.points.referrals import referrer_of, referrers

    # Given REFERRAL_POINTS at its default, 100, and a sharer's code
    sharer, friend = uid("o"), uid("o")
    code = ref_code(client, sharer)
    # When a friend follows through it
    assert follow_through(client, friend, code).startswith("欢迎关注")
    # Then the friend is the sharer's referral, and the friend follows
    assert referrer_of(friend) == sharer
    from functions.customers.domain import get_customer

    assert get_customer(friend).subscribed
    # And the friend's first order, delivered three times, rewards the sharer once
    order_id = uid("ord")
    for _ in range(3):
        first_order(friend, order_id)
    assert ledger.balance_of(sharer) == 100
    message = get_notification(f"referral-{friend}")
    assert message["openid"] == sharer and message["kind"] == "referral_rewarded"
    assert message["fields"] == {"reason": "好友完成首单", "points": "100", "balance": "100"}
    # And a second order rewards nothing more
    first_order(friend)
    assert ledger.balance_of(sharer) == 100
    # And the console's counters: one follow, one first order
    (mine,) = [r for r in referrers(limit=10_000) if r.openid == sharer]
    assert (mine.follows, mine.first_orders) == (1, 1)


def test_nobody_refers_themselves(client):
    from functions.points.referrals import referrer_of

    sharer = uid("o")
    code = ref_code(client, sharer)
    follow_through(client, sharer, code)
    assert referrer_of(sharer) is None


def test_an_existing_follower_is_never_re_attributed(client):
    from functions.points.referrals import referrer_of

    first, second, follower = uid("o"), uid("o"), uid("o")
    # A follower who followed before any share code
    callback(client, sim.event(follower, "subscribe"))
    callback(client, sim.event(follower, "unsubscribe"))
    follow_through(client, follower, ref_code(client, first))
    assert referrer_of(follower) is None
    # A referred follower who leaves and comes back through another code stays the first's
    newcomer = uid("o")
    follow_through(client, newcomer, ref_code(client, first))
    callback(client, sim.event(newcomer, "unsubscribe"))
    follow_through(client, newcomer, ref_code(client, second))
    assert referrer_of(newcomer) == first
    # A scan of a share code by a follower changes nothing
    reply = callback(client, sim.event(newcomer, "SCAN", f"ref/{ref_code(client, second)}"))
    assert reply.startswith("您已关注") and referrer_of(newcomer) == first


def test_an_unknown_share_code_is_a_plain_follow(client):
    from functions.points.referrals import referrer_of

    follower = uid("o")
    assert follow_through(client, follower, "x" * 16).startswith("欢迎关注")
    assert referrer_of(follower) is None


@pytest.mark.slow
def test_two_sharers_codes_racing_for_one_new_follower_give_one_referral(client):
    from functions.points.models import ReferrerRow, referrer_pk
    from functions.points.referrals import referrer_of
    from infra.local.wechat_sim import deliver

    sharers = [uid("o") for _ in range(4)]
    codes = [ref_code(client, s) for s in sharers]
    follower = uid("o")
    # The same follower's subscribe through four codes at once (four different messages)
    deliveries = [
        sim.event(follower, "subscribe", f"qrscene_ref/{c}", create_time=1700000000 + n)
        for n, c in enumerate(codes)
    ]
    barrier = threading.Barrier(len(deliveries))
    results: list = [None] * len(deliveries)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = ask_http(lambda: deliver(client, sim, deliveries[i]), status=lambda r: r[0])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(deliveries))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(status == 200 for status, _ in results), results
    winner = referrer_of(follower)
    assert winner in sharers
    follows = {
        s: int(ReferrerRow.get(referrer_pk(s), "REFERRER").follows or 0) for s in sharers if s == winner
    }
    assert follows == {winner: 1}
    for sharer in sharers:
        if sharer != winner:
            try:
                row = ReferrerRow.get(referrer_pk(sharer), "REFERRER")
            except ReferrerRow.DoesNotExist:
                continue
            assert not row.follows


def test_the_console_shows_each_sharers_views_follows_and_first_orders(client, admin_headers):
    from tests.console.conftest import Browser, put_operator

    sharer, friend = uid("o"), uid("o")
    code = ref_code(client, sharer)
    assert client.http.get(f"/h5/r/{code}").status_code == 200
    follow_through(client, friend, code)
    first_order(friend)
    admin = Browser(client)
    assert admin.login(put_operator(client, admin_headers)).status == 303
    page = admin.get("/console/referrals")
    assert page.status == 200
    assert f"<tr><th>{sharer}</th><td>1</td><td>1</td><td>1</td></tr>" in page.text
