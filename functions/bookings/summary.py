"""Text summary of a customer's bookings, for the WeChat menu (MY_BOOKINGS) and keyword replies."""

from __future__ import annotations

from functions.bookings.domain import CONFIRMED, list_bookings
from functions.core import clock

MAX_LISTED = 5


def for_customer(openid: str) -> str:
    today = clock.business_date().isoformat()
    active = sorted(
        (b for b in list_bookings(openid, limit=100) if b.status == CONFIRMED and b.date >= today),
        key=lambda b: (b.date, b.window),
    )
    if not active:
        return "您还没有预约记录。"
    lines = [f"您有{len(active)}个有效预约："]
    for booking in active[:MAX_LISTED]:
        lines.append(f"· {booking.date} {booking.window}（订单 {booking.order_id}）")
    if len(active) > MAX_LISTED:
        lines.append(f"……还有{len(active) - MAX_LISTED}个，请在“我的预约”页面查看。")
    lines.append("如需改期或取消，请在“我的预约”页面操作。")
    return "\n".join(lines)
