"""POST /pos/redemptions: signed by the store, exactly one redemption per code, safe to retry."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.core import clock
from functions.core.http import status_of
from tests.coupons.conftest import pos_body, pos_headers, uid
from tests.races import ask


@pytest.fixture
def coupon(make_campaign):
    """Issue one coupon of a fresh campaign; returns a factory (campaign overrides) -> display code."""
    from functions.coupons import codes, issuing

    def make(**overrides) -> str:
        campaign_id = make_campaign(**{"total_limit": 10, "per_customer_limit": 10, **overrides})
        return codes.display(issuing.claim(uid("o"), campaign_id).code)

    return make


def redeem(client, store, code, order_id, amount, **header_overrides):
    store_id, secret = store
    body = pos_body(code, order_id, amount)
    headers = {**pos_headers(store_id, secret, body), **header_overrides}
    return client.http.post("/pos/redemptions", headers=headers, body=body)


def redemptions_today(store_id: str) -> int:
    from functions.stores.stats import daily_stats

    day = clock.business_date()
    return daily_stats(store_id, day, day)[0]["redemptions"]


def coupon_status(code: str) -> str:
    from functions.coupons import codes, issuing

    return issuing.get_coupon(codes.normalize(code)).status


def test_a_store_redeems_a_coupon_once_and_a_retry_gets_the_same_answer(client, make_store, coupon):
    # Given a 20-yuan-off coupon (minimum spend 100 yuan) and a store's POS
    store = make_store()
    code = coupon()
    # When the POS redeems it for a 150-yuan order
    first = redeem(client, store, code, "ord-1", 15000)
    # Then it is redeemed with 20 yuan off and the store's stat counts it
    assert first.status_code == 200, first.body
    assert first.json_body == {"status": "redeemed", "code": code, "discount_cents": 2000}
    assert coupon_status(code) == "redeemed"
    assert redemptions_today(store[0]) == 1
    # When the POS retries the very same request (a lost response), even re-signed later
    again = redeem(client, store, code.lower(), "ord-1", 15000)
    # Then it gets the identical 200, and nothing is counted twice
    assert again.status_code == 200 and again.body == first.body
    assert redemptions_today(store[0]) == 1
    # But another order, or another store, is refused
    other_order = redeem(client, store, code, "ord-2", 15000)
    assert other_order.status_code == 409 and other_order.json_body["error"] == "already_redeemed"
    other_store = redeem(client, make_store(), code, "ord-1", 15000)
    assert other_store.status_code == 409 and other_store.json_body["error"] == "already_redeemed"


def test_a_byte_identical_replay_returns_the_identical_response(client, make_store, coupon):
    store_id, secret = make_store()
    body = pos_body(coupon(), uid("ord"), 20000)
    headers = pos_headers(store_id, secret, body)
    first = client.http.post("/pos/redemptions", headers=headers, body=body)
    replay = client.http.post("/pos/redemptions", headers=headers, body=body)
    assert first.status_code == replay.status_code == 200
    assert replay.body == first.body
    assert redemptions_today(store_id) == 1


@pytest.mark.parametrize(
    "attack", ["tampered_body", "other_store_secret", "unknown_store", "stale", "future", "missing"]
)
def test_bad_pos_requests_get_401_and_change_nothing(client, make_store, coupon, attack):
    # Given a store, a coupon, and a correctly signed request
    store_id, secret = make_store()
    code = coupon()
    body = pos_body(code, uid("ord"), 20000)
    headers = pos_headers(store_id, secret, body)
    # When the request is tampered with
    if attack == "tampered_body":
        body = body.replace(b"20000", b"90000")
    elif attack == "other_store_secret":
        _, other_secret = make_store()
        headers = pos_headers(store_id, other_secret, body)
    elif attack == "unknown_store":
        headers["X-Store-Id"] = uid("store")
    elif attack == "stale":
        headers = pos_headers(store_id, secret, body, timestamp=clock.now_ts() - 301)
    elif attack == "future":
        headers = pos_headers(store_id, secret, body, timestamp=clock.now_ts() + 301)
    else:
        del headers["X-Signature"]
    response = client.http.post("/pos/redemptions", headers=headers, body=body)
    # Then it is refused and the coupon and the stats are untouched
    assert response.status_code == 401, response.body
    assert coupon_status(code) == "issued"
    assert redemptions_today(store_id) == 0


def test_a_signature_from_another_stores_terminal_is_refused(client, make_store, coupon):
    # A terminal of store B signs correctly with its own secret but claims to be store A.
    store_a, _ = make_store()
    store_b, secret_b = make_store()
    code = coupon()
    body = pos_body(code, uid("ord"), 20000)
    response = client.http.post("/pos/redemptions", headers=pos_headers(store_a, secret_b, body), body=body)
    assert response.status_code == 401
    assert coupon_status(code) == "issued"


def test_refusals_say_why(client, make_store, coupon):
    store = make_store()
    now = clock.now()
    # Unknown and malformed codes
    assert redeem(client, store, "ABCD-EFGH-JKMN-PQRS", "o1", 20000).json_body["error"] == "coupon_not_found"
    assert redeem(client, store, "not a code", "o1", 20000).status_code == 404
    # Minimum spend
    code = coupon()
    response = redeem(client, store, code, "o1", 9999)
    assert (response.status_code, response.json_body["error"]) == (422, "min_spend_not_met")
    # Not started yet
    later = coupon(
        valid_from=(now + timedelta(days=2)).isoformat(), valid_to=(now + timedelta(days=9)).isoformat()
    )
    response = redeem(client, store, later, "o1", 20000)
    assert (response.status_code, response.json_body["error"]) == (422, "coupon_not_started")
    # Expired: issued while valid, redeemed after valid_to
    soon = coupon(
        valid_from=(now - timedelta(days=2)).isoformat(), valid_to=(now + timedelta(hours=1)).isoformat()
    )
    clock.set_now(now + timedelta(hours=2))
    response = redeem(client, store, soon, "o1", 20000)
    assert (response.status_code, response.json_body["error"]) == (422, "coupon_expired")
    clock.set_now(None)
    for refused in (code, later, soon):
        assert coupon_status(refused) == "issued"
    assert redemptions_today(store[0]) == 0
    # Bad bodies (signed correctly) are 400
    store_id, secret = store
    for bad in (
        b"{",
        b'{"code": "X", "order_id": "o", "amount_cents": -1}',
        b'{"code": "X", "order_id": "a b"}',
    ):
        response = client.http.post("/pos/redemptions", headers=pos_headers(store_id, secret, bad), body=bad)
        assert response.status_code == 400, bad


def test_the_order_id_follows_the_contracts_grammar(client, make_store, coupon):
    # '/' was accepted at the POS and nowhere else: an order id means the same everywhere now
    store, code = make_store(), coupon()
    for bad, field in (("SO/1", "order_id"), ("x" * 65, "order_id")):
        response = redeem(client, store, code, bad, 20000)
        assert (response.status_code, response.json_body["error"]) == (400, f"invalid_{field}")
    assert coupon_status(code) == "issued"
    assert redeem(client, store, code, "SO:1.a_b-c", 20000).status_code == 200


def test_a_bad_body_with_a_bad_signature_is_401(client, make_store):
    # The signature is checked before the body is read: a prober learns nothing about the shape
    store_id, _ = make_store()
    body = b'{"code": 5}'
    response = client.http.post(
        "/pos/redemptions", headers=pos_headers(store_id, "wrong-secret", body), body=body
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("terms", "amount", "discount"),
    [
        ({"discount_cents": 2000, "min_spend_cents": 0}, 1500, 1500),  # capped at the amount
        ({"discount_cents": 2000, "min_spend_cents": 0}, 5000, 2000),
        ({"discount_cents": None, "percent_off": 15, "min_spend_cents": 0}, 9999, 1500),  # 1499.85 -> 1500
        ({"discount_cents": None, "percent_off": 100, "min_spend_cents": 0}, 4321, 4321),
    ],
)
def test_the_discount_is_a_capped_amount_or_a_percentage(client, make_store, coupon, terms, amount, discount):
    response = redeem(client, make_store(), coupon(**terms), uid("ord"), amount)
    assert response.json_body["discount_cents"] == discount


@given(
    st.one_of(st.tuples(st.integers(1, 10**8), st.none()), st.tuples(st.none(), st.integers(1, 100))),
    st.integers(0, 10**9),
)
def test_a_discount_is_never_negative_nor_more_than_the_amount(terms, amount):
    from functions.coupons.issuing import Coupon
    from functions.coupons.redemption import discount_for

    fixed, percent = terms
    coupon = Coupon("C", "c", "o", "t", "issued", fixed, percent, 0, 0, 1, "")
    discount = discount_for(coupon, amount)
    assert 0 <= discount <= amount
    if fixed is not None:
        assert discount == min(fixed, amount)
    else:
        assert abs(discount - amount * percent / 100) <= 0.5


def test_the_boundaries_of_the_window_are_inclusive(client, make_store, coupon):
    start = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)
    clock.set_now(start - timedelta(days=1))
    code = coupon(valid_from=start.isoformat(), valid_to=(start + timedelta(hours=1)).isoformat())
    clock.set_now(start + timedelta(hours=1))
    assert redeem(client, make_store(), code, "o1", 20000).status_code == 200


@pytest.mark.slow
@pytest.mark.usefixtures("patient_clients")
def test_a_hundred_terminals_racing_on_one_code_redeem_it_exactly_once(make_store, coupon):
    # Given one coupon and 100 terminals in 10 stores, each with its own order
    from functions.coupons import codes, redemption

    code = codes.normalize(coupon())
    stores = [make_store()[0] for _ in range(10)]
    outcomes: list[tuple[int, str]] = []
    start = threading.Barrier(100)

    def terminal(n: int) -> None:
        start.wait()
        # Like a real POS, the terminal sends the same request again until it gets an answer:
        # a redemption is idempotent per (store, order, code), so a retry cannot add a winner.
        answer = ask(lambda: redemption.redeem(stores[n % 10], code, f"race-{n}", 20000))
        if answer.refusal is not None:
            outcomes.append((status_of(answer.refusal), answer.code))
        else:
            outcomes.append((200, stores[n % 10]))

    threads = [threading.Thread(target=terminal, args=(n,)) for n in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then exactly one succeeded and 99 were told it is already redeemed
    winners = [store for status, store in outcomes if status == 200]
    assert len(winners) == 1
    assert sorted(set(outcomes) - {(200, winners[0])}) == [(409, "already_redeemed")]
    assert len(outcomes) == 100
    # And only the winning store counted a redemption
    assert [redemptions_today(s) for s in stores].count(1) == 1
    assert sum(redemptions_today(s) for s in stores) == 1


def test_redemption_needs_a_json_object(client, make_store):
    store_id, secret = make_store()
    body = json.dumps([1]).encode()
    response = client.http.post("/pos/redemptions", headers=pos_headers(store_id, secret, body), body=body)
    assert response.status_code == 400
