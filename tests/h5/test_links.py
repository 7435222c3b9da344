"""Every template message links to its page (CONTRACT §9), and the booking message says where
and when as people say it: `静安区 周三 09:00-12:00`."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest

from tests.h5.conftest import CONTACT_FIELDS, days_ahead, record_order, uid


def served(app, url: str) -> bool:
    """Whether the app serves a GET page at `url`'s path (its route template matched)."""
    path = urlsplit(url).path
    for route, methods in app.routes.items():
        pattern = "^" + re.sub(r"{[^}]+}", "[^/]+", route) + "$"
        if re.match(pattern, path) and "GET" in methods:
            return True
    return False


@pytest.fixture
def app():
    from app import app

    return app


def notification(notification_id: str) -> dict:
    from functions.notifications.domain import get_notification

    found = get_notification(notification_id)
    assert found is not None, notification_id
    return found


def test_booking_messages_link_to_the_booking_and_say_where_and_when(client, area, app):
    from functions.bookings import domain
    from functions.bookings.requests import BookingRequest

    me = uid("o")
    area_id, (morning, afternoon) = area("静安区")
    order_id = record_order(me, area=area_id)
    booked, _ = domain.book(me, BookingRequest(morning, order_id, **CONTACT_FIELDS))
    booking_id = booked["booking_id"]
    domain.reschedule(me, booking_id, afternoon)
    domain.cancel(me, booking_id)
    day = date.fromisoformat(days_ahead(3))
    weekday = "一二三四五六日"[day.weekday()]
    for suffix, window in (("confirmed", "09:00-12:00"), ("rescheduled-v2", "13:00-17:00")):
        sent = notification(f"booking-{booking_id}-{suffix}")
        assert sent["url"] == f"http://127.0.0.1:8000/h5/bookings/{booking_id}"
        assert sent["fields"]["place"] == f"静安区 周{weekday} {window}"
        assert served(app, sent["url"])
    assert notification(f"booking-{booking_id}-cancelled")["url"].endswith(f"/h5/bookings/{booking_id}")


def test_the_place_and_time_field_fits_wechats_20_characters():
    from functions.bookings.areas import place_and_time

    assert place_and_time("静安区", "2026-12-02", "09:00-12:00") == "静安区 周三 09:00-12:00"
    long = place_and_time("上海市浦东新区张江高科技园区", "2026-12-06", "13:00-17:00")
    assert long == "上海市浦… 周日 13:00-17:00" and len(long) == 20


def test_the_coupon_message_links_to_my_coupons(client, sandbox, app):
    from functions.coupons import campaigns, issuing
    from functions.coupons.requests import CampaignRequest

    me, campaign_id = uid("o"), uid("camp")
    today = date.today()
    campaigns.put_campaign(
        campaign_id,
        CampaignRequest(
            title="新客礼",
            valid_from=today.isoformat(),
            valid_to=(today + timedelta(days=30)).isoformat(),
            total_limit=10,
            per_customer_limit=1,
            discount_cents=1000,
        ),
    )
    [result] = issuing.issue_to(campaign_id, [me])["results"]
    sent = notification(f"coupon-{result['code'].replace('-', '')}")
    assert sent["url"] == "http://127.0.0.1:8000/h5/coupons" and served(app, sent["url"])


@pytest.mark.parametrize(
    ("status", "page"),
    [("out_for_delivery", "/h5/shipments"), ("failed_attempt", "/h5/book?order_id=SO-77")],
)
def test_shipment_messages_link_to_the_shipments_or_to_rebooking(aws, app, status, page):
    from functions.logistics.models import SHIPMENT, ShipmentRow
    from functions.logistics.shipments import message_for, shipment_pk

    row = ShipmentRow(
        shipment_pk("shunfeng", "SF1"),
        SHIPMENT,
        carrier="shunfeng",
        tracking_no="SF1",
        order_id="SO-77",
        status=status,
    )
    _, url = message_for(row)
    assert url == f"http://127.0.0.1:8000{page}" and served(app, url)


def test_every_link_the_messages_and_menu_use_is_a_page(app):
    from functions.core import links

    for url in (links.booking("b1"), links.book("SO-1"), links.shipments(), links.coupons(), links.me()):
        assert served(app, url), url
    for url in (links.points(), links.share("abcdefghijklmnop")):
        assert served(app, url), url
