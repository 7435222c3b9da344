"""Purchase triggers: a matching order issues the campaign's coupon once, however often it is delivered."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest

from functions.core import clock
from tests.conftest import drain
from tests.coupons.conftest import uid


def order_event(openid: str, store_id: str | None, skus: list[str], order_id: str | None = None) -> dict:
    return {
        "type": "order_recorded",
        "order_id": order_id or uid("ord"),
        "openid": openid,
        "store_id": store_id,
        "items": [{"sku": sku, "qty": 1, "price_cents": 5000} for sku in skus],
        "total_cents": 5000 * len(skus),
        "purchased_at": clock.iso(clock.now()),
        "reminder_consent": None,
    }


def campaign_coupons(openid: str, campaign_id: str) -> list:
    from functions.coupons import issuing

    return [c for c in issuing.coupons_of(openid) if c.campaign_id == campaign_id]


def test_a_matching_order_issues_the_coupon_once_even_when_redelivered(make_campaign):
    # Given a campaign triggered by buying brand A's SKU, up to 5 per customer
    from functions.coupons.triggers import on_order_recorded
    from functions.notifications.domain import get_notification

    sku = uid("sku-a")
    campaign_id = make_campaign(
        title="B品牌专享", per_customer_limit=5, trigger={"on": "purchase", "skus": [sku]}
    )
    openid = uid("o")
    event = order_event(openid, uid("store"), [sku, uid("other")])
    # When the order event is delivered three times
    for _ in range(3):
        on_order_recorded(event)
    # Then the buyer has exactly one coupon of that campaign, and one notification for it
    coupons = campaign_coupons(openid, campaign_id)
    assert len(coupons) == 1
    assert get_notification(f"coupon-{coupons[0].code}")["openid"] == openid
    # And another order issues another coupon
    on_order_recorded(order_event(openid, None, [sku]))
    assert len(campaign_coupons(openid, campaign_id)) == 2


@pytest.mark.slow
def test_concurrent_redeliveries_of_one_order_issue_one_coupon(make_campaign):
    from functions.coupons.triggers import on_order_recorded

    store = uid("store")
    campaign_id = make_campaign(per_customer_limit=50, trigger={"on": "purchase", "stores": [store]})
    openid = uid("o")
    event = order_event(openid, store, [uid("sku")])
    threads = [threading.Thread(target=on_order_recorded, args=(event,)) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(campaign_coupons(openid, campaign_id)) == 1


def test_triggers_match_skus_and_stores(make_campaign):
    from functions.coupons.triggers import on_order_recorded

    sku, store, elsewhere = uid("sku"), uid("store"), uid("store")
    by_sku = make_campaign(trigger={"on": "purchase", "skus": [sku]})
    by_store = make_campaign(trigger={"on": "purchase", "stores": [store]})
    by_both = make_campaign(trigger={"on": "purchase", "skus": [sku], "stores": [store]})
    cases = {
        (sku, store): {by_sku, by_store, by_both},
        (sku, elsewhere): {by_sku},
        (uid("sku"), store): {by_store},
        (uid("sku"), elsewhere): set(),
    }
    for (bought, at), expected in cases.items():
        openid = uid("o")
        on_order_recorded(order_event(openid, at, [bought]))
        from functions.coupons import issuing

        got = {c.campaign_id for c in issuing.coupons_of(openid)}
        assert got & {by_sku, by_store, by_both} == expected, (bought, at)


def test_a_sold_out_or_ended_campaign_issues_nothing_and_does_not_fail(make_campaign):
    from functions.coupons.triggers import on_order_recorded

    sku = uid("sku")
    sold_out = make_campaign(total_limit=1, trigger={"on": "purchase", "skus": [sku]})
    ended = make_campaign(
        valid_from="2020-01-01", valid_to="2021-01-01", trigger={"on": "purchase", "skus": [sku]}
    )
    first, second = uid("o"), uid("o")
    on_order_recorded(order_event(first, None, [sku]))
    on_order_recorded(order_event(second, None, [sku]))  # sold out: no exception, so no retry
    assert len(campaign_coupons(first, sold_out)) == 1
    assert campaign_coupons(second, sold_out) == []
    assert campaign_coupons(first, ended) == campaign_coupons(second, ended) == []


def test_a_trigger_on_any_purchase_matches_every_order(make_campaign):
    from functions.coupons.triggers import matching_campaigns

    any_order = make_campaign(
        valid_from="2020-01-01", valid_to="2021-01-01", trigger={"on": "purchase"}
    )  # ended, so that other tests' orders on this shared server never receive it
    from functions.coupons.models import TriggerRow

    assert any_order in {row.campaign_id for row in TriggerRow.query("TRIGGER#ANY")}
    assert any_order not in {c.campaign_id for c in matching_campaigns(None, {uid("sku")})}
    clock.set_now(datetime(2020, 6, 1, tzinfo=UTC))  # while it ran, it matched any order
    assert any_order in {c.campaign_id for c in matching_campaigns(uid("store"), {uid("sku")})}


def test_an_order_recorded_over_http_triggers_its_coupon(client, admin_headers, make_campaign):
    # Given a campaign triggered by a SKU
    sku = uid("sku")
    campaign_id = make_campaign(trigger={"on": "purchase", "skus": [sku]})
    openid = uid("o")
    # When the order is recorded and the order-events queue is processed
    order = {
        "order_id": uid("ord"),
        "openid": openid,
        "items": [{"sku": sku, "qty": 2, "price_cents": 3000}],
        "total_cents": 6000,
    }
    response = client.http.post("/admin/orders", headers=admin_headers, body=json.dumps(order))
    assert response.status_code in (200, 201), response.body
    drain("order-events", "order_events")
    # Then the buyer holds the campaign's coupon
    assert len(campaign_coupons(openid, campaign_id)) == 1
