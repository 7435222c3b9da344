"""Measurement against a holdout, shared by broadcasts and repurchase reminders.

- `held_out(key, openid, percent)`: whether a member is kept back from a message. A hash of
  (key, openid) — the same answer in every process, on every retry, for every reader.
- `compare(recipients, holdout)`: the report's arithmetic. Conversion is buyers / members;
  the uplift is the difference in conversion (recipients minus holdout), with a 95 %
  normal-approximation (Wald) interval for a difference of two proportions:
      d ± z · sqrt(p1 (1 − p1) / n1 + p2 (1 − p2) / n2),  z = 1.959964 (97.5th percentile).
Pure functions: no storage, no clock.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

Z_95 = 1.959963984540054
BUCKETS = 10_000  # the hash picks one of 10,000 buckets: holdout percentages to 0.01 %


def bucket(key: str, openid: str) -> int:
    """0 … BUCKETS-1, uniform and stable (unlike Python's hash(), which varies per process)."""
    digest = hashlib.sha256(f"{key}\x1f{openid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def held_out(key: str, openid: str, percent: float) -> bool:
    """Whether `openid` is in the holdout of `key` (a broadcast id, a SKU) at `percent` %."""
    if percent <= 0:
        return False
    return bucket(key, openid) < percent * BUCKETS / 100


@dataclass(frozen=True)
class Group:
    """One side of a comparison: how many members, how many of them bought, for how much."""

    members: int
    buyers: int
    revenue_cents: int

    @property
    def conversion(self) -> float | None:
        return self.buyers / self.members if self.members else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "members": self.members,
            "buyers": self.buyers,
            "revenue_cents": self.revenue_cents,
            "conversion": _round(self.conversion),
        }


def uplift(recipients: Group, holdout: Group) -> dict[str, float] | None:
    """Difference in conversion with its 95 % Wald interval; None if a group is empty."""
    p1, p2 = recipients.conversion, holdout.conversion
    if p1 is None or p2 is None:
        return None
    difference = p1 - p2
    se = math.sqrt(p1 * (1 - p1) / recipients.members + p2 * (1 - p2) / holdout.members)
    return {
        "difference": _round(difference),
        "low": _round(difference - Z_95 * se),
        "high": _round(difference + Z_95 * se),
        "standard_error": _round(se),
    }


def compare(recipients: Group, holdout: Group) -> dict[str, Any]:
    return {
        "recipients": recipients.to_dict(),
        "holdout": holdout.to_dict(),
        "uplift": uplift(recipients, holdout),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
