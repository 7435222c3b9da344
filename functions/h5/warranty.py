"""The warranty and after-sales pages (CONTRACT §13): declared, rendered and protected as every
customer page is (functions.h5.handlers.customer_page: the session, CSRF on a POST, errors as
pages), and calling the warranty capability's domain functions as its JSON routes do.

- `/h5/warranty?sn=` is what a product's printed code opens: the unit's e-warranty card if it is
  the customer's, else the form that registers it (one tap). Without `sn`: my cards.
- A customer who does not follow the account yet is invited to, with the account's code.
- `/h5/service` lists my requests and opens one from a registered product. Its form carries a
  key made when the page was drawn, used as the Idempotency-Key: sending it twice opens one.

These routes join the h5 Blueprint; app.py imports this module before registering it.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal
from urllib.parse import urlencode

import msgspec
from chalice import Response
from msgspec import Meta

from functions.core import clock, links
from functions.core.errors import Conflict, InvalidInput, NotFound
from functions.customers.domain import get_customer
from functions.h5 import views
from functions.h5.handlers import CsrfToken, customer_page
from functions.warranty import follow, serials, service
from functions.warranty.requests import Problem, RawSerial
from functions.web import qr
from functions.web.pages import page, redirect
from functions.web.session import Session

RequestKey = Annotated[str, Meta(pattern=r"^[0-9a-f]{32}$(?!\n)", description="the form's one-time key")]


class WarrantyQuery(msgspec.Struct, forbid_unknown_fields=False):
    sn: Annotated[str, Meta(max_length=serials.MAX_RAW_SERIAL)] | None = None
    done: Literal["registered"] | None = None


class RegisterForm(msgspec.Struct, forbid_unknown_fields=False):
    csrf_token: CsrfToken
    sn: RawSerial
    purchased_on: Annotated[str, Meta(max_length=10)] = ""  # a date input sends "" when left empty


class ServiceQuery(msgspec.Struct, forbid_unknown_fields=False):
    sn: Annotated[str, Meta(max_length=serials.MAX_RAW_SERIAL)] | None = None
    done: Literal["opened"] | None = None


class ServiceForm(msgspec.Struct, forbid_unknown_fields=False):
    csrf_token: CsrfToken
    request_key: RequestKey
    sn: RawSerial  # the unit chosen among mine
    problem: Problem


def _invite(openid: str) -> object | None:
    """The account's follow code for a customer who does not follow (yet), else None."""
    customer = get_customer(openid)
    if customer is not None and customer.subscribed:
        return None
    url = follow.follow_url()
    return qr.svg(url, "关注公众号二维码") if url else None


def _printed_serial(raw: str) -> str:
    """The serial a printed code or a person gave, normalised; one we cannot read is unknown."""
    try:
        return serials.parse_serial(raw)
    except InvalidInput:
        raise NotFound("no such product", code="serial_not_found") from None


@customer_page(links.WARRANTY, query=WarrantyQuery)
def warranty_page(caller: Session, query: WarrantyQuery) -> Response:
    """A unit's e-warranty card, or the form that registers it; without `sn`, all my cards."""
    common = {"title": "我的保修", "tab": links.ME, "invite": _invite(caller.openid), "done": query.done}
    common["service_path"] = _service_path
    if query.sn is None:
        cards = [views.warranty_card(w) for w in serials.products_of(caller.openid)]
        return page("warranty.html", caller, cards=cards, register=None, **common)
    unit = serials.get_unit(_printed_serial(query.sn))
    if unit is None:
        raise NotFound("no such product", code="serial_not_found")
    if unit.openid == caller.openid:
        return page(
            "warranty.html",
            caller,
            cards=[views.warranty_card(serials.warranty_of(unit))],
            register=None,
            **common,
        )
    if unit.openid is not None:
        raise Conflict("registered to another customer", code="already_registered")
    product = serials.warranty_of(unit).product_name
    register = {"serial": unit.serial, "product": product}
    common["title"] = "登记保修"
    today = clock.business_date().isoformat()
    return page("warranty.html", caller, cards=[], register=register, today=today, **common)


@customer_page(links.WARRANTY, methods=("POST",), form=RegisterForm)
def register(caller: Session, form: RegisterForm) -> Response:
    """Register the unit to me (sent twice, it is mine already: the card again)."""
    purchased_on = None
    if form.purchased_on:
        try:
            purchased_on = date.fromisoformat(form.purchased_on)
        except ValueError:
            raise InvalidInput("not a date", code="invalid_purchased_on") from None
    warranty, _ = serials.register(caller.openid, _printed_serial(form.sn), purchased_on)
    return redirect(f"{links.warranty_path(warranty.unit.serial)}&done=registered")


def _service_path(serial: str) -> str:
    """The service page with this unit chosen."""
    return f"{links.SERVICE}?{urlencode({'sn': serial})}"


@customer_page(links.SERVICE, query=ServiceQuery)
def service_page(caller: Session, query: ServiceQuery) -> Response:
    """My after-sales requests, and a new one from a registered product."""
    products = [views.warranty_card(w) for w in serials.products_of(caller.openid)]
    chosen = serials.normalise(query.sn) if query.sn else None
    return page(
        "service.html",
        caller,
        title="售后服务",
        tab=links.ME,
        products=products,
        chosen=chosen,
        request_key=uuid.uuid4().hex,
        requests=[views.service_view(r) for r in service.requests_of(caller.openid)],
        done=query.done,
    )


@customer_page(links.SERVICE, methods=("POST",), form=ServiceForm)
def open_service_request(caller: Session, form: ServiceForm) -> Response:
    """Open the request (the form's key makes a second send the same request)."""
    service.open_request(caller.openid, _printed_serial(form.sn), form.problem, form.request_key)
    return redirect(f"{links.SERVICE}?done=opened")
