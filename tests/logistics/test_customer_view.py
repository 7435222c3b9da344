"""The customer sees their own shipments, with status and history newest first."""

from __future__ import annotations

import json

from functions.logistics import summary
from tests.conftest import customer_headers
from tests.logistics.support import native_body, native_headers, unique


def send(client, tracking_no: str, status: str, at: str, detail: str) -> None:
    raw = native_body(tracking_no, status, at, carrier="yuantong", detail=detail, location="上海")
    assert client.http.post("/logistics/events", headers=native_headers(raw), body=raw).status_code == 202


def test_get_shipments_shows_only_my_shipments_newest_history_first(client, shipment):
    send(client, shipment["tracking_no"], "picked_up", "2024-05-01T08:00:00+08:00", "已揽收")
    send(client, shipment["tracking_no"], "in_transit", "2024-05-01T20:00:00+08:00", "到达上海转运中心")
    # someone else's shipment
    send(client, unique("YT"), "picked_up", "2024-05-01T08:00:00+08:00", "已揽收")

    response = client.http.get("/shipments", headers=customer_headers(shipment["openid"]))
    assert response.status_code == 200
    mine = json.loads(response.body)
    assert [s["tracking_no"] for s in mine] == [shipment["tracking_no"]]
    assert mine[0]["status"] == "in_transit"
    assert mine[0]["order_id"] == shipment["order_id"]
    assert [h["context"] for h in mine[0]["history"]] == ["到达上海转运中心", "已揽收"]

    assert client.http.get("/shipments", headers=customer_headers(unique("o-"))).body in (b"[]", "[]")
    assert client.http.get("/shipments").status_code == 401


def test_menu_summary_is_short_chinese_text(client, shipment):
    assert summary.for_customer(unique("o-")) == "您还没有物流记录。"
    send(client, shipment["tracking_no"], "out_for_delivery", "2024-05-02T08:00:00+08:00", "快递员正在派送")
    text = summary.for_customer(shipment["openid"])
    assert text.startswith("您的物流：")
    assert f"圆通 {shipment['tracking_no']}：派送中" in text
    assert "05-02 08:00 快递员正在派送" in text
