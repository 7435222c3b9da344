"""The customer pages inside WeChat (CONTRACT §9): thin, like every handler. Each calls the same
domain function as its JSON route (bookings.domain, coupons.issuing, logistics.shipments,
customers.domain) and renders the answer; what every page needs (sign-in, the session cookie,
CSRF, templates) is functions.web's.

Forms post back to the page's own path and answer 303 to the page that shows the result, so
a reload never repeats an action.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import msgspec
from chalice import Response
from msgspec import Meta

from functions.auth.domain import sign_in
from functions.bookings import areas
from functions.bookings import domain as bookings
from functions.bookings.requests import Address, BookingId, BookingRequest, Phone
from functions.core import links
from functions.core.config import get_settings
from functions.core.errors import AppError, Conflict, Forbidden, NotFound, Unauthenticated
from functions.core.fields import Area, OrderId, SlotId
from functions.core.http import Blueprint, header
from functions.coupons.issuing import coupons_of
from functions.customers.domain import get_customer, set_reminder_consent
from functions.h5 import views
from functions.logistics.shipments import for_customer as shipments_of
from functions.orders.domain import Order, get_order, orders_of
from functions.stores.domain import get_store
from functions.web import jssdk, pages, qr
from functions.web import session as sessions
from functions.web.pages import page, redirect
from functions.web.session import Session, signed_in

blueprint = Blueprint(__name__)

BOOKING = {"booking_id": BookingId}
CsrfToken = Annotated[
    str, Meta(max_length=128, description="the page's CSRF token (checked with the session)")
]


def errors(error: AppError) -> Response:
    return pages.error_page(error, blueprint.current_request)


def customer_page(
    path: str, methods: tuple[str, ...] = ("GET",), **declared: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A page of the signed-in customer: the session (and on a POST the CSRF token) is checked
    first, and errors answer as pages."""
    return blueprint.route(path, methods=list(methods), auth=signed_in, errors=errors, **declared)


# -- queries and forms ------------------------------------------------------------------


class Done(msgspec.Struct, forbid_unknown_fields=False):
    """What the page just did, to say so (after a form's redirect)."""

    done: Literal["booked", "rescheduled", "cancelled", "saved"] | None = None


class BookQuery(msgspec.Struct, forbid_unknown_fields=False):
    order_id: OrderId
    area: Area | None = None  # chosen on the page when the order has no area


class BookForm(msgspec.Struct, forbid_unknown_fields=False):
    csrf_token: CsrfToken
    order_id: OrderId
    slot_id: SlotId
    address: Address
    phone: Phone


class RescheduleForm(msgspec.Struct, forbid_unknown_fields=False):
    csrf_token: CsrfToken
    slot_id: SlotId


class ConfirmForm(msgspec.Struct, forbid_unknown_fields=False):
    csrf_token: CsrfToken


class RemindersForm(msgspec.Struct, forbid_unknown_fields=False):
    csrf_token: CsrfToken
    reminders: Literal["on", "off"]


class SignInQuery(msgspec.Struct, forbid_unknown_fields=False):
    """WeChat's redirect back: the code, our state, and where the customer was going."""

    code: Annotated[str, Meta(max_length=512)] | None = None
    state: Annotated[str, Meta(max_length=128)] | None = None
    next: Annotated[str, Meta(max_length=1024)] | None = None
    retry: Literal["1"] | None = None


class StaticQuery(msgspec.Struct, forbid_unknown_fields=False):
    v: Annotated[str, Meta(max_length=64)] | None = None


# -- sign-in and the stylesheet ---------------------------------------------------------


@blueprint.route("/h5/auth", methods=["GET"], query=SignInQuery, errors=pages.error_page)
def auth(query: SignInQuery) -> Response:
    """WeChat's sign-in comes back here: check the state, exchange the code, set the session."""
    target = sessions.safe_next(query.next)
    if not sessions.state_matches(blueprint.current_request, query.state):
        if query.retry:  # our own state did not come back either: stop, say so
            return pages.error_page(Forbidden("sign-in state did not match", code="sign_in_state"))
        return pages.sign_in(target, retry=True)  # a code we did not ask for is never exchanged
    if not query.code:
        return pages.error_page(Unauthenticated("WeChat sent no code", code="invalid_code"))
    token = sign_in(query.code)["token"]
    return redirect(
        target,
        status=302,
        cookies=[sessions.session_cookie(token), sessions.clear_cookie(sessions.STATE_COOKIE)],
    )


@blueprint.route("/h5/static/{name}", methods=["GET"], query=StaticQuery, errors=pages.error_page)
def static(name: str, query: StaticQuery) -> Response:
    """The pages' stylesheet (cached for a year under its versioned URL)."""
    found = pages.static_response(name, query.v, header(blueprint.current_request, "If-None-Match"))
    if found is None:
        raise NotFound(f"no static file {name}", code="not_found")
    return found


# -- bookings ---------------------------------------------------------------------------


def _my_order(openid: str, order_id: str) -> Order:
    """The caller's recorded order, or 404 (also when it is someone else's)."""
    order = get_order(order_id)
    if order is None or order.openid != openid:
        raise NotFound("no such order", code="order_not_found")
    return order


# What the subscribe button offers (only the kinds configured `channel: subscribe`): after a
# purchase, "remind me when it's time to restock", and the coupons that come with it.
SUBSCRIBE_KINDS = ("repurchase_reminder", "coupon_issued")


def _subscribe_button(path: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The page's `subscribe` context and headers: the button inside WeChat, nothing outside."""
    request = blueprint.current_request
    query = dict(request.query_params or {})
    url = links.page_url(path) + (f"?{urlencode(query)}" if query else "")
    offer = jssdk.subscribe_offer(request.headers, url, SUBSCRIBE_KINDS)
    if offer is None:
        return {"subscribe": None}, {}
    policy = offer.policy(pages.PAGE_HEADERS["Content-Security-Policy"])
    return {"subscribe": offer}, {"Content-Security-Policy": policy}


@customer_page(links.BOOKINGS)
def my_bookings(caller: Session) -> Response:
    """My bookings, and my orders that can still be booked."""
    mine = bookings.list_bookings(caller.openid)
    listed = views.booking_views(mine)
    subscribe, headers = _subscribe_button(links.BOOKINGS)
    return page(
        "bookings.html",
        caller,
        title="我的预约",
        tab=links.BOOKINGS,
        to_book=views.bookable_orders(orders_of(caller.openid), mine),
        upcoming=[v for v in listed if v.changeable],
        past=[v for v in listed if not v.changeable],
        date_text=views.date_text,
        book_path=links.book_path,
        booking_path=links.booking_path,
        headers=headers,
        **subscribe,
    )


@customer_page(links.BOOK, query=BookQuery)
def book_page(caller: Session, query: BookQuery) -> Response:
    """Book a delivery slot for an order: its area's next 14 days (or first, choose the area)."""
    order = _my_order(caller.openid, query.order_id)
    mine = bookings.list_bookings(caller.openid)
    active = views.active_booking(mine, order.order_id)
    if active is not None:  # booked already: show that booking
        return redirect(links.booking_path(active.booking_id), status=302)
    area = order.area or query.area
    if area is None:
        return page(
            "choose_area.html",
            caller,
            title="预约送货安装",
            tab=links.BOOKINGS,
            order=order,
            choices=areas.with_slots(*views.window()),
            book_path=links.book_path,
        )
    return page(
        "book.html",
        caller,
        title="预约送货安装",
        tab=links.BOOKINGS,
        order=order,
        area_name=areas.name_of(area),
        can_change_area=order.area is None,
        days=views.days(views.open_slots(area)),
        contact=views.last_contact(mine),
        cutoff=get_settings().booking_cutoff,
        action=links.book_path(order.order_id),
        book_path=links.book_path,
    )


@customer_page(links.BOOK, methods=("POST",), form=BookForm)
def book(caller: Session, form: BookForm) -> Response:
    """Book the chosen slot; a slot taken meanwhile offers the next free one."""
    _my_order(caller.openid, form.order_id)
    request = BookingRequest(form.slot_id, form.order_id, form.address, form.phone)
    try:
        booked, _ = bookings.book(caller.openid, request)
    except Conflict as refused:
        if refused.code == "already_booked":  # sent twice, or booked elsewhere: show it
            active = views.active_booking(bookings.list_bookings(caller.openid), form.order_id)
            if active is not None:
                return redirect(links.booking_path(active.booking_id))
        if refused.code != "slot_full":
            raise
        return _slot_taken(caller, form.slot_id, links.book_path(form.order_id), form)
    return redirect(f"{links.booking_path(booked['booking_id'])}?done=booked")


def _slot_taken(caller: Session, slot_id: str, action: str, form: BookForm | None) -> Response:
    """The friendly answer to a slot that filled up meanwhile: the next free one, in one tap."""
    area = slot_id.split("|")[0]
    return page(
        "slot_full.html",
        caller,
        status=409,
        title="时段已约满",
        taken=views.slot_text(slot_id),
        offer=views.next_free(area, slot_id),
        slot_text=views.slot_text,
        action=action,
        form=form,
    )


@customer_page(f"{links.BOOKINGS}/{{booking_id}}", query=Done, path_types=BOOKING)
def booking_page(caller: Session, booking_id: str, query: Done) -> Response:
    """One booking: when and where, and the way to reschedule or cancel it."""
    [view] = views.booking_views([bookings.get_booking(caller.openid, booking_id)])
    return page(
        "booking.html",
        caller,
        title="预约详情",
        tab=links.BOOKINGS,
        view=view,
        done=query.done,
        path=links.booking_path(booking_id),
    )


@customer_page(f"{links.BOOKINGS}/{{booking_id}}/reschedule", path_types=BOOKING)
def reschedule_page(caller: Session, booking_id: str) -> Response:
    """Choose another slot of the same area."""
    [view] = views.booking_views([bookings.get_booking(caller.openid, booking_id)])
    if not view.changeable:
        return redirect(links.booking_path(booking_id), status=302)
    booking = view.booking
    return page(
        "reschedule.html",
        caller,
        title="改期",
        view=view,
        days=views.days(views.open_slots(booking.area), leave_out=booking.slot_id),
        action=f"{links.booking_path(booking_id)}/reschedule",
        path=links.booking_path(booking_id),
    )


@customer_page(
    f"{links.BOOKINGS}/{{booking_id}}/reschedule", methods=("POST",), form=RescheduleForm, path_types=BOOKING
)
def reschedule(caller: Session, booking_id: str, form: RescheduleForm) -> Response:
    """Move the booking: the new slot is taken and the old one released together, or nothing changes."""
    try:
        bookings.reschedule(caller.openid, booking_id, form.slot_id)
    except Conflict as refused:
        if refused.code != "slot_full":
            raise
        return _slot_taken(caller, form.slot_id, f"{links.booking_path(booking_id)}/reschedule", None)
    return redirect(f"{links.booking_path(booking_id)}?done=rescheduled")


@customer_page(f"{links.BOOKINGS}/{{booking_id}}/cancel", path_types=BOOKING)
def cancel_page(caller: Session, booking_id: str) -> Response:
    """Ask before cancelling."""
    [view] = views.booking_views([bookings.get_booking(caller.openid, booking_id)])
    if not view.changeable:
        return redirect(links.booking_path(booking_id), status=302)
    return page(
        "cancel.html",
        caller,
        title="取消预约",
        view=view,
        action=f"{links.booking_path(booking_id)}/cancel",
        path=links.booking_path(booking_id),
    )


@customer_page(
    f"{links.BOOKINGS}/{{booking_id}}/cancel", methods=("POST",), form=ConfirmForm, path_types=BOOKING
)
def cancel(caller: Session, booking_id: str, form: ConfirmForm) -> Response:
    """Cancel the booking; its place is released once, however often this is sent."""
    bookings.cancel(caller.openid, booking_id)
    return redirect(f"{links.booking_path(booking_id)}?done=cancelled")


# -- coupons, shipments, me -------------------------------------------------------------


@customer_page(links.COUPONS)
def my_coupons(caller: Session) -> Response:
    """My coupons: a usable one shows its code as text and as a QR code for the POS."""
    listed = views.coupon_views(coupons_of(caller.openid))
    return page(
        "coupons.html",
        caller,
        title="我的优惠券",
        tab=links.COUPONS,
        usable=[v for v in listed if v.usable],
        others=[v for v in listed if not v.usable],
        qr=qr.svg,
    )


@customer_page(links.SHIPMENTS)
def my_shipments(caller: Session) -> Response:
    """My parcels and their timelines; a failed delivery attempt offers rebooking."""
    return page(
        "shipments.html",
        caller,
        title="我的物流",
        tab=links.SHIPMENTS,
        shipments=[views.shipment_view(s) for s in shipments_of(caller.openid)],
        book_path=links.book_path,
    )


@customer_page(links.ME, query=Done)
def me(caller: Session, query: Done) -> Response:
    """Reminders on or off, and my store."""
    customer = get_customer(caller.openid)
    store = get_store(customer.first_store_id) if customer and customer.first_store_id else None
    subscribe, headers = _subscribe_button(links.ME)
    return page(
        "me.html",
        caller,
        title="我的",
        tab=links.ME,
        reminders=bool(customer and customer.reminder_consent),
        store=store.name if store else None,
        done=query.done,
        headers=headers,
        **subscribe,
    )


@customer_page(links.ME, methods=("POST",), form=RemindersForm)
def set_reminders(caller: Session, form: RemindersForm) -> Response:
    """Turn reminders on or off (the same choice as the menu's REMINDERS_ON / REMINDERS_OFF)."""
    set_reminder_consent(caller.openid, form.reminders == "on")
    return redirect(f"{links.ME}?done=saved")
