"""Broadcasts (CONTRACT §12): a message to a segment's members, by `message/mass/send`.

    POST /admin/broadcasts  -> create_broadcast: `scheduled`, on the due index (gsi1 "DUE")
    every minute            -> run_due: each due broadcast's `send`

`send(broadcast_id)` is one job, safe to run again at any point (a crash, a Lambda timeout,
two schedule ticks at once):

1. Claim: `scheduled` (or `sending` whose lease ran out) -> `sending`, by a conditional update.
   The first claim fixes `frozen_at`, the moment the audience is frozen and the month it counts in.
2. Freeze: every member of the segment is decided once and stored (`MemberRow`, written only if
   absent): not subscribed -> left out; in the holdout (a hash of broadcast and openid, see
   functions/core/measure.py) -> `holdout`; else a place in the follower's month
   (caps.take, recognised by the broadcast id on a retry) -> `recipient`, or `capped`. A member
   already decided by an earlier attempt is not decided again. Then `audience_frozen` is set,
   and from then on the audience is what is stored: members joining the segment later are not in it.
3. Chunks: the recipients, in openid order, split into balanced chunks of 2–10,000 (never one
   alone). Each chunk commits in ONE transaction: its `ChunkRow` (only if absent), its openids
   (`ChunkPartRow`s) and its notification record (`notify_op`, id "<broadcast>#<chunk>",
   channel "mass"). A chunk committed before is skipped, so each chunk is queued exactly once;
   the notification worker sends each record once, with `clientmsgid` = its id, so WeChat
   itself drops (45065) a repeat after a crash between its send and its write.
   One recipient: `skipped:audience_too_small`, and their monthly place is given back.
4. `sent`, off the due index. MASSSENDJOBFINISH adds each chunk's counts once (`record_job_finish`).
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from functions.broadcasts import caps
from functions.broadcasts.chunks import PART_SIZE, part_row
from functions.broadcasts.models import (
    BROADCAST,
    DUE,
    LISTED,
    BroadcastRow,
    ChunkRow,
    MemberRow,
    broadcast_pk,
)
from functions.core import clock, measure, txn
from functions.core.errors import NotFound
from functions.core.models import condition_failed
from functions.customers.domain import get_customer
from functions.notifications.domain import notify_op
from functions.orders.domain import orders_between
from functions.segments import domain as segments

log = logging.getLogger(__name__)

KIND = "broadcast"  # functions/notifications/kinds.py: channel "mass"
MIN_CHUNK, MAX_CHUNK = 2, 10_000  # message/mass/send takes 2 to 10,000 openids
PAGE = 100  # members decided per page (one BatchGet of what is decided already)
THREADS = 8
LEASE_S = 660  # a send job's claim: longer than the sender's Lambda timeout (600 s)
SAFETY_MS = 60_000  # stop and hand over this close to the timeout
RECIPIENT, HOLDOUT, CAPPED = "recipient", "holdout", "capped"
TOO_SMALL = "skipped:audience_too_small"

Members = Callable[[str], Iterable[str]]


@dataclass(frozen=True)
class NewBroadcast:
    segment_id: str
    text: str | None
    media_id: str | None
    holdout_percent: int
    send_at: datetime | None


# -- creating and reading ---------------------------------------------------------------


def new_id(now: datetime) -> str:
    return f"bc-{clock.business_date(now).strftime('%Y%m%d')}-{uuid.uuid4().hex[:12]}"


def create_broadcast(new: NewBroadcast) -> dict[str, Any]:
    """Schedule a broadcast (its segment must exist: NotFound otherwise)."""
    segments.get_segment(new.segment_id)
    now = clock.now()
    send_at = clock.iso(max(new.send_at or now, now))
    broadcast_id = new_id(now)
    created_at = clock.iso(now)
    BroadcastRow(
        broadcast_pk(broadcast_id),
        BROADCAST,
        broadcast_id=broadcast_id,
        segment_id=new.segment_id,
        text=new.text,
        media_id=new.media_id,
        holdout_percent=new.holdout_percent,
        send_at=send_at,
        created_at=created_at,
        status="scheduled",
        gsi1pk=DUE,
        gsi1sk=f"{send_at}#{broadcast_id}",
        gsi2pk=LISTED,
        gsi2sk=f"{created_at}#{broadcast_id}",
    ).save(condition=BroadcastRow.pk.does_not_exist())
    return {"broadcast_id": broadcast_id, "status": "scheduled", "send_at": send_at}


def _row(broadcast_id: str) -> BroadcastRow:
    try:
        return BroadcastRow.get(broadcast_pk(broadcast_id), BROADCAST, consistent_read=True)
    except BroadcastRow.DoesNotExist:
        raise NotFound(f"no broadcast {broadcast_id}", code="broadcast_not_found") from None


def _int(value: Any) -> int:
    return int(value or 0)


def _view(row: BroadcastRow) -> dict[str, Any]:
    return {
        "broadcast_id": row.broadcast_id,
        "segment_id": row.segment_id,
        "text": row.text,
        "media_id": row.media_id,
        "holdout_percent": _int(row.holdout_percent),
        "send_at": row.send_at,
        "created_at": row.created_at,
        "status": row.status,
        "frozen_at": row.frozen_at,
        "audience": _int(row.audience),
        "holdout": _int(row.holdout),
        "skipped_monthly_cap": _int(row.skipped_monthly_cap),
        "chunks": _int(row.chunks),
        "finished_chunks": _int(row.finished_chunks),
        "sent": _int(row.sent_count),
        "errors": _int(row.error_count),
        "filtered": _int(row.filter_count),
        "total": _int(row.total_count),
    }


def get_broadcast(broadcast_id: str, window_days: int = 7) -> dict[str, Any]:
    """The broadcast's state and counts, and its report over `window_days` once frozen."""
    row = _row(broadcast_id)
    view = _view(row)
    view["report"] = _report(row, window_days) if row.audience_frozen else None
    return view


def list_broadcasts(limit: int = 50) -> list[dict[str, Any]]:
    """The newest broadcasts first (gsi2)."""
    rows = BroadcastRow.listed.query(LISTED, scan_index_forward=False, limit=limit)
    return [_view(row) for row in rows]


# -- the schedule -----------------------------------------------------------------------


def due_ids(now: datetime | None = None) -> list[str]:
    """Broadcasts whose time has come and that are not sent yet (gsi1, never a scan)."""
    until = clock.iso(now or clock.now())
    rows = BroadcastRow.due.query(DUE, BroadcastRow.gsi1sk <= f"{until}#~")
    return [row.broadcast_id for row in rows]


def run_due(
    now: datetime | None = None, members: Members | None = None, remaining_ms: Callable[[], int] | None = None
) -> dict[str, str]:
    """Send every due broadcast; what happened to each. One that fails is logged and left to the
    next minute (the job resumes where it stopped), not in the others' way."""
    done: dict[str, str] = {}
    for broadcast_id in due_ids(now):
        if remaining_ms is not None and remaining_ms() < SAFETY_MS:
            break  # the rest wait for the next minute
        try:
            done[broadcast_id] = send(broadcast_id, members=members, remaining_ms=remaining_ms)
        except Exception:
            log.exception("broadcast %s failed; the next run resumes it", broadcast_id)
            done[broadcast_id] = "failed"
    return done


# -- one broadcast's send job -------------------------------------------------------------


class _OutOfTime(Exception):
    """The invocation is about to time out: hand the rest to the next tick."""


def send(
    broadcast_id: str, members: Members | None = None, remaining_ms: Callable[[], int] | None = None
) -> str:
    """Run (or resume) one broadcast's send job; returns its status afterwards, or "busy"
    when another job holds it."""
    row = _claim(broadcast_id)
    if row is None:
        return "busy"
    moment = clock.parse_iso(row.frozen_at)
    try:
        if not row.audience_frozen:
            _freeze(row, members or segments.member_openids, moment, remaining_ms)
            row = _mark_frozen(row)
        recipients = [m.openid for m in _members(broadcast_id) if m.group == RECIPIENT]
        if len(recipients) < MIN_CHUNK:
            for openid in recipients:
                caps.release(openid, broadcast_id, moment)
            return _finish(row, TOO_SMALL)
        chunks = balanced_chunks(recipients)
        for number, openids in enumerate(chunks):
            _check_time(remaining_ms)
            commit_chunk(row, number, openids)
        return _finish(row, "sent", chunks=len(chunks))
    except _OutOfTime:
        _release_lease(broadcast_id, int(row.lease_until or 0))
        return "sending"
    except Exception:
        # A failure we see (DynamoDB unreachable, say): the next minute resumes at once. A job
        # that dies without seeing it (a Lambda timeout) leaves its lease to run out instead.
        _release_lease_quietly(broadcast_id, int(row.lease_until or 0))
        raise


def _check_time(remaining_ms: Callable[[], int] | None) -> None:
    if remaining_ms is not None and remaining_ms() < SAFETY_MS:
        raise _OutOfTime


def _claim(broadcast_id: str) -> BroadcastRow | None:
    now = clock.now()
    row = BroadcastRow(broadcast_pk(broadcast_id), BROADCAST)
    claimable = (BroadcastRow.status == "scheduled") | (
        (BroadcastRow.status == "sending") & (BroadcastRow.lease_until < int(now.timestamp()))
    )
    try:
        row.update(
            actions=[
                BroadcastRow.status.set("sending"),
                BroadcastRow.lease_until.set(int(now.timestamp()) + LEASE_S),
                BroadcastRow.frozen_at.set(BroadcastRow.frozen_at | clock.iso(now)),
            ],
            condition=BroadcastRow.pk.exists() & claimable,
        )
    except UpdateError as error:
        if condition_failed(error):
            return None
        raise
    return row


def _release_lease(broadcast_id: str, lease: int) -> None:
    """Give up our claim (only ours: a run that took over after it ran out keeps its own)."""
    try:
        BroadcastRow(broadcast_pk(broadcast_id), BROADCAST).update(
            actions=[BroadcastRow.lease_until.set(0)],
            condition=(BroadcastRow.status == "sending") & (BroadcastRow.lease_until == lease),
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise


def _release_lease_quietly(broadcast_id: str, lease: int) -> None:
    try:
        _release_lease(broadcast_id, lease)
    except Exception:
        log.warning("could not release broadcast %s; its lease runs out", broadcast_id, exc_info=True)


def _pages(openids: Iterable[str]) -> Iterator[list[str]]:
    it = iter(openids)
    while page := list(islice(it, PAGE)):
        yield list(dict.fromkeys(page))


def _freeze(
    row: BroadcastRow, members: Members, moment: datetime, remaining_ms: Callable[[], int] | None
) -> None:
    pk = broadcast_pk(row.broadcast_id)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for page in _pages(members(row.segment_id)):
            _check_time(remaining_ms)
            decided = {
                m.openid for m in MemberRow.batch_get([(pk, f"M#{o}") for o in page], consistent_read=True)
            }
            todo = [o for o in page if o not in decided]
            list(pool.map(lambda openid: _decide_member(row, openid, moment), todo))


def group_of(row: BroadcastRow, openid: str, moment: datetime) -> str | None:
    """Which group a member falls in; None if they are not subscribed. Takes a monthly place
    for a recipient. A held-out member who would have been capped is `capped`, so that the
    holdout compares with the recipients: people the broadcast could have reached."""
    customer = get_customer(openid)
    if customer is None or not customer.subscribed:
        return None
    if measure.held_out(row.broadcast_id, openid, float(row.holdout_percent or 0)):
        return HOLDOUT if caps.would_allow(openid, moment) else CAPPED
    return RECIPIENT if caps.take(openid, row.broadcast_id, moment) else CAPPED


def _decide_member(row: BroadcastRow, openid: str, moment: datetime) -> None:
    group = group_of(row, openid, moment)
    if group is None:
        return
    try:
        MemberRow(row.pk, f"M#{openid}", openid=openid, group=group).save(
            condition=MemberRow.sk.does_not_exist()
        )
    except PutError as error:
        if not condition_failed(error):
            raise  # decided by an overlapping attempt: its decision stands


def _members(broadcast_id: str) -> Iterator[MemberRow]:
    """The frozen audience, in openid order."""
    return MemberRow.query(broadcast_pk(broadcast_id), MemberRow.sk.startswith("M#"), consistent_read=True)


def _mark_frozen(row: BroadcastRow) -> BroadcastRow:
    counts = {RECIPIENT: 0, HOLDOUT: 0, CAPPED: 0}
    for member in _members(row.broadcast_id):
        counts[member.group] = counts.get(member.group, 0) + 1
    row.update(
        actions=[
            BroadcastRow.audience_frozen.set(1),
            BroadcastRow.audience.set(counts[RECIPIENT]),
            BroadcastRow.holdout.set(counts[HOLDOUT]),
            BroadcastRow.skipped_monthly_cap.set(counts[CAPPED]),
        ],
        condition=BroadcastRow.status == "sending",
    )
    return row


def balanced_chunks_sizes(n: int) -> list[int]:
    """Sizes of n recipients' chunks: as few as MAX_CHUNK allows, differing by one at most, so
    none is ever a single openid (n >= 2)."""
    if n <= 0:
        return []
    count = math.ceil(n / MAX_CHUNK)
    base, extra = divmod(n, count)
    return [base + 1] * extra + [base] * (count - extra)


def balanced_chunks(openids: list[str]) -> list[list[str]]:
    chunks, start = [], 0
    for size in balanced_chunks_sizes(len(openids)):
        chunks.append(openids[start : start + size])
        start += size
    return chunks


def notification_id(broadcast_id: str, number: int) -> str:
    return f"{broadcast_id}#{number}"


def sender_of(broadcast_id: str) -> str:
    """The notification record's `openid`: a mass message has no one follower. The colon is
    outside the openid grammar, so this never names a customer."""
    return f"mass:{broadcast_id}"


def commit_chunk(row: BroadcastRow, number: int, openids: list[str]) -> bool:
    """Queue chunk `number` (its openids and its notification, atomically); False if an earlier
    attempt queued it."""
    pk, chunk_key = row.pk, f"C#{number:05d}"
    parts = [openids[i : i + PART_SIZE] for i in range(0, len(openids), PART_SIZE)]
    nid = notification_id(row.broadcast_id, number)
    content = {"text": row.text} if row.text else {"media_id": row.media_id or ""}
    ops = [
        txn.put(
            "chunk",
            ChunkRow(pk, chunk_key, size=len(openids), parts=len(parts), notification_id=nid),
            condition=ChunkRow.sk.does_not_exist(),
        ),
        *(txn.put(f"part{i}", part_row(row.broadcast_id, number, i, part)) for i, part in enumerate(parts)),
        notify_op(
            sender_of(row.broadcast_id),
            KIND,
            {"broadcast_id": row.broadcast_id, "chunk": str(number), **content},
            notification_id=nid,
        ),
    ]
    try:
        txn.run(ops)
    except txn.Cancelled as cancelled:
        if cancelled.failed("chunk"):
            return False
        raise
    return True


def _finish(row: BroadcastRow, status: str, chunks: int = 0) -> str:
    try:
        row.update(
            actions=[
                BroadcastRow.status.set(status),
                BroadcastRow.chunks.set(chunks),
                BroadcastRow.lease_until.remove(),
                BroadcastRow.gsi1pk.remove(),
                BroadcastRow.gsi1sk.remove(),
            ],
            condition=BroadcastRow.status == "sending",
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        # An overlapping run (our lease had run out) finished it first, with the same outcome.
    return status


# -- MASSSENDJOBFINISH --------------------------------------------------------------------


@dataclass(frozen=True)
class JobFinish:
    msg_id: str
    status: str
    total: int
    filtered: int
    sent: int
    errors: int


def parse_notification_id(nid: str) -> tuple[str, int] | None:
    broadcast_id, sep, number = nid.rpartition("#")
    if not sep or not number.isascii() or not number.isdigit():
        return None
    return broadcast_id, int(number)


def record_job_finish(nid: str, finish: JobFinish) -> bool:
    """Add one chunk's MASSSENDJOBFINISH counts to its broadcast, once: the chunk's
    `finished_at` is the condition, in the same transaction as the broadcast's ADDs. False if
    reported before (WeChat may report twice) or not a chunk of ours."""
    parsed = parse_notification_id(nid)
    if parsed is None:
        return False
    broadcast_id, number = parsed
    pk = broadcast_pk(broadcast_id)
    chunk = ChunkRow(pk, f"C#{number:05d}")
    at = clock.iso(clock.now())
    try:
        txn.run(
            [
                txn.update(
                    "chunk",
                    chunk,
                    [
                        ChunkRow.msg_id.set(finish.msg_id),
                        ChunkRow.status.set(finish.status),
                        ChunkRow.total_count.set(finish.total),
                        ChunkRow.filter_count.set(finish.filtered),
                        ChunkRow.sent_count.set(finish.sent),
                        ChunkRow.error_count.set(finish.errors),
                        ChunkRow.finished_at.set(at),
                    ],
                    ChunkRow.sk.exists() & ChunkRow.finished_at.does_not_exist(),
                ),
                txn.update(
                    "broadcast",
                    BroadcastRow(pk, BROADCAST),
                    [
                        BroadcastRow.finished_chunks.add(1),
                        BroadcastRow.total_count.add(finish.total),
                        BroadcastRow.filter_count.add(finish.filtered),
                        BroadcastRow.sent_count.add(finish.sent),
                        BroadcastRow.error_count.add(finish.errors),
                    ],
                    BroadcastRow.pk.exists(),
                ),
            ]
        )
    except txn.Cancelled as cancelled:
        if cancelled.failed("chunk") or cancelled.failed("broadcast"):
            return False
        raise
    return True


# -- the report ----------------------------------------------------------------------------


def _group(openids: list[str], start: datetime, end: datetime) -> measure.Group:
    """Members, buyers and revenue (order totals) of `openids` in [start, end): one Query of the
    orders index per member."""

    def spent(openid: str) -> int | None:
        orders = orders_between(openid, start, end)
        return sum(o.total_cents for o in orders) if orders else None

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(spent, openids))
    bought = [r for r in results if r is not None]
    return measure.Group(members=len(openids), buyers=len(bought), revenue_cents=sum(bought))


def _report(row: BroadcastRow, window_days: int) -> dict[str, Any]:
    start = clock.parse_iso(row.frozen_at)
    end = start + timedelta(days=window_days)
    groups: dict[str, list[str]] = {RECIPIENT: [], HOLDOUT: []}
    for member in _members(row.broadcast_id):
        if member.group in groups:
            groups[member.group].append(member.openid)
    return {
        "window_days": window_days,
        "from": clock.iso(start),
        "to": clock.iso(end),
        **measure.compare(_group(groups[RECIPIENT], start, end), _group(groups[HOLDOUT], start, end)),
    }
