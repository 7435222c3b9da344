"""Points: earned from table cards and orders, seen in GET /points and the menu, spent on coupons."""

from __future__ import annotations

import json
from datetime import timedelta

from functions.core import clock
from tests.conftest import customer_headers
from tests.points.conftest import (
    ADMIN,
    callback,
    give_points,
    on_sale,
    open_store,
    sim,
    table_card,
    uid,
)


def points_of(client, openid: str, cursor: str | None = None) -> dict:
    path = "/points" + (f"?cursor={cursor}" if cursor else "")
    response = client.http.get(path, headers=customer_headers(openid))
    assert response.status_code == 200, response.body
    return response.json_body


def test_a_table_card_credits_once_per_store_and_business_day(client):
    # Given a store with a table card worth 10 points
    store_id = open_store(client, welcome="欢迎光临南京西路店！")
    scene = table_card(client, store_id, points=10)
    assert scene.endswith("#pts")
    openid = uid("o")
    # When a customer follows through the card
    reply = callback(client, sim.event(openid, "subscribe", f"qrscene_{scene}"))
    # Then the reply is the store's welcome, then the points and the new balance
    assert reply == "欢迎光临南京西路店！\n扫码积分 +10，当前积分 10。"
    # And scanning again the same day credits nothing
    again = callback(client, sim.event(openid, "SCAN", scene))
    assert again == "今天已在本店领取过扫码积分，明天再来吧。当前积分 10。"
    # And another store's card credits the same day
    other = table_card(client, open_store(client), points=5)
    assert callback(client, sim.event(openid, "SCAN", other)) == "扫码积分 +5，当前积分 15。"
    # And the next business day the first card credits again (a scan: no welcome)
    clock.set_now(clock.now() + timedelta(days=1))
    assert (
        callback(client, sim.event(openid, "SCAN", scene, create_time=clock.now_ts()))
        == "扫码积分 +10，当前积分 25。"
    )
    # And the history shows three scans, newest first
    seen = points_of(client, openid)
    assert seen["balance"] == 25
    assert [(h["delta"], h["reason"]) for h in seen["history"]] == [(10, "scan"), (5, "scan"), (10, "scan")]


def test_a_card_needs_its_points_and_points_need_a_card(client):
    store_id = open_store(client)
    for body in ({"purpose": "points"}, {"points": 5}, {"purpose": "points", "points": 0}):
        response = client.http.post(
            "/admin/qrcodes", headers=ADMIN, body=json.dumps({"store_id": store_id, **body})
        )
        assert response.status_code in (400, 422), response.body
        assert response.json_body["error"] in ("invalid_points", "invalid_purpose")


def test_the_menu_and_the_keyword_reply_with_the_balance(client):
    openid = uid("o")
    give_points(openid, 42)
    assert callback(client, sim.event(openid, "CLICK", "MY_POINTS")).startswith("您当前的积分：42。")
    assert callback(client, sim.text(openid, "积分")).startswith("您当前的积分：42。")


def test_an_order_credits_its_points_and_sends_one_receipt(client, sandbox):
    # Given a store and a customer
    from functions.notifications.domain import get_notification
    from functions.points.earning import on_order_recorded

    store_id = open_store(client)
    openid, order_id = uid("o"), uid("ord")
    give_points(openid, 7)
    event = {"order_id": order_id, "openid": openid, "store_id": store_id, "total_cents": 12999, "items": []}
    # When the order's event is delivered three times
    for _ in range(3):
        on_order_recorded(event)
    # Then it credited floor(129.99) = 129 points, once
    seen = points_of(client, openid)
    assert seen["balance"] == 136
    assert [(h["delta"], h["reason"]) for h in seen["history"]][0] == (129, "order")
    # And one receipt: store, amount, points earned and the balance they made
    receipt = get_notification(f"receipt-{order_id}")
    assert receipt["kind"] == "order_receipt"
    assert receipt["fields"] == {
        "store": "南京西路店",
        "amount": "¥129.99",
        "points": "129",
        "balance": "136",
    }


def test_a_recorded_order_credits_through_the_order_events(client):
    from tests.conftest import drain

    openid, order_id = uid("o"), uid("ord")
    body = {
        "order_id": order_id,
        "openid": openid,
        "items": [{"sku": "sku-1", "qty": 1, "price_cents": 25000}],
        "total_cents": 25000,
    }
    assert client.http.post("/admin/orders", headers=ADMIN, body=json.dumps(body)).status_code == 201
    drain("order-events", "order_events")
    assert points_of(client, openid)["balance"] == 250


def test_exchange_debits_the_points_and_issues_the_coupon(client):
    # Given a customer with 120 points and a campaign costing 50
    openid = uid("o")
    give_points(openid, 120)
    campaign_id = on_sale(client, 50)
    headers = customer_headers(openid)
    body = json.dumps({"campaign_id": campaign_id})
    # When they exchange twice
    first = client.http.post("/points/exchange", headers=headers, body=body)
    second = client.http.post("/points/exchange", headers=headers, body=body)
    # Then each is a coupon and the balance after it
    assert (first.status_code, first.json_body["balance"]) == (201, 70)
    assert (second.status_code, second.json_body["balance"]) == (201, 20)
    # And a third is refused: 20 points do not cover 50, and nothing changes
    third = client.http.post("/points/exchange", headers=headers, body=body)
    assert (third.status_code, third.json_body["error"]) == (409, "insufficient_points")
    assert points_of(client, openid)["balance"] == 20
    coupons = client.http.get("/coupons", headers=headers).json_body
    assert sorted(c["code"] for c in coupons) == sorted([first.json_body["code"], second.json_body["code"]])
    assert [h["delta"] for h in points_of(client, openid)["history"][:2]] == [-50, -50]


def test_exchange_keeps_the_campaigns_own_limits(client):
    openid = uid("o")
    give_points(openid, 1000)
    headers = customer_headers(openid)
    per_customer = on_sale(client, 10, per_customer_limit=1)
    body = json.dumps({"campaign_id": per_customer})
    assert client.http.post("/points/exchange", headers=headers, body=body).status_code == 201
    refused = client.http.post("/points/exchange", headers=headers, body=body)
    assert (refused.status_code, refused.json_body["error"]) == (409, "limit_reached")
    sold_out = on_sale(client, 10, total_limit=1)
    body = json.dumps({"campaign_id": sold_out})
    assert (
        client.http.post("/points/exchange", headers=customer_headers(uid("o")), body=body).status_code == 409
    )
    assert client.http.post("/points/exchange", headers=headers, body=body).status_code == 201
    refused = client.http.post("/points/exchange", headers=headers, body=body)
    assert (refused.status_code, refused.json_body["error"]) == (409, "sold_out")
    # The refusals took no points: 1000 - 10 - 10
    assert points_of(client, openid)["balance"] == 980


def test_a_campaign_without_points_cost_is_not_for_sale(client):
    openid = uid("o")
    give_points(openid, 1000)
    campaign_id = uid("c")
    body = {
        "title": "满100减20",
        "discount_cents": 2000,
        "valid_from": "2020-01-01",
        "valid_to": "2099-12-31",
        "total_limit": 10,
        "per_customer_limit": 1,
    }
    client.http.put(f"/admin/coupon-campaigns/{campaign_id}", headers=ADMIN, body=json.dumps(body))
    refused = client.http.post(
        "/points/exchange", headers=customer_headers(openid), body=json.dumps({"campaign_id": campaign_id})
    )
    assert (refused.status_code, refused.json_body["error"]) == (422, "not_for_points")
    missing = client.http.post(
        "/points/exchange", headers=customer_headers(openid), body=json.dumps({"campaign_id": "nope"})
    )
    assert missing.status_code == 404


def test_history_pages_newest_first(client):
    openid = uid("o")
    for n in range(25):
        clock.set_now(clock.now() + timedelta(seconds=1))
        give_points(openid, n + 1, entry_id=f"scan:s{n}:d")
    first = points_of(client, openid)
    assert len(first["history"]) == 20 and first["cursor"]
    assert [h["delta"] for h in first["history"]][:3] == [25, 24, 23]
    second = points_of(client, openid, first["cursor"])
    assert [h["delta"] for h in second["history"]] == [5, 4, 3, 2, 1] and second["cursor"] is None
    bad = client.http.get("/points?cursor=%00", headers=customer_headers(openid))
    assert bad.status_code == 400


def test_an_exchange_retried_with_its_idempotency_key_debits_once(client):
    openid = uid("o")
    give_points(openid, 100)
    campaign_id = on_sale(client, 30)
    headers = {**customer_headers(openid), "Idempotency-Key": "exchange-0001"}
    body = json.dumps({"campaign_id": campaign_id})
    first = client.http.post("/points/exchange", headers=headers, body=body)
    again = client.http.post("/points/exchange", headers=headers, body=body)
    assert first.status_code == again.status_code == 201
    assert again.json_body == {"code": first.json_body["code"], "balance": 70}
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert points_of(client, openid)["balance"] == 70
    assert len(client.http.get("/coupons", headers=headers).json_body) == 1
    bad = client.http.post("/points/exchange", headers={**headers, "Idempotency-Key": "\u00e9"}, body=body)
    assert bad.status_code == 400


def test_ops_make_a_table_card_in_the_console(client, admin_headers):
    from tests.console.conftest import Browser, put_operator

    store_id = open_store(client)
    admin = Browser(client)
    assert admin.login(put_operator(client, admin_headers)).status == 303
    page = admin.get(f"/console/stores/{store_id}")
    made = admin.post(
        f"/console/stores/{store_id}/qrcodes", {"csrf_token": page.csrf, "points": "15", "permanent": "on"}
    )
    assert made.status == 303 and "pts" in made.location
    assert "积分台卡 +15" in admin.get(f"/console/stores/{store_id}").text
    for bad in ("²", "0", "abc", "1000000"):
        refused = admin.post(f"/console/stores/{store_id}/qrcodes", {"csrf_token": page.csrf, "points": bad})
        assert refused.status == 400, (bad, refused.status)
    openid = uid("o")
    scene = f"{store_id}#pts"
    assert callback(client, sim.event(openid, "SCAN", scene)) == "扫码积分 +15，当前积分 15。"
