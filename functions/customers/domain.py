"""Customer records: subscription state and reminder consent, read cheaply by every sender.

This capability is the one writer of a customer's record. Where another capability's
transaction must change it (the WeChat callback's dedupe record, an order), it takes the items
from the `*_op(s)` functions below.

Reminder consent: the customer's own choice (menu, keyword, H5 preferences) always wins. A
withdrawal also stores `withdrawn_consent` (False), and an order's consent resolves to
`if_not_exists(withdrawn_consent, true)`: an order recorded after a withdrawal, or carrying a
consent given before it, never turns reminders back on. Only the customer's own opt-in removes
the marker.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactGet

from functions.core import clock, txn
from functions.core.models import transaction_connection
from functions.customers.models import PROFILE, CustomerRow, RefCodeRow, TouchRow


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
    # Unfollowed us (an unsubscribe event or WeChat's 43004), as opposed to a record created
    # before any subscribe event: senders drop messages to the former only.
    unsubscribed: bool = False
    followed_before: bool = False  # has ever followed (a subscribe event was recorded)
    subscribed_at: str | None = None  # when the current follow began


def _to_domain(row: CustomerRow) -> Customer:
    return Customer(
        openid=row.pk,
        subscribed=bool(row.subscribed),
        reminder_consent=bool(row.reminder_consent),
        first_store_id=row.first_store_id,
        first_staff_id=row.first_staff_id or None,  # "" marks "first touch had no staff"
        first_scene=row.first_scene,
        unsubscribed=not row.subscribed and row.unsubscribed_at is not None,
        followed_before=row.subscribed_at is not None,
        subscribed_at=row.subscribed_at,
    )


def from_stream_image(image: dict[str, Any]) -> Customer | None:
    """The customer in a record of the customers table's stream (its `NewImage`, DynamoDB
    JSON), or None for an item that is not a customer's profile (a touch row). The public hook
    for capabilities that follow customers' changes (follow, unfollow, consent, first touch)
    without reading this capability's rows."""
    if (image.get("sk") or {}).get("S") != PROFILE:
        return None
    return _to_domain(CustomerRow.from_raw_data(image))


def get_customer(openid: str) -> Customer | None:
    try:
        return _to_domain(CustomerRow.get(openid, PROFILE, consistent_read=True))
    except DoesNotExist:
        return None


def first_store_of(openid: str) -> str | None:
    """The store of the customer's first touch, or None. One round trip with a single retry
    (a TransactGet on the short-retry connection): the WeChat callback reads it within 5 s."""
    with TransactGet(connection=transaction_connection(max_retry_attempts=1)) as get:
        future = get.get(CustomerRow, openid, PROFILE)
    try:
        return future.get().first_store_id
    except DoesNotExist:
        return None


def _own_consent_actions(consent: bool) -> list[Any]:
    """The customer's own choice: a withdrawal pins consent off against orders, an opt-in unpins it."""
    if consent:
        return [CustomerRow.reminder_consent.set(True), CustomerRow.withdrawn_consent.remove()]
    return [CustomerRow.reminder_consent.set(False), CustomerRow.withdrawn_consent.set(False)]


def set_reminder_consent(openid: str, consent: bool) -> None:
    """Store the customer's own choice; creates the record if the customer is not known yet."""
    CustomerRow(openid, PROFILE).update(actions=_own_consent_actions(consent))


def mark_unsubscribed(openid: str) -> None:
    """Every queued and future notification to this customer is dropped from now on."""
    CustomerRow(openid).update(
        actions=[
            CustomerRow.subscribed.set(False),
            CustomerRow.unsubscribed_at.set(clock.iso(clock.now())),
        ]
    )


# -- the same effects as items of a caller's transaction (the WeChat callback commits them
#    together with its dedupe record; an order with its purchase lines) ------------------


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


def follow_ops(openid: str, at: str, touch: Touch | None = None, first_follow: bool = False) -> list[txn.Op]:
    """Subscribed (created or re-activated), with first-touch attribution and a touch row
    (labels "customer" and "touch"). With `first_follow`, the "customer" item's condition is
    that this customer has never followed before (a referral's new follower). A scan by a
    follower (`touch.kind == "scan"`) keeps the time their follow began."""
    since = at
    if touch is not None and touch.kind == "scan":
        since = CustomerRow.subscribed_at | at
    actions = [CustomerRow.subscribed.set(True), CustomerRow.subscribed_at.set(since)]
    ops = []
    if touch is not None:
        actions += _first_touch_actions(touch)
        row = TouchRow(
            openid,
            f"TOUCH#{touch.at}#{touch.key}",
            kind=touch.kind,
            scene=touch.scene,
            store_id=touch.store_id,
            staff_id=touch.staff_id,
            campaign=touch.campaign,
            at=touch.at,
        )
        ops.append(txn.put("touch", row))
    condition = CustomerRow.subscribed_at.does_not_exist() if first_follow else None
    return [*ops, txn.update("customer", CustomerRow(openid, PROFILE), actions, condition=condition)]


def unsubscribe_op(openid: str, at: str) -> txn.Op:
    """Marked unsubscribed: every queued and future notification to them is dropped (label "customer")."""
    return txn.update(
        "customer",
        CustomerRow(openid, PROFILE),
        [CustomerRow.subscribed.set(False), CustomerRow.unsubscribed_at.set(at)],
    )


def reachable_op(openid: str) -> txn.Op:
    """A condition (label "customer") that holds unless the customer unfollowed us: a sender's
    claim carries it instead of reading the record first. A customer we never heard of passes."""
    return txn.check(
        "customer",
        CustomerRow,
        openid,
        PROFILE,
        CustomerRow.pk.does_not_exist()
        | (CustomerRow.subscribed == True)  # noqa: E712 - a DynamoDB condition, not a Python test
        | CustomerRow.unsubscribed_at.does_not_exist(),
    )


def reminder_consent_op(openid: str, consent: bool) -> txn.Op:
    """The customer's own choice (REMINDERS_ON/OFF, 退订, TD), as a transaction item (label "customer")."""
    return txn.update("customer", CustomerRow(openid, PROFILE), _own_consent_actions(consent))


def order_consent_op(openid: str, consent: bool) -> txn.Op:
    """The consent given with an order, as an item of the order's transaction (label "consent").

    A "yes" never overrides the customer's own withdrawal, and never cancels the order's
    transaction because of it: it resolves to the marker's False when the marker is there.
    A "no" withdraws, like the customer's own withdrawal.
    """
    if not consent:
        return txn.update("consent", CustomerRow(openid, PROFILE), _own_consent_actions(False))
    return txn.update(
        "consent",
        CustomerRow(openid, PROFILE),
        [CustomerRow.reminder_consent.set(CustomerRow.withdrawn_consent | True)],
    )


def touches(openid: str) -> list[Touch]:
    """Every recorded touch, oldest first (one query on the customer's partition)."""
    return [
        Touch(r.kind, r.scene, r.store_id, r.staff_id, r.campaign, r.at, r.sk.rsplit("#", 1)[-1])
        for r in TouchRow.query(openid, TouchRow.sk.startswith("TOUCH#"), consistent_read=True)
    ]


# -- share codes (`/h5/r/<ref_code>`, CONTRACT §14) ----------------------------------------

REF_CODE_BYTES = 12  # 96 random bits: 16 URL-safe characters, unguessable
REF_CODE_ATTEMPTS = 4


def ref_code_of(openid: str) -> str:
    """The customer's share code: made once (a random code, with its reverse row, in one
    transaction whose condition is that the customer has none yet), the same ever after."""
    for _ in range(REF_CODE_ATTEMPTS):
        try:
            existing = CustomerRow.get(openid, PROFILE, consistent_read=True).ref_code
        except DoesNotExist:
            existing = None
        if existing:
            return existing
        code = secrets.token_urlsafe(REF_CODE_BYTES)
        try:
            txn.run(
                [
                    txn.update(
                        "customer",
                        CustomerRow(openid, PROFILE),
                        [CustomerRow.ref_code.set(code)],
                        condition=CustomerRow.ref_code.does_not_exist(),
                    ),
                    txn.put(
                        "ref_code",
                        RefCodeRow(f"REFCODE#{code}", "REFCODE", openid=openid),
                        condition=RefCodeRow.pk.does_not_exist(),
                    ),
                ]
            )
        except txn.Cancelled:
            continue  # made concurrently (read it), or a code collided (draw another)
        return code
    raise RuntimeError(f"could not make a share code for {openid}")


def owner_of_ref_code(ref_code: str) -> str | None:
    """The openid whose share code this is, or None."""
    try:
        return RefCodeRow.get(f"REFCODE#{ref_code}", "REFCODE").openid
    except DoesNotExist:
        return None
