"""The shipment status machine: pure rules, no storage.

Every status has a `position`; a shipment's position only ever grows, so a late or re-pushed
event can never move it back, and each accepted change is at a position never held before
(which makes "shipment-<key>-<status>-<position>" a unique, deterministic message id).

    picked_up 10 < in_transit 20 < out_for_delivery 30 < failed_attempt 40 < delivered 50 < returned 60

- The main line and its terminals have fixed positions: an event moves the shipment only to a
  higher one, whatever order events arrive in, so the result does not depend on arrival order.
- failed_attempt (40) sits after out_for_delivery: a new out_for_delivery after a failed attempt
  does not message again (the customer was told to rebook); delivered does.
- returned (60) is final and outranks delivered (a refused or recalled parcel).
- exception is a branch: it interrupts the current status at current + 5 (e.g. 25 while in
  transit), only when its event is not older than the current status and the shipment is not
  delivered/returned or already in exception; the next main status above it leaves the branch.
"""

from __future__ import annotations

from dataclasses import dataclass

STATUSES = (
    "picked_up",
    "in_transit",
    "out_for_delivery",
    "failed_attempt",
    "delivered",
    "returned",
    "exception",
)
FIXED_POSITION = {
    "picked_up": 10,
    "in_transit": 20,
    "out_for_delivery": 30,
    "failed_attempt": 40,
    "delivered": 50,
    "returned": 60,
}
FINAL = ("delivered", "returned")
BRANCH_STEP = 5

STATUS_TEXT = {
    "picked_up": "已揽收",
    "in_transit": "运输中",
    "out_for_delivery": "派送中",
    "failed_attempt": "派送未成功",
    "delivered": "已签收",
    "returned": "已退回",
    "exception": "运输异常",
}

# Kuaidi100 `state` (CONTRACT §5).
KUAIDI100_STATE = {
    "0": "in_transit",
    "1": "picked_up",
    "2": "exception",
    "3": "delivered",
    "4": "returned",
    "5": "out_for_delivery",
    "6": "returned",
    "7": "in_transit",
    "8": "in_transit",
    "10": "in_transit",
    "11": "in_transit",
    "12": "in_transit",
    "13": "exception",
    "14": "failed_attempt",
}
# Advanced `statusCode` sub-codes that refine their family (first digit): refused / delivery
# failed / cannot reach the recipient are failed attempts, not generic exceptions.
KUAIDI100_SUBCODE = {"203": "failed_attempt", "204": "failed_attempt", "206": "failed_attempt"}
# Kuaidi100's status words on history entries of a basic push.
KUAIDI100_WORD = {
    "揽收": "picked_up",
    "在途": "in_transit",
    "派件": "out_for_delivery",
    "签收": "delivered",
    "退签": "returned",
    "退回": "returned",
    "疑难": "exception",
    "拒签": "failed_attempt",
    "转投": "in_transit",
    "清关": "in_transit",
}


def from_kuaidi100(state: object = None, status_code: object = None) -> str | None:
    """Our status for a Kuaidi100 `statusCode` (preferred when present) or `state`."""
    code = str(status_code).strip() if status_code not in (None, "") else ""
    if code:
        if code in KUAIDI100_SUBCODE:
            return KUAIDI100_SUBCODE[code]
        if code in KUAIDI100_STATE:
            return KUAIDI100_STATE[code]
        if len(code) == 3 and code[0] in KUAIDI100_STATE:  # 101, 301, 501, 201, 401, ...
            return KUAIDI100_STATE[code[0]]
        if len(code) == 4 and code.startswith("100"):  # 1001..1003: still in transit
            return "in_transit"
    text = str(state).strip() if state not in (None, "") else ""
    return KUAIDI100_STATE.get(text)


@dataclass(frozen=True)
class State:
    status: str | None = None
    position: int = 0
    at: str | None = None  # UTC ISO of the event that set the status


def advance(current: State, status: str, at: str) -> State | None:
    """The new state if an event (`status` at `at`) moves the shipment, else None."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    if status == "exception":
        if current.status in FINAL or current.status == "exception":
            return None
        if current.at is not None and at < current.at:
            return None  # a stale exception must not interrupt a newer status
        return State(status, current.position + BRANCH_STEP, at)
    position = FIXED_POSITION[status]
    if position <= current.position:
        return None
    return State(status, position, at)
