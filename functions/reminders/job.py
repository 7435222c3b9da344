"""The daily repurchase job: fan out one task per shard, then decide each due purchase once.

Invariant: a due item is decided exactly once. Its `status` moves from absent to "sent" or
"skipped:<reason>" only by a conditional write (attribute_not_exists(status)), and only the
writer that won counts it. "sent" commits in one transaction with the reminder's message
(`notify_op`), so a decided item always has its message and re-runs and overlapping runs
never send twice and never count twice. ("claimed" without "sent" is left only by runs from
before the outbox, which died between claim and notify; the next run completes it.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pynamodb.exceptions import UpdateError

from functions.core import clock, links, measure, queues, txn
from functions.core.errors import InvalidInput
from functions.core.models import condition_failed
from functions.customers.domain import get_customer
from functions.notifications import caps
from functions.notifications.domain import notify_op
from functions.orders.domain import bought_since
from functions.reminders import stats
from functions.reminders.due import SHARDS, due_pk
from functions.reminders.models import DueRow
from functions.reminders.products import Product, get_product

log = logging.getLogger(__name__)

QUEUE = "reminder-shards"
KIND = "repurchase_reminder"
PAGE_SIZE = 100  # items per Query page: what one worker holds in memory at a time
THREADS = 8  # items of a page decided in parallel (each is a few small DynamoDB/SQS calls)
SAFETY_MS = 60_000  # stop and hand the rest of the shard to a new message this close to the timeout
SENT, CLAIMED = "sent", "claimed"


def notification_id(day: str, openid: str, sku: str) -> str:
    return f"reminder-{day}-{openid}-{sku}"


def resolve_date(event: dict[str, Any] | None) -> date:
    """The business date to run: `{"date": ...}` in the EventBridge detail or at the top level."""
    event = event or {}
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    text = detail.get("date") or event.get("date")
    if not text:
        return clock.business_date()
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise InvalidInput(f"date must be YYYY-MM-DD, got {text!r}", code="invalid_date") from None


def fan_out(day: date) -> int:
    """Enqueue one task per shard of `day`; returns the number of tasks."""
    queues.send_many(QUEUE, ({"date": day.isoformat(), "shard": s} for s in range(SHARDS)))
    stats.record_fanout(day)
    return SHARDS


# -- deciding one due item ---------------------------------------------------------------


def _would_allow(openid: str, moment: datetime) -> bool:
    """The frequency caps, read-only; the notification worker enforces them atomically at send."""
    return bool(caps.would_allow(openid, moment))


def _decide(
    row: DueRow, status: str, counter: str, day: str, shard: int, message: txn.Op | None = None
) -> bool:
    """Move the item from undecided to `status` (with its `message`, atomically); False if
    another run decided it first.

    The conditional update is the invariant. The counter is a separate ADD rather than in the
    transaction: a transaction costs twice the WCU, and the count is a report, not an
    invariant. A crash between the two undercounts by one.
    """
    actions = [DueRow.status.set(status), DueRow.decided_at.set(clock.iso(clock.now()))]
    if message is not None:
        actions.append(DueRow.notification_id.set(_message_id(row)))
    if not _write(row, actions, DueRow.status.does_not_exist(), message):
        return False
    stats.shard_row(day, shard).update(actions=stats.counter_actions(day, counter))
    return True


def _write(row: DueRow, actions: list[Any], condition: Any, message: txn.Op | None) -> bool:
    """The item's conditional update, in one transaction with `message` if there is one."""
    if message is None:
        try:
            row.update(actions=actions, condition=condition)
        except UpdateError as error:
            if condition_failed(error):
                return False
            raise
        return True
    try:
        txn.run([txn.update("due", row, actions, condition), message])
    except txn.Cancelled as cancelled:
        if cancelled.failed("due"):
            return False
        raise
    return True


def _fields(product: Product | None, row: DueRow) -> dict[str, str]:
    # Named values (infra/templates.yaml shows them); the template's own text promises no offer.
    bought = clock.business_date(clock.parse_iso(row.purchased_at)).isoformat()
    return {"product": product.name if product else row.sku, "purchased_on": bought}


def holdout_key(sku: str) -> str:
    return f"reminder:{sku}"


def in_holdout(row: DueRow, product: Product | None) -> bool:
    """The product's holdout: the same customers every day, for as long as its percentage stays."""
    percent = product.reminder_holdout_percent if product else 0
    return measure.held_out(holdout_key(row.sku), row.openid, percent)


def _message_id(row: DueRow) -> str:
    return notification_id(row.due_date, row.openid, row.sku)


def _message(row: DueRow, product: Product | None) -> txn.Op:
    url = links.me()  # where reminders are turned off; there is no product page
    return notify_op(row.openid, KIND, _fields(product, row), url=url, notification_id=_message_id(row))


def process_item(row: DueRow, shard: int, products: Callable[[str], Product | None]) -> str:
    """Decide one due purchase; returns what happened (for logs and tests)."""
    day = row.due_date
    if row.status == CLAIMED:
        # Left by a run from before the outbox that died before notifying: complete it. The
        # message's id is deterministic, so a claim that did notify gets no second one.
        actions = [DueRow.status.set(SENT), DueRow.notification_id.set(_message_id(row))]
        if _write(row, actions, DueRow.status == CLAIMED, _message(row, products(row.sku))):
            return "resent"
        return "done"
    if row.status is not None:
        return "done"
    customer = get_customer(row.openid)
    reason = None
    if customer is None or not customer.subscribed:
        reason = "unsubscribed"
    elif not customer.reminder_consent:
        reason = "no_consent"
    elif bought_since(row.openid, row.sku, clock.parse_iso(row.purchased_at)):
        reason = "repurchased"
    elif not _would_allow(row.openid, clock.now()):
        reason = "capped"
    elif in_holdout(row, products(row.sku)):
        # Decided last, so the holdout holds only customers who would have been reminded.
        reason = "holdout"
    if reason is not None:
        won = _decide(row, f"skipped:{reason}", f"skipped_{reason}", day, shard)
        return f"skipped:{reason}" if won else "done"
    if not _decide(row, SENT, "sent", day, shard, message=_message(row, products(row.sku))):
        return "done"  # another run decided it first
    return SENT


# -- one shard -------------------------------------------------------------------------


@dataclass
class ShardResult:
    date: str
    shard: int
    read: int  # items DynamoDB returned in this invocation
    seen: int  # items of the pass so far (carried over continuations)
    outcomes: dict[str, int]
    continued: bool  # the rest was handed to a new message


def process_shard(
    day: str,
    shard: int,
    cursor: dict[str, Any] | None = None,
    seen: int = 0,
    remaining_ms: Callable[[], int] | None = None,
) -> ShardResult:
    """Decide every due item of one shard, a page at a time (never the whole shard in memory).

    If the invocation runs short of time, the rest of the shard goes to a new queue message
    that carries the query cursor.
    """
    date.fromisoformat(day)
    if not 0 <= shard < SHARDS:
        raise ValueError(f"shard {shard} out of range")
    product_cache: dict[str, Product | None] = {}

    def products(sku: str) -> Product | None:
        if sku not in product_cache:
            product_cache[sku] = get_product(sku)
        return product_cache[sku]

    outcomes: dict[str, int] = {}
    read = 0
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        while True:
            pages = DueRow.query(
                due_pk(day, shard),
                limit=PAGE_SIZE,
                page_size=PAGE_SIZE,
                last_evaluated_key=cursor,
                consistent_read=True,
            )
            page = list(pages)
            cursor = pages.last_evaluated_key
            read += len(page)
            seen += len(page)
            if page:
                stats.add_read(day, shard, len(page))
            for outcome in pool.map(lambda r: process_item(r, shard, products), page):
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if not cursor:
                stats.finish_pass(day, shard, seen)
                return ShardResult(day, shard, read, seen, outcomes, continued=False)
            if remaining_ms is not None and remaining_ms() < SAFETY_MS:
                queues.send(QUEUE, {"date": day, "shard": shard, "cursor": cursor, "seen": seen})
                return ShardResult(day, shard, read, seen, outcomes, continued=True)
