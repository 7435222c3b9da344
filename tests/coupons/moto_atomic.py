"""Make the in-process moto server's DynamoDB behave like DynamoDB under concurrency.

moto 5.2's `transact_write_items` is neither isolated nor cheap:
- it deep-copies every touched *table* as a rollback snapshot (O(table size) per
  transaction: ~0.3 s each on a 2,000-item table), and
- it takes no lock, so with the threaded server two transactions interleave: one that fails
  restores its stale snapshot over another's committed write (a lost redemption), and the copy
  itself dies with "dictionary changed size during iteration" (a 500).

AWS gives serializable transactions; a race test against unpatched moto tests moto, not us.
`install()` (idempotent, process-wide) serialises every DynamoDB request of the in-process
moto server with one lock, rolls a cancelled transaction back item by item, and honours
TransactWriteItems' ClientRequestToken (a botocore retry after a read timeout would otherwise
apply a committed transaction twice). It changes no
semantics that a single-threaded caller can observe.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections import OrderedDict
from typing import Any

_lock = threading.RLock()
_installed = False
_tokens: OrderedDict[str, Any] = OrderedDict()  # ClientRequestToken -> the response it got


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.responses import DynamoHandler

        # tests/callback/moto_serial.py may have serialised the handler already (same idea).
        if not getattr(DynamoHandler.call_action, "serialized", False):
            original_call_action = DynamoHandler.call_action

            @functools.wraps(original_call_action)
            def call_action(self: Any) -> Any:
                with _lock:
                    return original_call_action(self)

            call_action.serialized = True  # type: ignore[attr-defined]
            DynamoHandler.call_action = call_action  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
        DynamoHandler.transact_write_items = _idempotent(DynamoHandler.transact_write_items)  # type: ignore[method-assign]
        _installed = True


def _idempotent(original: Any) -> Any:
    """Honour ClientRequestToken as DynamoDB does (moto ignores it): botocore sends one token per
    call and reuses it when it retries after a timeout, so a retried transaction that had in
    fact committed answers success instead of being applied - or cancelled - a second time."""

    @functools.wraps(original)
    def transact_write_items(self: Any) -> Any:
        token = (getattr(self, "body", None) or {}).get("ClientRequestToken")
        with _lock:
            if token and token in _tokens:
                return _tokens[token]
            response = original(self)
            if token:
                _tokens[token] = response
                while len(_tokens) > 10_000:
                    _tokens.popitem(last=False)
            return response

    return transact_write_items


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's algorithm with item-level snapshots instead of whole-table deep copies."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    snapshots: list[tuple[Any, Any, Any, Any]] = []  # (table, hash, range, Item copy | None)
    target_items: set[tuple[str, str]] = set()

    def rollback() -> None:
        for table, hash_value, range_value, before in reversed(snapshots):
            table.delete_item(hash_value, range_value)
            if before is not None:
                if range_value is not None:
                    table.items[hash_value][range_value] = before
                else:
                    table.items[hash_value] = before

    errors: list[tuple[Any, Any, Any]] = []
    with _lock:
        for item in transact_items:
            original_item = None
            if len(list(item.keys())) > 1:
                raise TransactWriteSingleOpException
            try:
                op_type, op = next(iter(item.items()))
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                table_name = op["TableName"]
                table = self.get_table(table_name)
                if op_type == "Put":
                    attrs = op["Item"]
                    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = attrs[table.range_key_attr]
                else:
                    key = op["Key"]
                marker = (str(table_name), str(dict(sorted(key.items()))))
                if marker in target_items:
                    raise MultipleTransactionsException()
                target_items.add(marker)

                current = self.get_item(table_name, key)
                condition_expression = op.get("ConditionExpression")
                names = op.get("ExpressionAttributeNames")
                values = op.get("ExpressionAttributeValues")
                if condition_expression is not None:
                    condition_op = get_filter_expression(condition_expression, names, values)
                    if not condition_op.expr(current):
                        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                            original_item = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=original_item)

                if op_type != "ConditionCheck":
                    hash_value, range_value = self.get_keys_value(table, key)
                    snapshots.append((table, hash_value, range_value, copy.deepcopy(current)))
                if op_type == "Put":
                    self.put_item(
                        table_name,
                        op["Item"],
                        condition_expression=condition_expression,
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                elif op_type == "Delete":
                    self.delete_item(
                        table_name,
                        key,
                        condition_expression=condition_expression,
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                elif op_type == "Update":
                    self.update_item(
                        table_name,
                        key,
                        update_expression=op["UpdateExpression"],
                        condition_expression=condition_expression,
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                rollback()
                raise
            except ConditionalCheckFailed as error:
                errors.append(("ConditionalCheckFailed", str(error.message), original_item))
            except Exception as error:  # noqa: BLE001 - as moto: any other failure cancels
                errors.append((type(error).__name__, str(error), original_item))
        if any(code is not None for code, _, _ in errors):
            rollback()
            raise TransactionCanceledException(errors)
