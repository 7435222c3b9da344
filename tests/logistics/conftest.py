"""Fixtures for logistics tests: a recorded order with a shipment, and the customer's messages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.logistics.support import order_body, unique


@pytest.fixture
def shipment(client: Any, admin_headers: dict[str, str]) -> dict[str, str]:
    """Given a customer's order with a Yuantong shipment recorded through the admin API."""
    openid = unique("o-")
    order_id = unique("ord-")
    tracking_no = unique("YT")
    response = client.http.post(
        "/admin/orders", headers=admin_headers, body=order_body(order_id, openid, "yuantong", tracking_no)
    )
    assert response.status_code == 201, response.body
    return {"openid": openid, "order_id": order_id, "carrier": "yuantong", "tracking_no": tracking_no}
