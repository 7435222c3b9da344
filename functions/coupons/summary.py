"""Text summary of a customer's usable coupons, for the WeChat menu (MY_COUPONS) and keyword replies."""

from __future__ import annotations

from datetime import UTC, datetime

from functions.core import clock
from functions.coupons import codes
from functions.coupons.issuing import benefit_text, coupons_of

MAX_LISTED = 5


def for_customer(openid: str) -> str:
    now_ts = clock.now_ts()
    usable = sorted((c for c in coupons_of(openid) if c.usable(now_ts)), key=lambda c: c.valid_to_ts)
    if not usable:
        return "您还没有可用的优惠券。"
    lines = [f"您有{len(usable)}张可用优惠券："]
    for coupon in usable[:MAX_LISTED]:
        until = clock.business_date(datetime.fromtimestamp(coupon.valid_to_ts, UTC)).isoformat()
        line = (
            f"· {coupon.title}（{benefit_text(coupon.discount_cents, coupon.percent_off, coupon.min_spend_cents)}）"
            f"券码 {codes.display(coupon.code)}，有效期至{until}"
        )
        if now_ts < coupon.valid_from_ts:
            starts = clock.business_date(datetime.fromtimestamp(coupon.valid_from_ts, UTC)).isoformat()
            line += f"，{starts}起可用"
        lines.append(line)
    if len(usable) > MAX_LISTED:
        lines.append(f"……还有{len(usable) - MAX_LISTED}张，请在“我的优惠券”页面查看。")
    lines.append("结账时向店员出示券码即可使用。")
    return "\n".join(lines)
