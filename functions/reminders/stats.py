"""Per business date run stats: due, read, sent and skipped by reason.

One row per shard (`RUN#<date>` / `SHARD#<nn>`), so parallel shard workers never contend on
one hot item; every counter moves by an atomic ADD, and `sent`/`skipped_*` move in the same
transaction as the due item's decision, so they count each purchase exactly once however
often the day is re-run.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from functions.core import clock
from functions.reminders.due import SHARDS
from functions.reminders.models import RunStatsRow

REASONS = ("unsubscribed", "no_consent", "repurchased", "capped", "holdout")
STATS_TTL_DAYS = 400


def stats_pk(day: date | str) -> str:
    return f"RUN#{day if isinstance(day, str) else day.isoformat()}"


def shard_row(day: date | str, shard: int) -> RunStatsRow:
    return RunStatsRow(stats_pk(day), f"SHARD#{shard:02d}")


def _expires(day: date | str) -> int:
    base = date.fromisoformat(day) if isinstance(day, str) else day
    return int(clock.business_datetime(base + timedelta(days=STATS_TTL_DAYS), "00:00").timestamp())


def counter_actions(day: date | str, counter: str, n: int = 1) -> list[Any]:
    return [
        getattr(RunStatsRow, counter).add(n),
        RunStatsRow.last_at.set(clock.iso(clock.now())),
        RunStatsRow.expires_at.set(_expires(day)),
    ]


def add_read(day: date | str, shard: int, n: int) -> None:
    shard_row(day, shard).update(actions=counter_actions(day, "read", n))


def finish_pass(day: date | str, shard: int, due: int) -> None:
    """A complete pass over the shard saw `due` items: that is the shard's due count."""
    shard_row(day, shard).update(
        actions=[*counter_actions(day, "passes"), RunStatsRow.due.set(due)],
    )


def record_fanout(day: date | str) -> None:
    RunStatsRow(stats_pk(day), "JOB").update(actions=counter_actions(day, "fanouts"))


def run_stats(day: date) -> dict[str, Any]:
    """The day's totals, from one query of at most SHARDS + 1 items."""
    totals = {"due": 0, "read": 0, "sent": 0, **{f"skipped_{r}": 0 for r in REASONS}}
    shards_done, passes, fanouts, last_at = 0, 0, 0, None
    for row in RunStatsRow.query(stats_pk(day), consistent_read=True):
        if row.sk == "JOB":
            fanouts = int(row.fanouts or 0)
        else:
            shards_done += 1 if (row.passes or 0) > 0 else 0
            passes += int(row.passes or 0)
            for key in totals:
                totals[key] += int(getattr(row, key) or 0)
        if row.last_at and (last_at is None or row.last_at > last_at):
            last_at = row.last_at
    skipped = {r: totals[f"skipped_{r}"] for r in REASONS}
    decided = totals["sent"] + sum(skipped.values())
    return {
        "date": day.isoformat(),
        "shards": SHARDS,
        "shards_done": shards_done,
        "passes": passes,
        "fanouts": fanouts,
        "due": totals["due"],
        "sent": totals["sent"],
        "skipped": skipped,
        "pending": max(0, totals["due"] - decided),
        "read": totals["read"],
        "last_at": last_at,
    }
