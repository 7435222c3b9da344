"""Earning points: table-card scans (in the WeChat callback's transaction) and purchases (from
the order_recorded event, with the customer's receipt in the same transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.core import clock, links, txn
from functions.core.config import get_settings
from functions.notifications.domain import notify, notify_op
from functions.points import ledger
from functions.stores.domain import stores_named

# The callback's handler is run again when one of these items' conditions failed: another
# scan credited today meanwhile, or the balance moved after the read that the reply shows.
RERUN_ON = (ledger.ENTRY, ledger.BALANCE_LABEL)
ONLINE_STORE = "官方商城"


@dataclass(frozen=True)
class ScanCredit:
    """What a table-card scan does to the points: `ops` for the callback's transaction."""

    earned: int  # 0: this store credited this customer today already
    balance: int  # after the callback's transaction commits
    ops: tuple[txn.Op, ...]

    def text(self) -> str:
        if self.earned:
            return f"扫码积分 +{self.earned}，当前积分 {self.balance}。"
        return f"今天已在本店领取过扫码积分，明天再来吧。当前积分 {self.balance}。"


def scan_entry_id(store_id: str, day: str) -> str:
    return f"scan:{store_id}:{day}"


def scan_credit(openid: str, store_id: str, points: int) -> ScanCredit:
    """The credit of one table-card scan: once per customer, store and business day. One read
    (the balance and today's entry, one round trip); the items carry the conditions that the
    entry is new and the balance is the one read, so the reply's balance is the real one."""
    entry_id = scan_entry_id(store_id, clock.business_date().isoformat())
    balance, credited = ledger.read_for_credit(openid, entry_id)
    if credited:
        return ScanCredit(0, balance, ())
    ops = ledger.entry_ops(openid, entry_id, points, "scan", store_id, expected=balance)
    return ScanCredit(points, balance + points, tuple(ops))


def balance_text(openid: str) -> str:
    """The reply to CLICK MY_POINTS and the text 积分."""
    balance = ledger.balance_of(openid)
    return f"您当前的积分：{balance}。在“我的积分”页面可以查看明细、用积分兑换优惠券：{links.points()}"


# -- purchases --------------------------------------------------------------------------------


def order_points(total_cents: int) -> int:
    return get_settings().points_per_yuan * (max(total_cents, 0) // 100)


def _yuan(cents: int) -> str:
    return f"¥{cents // 100}.{cents % 100:02d}"


def receipt_fields(store: str, total_cents: int, earned: int, balance: int) -> dict[str, str]:
    """The receipt's template fields: store, amount, points earned, balance."""
    return {
        "store": store,
        "amount": _yuan(total_cents),
        "points": str(earned),
        "balance": str(balance),
    }


def on_order_recorded(event: dict[str, Any]) -> None:
    """Subscriber of order_recorded (functions/orders/subscribers.py): the order's points and
    the customer's receipt, committed together, once per order (entry `order:<order_id>`, message
    `receipt-<order_id>`); a redelivered event changes nothing."""
    openid, order_id = event.get("openid"), event.get("order_id")
    if not openid or not order_id:
        return
    total = int(event.get("total_cents") or 0)
    store_id = event.get("store_id")
    store = stores_named([store_id])[store_id] if store_id else ONLINE_STORE
    earned = order_points(total)

    def receipt(balance: int) -> list[txn.Op]:
        return [
            notify_op(
                openid,
                "order_receipt",
                receipt_fields(store, total, earned, balance),
                url=links.points(),
                notification_id=f"receipt-{order_id}",
            )
        ]

    if earned > 0:
        ledger.credit(openid, f"order:{order_id}", earned, "order", order_id, with_ops=receipt)
    else:  # nothing to credit: the receipt alone (its id keeps it once)
        notify(
            openid,
            "order_receipt",
            receipt_fields(store, total, 0, ledger.balance_of(openid)),
            url=links.points(),
            notification_id=f"receipt-{order_id}",
        )
