"""The broadcast's report on a seeded data set whose answer is known."""

from __future__ import annotations

import json
import math
import uuid
from datetime import timedelta

import pytest

from functions.broadcasts import domain
from functions.core import clock
from tests.broadcasts.conftest import followers, get_broadcast, post_broadcast


def order(client, admin_headers, openid: str, when, total: int) -> None:
    body = {
        "order_id": f"ord-{uuid.uuid4().hex[:10]}",
        "openid": openid,
        "items": [{"sku": "TEA-1", "qty": 1, "price_cents": total}],
        "total_cents": total,
        "purchased_at": clock.iso(when),
    }
    response = client.http.post("/admin/orders", headers=admin_headers, body=json.dumps(body))
    assert response.status_code in (200, 201), response.body


def test_recipients_against_holdout_over_the_window(client, admin_headers, segments):
    # Given a broadcast to 60 members with a 50 % holdout, sent (frozen) now
    members = followers(60)
    broadcast_id = post_broadcast(
        client, admin_headers, segment_id=segments.define(members), holdout_percent=50
    )["broadcast_id"]
    assert domain.send(broadcast_id) == "sent"
    view = get_broadcast(client, admin_headers, broadcast_id)
    frozen = clock.parse_iso(view["frozen_at"])
    groups = {"recipient": [], "holdout": []}
    for member in domain._members(broadcast_id):
        groups[member.group].append(member.openid)
    recipients, holdout = sorted(groups["recipient"]), sorted(groups["holdout"])
    n1, n2 = len(recipients), len(holdout)
    assert n1 + n2 == 60 and n1 >= 10 and n2 >= 10
    # And purchases: 6 recipients buy in the window (one of them twice), 2 of the holdout do;
    # a purchase before the broadcast and one after the window do not count
    for i, openid in enumerate(recipients[:6]):
        order(client, admin_headers, openid, frozen + timedelta(hours=1 + i), 10_000)
    order(client, admin_headers, recipients[0], frozen + timedelta(days=6, hours=23), 2_500)
    order(client, admin_headers, recipients[6], frozen - timedelta(minutes=5), 99_900)
    order(client, admin_headers, recipients[7], frozen + timedelta(days=7, minutes=1), 99_900)
    order(client, admin_headers, holdout[0], frozen + timedelta(days=1), 8_000)
    order(client, admin_headers, holdout[1], frozen + timedelta(days=2), 4_000)
    # When ops read the report over the default 7 days
    report = get_broadcast(client, admin_headers, broadcast_id)["report"]
    # Then members, buyers, revenue and conversion are the seeded ones
    assert report["window_days"] == 7
    assert report["recipients"] == {
        "members": n1,
        "buyers": 6,
        "revenue_cents": 62_500,
        "conversion": round(6 / n1, 6),
    }
    assert report["holdout"] == {
        "members": n2,
        "buyers": 2,
        "revenue_cents": 12_000,
        "conversion": round(2 / n2, 6),
    }
    # And the uplift is the difference in conversion with its 95 % Wald interval
    p1, p2 = 6 / n1, 2 / n2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    assert report["uplift"]["difference"] == pytest.approx(p1 - p2, abs=1e-6)
    assert report["uplift"]["low"] == pytest.approx(p1 - p2 - 1.959964 * se, abs=1e-6)
    assert report["uplift"]["high"] == pytest.approx(p1 - p2 + 1.959964 * se, abs=1e-6)
    # And a window of 8 days takes in the late buyer
    late = get_broadcast(client, admin_headers, broadcast_id, window_days=8)["report"]
    assert (late["recipients"]["buyers"], late["recipients"]["revenue_cents"]) == (7, 62_500 + 99_900)
