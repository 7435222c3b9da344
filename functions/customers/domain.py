"""Customer records: subscription state and reminder consent, read cheaply by every sender."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from functions.core import clock
from functions.customers.models import PROFILE, CustomerRow, TouchRow


@dataclass(frozen=True)
class Touch:
    """A QR scan attributed to a registered scene."""

    kind: str  # subscribe | scan
    scene: str
    store_id: str
    staff_id: str | None
    campaign: str | None
    at: str  # ISO time
    key: str  # stable per WeChat delivery, so a touch row is written once


@dataclass(frozen=True)
class Customer:
    openid: str
    subscribed: bool
    reminder_consent: bool
    first_store_id: str | None = None
    first_staff_id: str | None = None
    first_scene: str | None = None


def _to_domain(row: CustomerRow) -> Customer:
    return Customer(
        openid=row.pk,
        subscribed=bool(row.subscribed),
        reminder_consent=bool(row.reminder_consent),
        first_store_id=row.first_store_id,
        first_staff_id=row.first_staff_id or None,  # "" marks "first touch had no staff"
        first_scene=row.first_scene,
    )


def get_customer(openid: str) -> Customer | None:
    try:
        return _to_domain(CustomerRow.get(openid, PROFILE, consistent_read=True))
    except DoesNotExist:
        return None


def set_reminder_consent(openid: str, consent: bool) -> None:
    """Store consent; creates the record if the customer is not known yet."""
    CustomerRow(openid).update(actions=[CustomerRow.reminder_consent.set(consent)])


def mark_unsubscribed(openid: str) -> None:
    """Every queued and future notification to this customer is dropped from now on."""
    CustomerRow(openid).update(
        actions=[
            CustomerRow.subscribed.set(False),
            CustomerRow.unsubscribed_at.set(clock.iso(clock.now())),
        ]
    )


# -- the same effects as parts of a caller's transaction (the WeChat callback commits them
#    together with its dedupe record) ----------------------------------------------------


def _first_touch_actions(touch: Touch) -> list[Any]:
    # if_not_exists on every first_* attribute: the first touch wins atomically, later touches
    # never overwrite it, and the transaction is never cancelled by it. Staff is stored as ""
    # when absent so a later staff code cannot fill in the first touch's missing staff.
    def first(attr: Any, value: str) -> Any:
        return attr.set(attr | value)

    return [
        first(CustomerRow.first_store_id, touch.store_id),
        first(CustomerRow.first_staff_id, touch.staff_id or ""),
        first(CustomerRow.first_scene, touch.scene),
        first(CustomerRow.first_touch_at, touch.at),
        CustomerRow.touches.add(1),
    ]


def follow_in(transaction: TransactWrite, openid: str, at: str, touch: Touch | None = None) -> None:
    """Subscribed (created or re-activated), with first-touch attribution and a touch row."""
    actions = [CustomerRow.subscribed.set(True), CustomerRow.subscribed_at.set(at)]
    if touch is not None:
        actions += _first_touch_actions(touch)
        transaction.save(
            TouchRow(
                openid,
                f"TOUCH#{touch.at}#{touch.key}",
                kind=touch.kind,
                scene=touch.scene,
                store_id=touch.store_id,
                staff_id=touch.staff_id,
                campaign=touch.campaign,
                at=touch.at,
            )
        )
    transaction.update(CustomerRow(openid, PROFILE), actions=actions)


def unsubscribe_in(transaction: TransactWrite, openid: str, at: str) -> None:
    transaction.update(
        CustomerRow(openid, PROFILE),
        actions=[CustomerRow.subscribed.set(False), CustomerRow.unsubscribed_at.set(at)],
    )


def set_reminder_consent_in(transaction: TransactWrite, openid: str, consent: bool) -> None:
    transaction.update(CustomerRow(openid, PROFILE), actions=[CustomerRow.reminder_consent.set(consent)])


def touches(openid: str) -> list[Touch]:
    """Every recorded touch, oldest first (one query on the customer's partition)."""
    return [
        Touch(r.kind, r.scene, r.store_id, r.staff_id, r.campaign, r.at, r.sk.rsplit("#", 1)[-1])
        for r in TouchRow.query(openid, TouchRow.sk.startswith("TOUCH#"), consistent_read=True)
    ]
