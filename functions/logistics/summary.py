"""Text summary of a customer's shipments, for the WeChat menu and keyword replies."""

from __future__ import annotations

from functions.core import clock
from functions.logistics import status as machine
from functions.logistics.shipments import for_customer as shipments_of

MAX_SHIPMENTS = 5
CARRIERS = {
    "shunfeng": "顺丰",
    "sf": "顺丰",
    "yuantong": "圆通",
    "zhongtong": "中通",
    "shentong": "申通",
    "yunda": "韵达",
    "jtexpress": "极兔",
    "jd": "京东",
    "ems": "EMS",
    "youzhengguonei": "邮政",
    "debangwuliu": "德邦",
    "debangkuaidi": "德邦",
}


def _when(iso: str | None) -> str:
    if not iso:
        return ""
    return clock.parse_iso(iso).astimezone(clock.business_tz()).strftime("%m-%d %H:%M")


def for_customer(openid: str) -> str:
    """At most five shipments, newest order first: carrier, number, status and the latest event."""
    shipments = shipments_of(openid, limit=MAX_SHIPMENTS, history_limit=1)
    if not shipments:
        return "您还没有物流记录。"
    lines = ["您的物流："]
    for s in shipments:
        carrier = CARRIERS.get(s.carrier, s.carrier)
        status = machine.STATUS_TEXT.get(s.status or "", "待揽收")
        lines.append(f"{carrier} {s.tracking_no}：{status}")
        if s.history:
            latest = s.history[0]
            context = " ".join((latest.get("context") or "").split())
            if len(context) > 40:
                context = context[:39] + "…"
            lines.append(f"  {_when(latest.get('time'))} {context}".rstrip())
    return "\n".join(lines)
