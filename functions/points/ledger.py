"""The points ledger: every change is an entry with a deterministic id, written in the same
transaction as the customer's balance.

- The entry is put only if its id is new (label "points_entry"), so an event delivered twice
  counts once: `scan:<store>:<business date>`, `order:<order_id>`, `exchange:<coupon code>`,
  `referral:<referred openid>`.
- The balance is updated in that transaction (label "points_balance"); a debit carries the
  condition that the balance covers it, so no interleaving of debits takes it below zero.
- Where the new balance is shown to the customer (the scan's reply, the receipt), the update
  also carries the condition that the balance is still the one read: the figure shown is the
  balance the entry made, and a change in between makes the caller read again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactGet

from functions.core import clock, txn
from functions.core import cursor as cursors
from functions.core.errors import Conflict
from functions.core.models import transaction_connection
from functions.points.models import (
    BALANCE,
    BalanceRow,
    EntryRow,
    entry_sk,
    history_pk,
    ledger_pk,
)

ENTRY = "points_entry"
BALANCE_LABEL = "points_balance"
REASONS = ("scan", "order", "exchange", "referral")
HISTORY_PAGE = 20
CREDIT_ATTEMPTS = 5
ANY_BALANCE = -1  # `expected` meaning: no condition on the balance read


@dataclass(frozen=True)
class Entry:
    entry_id: str
    delta: int
    reason: str
    at: str
    detail: str | None = None

    def to_view(self) -> dict[str, Any]:
        return {"at": self.at, "delta": self.delta, "reason": self.reason}


@dataclass(frozen=True)
class Credited:
    new: bool  # False: the entry was there already (a redelivery): nothing changed
    balance: int  # the balance the entry made (new) or the balance now (not new)


def entry_ops(
    openid: str,
    entry_id: str,
    delta: int,
    reason: str,
    detail: str | None = None,
    *,
    expected: int = ANY_BALANCE,
    at: str | None = None,
) -> list[txn.Op]:
    """The entry and the balance change, as items of the caller's transaction (labels
    "points_entry", "points_balance"). A debit (delta < 0) requires the balance to cover it;
    with `expected`, the balance must still be that figure (0 also matches no balance yet)."""
    if reason not in REASONS:
        raise ValueError(f"unknown points reason {reason!r}")
    at = at or clock.iso(clock.now())
    entry = EntryRow(
        ledger_pk(openid),
        entry_sk(entry_id),
        entry_id=entry_id,
        delta=delta,
        reason=reason,
        at=at,
        detail=detail,
        gsi1pk=history_pk(openid),
        gsi1sk=f"{at}#{entry_id}",
    )
    condition = None
    if expected != ANY_BALANCE:
        condition = BalanceRow.balance == expected
        if expected == 0:
            condition = condition | BalanceRow.balance.does_not_exist()
    if delta < 0:
        covers = BalanceRow.balance >= -delta
        condition = covers if condition is None else condition & covers
    balance = txn.update(
        BALANCE_LABEL,
        BalanceRow(ledger_pk(openid), BALANCE),
        [BalanceRow.balance.add(delta), BalanceRow.updated_at.set(at)],
        condition=condition,
    )
    return [txn.put(ENTRY, entry, condition=EntryRow.pk.does_not_exist()), balance]


def debit_ops(openid: str, entry_id: str, cost: int, reason: str, detail: str | None = None) -> list[txn.Op]:
    """Take `cost` points in the caller's transaction; its "points_balance" condition fails
    when the balance does not cover it."""
    return entry_ops(openid, entry_id, -cost, reason, detail)


def balance_of(openid: str) -> int:
    try:
        row = BalanceRow.get(ledger_pk(openid), BALANCE, consistent_read=True)
    except DoesNotExist:
        return 0
    return int(row.balance or 0)


def read_for_credit(openid: str, entry_id: str) -> tuple[int, bool]:
    """(balance, whether the entry exists) in one round trip with a single retry: the WeChat
    callback reads it within its 5 seconds."""
    with TransactGet(connection=transaction_connection(max_retry_attempts=1)) as get:
        balance_future = get.get(BalanceRow, ledger_pk(openid), BALANCE)
        entry_future = get.get(EntryRow, ledger_pk(openid), entry_sk(entry_id))
    try:
        balance = int(balance_future.get().balance or 0)
    except DoesNotExist:
        balance = 0
    try:
        entry_future.get()
    except DoesNotExist:
        return balance, False
    return balance, True


def credit(
    openid: str,
    entry_id: str,
    delta: int,
    reason: str,
    detail: str | None = None,
    with_ops: Callable[[int], Sequence[txn.Op]] | None = None,
    on_refused: Callable[[txn.Cancelled], bool] | None = None,
) -> Credited:
    """Add the entry once; `with_ops(new_balance)` joins its transaction (the receipt that shows
    the balance). A refusal that `on_refused` accepts (returns True) means "nothing to do"."""
    for _ in range(CREDIT_ATTEMPTS):
        balance, exists = read_for_credit(openid, entry_id)
        if exists:
            return Credited(False, balance)
        ops = entry_ops(openid, entry_id, delta, reason, detail, expected=balance)
        if with_ops is not None:
            ops.extend(with_ops(balance + delta))
        try:
            txn.run(ops)
        except txn.Cancelled as cancelled:
            if cancelled.failed(ENTRY):
                return Credited(False, balance_of(openid))
            if on_refused is not None and on_refused(cancelled):
                return Credited(False, balance_of(openid))
            if cancelled.failed(BALANCE_LABEL) or txn.CONFLICT in cancelled.reasons.values():
                continue  # the balance moved since the read: read again
            raise
        return Credited(True, balance + delta)
    raise Conflict("the points balance is changing too fast; try again", code="busy")


# -- history ----------------------------------------------------------------------------------


def history(
    openid: str, cursor: str | None = None, limit: int = HISTORY_PAGE
) -> tuple[list[Entry], str | None]:
    """One page of entries, newest first, and the cursor of the next page (None: no more)."""
    condition = EntryRow.gsi1sk < cursors.decode(cursor) if cursor else None
    rows = list(
        EntryRow.history.query(history_pk(openid), condition, scan_index_forward=False, limit=limit + 1)
    )
    page = [Entry(r.entry_id, int(r.delta), r.reason, r.at, r.detail) for r in rows[:limit]]
    more = len(rows) > limit
    return page, (cursors.encode(rows[limit - 1].gsi1sk) if more and rows[:limit] else None)


def points_view(openid: str, cursor: str | None = None) -> dict[str, Any]:
    """GET /points."""
    entries, next_cursor = history(openid, cursor)
    return {
        "balance": balance_of(openid),
        "history": [e.to_view() for e in entries],
        "cursor": next_cursor,
    }
