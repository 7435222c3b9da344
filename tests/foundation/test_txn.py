"""The one transaction helper (functions.core.txn): atomic commit, labelled cancellation
reasons mapped to domain errors, a fresh ClientRequestToken per attempt, and retry on
TransactionConflict. Serialised moto never produces a conflict, so the conflict paths inject one."""

from __future__ import annotations

import uuid

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from functions.core import txn
from functions.core.errors import Conflict
from functions.core.models import TableMeta


class Counter(Model):
    """A throwaway item in the idempotency table (hash key `id`), enough to exercise transactions."""

    class Meta(TableMeta):
        table = "idempotency"

    id = UnicodeAttribute(hash_key=True)
    n = NumberAttribute(default=0)


def new_id() -> str:
    return f"txn-test-{uuid.uuid4().hex}"


def take(label: str, key: str, limit: int = 1) -> txn.Op:
    """Add one to the counter unless it reached `limit`."""
    condition = Counter.n.does_not_exist() | (Counter.n < limit)
    return txn.update(label, Counter(key), [Counter.n.add(1)], condition=condition, old_on_fail=True)


def value(key: str) -> int | None:
    try:
        return int(Counter.get(key, consistent_read=True).n)
    except Counter.DoesNotExist:
        return None


def conflict_error() -> TransactWriteError:
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "conflict"}},
        "TransactWriteItems",
        cancellation_reasons=[CancellationReason(code="TransactionConflict"), None],
    )
    return TransactWriteError("Failed to write transaction items", cause)


@pytest.fixture
def commits(monkeypatch):
    """Records each commit attempt's ClientRequestToken; `fail_next(n)` injects n conflicts."""
    tokens: list[str | None] = []
    pending = {"conflicts": 0}
    real_commit = TransactWrite._commit

    def commit(self):
        tokens.append(self._client_request_token)
        if pending["conflicts"] > 0:
            pending["conflicts"] -= 1
            raise conflict_error()
        return real_commit(self)

    monkeypatch.setattr(TransactWrite, "_commit", commit)
    monkeypatch.setattr(txn.time, "sleep", lambda s: None)

    class Recorder:
        def fail_next(self, n: int) -> None:
            pending["conflicts"] = n

    recorder = Recorder()
    recorder.tokens = tokens
    return recorder


def test_both_items_commit_together(aws, commits):
    a, b = new_id(), new_id()
    txn.run([take("a", a), take("b", b)])
    assert (value(a), value(b)) == (1, 1)
    assert len(commits.tokens) == 1 and commits.tokens[0]


def test_a_failed_condition_raises_the_named_domain_error_and_writes_nothing(aws, commits):
    full, fresh = new_id(), new_id()
    txn.run([take("full", full)])
    with pytest.raises(Conflict) as raised:
        txn.run(
            [take("full", full), take("fresh", fresh)], on_failed={"full": Conflict("no room", code="full")}
        )
    assert raised.value.code == "full"
    assert (value(full), value(fresh)) == (1, None)


def test_an_unnamed_failure_is_cancelled_with_reasons_and_old_item_by_label(aws, commits):
    full, fresh = new_id(), new_id()
    txn.run([take("full", full)])
    with pytest.raises(txn.Cancelled) as raised:
        txn.run([take("fresh", fresh), take("full", full)])
    assert raised.value.failed("full") and not raised.value.failed("fresh")
    assert raised.value.items["full"]["n"] == {"N": "1"}


def test_a_transaction_conflict_is_retried_with_a_fresh_token_until_it_commits(aws, commits):
    key = new_id()
    commits.fail_next(2)
    txn.run([take("a", key)])
    assert value(key) == 1
    assert len(commits.tokens) == 3
    assert len(set(commits.tokens)) == 3  # a token per attempt: SDK retries within one attempt share it


def test_a_conflict_that_never_clears_is_reported_after_the_last_attempt(aws, commits):
    key = new_id()
    commits.fail_next(txn.ATTEMPTS)
    with pytest.raises(txn.Cancelled) as raised:
        txn.run([take("a", key)], on_failed={"a": Conflict("never raised for a conflict")})
    assert raised.value.reasons == {"a": "TransactionConflict"}
    assert len(commits.tokens) == txn.ATTEMPTS
    assert value(key) is None


def test_an_unknown_item_kind_is_a_programming_error(aws):
    with pytest.raises(ValueError):
        txn.run([txn.Op("x", "upsert", lambda t: None)])
