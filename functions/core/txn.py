"""The one way to commit a DynamoDB transaction.

Each item is an `Op` with a label. An item that belongs to another capability is built by that
capability (for example `functions.customers.domain.follow_ops`), so the caller never touches
another capability's rows. `run` commits the items atomically and:
- sends a fresh `ClientRequestToken` per attempt, so an SDK-level retry of a commit whose answer
  was lost is not applied twice;
- retries a cancellation caused only by `TransactionConflict` (another transaction on the same
  item in flight, which DynamoDB reports under contention) with jittered backoff;
- maps the labels whose condition failed to the domain errors the caller names, or raises
  `Cancelled` with every reason and the items' old values by label.

PynamoDB sends the items grouped as condition checks, deletes, puts, then updates, and DynamoDB
reports cancellation reasons in that order; `run` maps them back to labels.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from functions.core.errors import AppError
from functions.core.models import transaction_connection

KINDS = ("check", "delete", "put", "update")
ATTEMPTS = 4
CONDITION_FAILED = "ConditionalCheckFailed"
CONFLICT = "TransactionConflict"


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
        return self.reasons.get(label) == CONDITION_FAILED


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


def put(label: str, model: Any, condition: Any = None, old_on_fail: bool = False) -> Op:
    return Op(
        label,
        "put",
        lambda t: t.save(model, condition=condition, return_values="ALL_OLD" if old_on_fail else None),
    )


def delete(label: str, model: Any, condition: Any = None) -> Op:
    return Op(label, "delete", lambda t: t.delete(model, condition=condition, add_version_condition=False))


def check(label: str, model_class: Any, hash_key: Any, range_key: Any, condition: Any) -> Op:
    return Op(
        label, "check", lambda t: t.condition_check(model_class, hash_key, range_key, condition=condition)
    )


def run(
    ops: Sequence[Op],
    on_failed: Mapping[str, AppError] | None = None,
    retries: int | None = None,
) -> None:
    """Commit `ops` atomically, or raise: the error `on_failed` names for the first label whose
    condition failed, else `Cancelled`, else the storage error. `retries` overrides the SDK's
    retry count (the callback keeps it low to stay inside WeChat's 5 seconds)."""
    for kind in {op.kind for op in ops}:
        if kind not in KINDS:
            raise ValueError(f"unknown transaction item kind {kind!r}")
    sent_order = [op for kind in KINDS for op in ops if op.kind == kind]
    connection = transaction_connection() if retries is None else transaction_connection(retries)
    for attempt in range(ATTEMPTS):
        try:
            with TransactWrite(connection=connection, client_request_token=uuid.uuid4().hex) as transaction:
                for op in ops:
                    op.apply(transaction)
            return
        except TransactWriteError as error:
            raw = error.cancellation_reasons
            if not raw:
                raise
            pairs = [
                (op, r) for op, r in zip(sent_order, raw, strict=False) if r is not None and r.code != "None"
            ]
            reasons = {op.label: r.code for op, r in pairs}
            if (
                CONFLICT in reasons.values()
                and CONDITION_FAILED not in reasons.values()
                and attempt < ATTEMPTS - 1
            ):
                time.sleep(random.uniform(0.01, 0.05) * (2**attempt))
                continue
            cancelled = Cancelled(reasons, {op.label: r.raw_item for op, r in pairs})
            for label, domain_error in (on_failed or {}).items():
                if cancelled.failed(label):
                    raise domain_error from None
            raise cancelled from None
