"""One TransactWrite whose cancellation reasons are reported by label, not by position.

PynamoDB sends a transaction's items grouped as condition checks, deletes, puts, updates, and
DynamoDB reports cancellation reasons in that order; `run` maps them back to our labels.
A cancellation caused only by `TransactionConflict` (another transaction on the same item in
flight, which real DynamoDB reports under contention) is retried with jitter.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from functions.core.models import transaction_connection

KINDS = ("check", "delete", "put", "update")
ATTEMPTS = 4


@dataclass(frozen=True)
class Op:
    label: str
    kind: str  # one of KINDS: how PynamoDB groups it
    apply: Callable[[TransactWrite], None]


class Cancelled(Exception):
    """The transaction was cancelled; `reasons` maps a label to its reason code."""

    def __init__(self, reasons: dict[str, str], items: dict[str, dict[str, Any] | None]):
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons
        self.items = items  # raw old item per label (ReturnValuesOnConditionCheckFailure=ALL_OLD)

    def failed(self, label: str) -> bool:
        return self.reasons.get(label) == "ConditionalCheckFailed"


def update(
    label: str, model: Any, actions: list[Any], condition: Any = None, old_on_fail: bool = False
) -> Op:
    return Op(
        label,
        "update",
        lambda t: t.update(
            model,
            actions=actions,
            condition=condition,
            return_values="ALL_OLD" if old_on_fail else None,
            add_version_condition=False,
        ),
    )


def put(label: str, model: Any, condition: Any = None) -> Op:
    return Op(label, "put", lambda t: t.save(model, condition=condition))


def delete(label: str, model: Any, condition: Any = None) -> Op:
    return Op(label, "delete", lambda t: t.delete(model, condition=condition, add_version_condition=False))


def run(ops: list[Op]) -> None:
    """Commit `ops` atomically, or raise Cancelled (or the storage error)."""
    for kind in {op.kind for op in ops}:
        if kind not in KINDS:
            raise ValueError(f"unknown transaction item kind {kind!r}")
    sent_order = [op for kind in KINDS for op in ops if op.kind == kind]
    for attempt in range(ATTEMPTS):
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                for op in ops:
                    op.apply(transaction)
            return
        except TransactWriteError as error:
            raw = error.cancellation_reasons
            if not raw:
                raise
            reasons = {op.label: r.code for op, r in zip(sent_order, raw, strict=False) if r is not None}
            items = {op.label: r.raw_item for op, r in zip(sent_order, raw, strict=False) if r is not None}
            only_conflicts = reasons and all(code == "TransactionConflict" for code in reasons.values())
            if only_conflicts and attempt < ATTEMPTS - 1:
                time.sleep(random.uniform(0.01, 0.05) * (2**attempt))
                continue
            raise Cancelled(reasons, items) from None
