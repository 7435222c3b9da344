"""Every page and form, through the handlers (chalice.test.Client on moto): what a customer sees
and does, that they only ever see and change their own data, and that errors are pages."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.h5.conftest import days_ahead, record_order, uid

MAX_PAGE_BYTES = 50 * 1024
CONTACT = {"address": "上海市静安区南京西路1号", "phone": "13800138000"}


def assert_page(page, status: int = 200) -> None:
    assert page.status == status, page.text[:500]
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert len(page.text.encode()) < MAX_PAGE_BYTES
    assert "<script" not in page.text  # no JavaScript framework, no script at all
    assert page.headers["Cache-Control"] == "no-store"  # personal data
    assert "script-src 'none'" in page.headers["Content-Security-Policy"]


def book(device, order_id: str, slot_id: str):
    return device.submit(
        f"/h5/book?order_id={order_id}",
        f"/h5/book?order_id={order_id}",
        {"order_id": order_id, "slot_id": slot_id, **CONTACT},
    )


def remaining(slot_id: str) -> int:
    from functions.bookings import slots

    return slots.get_slot(slots.parse_slot_id(slot_id)).remaining


# -- bookings -------------------------------------------------------------------------------


def test_my_bookings_lists_orders_to_book_and_bookings_by_day_window_and_area_name(phone, area):
    me = uid("o")
    area_id, (morning, _) = area("静安区")
    waiting, booked = record_order(me, area=area_id), record_order(me, area=area_id)
    device = phone(me)
    assert book(device, booked, morning).status == 303
    page = device.get("/h5/bookings")
    assert_page(page)
    # The order without a booking can be booked; the booked one shows as a booking, by name
    assert f'href="/h5/book?order_id={waiting}"' in page.text
    assert f'href="/h5/book?order_id={booked}"' not in page.text
    day = date.fromisoformat(days_ahead(3))
    weekday = "一二三四五六日"[day.weekday()]
    assert f"{day.month}月{day.day}日 周{weekday} 09:00-12:00" in page.text
    assert "静安区" in page.text and area_id not in page.text and "已预约" in page.text


def test_booking_through_the_page_takes_a_place_and_shows_the_result(phone, area):
    from functions.bookings import domain

    me = uid("o")
    area_id, (morning, afternoon) = area(capacity=2)
    order_id = record_order(me, area=area_id)
    device = phone(me)
    # The booking page: the area by name, 14 days of slots with the places left
    form = device.get(f"/h5/book?order_id={order_id}")
    assert_page(form)
    assert "静安区" in form.text and "剩余 2 个" in form.text
    assert f'value="{morning}"' in form.text and f'value="{afternoon}"' in form.text
    # When the customer chooses the morning and confirms
    done = book(device, order_id, morning)
    # Then the booking exists, a place is taken, and the page says so (303: a reload repeats nothing)
    assert done.status == 303
    [booking] = domain.list_bookings(me)
    assert (booking.order_id, booking.slot_id, booking.address, booking.phone) == (
        order_id,
        morning,
        CONTACT["address"],
        CONTACT["phone"],
    )
    assert done.path() == f"/h5/bookings/{booking.booking_id}?done=booked"
    assert remaining(morning) == 1
    result = device.get(done.path())
    assert_page(result)
    assert "预约成功" in result.text and "改期" in result.text and "取消预约" in result.text


def test_a_full_slot_is_shown_full_and_cannot_be_chosen(phone, area):
    me = uid("o")
    area_id, (morning, afternoon) = area(capacity=1)
    for _ in range(1):
        other = uid("o")
        book(phone(other), record_order(other, area=area_id), morning)
    page = phone(me).get(f"/h5/book?order_id={record_order(me, area=area_id)}")
    choice = re.search(rf'<input type="radio" name="slot_id" value="{re.escape(morning)}"[^>]*>', page.text)
    assert choice and "disabled" in choice.group(0)
    assert "已约满" in page.text


def test_a_slot_taken_while_the_form_was_open_offers_the_next_free_slot(phone, area):
    """The slot_full race: the last place goes to someone else between opening and sending the form."""
    from functions.bookings import domain

    me, rival = uid("o"), uid("o")
    area_id, (morning, afternoon) = area(capacity=1)
    order_id = record_order(me, area=area_id)
    device = phone(me)
    form = device.get(f"/h5/book?order_id={order_id}")
    # Meanwhile a rival takes the morning's last place
    assert book(phone(rival), record_order(rival, area=area_id), morning).status == 303
    # When the customer sends the form for the morning
    fields = {"order_id": order_id, "slot_id": morning, **CONTACT}
    page = device.post(f"/h5/book?order_id={order_id}", {"csrf_token": form.csrf, **fields})
    # Then a friendly page offers the afternoon, with the address and phone kept
    assert_page(page, 409)
    assert "刚刚约满" in page.text and "13:00-17:00" in page.text
    assert f'name="slot_id" value="{afternoon}"' in page.text
    assert 'name="phone" value="13800138000"' in page.text
    assert domain.list_bookings(me) == []
    # And one tap books it
    offered = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', page.text))
    taken = device.post(f"/h5/book?order_id={order_id}", offered)
    assert taken.status == 303
    assert [b.slot_id for b in domain.list_bookings(me)] == [afternoon]


def test_sending_the_booking_form_twice_books_once_and_shows_the_booking(phone, area):
    from functions.bookings import domain

    me = uid("o")
    area_id, (morning, _) = area()
    order_id = record_order(me, area=area_id)
    device = phone(me)
    form = device.get(f"/h5/book?order_id={order_id}")
    fields = {"csrf_token": form.csrf, "order_id": order_id, "slot_id": morning, **CONTACT}
    first = device.post(f"/h5/book?order_id={order_id}", fields)
    second = device.post(f"/h5/book?order_id={order_id}", fields)
    [booking] = domain.list_bookings(me)
    assert first.status == second.status == 303
    assert second.path() == f"/h5/bookings/{booking.booking_id}"
    assert remaining(morning) == 2
    # And the booking page of a booked order opens that booking
    again = device.get(f"/h5/book?order_id={order_id}")
    assert again.status == 302 and again.path() == f"/h5/bookings/{booking.booking_id}"


def test_an_order_without_an_area_first_asks_for_one_of_the_areas_that_have_slots(phone, area):
    me = uid("o")
    named, _ = area("浦东新区")
    unnamed, _ = area(name="")
    order_id = record_order(me)  # no area
    device = phone(me)
    page = device.get(f"/h5/book?order_id={order_id}")
    assert_page(page)
    assert "请先选择" in page.text and "浦东新区" in page.text
    assert f"/h5/book?order_id={order_id}&amp;area={named}" in page.text
    assert unnamed in page.text  # an area without a name is shown by its id
    chosen = device.get(f"/h5/book?order_id={order_id}&area={named}")
    assert_page(chosen)
    assert "浦东新区" in chosen.text and "换个区域" in chosen.text and 'name="slot_id"' in chosen.text


def test_a_bad_phone_number_is_a_page_that_says_so_and_books_nothing(phone, area):
    from functions.bookings import domain

    me = uid("o")
    area_id, (morning, _) = area()
    order_id = record_order(me, area=area_id)
    device = phone(me)
    form = device.get(f"/h5/book?order_id={order_id}")
    fields = {
        "csrf_token": form.csrf,
        "order_id": order_id,
        "slot_id": morning,
        "address": "x",
        "phone": "call me",
    }
    page = device.post(f"/h5/book?order_id={order_id}", fields)
    assert_page(page, 400)
    assert "请填写正确的手机号" in page.text and f'href="/h5/book?order_id={order_id}"' in page.text
    assert domain.list_bookings(me) == []


def test_reschedule_and_cancel_through_the_pages(phone, area):
    from functions.bookings import domain

    me = uid("o")
    area_id, (morning, afternoon) = area(capacity=2)
    order_id = record_order(me, area=area_id)
    device = phone(me)
    booking_path = book(device, order_id, morning).path().split("?")[0]
    # Reschedule: the other slots of the area, the current one left out
    form = device.get(f"{booking_path}/reschedule")
    assert_page(form)
    assert f'value="{afternoon}"' in form.text and f'value="{morning}"' not in form.text
    moved = device.post(f"{booking_path}/reschedule", {"csrf_token": form.csrf, "slot_id": afternoon})
    assert moved.status == 303 and moved.path() == f"{booking_path}?done=rescheduled"
    assert "改期成功" in device.get(moved.path()).text
    assert (remaining(morning), remaining(afternoon)) == (2, 1)
    # Cancel: asked first, then done
    confirm = device.get(f"{booking_path}/cancel")
    assert_page(confirm)
    assert "确定取消预约吗" in confirm.text and "暂不取消" in confirm.text
    cancelled = device.post(f"{booking_path}/cancel", {"csrf_token": confirm.csrf})
    assert cancelled.status == 303 and cancelled.path() == f"{booking_path}?done=cancelled"
    [booking] = domain.list_bookings(me)
    assert booking.status == "cancelled" and remaining(afternoon) == 2
    shown = device.get(cancelled.path())
    assert "预约已取消" in shown.text and "重新预约" in shown.text and "取消预约</a>" not in shown.text
    # A cancelled booking cannot be moved or cancelled again from its pages
    assert device.get(f"{booking_path}/reschedule").path() == booking_path
    assert device.get(f"{booking_path}/cancel").path() == booking_path
    # And its order can be booked again
    assert f"/h5/book?order_id={order_id}" in device.get("/h5/bookings").text


def test_another_customers_booking_and_order_are_404_pages(phone, area):
    from functions.bookings import domain

    owner, intruder = uid("o"), uid("o")
    area_id, (morning, afternoon) = area()
    order_id = record_order(owner, area=area_id)
    booking_path = book(phone(owner), order_id, morning).path().split("?")[0]
    device = phone(intruder)
    for path in (booking_path, f"{booking_path}/reschedule", f"{booking_path}/cancel"):
        page = device.get(path)
        assert_page(page, 404)
        assert "找不到这个预约" in page.text and owner not in page.text
    token = device.get("/h5/me").csrf
    assert device.post(f"{booking_path}/cancel", {"csrf_token": token}).status == 404
    assert (
        device.post(f"{booking_path}/reschedule", {"csrf_token": token, "slot_id": afternoon}).status == 404
    )
    other_order = device.get(f"/h5/book?order_id={order_id}")
    assert_page(other_order, 404)
    assert "找不到这个订单" in other_order.text
    fields = {"csrf_token": token, "order_id": order_id, "slot_id": afternoon, **CONTACT}
    assert device.post(f"/h5/book?order_id={order_id}", fields).status == 404
    # Nothing of the owner's changed
    [booking] = domain.list_bookings(owner)
    assert (booking.status, booking.slot_id) == ("confirmed", morning)
    assert domain.list_bookings(intruder) == []


@pytest.mark.parametrize("path", ["/h5/bookings/no-such-booking", "/h5/book?order_id=SO-none", "/h5/book"])
def test_what_does_not_exist_is_a_page(phone, sandbox, path):
    page = phone(uid("o")).get(path)
    assert page.status in (400, 404)
    assert_page(page, page.status)
    assert '<a class="btn btn_primary" href="/h5/bookings">返回</a>' in page.text


# -- coupons, shipments, me ----------------------------------------------------------------


def test_usable_coupons_show_their_code_and_a_qr_code_of_it(phone, sandbox, aws):
    from functions.coupons import campaigns, issuing
    from functions.coupons.requests import CampaignRequest

    me = uid("o")
    today = date.today()
    campaign_id = uid("camp")
    body = CampaignRequest(
        title="满100减20",
        valid_from=today.isoformat(),
        valid_to=today.replace(year=today.year + 1).isoformat(),
        total_limit=10,
        per_customer_limit=2,
        discount_cents=2000,
        min_spend_cents=10000,
    )
    campaigns.put_campaign(campaign_id, body)
    campaign = campaigns.require_campaign(campaign_id, consistent=True)
    kept = issuing.issue_coupon(campaign, me, "issue").coupon
    used = issuing.issue_coupon(campaign, me, "issue").coupon
    from functions.coupons.redemption import redeem
    from functions.stores.domain import put_store

    store, _ = put_store(uid("store"), "静安店", "欢迎")
    redeem(store.store_id, used.code, uid("pos"), 20000)

    page = phone(me).get("/h5/coupons")
    assert_page(page)
    from functions.coupons.codes import display

    assert page.text.count('<svg role="img"') == 1  # one QR code: the usable coupon's
    assert f'aria-label="券码 {display(kept.code)}"' in page.text
    assert f'<p class="coupon__code">{display(kept.code)}</p>' in page.text
    assert "满100减20元" in page.text and "已使用" in page.text and display(used.code) in page.text


def test_shipments_show_a_timeline_and_a_failed_attempt_offers_rebooking(phone, sandbox, aws):
    from functions.logistics import pushes, shipments
    from functions.logistics.requests import NativeEvent

    me = uid("o")
    tracking_no = uid("SF").upper()
    from functions.core import clock
    from functions.orders.domain import OrderInput
    from functions.orders.domain import record_order as record

    order_id = uid("SO")
    record(
        OrderInput(
            order_id,
            me,
            None,
            [{"sku": "TV-1", "qty": 1, "price_cents": 100}],
            100,
            clock.iso(clock.now()),
            None,
            {"carrier": "shunfeng", "tracking_no": tracking_no},
        )
    )
    for status, detail in (("in_transit", "快件已到达上海"), ("failed_attempt", "收件人不在家")):
        event = NativeEvent(
            event_id=uid("e"),
            carrier="shunfeng",
            tracking_no=tracking_no,
            status=status,
            occurred_at=clock.now(),
            detail=detail,
        )
        shipments.ingest(pushes.native_push(event))
    page = phone(me).get("/h5/shipments")
    assert_page(page)
    assert f"顺丰 {tracking_no}" in page.text and "派送未成功" in page.text
    assert "收件人不在家" in page.text and "快件已到达上海" in page.text
    assert f'href="/h5/book?order_id={order_id}">重新预约送货' in page.text


def test_me_turns_reminders_on_and_off_and_shows_my_store(phone, sandbox, aws):
    from functions.core import clock, txn
    from functions.customers.domain import Touch, follow_ops, get_customer
    from functions.stores.domain import put_store

    me = uid("o")
    store, _ = put_store(uid("store"), "上海静安店", "欢迎")
    at = clock.iso(clock.now())
    txn.run(follow_ops(me, at, Touch("subscribe", store.store_id, store.store_id, None, None, at, "k")))
    device = phone(me)
    page = device.get("/h5/me")
    assert_page(page)
    assert "上海静安店" in page.text and "已关闭" in page.text
    turned_on = device.post("/h5/me", {"csrf_token": page.csrf, "reminders": "on"})
    assert turned_on.status == 303 and turned_on.path() == "/h5/me?done=saved"
    assert get_customer(me).reminder_consent is True
    shown = device.get(turned_on.path())
    assert "已开启补货提醒" in shown.text
    device.post("/h5/me", {"csrf_token": shown.csrf, "reminders": "off"})
    assert get_customer(me).reminder_consent is False
    assert device.post("/h5/me", {"csrf_token": shown.csrf, "reminders": "maybe"}).status == 400


# -- the stylesheet -------------------------------------------------------------------------


def test_the_stylesheet_is_one_file_cached_for_a_year_under_its_versioned_url(phone, sandbox):
    device = phone(uid("o"))
    page = device.get("/h5/me")
    [href] = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)
    assert re.fullmatch(r"/h5/static/app\.css\?v=[0-9a-f]{12}", href)
    css = device.client.http.get(href)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert b".cells" in css.body and len(css.body) < 16 * 1024
    again = device.client.http.get(href, headers={"If-None-Match": css.headers["ETag"]})
    assert again.status_code == 304
    assert device.client.http.get("/h5/static/nothing.css").status_code == 404


# -- the pages in the API's document ---------------------------------------------------------


def test_the_pages_are_declared_routes_in_the_openapi_document(client):
    import json

    document = json.loads(client.http.get("/openapi.json").body)
    paths = document["paths"]
    scheme = document["components"]["securitySchemes"]["signed_in"]
    assert scheme == {**scheme, "type": "apiKey", "in": "cookie", "name": "h5_session"}
    for path in (
        "/h5/bookings",
        "/h5/book",
        "/h5/bookings/{booking_id}",
        "/h5/coupons",
        "/h5/shipments",
        "/h5/me",
    ):
        operation = paths[path]["get"]
        assert operation["security"] == [{"signed_in": []}]
        assert "text/html" in operation["responses"]["2XX"]["content"]
    form = paths["/h5/book"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    declared = document["components"]["schemas"][form["$ref"].rsplit("/", 1)[-1]]
    assert set(declared["required"]) == {"csrf_token", "order_id", "slot_id", "address", "phone"}
    assert "security" not in paths["/h5/auth"]["get"]
