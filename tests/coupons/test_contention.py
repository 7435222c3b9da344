"""Contention: DynamoDB cancels a transaction with TransactionConflict while another one holds an
item. The serialised moto server never does, so the conflict is injected into the commit."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pynamodb.exceptions import CancellationReason, TransactWriteError
from pynamodb.transactions import TransactWrite

from functions.core.errors import Conflict
from tests.coupons.conftest import uid


class Conflicted(TransactWriteError):
    @property
    def cancellation_reasons(self) -> list[CancellationReason | None]:
        return [CancellationReason("TransactionConflict")] * 10


@pytest.fixture
def conflicts(monkeypatch) -> Callable[[int], list[int]]:
    """conflicts(n): the next n commits are cancelled by a conflict; returns the commit log."""
    original = TransactWrite._commit

    def inject(n: int) -> list[int]:
        log: list[int] = []

        def commit(self):
            log.append(len(log))
            if len(log) <= n:
                raise Conflicted("injected conflict")
            return original(self)

        monkeypatch.setattr(TransactWrite, "_commit", commit)
        return log

    return inject


def test_a_claim_retries_a_conflict_then_issues(make_campaign, conflicts):
    from functions.coupons import campaigns, issuing

    campaign_id = make_campaign(total_limit=5, per_customer_limit=1)
    log = conflicts(2)
    coupon = issuing.claim(uid("o"), campaign_id)
    assert len(log) == 3  # two cancelled attempts, then the commit
    assert issuing.get_coupon(coupon.code) is not None
    assert campaigns.campaign_with_counts(campaign_id).issued == 1


def test_a_claim_that_stays_contended_is_busy_and_issues_nothing(make_campaign, conflicts):
    from functions.coupons import campaigns, issuing

    campaign_id = make_campaign(total_limit=5, per_customer_limit=1)
    openid = uid("o")
    conflicts(1000)
    with pytest.raises(Conflict) as refused:
        issuing.claim(openid, campaign_id)
    assert refused.value.code == "busy"
    assert issuing.coupons_of(openid) == []
    assert campaigns.campaign_with_counts(campaign_id).issued == 0


def test_a_redemption_retries_a_conflict_and_a_lasting_one_is_busy(make_campaign, make_store, conflicts):
    from functions.core import clock
    from functions.coupons import issuing, redemption
    from functions.stores.stats import daily_stats

    code = issuing.claim(uid("o"), make_campaign()).code
    store_id, _ = make_store()
    today = clock.business_date()
    # A lasting conflict: busy, and nothing changed
    conflicts(1000)
    with pytest.raises(Conflict) as refused:
        redemption.redeem(store_id, code, "ord-1", 20000)
    assert refused.value.code == "busy"
    assert issuing.get_coupon(code).status == "issued"
    assert daily_stats(store_id, today, today)[0]["redemptions"] == 0
    # A passing one: redeemed once, counted once
    conflicts(1)
    assert redemption.redeem(store_id, code, "ord-1", 20000).discount_cents == 2000
    assert issuing.get_coupon(code).status == "redeemed"
    assert daily_stats(store_id, today, today)[0]["redemptions"] == 1
