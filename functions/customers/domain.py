"""Customer records: subscription state and reminder consent, read cheaply by every sender."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist

from functions.core import clock
from functions.customers.models import PROFILE, CustomerRow


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
        first_staff_id=row.first_staff_id,
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
