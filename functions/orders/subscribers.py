"""Who consumes the `order_recorded` event (an SQS message on the order-events queue), and the
dispatch to them. Imported only by the consumer (functions/orders/handlers.py): the subscribers
read orders, so orders.domain must not import them.

Each subscriber takes the event dict (Order.to_event()) and must be idempotent: the event can
be delivered more than once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from functions.coupons.triggers import on_order_recorded as issue_triggered_coupons
from functions.points.earning import on_order_recorded as credit_order_points
from functions.points.referrals import on_order_recorded as reward_referrer
from functions.reminders.due import on_order_recorded as index_due_reminders
from functions.segments.events import on_order_recorded as evaluate_segments

log = logging.getLogger(__name__)

Subscriber = Callable[[dict[str, Any]], object]

SUBSCRIBERS: tuple[Subscriber, ...] = (
    index_due_reminders,
    issue_triggered_coupons,
    credit_order_points,  # and the customer's receipt
    reward_referrer,
    evaluate_segments,
)


class SubscriberError(Exception):
    pass


def dispatch(event: dict[str, Any]) -> None:
    """Run every subscriber on an order event; raises if any failed (after trying them all)."""
    errors: list[str] = []
    for subscriber in SUBSCRIBERS:
        name = f"{subscriber.__module__}.{subscriber.__qualname__}"
        try:
            subscriber(event)
        except Exception as error:
            log.exception("order subscriber %s failed on %s", name, event.get("order_id"))
            errors.append(f"{name}: {error}")
    if errors:
        raise SubscriberError("; ".join(errors))
