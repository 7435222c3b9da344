"""Property: any sequence of earning (scans, orders), redeliveries and exchanges keeps the ledger
whole: the balance is the sum of the entries, never below zero, each entry counted once, and
every exchange that succeeded is one coupon and one debit."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from functions.core.errors import AppError

KEYS = 4  # few keys, so redeliveries and repeats are common


class LedgerMachine(RuleBasedStateMachine):
    @initialize()
    def customer_and_campaigns(self):
        from tests.points.conftest import on_sale_direct

        self.openid = f"prop{uuid.uuid4().hex[:12]}"
        self.campaigns = {cost: on_sale_direct(cost, per_customer_limit=3) for cost in (5, 40, 150)}
        self.entries: dict[str, int] = {}  # the model: entry id -> delta
        self.coupons: dict[str, int] = {}  # campaign -> coupons bought

    @property
    def balance(self) -> int:
        return sum(self.entries.values())

    @rule(store=st.integers(0, KEYS - 1), points=st.integers(1, 30))
    def scan(self, store, points):
        from functions.points import ledger

        entry_id = f"scan:store{store}:2026-01-01"
        done = ledger.credit(self.openid, entry_id, points, "scan", f"store{store}")
        assert done.new == (entry_id not in self.entries)
        self.entries.setdefault(entry_id, points)
        assert done.balance == self.balance

    @rule(order=st.integers(0, KEYS - 1), cents=st.integers(0, 20000), times=st.integers(1, 3))
    def order(self, order, cents, times):
        from functions.points.earning import on_order_recorded, order_points

        order_id = f"{self.openid}-o{order}"
        event = {"order_id": order_id, "openid": self.openid, "total_cents": cents, "store_id": None}
        for _ in range(times):  # the same event, delivered again
            on_order_recorded(event)
        if order_points(cents) and f"order:{order_id}" not in self.entries:
            self.entries[f"order:{order_id}"] = order_points(cents)

    @rule(cost=st.sampled_from((5, 40, 150)))
    def exchange(self, cost):
        from functions.points.exchange import exchange

        campaign_id = self.campaigns[cost]
        try:
            done = exchange(self.openid, campaign_id)
        except AppError as refused:
            outcome = refused.code
        else:
            outcome = "ok"
            self.entries[f"exchange:{done.coupon.code}"] = -cost
            self.coupons[campaign_id] = self.coupons.get(campaign_id, 0) + 1
            assert done.balance == self.balance
        if outcome != "ok":
            held = self.coupons.get(campaign_id, 0)
            expected = "limit_reached" if held >= 3 and self.balance >= cost else "insufficient_points"
            assert outcome == expected, (outcome, self.balance, cost, held)

    @invariant()
    def the_balance_is_the_sum_of_the_entries_and_never_negative(self):
        if not hasattr(self, "openid"):
            return
        from functions.points import ledger
        from functions.points.models import ENTRY_PREFIX, EntryRow, ledger_pk

        stored = {
            row.entry_id: int(row.delta)
            for row in EntryRow.query(
                ledger_pk(self.openid), EntryRow.sk.startswith(ENTRY_PREFIX), consistent_read=True
            )
        }
        assert stored == self.entries
        assert ledger.balance_of(self.openid) == self.balance >= 0

    @invariant()
    def every_exchange_is_one_coupon(self):
        if not hasattr(self, "openid"):
            return
        from functions.coupons.issuing import coupons_of

        held: dict[str, int] = {}
        for coupon in coupons_of(self.openid):
            held[coupon.campaign_id] = held.get(coupon.campaign_id, 0) + 1
        assert held == self.coupons


def test_no_sequence_of_earning_redelivery_and_exchange_breaks_the_ledger(aws):
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=10,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
