"""PUT /admin/coupon-campaigns/{id}: validation, the sliced total limit, the trigger index."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import customer_headers
from tests.coupons.conftest import campaign_body, uid


def put(client, admin_headers, campaign_id, body):
    return client.http.put(
        f"/admin/coupon-campaigns/{campaign_id}", headers=admin_headers, body=json.dumps(body)
    )


def test_an_admin_creates_then_updates_a_campaign(client, admin_headers):
    # Given a new campaign id
    campaign_id = uid("camp")
    # When the admin creates it
    created = put(client, admin_headers, campaign_id, campaign_body(total_limit=30))
    # Then it is created with its terms
    assert created.status_code == 201, created.body
    view = created.json_body
    assert view["campaign_id"] == campaign_id
    assert view["discount_cents"] == 2000 and "percent_off" not in view
    assert view["valid_from"] == "2019-12-31T16:00:00.000000Z"  # a date is a business day (Asia/Shanghai)
    assert view["valid_to"] == "2099-12-31T15:59:59.000000Z"  # ... through its end
    # When it is saved again with other terms
    updated = put(
        client, admin_headers, campaign_id, campaign_body(total_limit=40, percent_off=15, discount_cents=None)
    )
    # Then it is updated, not re-created
    assert updated.status_code == 200
    assert updated.json_body["total_limit"] == 40 and updated.json_body["percent_off"] == 15
    assert updated.json_body["issued"] == 0


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"title": ""}, 400, "invalid_title"),
        ({"title": None}, 400, "invalid_title"),
        ({"title": "   "}, 400, "invalid_title"),
        ({"discount_cents": "10"}, 400, "invalid_discount_cents"),
        ({"percent_off": 10}, 422, "invalid_campaign"),  # both a fixed amount and a percentage
        ({"discount_cents": None}, 422, "invalid_campaign"),  # neither
        ({"discount_cents": None, "percent_off": 101}, 400, "invalid_percent_off"),
        ({"discount_cents": 0}, 400, "invalid_discount_cents"),
        ({"valid_from": "yesterday"}, 400, "invalid_valid_from"),
        ({"valid_from": "2030-02-30"}, 400, "invalid_valid_from"),
        ({"valid_to": "9999-12-31"}, 400, "invalid_valid_to"),  # its end is past year 9999
        ({"valid_to": "2019-01-01"}, 422, "invalid_campaign"),  # ends before it starts
        ({"total_limit": 0}, 400, "invalid_total_limit"),
        ({"total_limit": True}, 400, "invalid_total_limit"),
        ({"per_customer_limit": None}, 400, "invalid_per_customer_limit"),
        ({"trigger": {"on": "signup"}}, 400, "invalid_on"),
        ({"trigger": {"on": "purchase", "skus": "SKU1"}}, 400, "invalid_skus"),
        ({"trigger": {"on": "purchase", "skus": ["SKU 1"]}}, 400, "invalid_skus"),
        ({"trigger": {"on": "purchase", "skus": [f"S{i}" for i in range(41)]}}, 400, "invalid_skus"),
        ({"trigger": {"on": "purchase", "store": ["s1"]}}, 400, "invalid_trigger"),
        ({"counter_shards": 17}, 400, "invalid_counter_shards"),
    ],
)
def test_bad_campaigns_are_refused_and_nothing_is_stored(client, admin_headers, change, status, code):
    campaign_id = uid("camp")
    response = put(client, admin_headers, campaign_id, campaign_body(**change))
    assert response.status_code == status, response.body
    assert response.json_body["error"] == code
    gone = client.http.get(f"/admin/coupon-campaigns/{campaign_id}", headers=admin_headers)
    assert gone.status_code == 404


def test_a_campaign_id_follows_the_identifier_grammar(client, admin_headers):
    for bad in ("a%23b", "a%7Cb", "x" * 65):
        response = put(client, admin_headers, bad, campaign_body())
        assert (response.status_code, response.json_body["error"]) == (400, "invalid_campaign_id")
    # ':' and '.' are identifier characters too (CONTRACT §1)
    assert put(client, admin_headers, uid("spring:2030.v1"), campaign_body()).status_code == 201


def test_admin_routes_need_the_key(client):
    response = client.http.put(
        "/admin/coupon-campaigns/x",
        headers={"Content-Type": "application/json"},
        body=json.dumps(campaign_body()),
    )
    assert response.status_code == 401


def test_the_total_cannot_go_below_what_is_issued_but_can_be_raised(client, admin_headers, make_campaign):
    # Given a campaign split over 3 counter shards with 5 coupons issued
    from functions.coupons import issuing

    campaign_id = make_campaign(total_limit=9, per_customer_limit=9, counter_shards=3)
    issued = issuing.issue_to(campaign_id, [uid("o") for _ in range(5)])
    assert issued["issued"] == 5
    # When the admin lowers the total below 5
    refused = put(client, admin_headers, campaign_id, campaign_body(total_limit=4, per_customer_limit=9))
    # Then it is refused and the limit is unchanged
    assert refused.status_code == 409 and refused.json_body["error"] == "limit_below_issued"
    view = client.http.get(f"/admin/coupon-campaigns/{campaign_id}", headers=admin_headers).json_body
    assert (view["total_limit"], view["issued"]) == (9, 5)
    # When the admin lowers it to exactly 6
    assert (
        put(
            client, admin_headers, campaign_id, campaign_body(total_limit=6, per_customer_limit=9)
        ).status_code
        == 200
    )
    # Then exactly one more coupon can be issued, whichever shards the first five used
    more = issuing.issue_to(campaign_id, [uid("o") for _ in range(3)])
    assert more["issued"] == 1
    assert {r.get("error") for r in more["results"]} == {None, "sold_out"}
    # And raising the total re-opens it
    assert (
        put(
            client, admin_headers, campaign_id, campaign_body(total_limit=8, per_customer_limit=9)
        ).status_code
        == 200
    )
    assert issuing.issue_to(campaign_id, [uid("o") for _ in range(3)])["issued"] == 2


def test_slices_keep_what_each_shard_issued_and_sum_to_the_total():
    from functions.coupons.campaigns import slices

    assert slices(10, [0, 0, 0]) == [4, 3, 3]
    assert slices(10, [5, 0, 1]) == [7, 1, 2]  # the headroom of 4 spread evenly
    assert sum(slices(7, [3, 4])) == 7


@given(st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=16), st.integers(0, 5000))
def test_re_slicing_never_puts_a_shard_below_what_it_issued(issued, headroom):
    from functions.coupons.campaigns import slices

    total = sum(issued) + headroom
    new = slices(total, issued)
    assert sum(new) == total
    assert all(limit >= done for limit, done in zip(new, issued, strict=True))
    assert (
        max(n - i for n, i in zip(new, issued, strict=True))
        - min(n - i for n, i in zip(new, issued, strict=True))
        <= 1
    )


def test_the_trigger_index_follows_the_campaign(make_campaign):
    # Given a campaign triggered by two SKUs
    from functions.coupons.models import TriggerRow

    sku_a, sku_b, store = uid("sku"), uid("sku"), uid("store")
    campaign_id = make_campaign(trigger={"on": "purchase", "skus": [sku_a, sku_b]})
    assert [r.campaign_id for r in TriggerRow.query(f"TRIGGER#SKU#{sku_a}")] == [campaign_id]
    # When its trigger changes to a store
    make_campaign(campaign_id, trigger={"on": "purchase", "stores": [store]})
    # Then the SKU index items are gone and the store's is there
    assert list(TriggerRow.query(f"TRIGGER#SKU#{sku_a}")) == []
    assert list(TriggerRow.query(f"TRIGGER#SKU#{sku_b}")) == []
    assert [r.campaign_id for r in TriggerRow.query(f"TRIGGER#STORE#{store}")] == [campaign_id]


def test_a_customer_cannot_use_admin_routes(client):
    response = client.http.get("/admin/coupon-campaigns/x", headers=customer_headers("o1"))
    assert response.status_code == 401
