"""What the customer pages show, shaped from the capabilities' own domain objects: dates and
windows as people read them, areas and stores by name, statuses in words. No rules live here:
whether a slot can be booked is asked of the bookings capability (slots.check_bookable)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from functions.bookings import areas, slots
from functions.bookings.domain import CONFIRMED, DONE, Booking
from functions.core import clock
from functions.core.errors import RuleBroken
from functions.coupons import codes
from functions.coupons.issuing import Coupon, benefit_text
from functions.logistics.shipments import Shipment
from functions.logistics.status import STATUS_TEXT
from functions.logistics.summary import CARRIERS
from functions.orders.domain import Order
from functions.warranty import service
from functions.warranty.serials import EXPIRED, IN_WARRANTY, Warranty

DAYS = 14  # the booking page offers today and the next 13 days


# -- slots ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    slot_id: str
    window: str
    remaining: int

    @property
    def full(self) -> bool:
        return self.remaining <= 0


@dataclass(frozen=True)
class Day:
    date: str
    label: str  # 12月4日 周三
    choices: list[Choice]


def _open(slot: slots.Slot) -> bool:
    """Still bookable in time (not started, not past the cut-off); a full slot is open too."""
    try:
        slots.check_bookable(slots.SlotKey(slot.area, slot.date, slot.window))
    except RuleBroken:
        return False
    return True


def window() -> tuple[date, date]:
    """The days the booking page offers: today and the next DAYS - 1 (business dates)."""
    today = clock.business_date()
    return today, today + timedelta(days=DAYS - 1)


def open_slots(area: str) -> list[slots.Slot]:
    """The area's slots of the next DAYS days that can still be booked in time, in order."""
    found = slots.list_slots(area, *window())
    return sorted((s for s in found if _open(s)), key=lambda s: (s.date, s.window))


def days(open_: list[slots.Slot], leave_out: str | None = None) -> list[Day]:
    """The slots by day, full ones included (shown as full); `leave_out` is the current slot."""
    by_day: dict[str, list[Choice]] = {}
    for slot in open_:
        if slot.slot_id != leave_out:
            by_day.setdefault(slot.date, []).append(Choice(slot.slot_id, slot.window, slot.remaining))
    return [Day(day, areas.day_text(day), choices) for day, choices in by_day.items()]


def next_free(area: str, after: str) -> slots.Slot | None:
    """The first slot with a place left after the slot `after` (else the first one at all)."""
    free = [s for s in open_slots(area) if s.remaining > 0 and s.slot_id != after]
    later = [s for s in free if (s.date, s.window) > tuple(after.split("|")[1:])]
    return (later or free or [None])[0]


def slot_text(slot_id: str) -> str:
    """`12月4日 周三 09:00-12:00`."""
    key = slots.parse_slot_id(slot_id)
    return f"{areas.day_text(key.date)} {key.window}"


# -- bookings and orders ----------------------------------------------------------------


@dataclass(frozen=True)
class BookingView:
    booking: Booking
    area_name: str
    when: str
    status: str  # 已预约 / 已完成 / 已取消
    tag: str  # the status tag's style
    changeable: bool  # confirmed and not started: it can be moved or cancelled


def booking_views(bookings: list[Booking]) -> list[BookingView]:
    named = areas.names({b.area for b in bookings})
    now = clock.now()
    views = []
    for b in bookings:
        started = slots.SlotKey(b.area, b.date, b.window).start <= now
        if b.status == DONE:
            status, tag = "已完成", "tag_grey"
        elif b.status != CONFIRMED:
            status, tag = "已取消", "tag_grey"
        elif started:
            status, tag = "已完成", "tag_grey"
        else:
            status, tag = "已预约", ""
        when = f"{areas.day_text(b.date)} {b.window}"
        views.append(BookingView(b, named[b.area], when, status, tag, b.status == CONFIRMED and not started))
    return views


def bookable_orders(orders: list[Order], bookings: list[Booking]) -> list[Order]:
    """Orders without an active or done booking: the ones the customer can still book."""
    booked = {b.order_id for b in bookings if b.status in (CONFIRMED, DONE)}
    return [o for o in orders if o.order_id not in booked]


def active_booking(bookings: list[Booking], order_id: str) -> Booking | None:
    return next((b for b in bookings if b.order_id == order_id and b.status == CONFIRMED), None)


def date_text(iso: str) -> str:
    """A UTC timestamp as the business day people read: `12月1日`."""
    day = clock.business_date(clock.parse_iso(iso))
    return f"{day.month}月{day.day}日"


def last_contact(bookings: list[Booking]) -> dict[str, str]:
    """The address and phone of the newest booking, to fill in the form again."""
    if not bookings:
        return {"address": "", "phone": ""}
    return {"address": bookings[0].address, "phone": bookings[0].phone}


# -- coupons ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CouponView:
    coupon: Coupon
    code: str  # as printed: ABCD-EFGH-JKMN-PQRS
    benefit: str
    valid: str
    usable: bool
    status: str


COUPON_STATUS = {"issued": "可使用", "redeemed": "已使用", "expired": "已过期"}


def _day(ts: int) -> str:
    day = clock.business_date(datetime.fromtimestamp(ts, UTC))
    return f"{day.year}年{day.month}月{day.day}日"


def coupon_views(coupons: list[Coupon]) -> list[CouponView]:
    now_ts = clock.now_ts()
    views = []
    for c in coupons:
        valid = f"有效期至{_day(c.valid_to_ts)}"
        if now_ts < c.valid_from_ts:
            valid = f"{_day(c.valid_from_ts)}起可用，" + valid
        status = c.display_status(now_ts)
        benefit = benefit_text(c.discount_cents, c.percent_off, c.min_spend_cents)
        views.append(
            CouponView(
                c, codes.display(c.code), benefit, valid, c.usable(now_ts), COUPON_STATUS.get(status, status)
            )
        )
    # usable first, each group in the order they came (newest first)
    return sorted(views, key=lambda v: not v.usable)


# -- shipments --------------------------------------------------------------------------


def _moment(iso: str | None) -> str:
    if not iso:
        return ""
    moment = clock.parse_iso(iso).astimezone(clock.business_tz())
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}"


def shipment_view(s: Shipment) -> dict[str, Any]:
    status = s.status or ""
    return {
        "carrier": CARRIERS.get(s.carrier, s.carrier),
        "tracking_no": s.tracking_no,
        "order_id": s.order_id,
        "status": STATUS_TEXT.get(status, "待揽收"),
        "tag": {"delivered": "tag_grey", "failed_attempt": "tag_warn", "exception": "tag_orange"}.get(
            status, ""
        ),
        "rebook": status == "failed_attempt" and bool(s.order_id),
        "events": [
            {
                "time": _moment(e.get("time")),
                "text": " ".join(str(e.get("context") or STATUS_TEXT.get(e.get("status") or "", "")).split()),
                "where": e.get("location") or "",
            }
            for e in s.history
        ],
    }


# -- warranty and after-sales -------------------------------------------------------------


def day_text(iso_date: str | None) -> str:
    """`2025年3月31日`, or a dash for a date we do not have."""
    if not iso_date:
        return "—"
    day = date.fromisoformat(iso_date)
    return f"{day.year}年{day.month}月{day.day}日"


WARRANTY_STATUS = {IN_WARRANTY: ("保修期内", ""), EXPIRED: ("已过保修期", "tag_grey")}


@dataclass(frozen=True)
class WarrantyCard:
    """The e-warranty card: product, serial, purchase date, warranty end and status."""

    product: str
    serial: str
    purchased: str
    installed: str | None
    until: str
    status: str
    tag: str


def warranty_card(w: Warranty) -> WarrantyCard:
    view = w.to_view()
    status, tag = WARRANTY_STATUS.get(w.status, ("暂无保修信息", "tag_grey"))
    return WarrantyCard(
        product=w.product_name,
        serial=w.unit.serial,
        purchased=day_text(view["purchased_on"] or view["start_date"]),
        installed=day_text(view["installed_on"]) if view["installed_on"] else None,
        until=day_text(view["warranty_until"]),
        status=status,
        tag=tag,
    )


SERVICE_STATUS = {
    service.OPEN: ("待安排", "tag_orange"),
    service.SCHEDULED: ("已预约上门", ""),
    service.DONE: ("已完成", "tag_grey"),
    service.CANCELLED: ("已取消", "tag_grey"),
}


def service_view(r: service.ServiceRequest) -> dict[str, Any]:
    status, tag = SERVICE_STATUS.get(r.status, (r.status, "tag_grey"))
    when = slot_text(r.slot_id) if r.slot_id and r.status in (service.SCHEDULED, service.DONE) else None
    return {
        "serial": r.serial,
        "problem": r.problem,
        "status": status,
        "tag": tag,
        "when": when,
        "in_warranty": r.in_warranty,
        "opened": date_text(r.created_at),
    }
