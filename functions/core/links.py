"""Links to the customer pages (CONTRACT §9), for template messages and the account's menu.

Every page lives under `/h5/`; its public address is `H5_BASE_URL` + the path, so a stage
prefix (API Gateway's `/api`) or a domain of its own is one setting. Defined once, here, so
that a message never links to a page that does not exist (tests/h5 checks each against the
routes).
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from functions.core.config import get_settings

BOOKINGS = "/h5/bookings"
BOOK = "/h5/book"
COUPONS = "/h5/coupons"
SHIPMENTS = "/h5/shipments"
ME = "/h5/me"
WARRANTY = "/h5/warranty"
SERVICE = "/h5/service"


def page_url(path: str) -> str:
    """The public URL of the page at `path` (a path starting /h5/)."""
    return get_settings().h5_base_url + path


def booking_path(booking_id: str) -> str:
    return f"{BOOKINGS}/{quote(booking_id, safe='')}"


def book_path(order_id: str) -> str:
    return f"{BOOK}?{urlencode({'order_id': order_id})}"


def booking(booking_id: str) -> str:
    """A booking's page: its slot, reschedule and cancel."""
    return page_url(booking_path(booking_id))


def book(order_id: str) -> str:
    """Booking (or rebooking) a delivery slot for an order."""
    return page_url(book_path(order_id))


def shipments() -> str:
    return page_url(SHIPMENTS)


def coupons() -> str:
    return page_url(COUPONS)


def me() -> str:
    """The customer's settings: reminders on or off."""
    return page_url(ME)


def warranty_path(serial: str) -> str:
    return f"{WARRANTY}?{urlencode({'sn': serial})}"


def warranty(serial: str) -> str:
    """A unit's e-warranty card (the page its printed code opens)."""
    return page_url(warranty_path(serial))


def service() -> str:
    """My after-sales requests and their visits."""
    return page_url(SERVICE)


POINTS = "/h5/points"
SHARE = "/h5/r"


def points() -> str:
    """My points: balance, history, and coupons to exchange them for."""
    return page_url(POINTS)


def share_path(ref_code: str) -> str:
    return f"{SHARE}/{quote(ref_code, safe='')}"


def share(ref_code: str) -> str:
    """A customer's share page: the QR code that follows the account as their referral."""
    return page_url(share_path(ref_code))
