"""Make the embedded moto server's DynamoDB linearizable, as DynamoDB is.

moto 5.2 serves requests on many threads but its DynamoDB backend has no locking:
- a conditional write checks and then applies in Python, so two racing writers can both pass;
- `TransactWriteItems` snapshots every table it touches with `copy.deepcopy` and, when the
  transaction is cancelled, puts the snapshot back - undoing other threads' writes made in
  between (and failing with "dictionary changed size during iteration"). The snapshot also
  costs O(table size) per transaction: ~1 s with a few thousand items.

Measured before this patch: 200 threads racing `booked < capacity` on one slot of 10 left the
counter at 10 but 11-14 booking rows. So every race test would test moto, not our code.

`apply()` (idempotent) raises the server's listen backlog, serializes DynamoDB requests with one lock, replaces
`transact_write_items` with a version that checks every condition first and then applies,
undoing item by item if an apply step fails, and honours ClientRequestToken (a botocore retry
of a transaction that had committed answers success instead of applying twice). Only the
process that runs the moto server needs it (`make run` and the test fixtures). It marks the
handler `serialized`, so older per-test copies of the same idea leave it alone.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections import OrderedDict
from typing import Any

_LOCK = threading.RLock()
_applied = False
_tokens: OrderedDict[str, Any] = OrderedDict()  # ClientRequestToken -> the response it got


def apply() -> None:
    global _applied
    with _LOCK:
        if _applied:
            return
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.responses import DynamoHandler
        from werkzeug.serving import BaseWSGIServer

        # werkzeug listens with a backlog of 128: a burst of 200 clients connecting at once
        # loses SYNs and hits our 1 s connect timeout. AWS takes the burst; so must we.
        BaseWSGIServer.request_queue_size = 1024

        original_call_action = DynamoHandler.call_action

        @functools.wraps(original_call_action)
        def call_action(self: Any) -> Any:
            with _LOCK:
                return original_call_action(self)

        call_action.serialized = True  # type: ignore[attr-defined]
        DynamoHandler.call_action = call_action  # type: ignore[method-assign]
        DynamoHandler.transact_write_items = _idempotent(DynamoHandler.transact_write_items)  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
        _applied = True


def _idempotent(original: Any) -> Any:
    """DynamoDB answers a repeated ClientRequestToken (within 10 minutes) with the first
    outcome; moto ignores the token."""

    @functools.wraps(original)
    def transact_write_items(self: Any) -> Any:
        token = (getattr(self, "body", None) or {}).get("ClientRequestToken")
        with _LOCK:
            if token and token in _tokens:
                return _tokens[token]
            response = original(self)
            if token:
                _tokens[token] = response
                while len(_tokens) > 10_000:
                    _tokens.popitem(last=False)
            return response

    return transact_write_items


def _key_of(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return op["Key"]
    table = backend.get_table(op["TableName"])
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """All-or-nothing like DynamoDB: check every condition, then apply (called under _LOCK)."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    errors: list[tuple[Any, Any, Any]] = []
    plan: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(item.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            errors.append(("ValidationError", f"unsupported operation {op_type}", None))
            continue
        key = _key_of(self, op_type, op)
        unique = (str(op["TableName"]), str(dict(sorted(key.items()))))
        if unique in seen:
            raise MultipleTransactionsException()
        seen.add(unique)
        plan.append((op_type, op, key))
        current = self.get_item(op["TableName"], key)
        condition = op.get("ConditionExpression")
        if condition is not None:
            check = get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            )
            if not check.expr(current):
                old = None
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    old = current.to_json()["Attributes"]
                errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
                continue
        errors.append((None, None, None))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)

    undo: list[tuple[str, dict[str, Any], Any]] = []
    try:
        for op_type, op, key in plan:
            if op_type == "ConditionCheck":
                continue
            table_name = op["TableName"]
            undo.append((table_name, key, copy.deepcopy(self.get_item(table_name, key))))
            if op_type == "Put":
                self.put_item(table_name, op["Item"])
            elif op_type == "Delete":
                self.delete_item(table_name, key)
            else:
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=op.get("ExpressionAttributeNames"),
                    expression_attribute_values=op.get("ExpressionAttributeValues"),
                )
    except Exception:
        for table_name, key, before in reversed(undo):
            if before is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, before.to_json()["Attributes"])
        raise
