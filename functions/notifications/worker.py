"""The notification worker: one SQS batch in, template messages out, partial failures back.

Each notification's record decides what happens to it, through conditional writes:

    queued ─┬─ skipped:unsubscribed | skipped:no_consent | skipped:capped     (no send)
            ├─ skipped:superseded (a newer message about the same subject exists: never sent late)
            ├─ deferred:quiet_hours ──(re-enqueued until the window ends)──► claimable again
            └─ sending ─┬─ sent(msgid) ──(TEMPLATESENDJOBFINISH)──► delivered | failed:<status>
                        ├─ failed:not_following (43004; customer marked unsubscribed)
                        ├─ deferred:quota (45009; re-enqueued later, never lost)
                        ├─ retrying (-1, 5xx, timeout: SQS redelivers with backoff)
                        ├─ failed:retries_exhausted (last attempt; SQS moves it to the DLQ)
                        └─ failed:wechat_<errcode> (any other WeChat refusal; no retry)

Only a claimable record (queued, retrying, deferred:*, failed:retries_exhausted after a DLQ
redrive, or `sending` whose claim ran out) that nothing superseded can be claimed, so a
redelivered message whose notification was already sent is acknowledged without sending
again, and a superseded one (deferred by the quota, say, while its shipment moved on) is
dropped when its message comes back instead of being sent late. WeChat's own dedupe
on `client_msg_id` (= the notification id) covers a worker that died between its send and
its write.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from functions.core import clock, queues, txn, wechat
from functions.core.aws import client
from functions.core.config import get_settings
from functions.customers import domain as customers
from functions.notifications import caps, channels, grants, report, templates
from functions.notifications.kinds import KINDS, TEMPLATED_CHANNELS
from functions.notifications.models import CLAIMABLE, NOTIFICATION, HistoryEntry, NotificationRow
from functions.notifications.quiet import quiet_until

log = logging.getLogger(__name__)

QUEUE = "notifications"
MAX_RECEIVES = 5  # the queue's maxReceiveCount (infra/data.yaml): after that, the DLQ
CLAIM_S = 60  # a worker's claim on a send; as long as the queue's visibility timeout
MAX_HOP_S = 900  # SQS's longest DelaySeconds: longer deferrals hop
QUOTA_RETRY_S = 1800  # 45009: try again this much later
LABEL = "notification"
BACKOFF_BASE_S = 30  # transient failure n waits BACKOFF_BASE_S * 2**(n-1), at most MAX_HOP_S


@dataclass(frozen=True)
class Result:
    """What to tell SQS about one record: done (delete it) or retry after `delay_s`."""

    retry: bool = False
    delay_s: int = 0


DONE = Result()


# -- the batch ------------------------------------------------------------------------------


@cache
def _pool(size: int) -> ThreadPoolExecutor:
    # Kept for the container's life: a warm Lambda reuses its threads and HTTP connections.
    return ThreadPoolExecutor(max_workers=size, thread_name_prefix="notify")


def handle_batch(records: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """Process an SQS batch in parallel; returns the partial batch response."""
    pool = _pool(max(1, get_settings().notify_threads))
    results = list(pool.map(_safe_process, records))
    failures = []
    for record, result in zip(records, results, strict=True):
        if result.retry:
            failures.append({"itemIdentifier": record["messageId"]})
            _delay_redelivery(record, result.delay_s)
    return {"batchItemFailures": failures}


def _safe_process(record: dict[str, Any]) -> Result:
    try:
        return process(record)
    except Exception:
        # DynamoDB or SQS trouble: SQS redelivers it; a claim we left expires by itself.
        log.exception("notification record %s failed", record.get("messageId"))
        return Result(retry=True, delay_s=backoff(_receive_count(record)))


def _receive_count(record: dict[str, Any]) -> int:
    return int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)


def backoff(receive_count: int) -> int:
    base = BACKOFF_BASE_S * 2 ** max(0, receive_count - 1)
    return int(min(MAX_HOP_S, base * random.uniform(1.0, 1.2)))


def _delay_redelivery(record: dict[str, Any], delay_s: int) -> None:
    """Hold a failed record back `delay_s` before SQS shows it again (the backoff)."""
    try:
        client("sqs").change_message_visibility(
            QueueUrl=queues.queue_url(QUEUE),
            ReceiptHandle=record["receiptHandle"],
            VisibilityTimeout=max(0, min(int(delay_s), 43200)),
        )
    except Exception:
        # The queue's visibility timeout applies instead: later, still retried.
        log.warning("could not set visibility of %s", record.get("messageId"), exc_info=True)


# -- one record -----------------------------------------------------------------------------


def process(record: dict[str, Any]) -> Result:
    body = json.loads(record["body"])
    notification_id = str(body["notification_id"])
    now = clock.now()
    not_before = body.get("not_before")
    if not_before and clock.parse_iso(not_before) > now:
        # Still deferred: hop again without touching the record.
        _requeue(notification_id, clock.parse_iso(not_before), now, message=body)
        return DONE
    hint = KINDS.get(str(body.get("kind")))
    if hint is not None and not hint.reminder and body.get("openid") and isinstance(body.get("fields"), dict):
        return _process_transactional(_from_message(notification_id, body), record, now)
    return _process_loaded(notification_id, record, now)


def _from_message(notification_id: str, body: dict[str, Any]) -> NotificationRow:
    """The record as the outbox relay copied it into the message (never saved from here)."""
    return NotificationRow(
        notification_id,
        NOTIFICATION,
        openid=str(body["openid"]),
        kind=str(body["kind"]),
        fields={str(k): str(v) for k, v in body["fields"].items()},
        url=body.get("url") or None,
    )


def _process_transactional(row: NotificationRow, record: dict[str, Any], now: datetime) -> Result:
    """The common case in two DynamoDB calls, both writes: the claim (with the customer's
    reachability as its condition, and a grant for a subscribe notification) and the outcome."""
    return _claim_and_send(row, record, now, cap_taken=False)


def _process_loaded(notification_id: str, record: dict[str, Any], now: datetime) -> Result:
    """Any kind, reminders included: read the record first, then decide."""
    try:
        row = NotificationRow.get(notification_id, NOTIFICATION, consistent_read=True)
    except NotificationRow.DoesNotExist:
        log.warning("notification %s not found; dropping its message", notification_id)
        return DONE
    if not _claimable(row, now) or row.superseded_by:
        return _not_claimable(notification_id, now, row)
    kind = KINDS.get(row.kind)
    if kind is None:
        _settle(row, "failed:unknown_kind", now, detail=row.kind)
        return DONE
    if kind.reminder:
        unsubscribed, consent = _customer_state(row.openid)
        if unsubscribed:
            _settle(row, "skipped:unsubscribed", now)
            return DONE
        if not consent:
            _settle(row, "skipped:no_consent", now)
            return DONE
        wake = quiet_until(now)
        if wake is not None:
            if _settle(row, "deferred:quiet_hours", now, detail=f"until {clock.iso(wake)}", not_before=wake):
                _requeue(notification_id, wake, now, row)
            return DONE
        # The slot is taken before the claim and recognised by the notification id, so a
        # crash in between neither loses the reminder nor counts it twice.
        if not row.cap_taken and not caps.take(row.openid, row.pk, now):
            _settle(row, "skipped:capped", now)
            return DONE
    return _claim_and_send(row, record, now, cap_taken=kind.reminder)


def _claim_and_send(row: NotificationRow, record: dict[str, Any], now: datetime, cap_taken: bool) -> Result:
    kind = KINDS[row.kind]
    try:
        path, message = channels.outbound(row, kind, client_msg_id(row.pk))
        grant = channels.subscribe_template(row.kind) if kind.channel in TEMPLATED_CHANNELS else None
    except templates.InvalidField as error:
        # WeChat would answer 47003: never sent, and no grant taken for it.
        if _settle(row, "failed:invalid_field", now, detail=str(error)):
            return DONE
        return _not_claimable(row.pk, now)
    claim = _claim(row, now, record, cap_taken=cap_taken, grant=grant)
    if isinstance(claim, str):
        if _settle(row, claim, now):
            return DONE
        return _not_claimable(row.pk, now)
    if claim is not None:
        return _not_claimable(row.pk, now, claim)
    return _send(row, path, message, record, grant)


def _not_claimable(notification_id: str, now: datetime, row: NotificationRow | None = None) -> Result:
    """Someone else has it: acknowledge if it is decided, look again later if it is in flight."""
    if row is None:
        try:
            row = NotificationRow.get(notification_id, NOTIFICATION, consistent_read=True)
        except NotificationRow.DoesNotExist:
            log.warning("notification %s not found; dropping its message", notification_id)
            return DONE
    if row.status == "sending" and (row.sending_until or 0) >= now.timestamp():
        # In flight in another worker; if that attempt fails, this copy still gets it sent.
        return Result(retry=True, delay_s=max(1, int((row.sending_until or 0) - now.timestamp()) + 1))
    if row.superseded_by and _claimable(row, now):
        # Stale: a newer message about the same subject is on its way. Drop, never send late.
        if _settle(row, "skipped:superseded", now, detail=f"by {row.superseded_by}", superseded=True):
            return DONE
        return Result(retry=True, delay_s=1)  # changed under us; look again
    if _claimable(row, now):
        return Result(retry=True, delay_s=1)  # changed under us; try again shortly
    return DONE  # already sent, skipped or failed for good: never twice


def _claimable(row: NotificationRow, now: datetime) -> bool:
    if row.status in CLAIMABLE:
        return True
    return row.status == "sending" and (row.sending_until or 0) < now.timestamp()


def _customer_state(openid: str) -> tuple[bool, bool]:
    """(unsubscribed, reminder consent), in one read (reminders only: consent is the
    customer's). A customer we never heard of (e.g. followed before this system existed) is
    sent to, and WeChat's 43004 tells us if they are gone."""
    customer = customers.get_customer(openid)
    if customer is None:
        return False, False
    return customer.unsubscribed, customer.reminder_consent


def _send(
    row: NotificationRow, path: str, message: dict[str, Any], record: dict[str, Any], grant: str | None
) -> Result:
    try:
        sent = wechat.call(path, message)
    except wechat.WeChatError as error:
        earlier = channels.already_sent(error)
        if earlier is None:
            return _on_error(row, error, record, grant)
        sent = earlier
    _finish(row, "sent", clock.now(), msgid=channels.msgid_of(sent), errcode=0)
    return DONE


def _on_error(
    row: NotificationRow, error: wechat.WeChatError, record: dict[str, Any], grant: str | None
) -> Result:
    now = clock.now()
    why = f"{error.errcode} {error.errmsg}" + (
        f" (HTTP {error.http_status})" if error.http_status != 200 else ""
    )
    # Not sent: the grant the claim took goes back (unless WeChat says there is none).
    refund = grant if error.errcode != 43101 else None
    if error.errcode == 43004:
        customers.mark_unsubscribed(row.openid)
        _finish(row, "failed:not_following", now, detail=why, errcode=error.errcode, refund=refund)
        return DONE
    final = channels.FINAL_ERRCODES.get(error.errcode)
    if final is not None:
        _finish(row, final, now, detail=why, errcode=error.errcode, refund=refund)
        return DONE
    if error.errcode == 45009:
        wake = now + timedelta(seconds=QUOTA_RETRY_S)
        _finish(row, "deferred:quota", now, detail=why, not_before=wake, errcode=error.errcode, refund=refund)
        _requeue(row.pk, wake, now, row)
        return DONE
    if error.transient:
        attempt = _receive_count(record)
        if attempt >= MAX_RECEIVES:
            _finish(
                row,
                "failed:retries_exhausted",
                now,
                detail=f"attempt {attempt}: {why}; to the DLQ",
                errcode=error.errcode,
                refund=refund,
            )
            return Result(retry=True, delay_s=0)
        _finish(
            row, "retrying", now, detail=f"attempt {attempt}: {why}", errcode=error.errcode, refund=refund
        )
        return Result(retry=True, delay_s=backoff(attempt))
    _finish(row, f"failed:wechat_{error.errcode}", now, detail=why, errcode=error.errcode, refund=refund)
    return DONE


def client_msg_id(notification_id: str) -> str:
    # WeChat takes at most 64 characters; a longer id is hashed, still deterministic.
    if len(notification_id) <= 64:
        return notification_id
    return hashlib.sha256(notification_id.encode()).hexdigest()[:64]


def _requeue(
    notification_id: str,
    wake: datetime,
    now: datetime,
    row: NotificationRow | None = None,
    message: dict[str, Any] | None = None,
) -> None:
    delay = max(0, min(MAX_HOP_S, int((wake - now).total_seconds())))
    body = {**(message or {}), "notification_id": notification_id, "not_before": clock.iso(wake)}
    if row is not None:
        body.update(openid=row.openid, kind=row.kind, fields=dict(row.fields or {}))
        if row.url:
            body["url"] = row.url
    requeue(body, delay)


def requeue(body: dict[str, Any], delay_s: int) -> None:
    queues.send(QUEUE, body, delay_s=delay_s)


# -- conditional writes on the record -------------------------------------------------------


def _entry(now: datetime, status: str, detail: str | None = None) -> HistoryEntry:
    return HistoryEntry(at=clock.iso(now), status=status, detail=detail)


def _log(entry: HistoryEntry) -> Any:
    """The update action that appends `entry` to the record's history."""
    return NotificationRow.history.set(NotificationRow.history.append([entry]))


def _claimable_condition(now: datetime, superseded: bool = False) -> Any:
    """Claimable by status; and, unless settling it as superseded, superseded by nothing."""
    by_status = NotificationRow.status.is_in(*CLAIMABLE) | (
        (NotificationRow.status == "sending") & (NotificationRow.sending_until < int(now.timestamp()))
    )
    if superseded:
        return by_status & NotificationRow.superseded_by.exists()
    return by_status & NotificationRow.superseded_by.does_not_exist()


def _settle(
    row: NotificationRow,
    status: str,
    now: datetime,
    *,
    detail: str | None = None,
    not_before: datetime | None = None,
    superseded: bool = False,
) -> bool:
    """Claimable -> `status` without sending. False if another worker got there first."""
    actions = [
        NotificationRow.status.set(status),
        NotificationRow.updated_at.set(clock.iso(now)),
        _log(_entry(now, status, detail)),
    ]
    if not_before is not None:
        actions.append(NotificationRow.not_before.set(clock.iso(not_before)))
    moved = _transition(row, status, actions, _claimable_condition(now, superseded), detail, now)
    if moved:
        _log_outcome(row, status, None, detail, not_before)
    return moved


def _finish(
    row: NotificationRow,
    status: str,
    now: datetime,
    *,
    detail: str | None = None,
    msgid: str | None = None,
    not_before: datetime | None = None,
    errcode: int | None = None,
    refund: str | None = None,
) -> bool:
    """sending -> `status` after a send attempt (WeChat answered `errcode`); `refund` gives
    back the subscribe grant of that template the claim took."""
    note = detail or (f"msgid {msgid}" if msgid else None)
    actions = [
        NotificationRow.status.set(status),
        NotificationRow.updated_at.set(clock.iso(now)),
        NotificationRow.sending_until.remove(),
        _log(_entry(now, status, note)),
    ]
    if detail is not None:
        actions.append(NotificationRow.last_error.set(detail))
    if msgid:
        actions += [
            NotificationRow.msgid.set(msgid),
            NotificationRow.gsi1pk.set(f"MSGID#{msgid}"),
            NotificationRow.gsi1sk.set(NOTIFICATION),
        ]
    if not_before is not None:
        actions.append(NotificationRow.not_before.set(clock.iso(not_before)))
    extra = [grants.refund_op(row.openid, refund)] if refund else []
    moved = _transition(row, status, actions, NotificationRow.status == "sending", note, now, extra)
    if moved:
        _log_outcome(row, status, errcode, note, not_before)
    return moved


def _log_outcome(
    row: NotificationRow, status: str, errcode: int | None, detail: str | None, wake: datetime | None
) -> None:
    """One line per decision, saying why. The failure-rate alarm (infra/template.py) counts the
    lines containing `notification_outcome=sent` and `notification_outcome=failed`."""
    outcome, _, reason = status.partition(":")
    line = (
        f"notification_outcome={outcome} kind={row.kind} errcode={'-' if errcode is None else errcode}"
        f" reason={reason or '-'} id={row.pk}"
    )
    if wake is not None:
        line += f" until={clock.iso(wake)}"
    if detail and (wake is None or clock.iso(wake) not in detail):
        line += f' detail="{detail}"'
    log.log(logging.WARNING if outcome == "failed" else logging.INFO, "%s", line)


def _transition(
    row: NotificationRow,
    status: str,
    actions: list,
    condition: Any,
    detail: str | None,
    now: datetime,
    extra: list[txn.Op] | None = None,
) -> bool:
    """The record's conditional update, its outcome's count for the console and `extra`, in one
    transaction; False if the record's condition failed (someone else moved it)."""
    ops = [
        txn.update(LABEL, NotificationRow(row.pk, NOTIFICATION), actions, condition),
        *report.outcome_ops(row.pk, row.kind, status, detail, now),
        *(extra or []),
    ]
    try:
        txn.run(ops)
    except txn.Cancelled as cancelled:
        if cancelled.failed(LABEL):
            return False
        raise
    return True


def _claim_actions(now: datetime, record: dict[str, Any]) -> list:
    return [
        NotificationRow.status.set("sending"),
        NotificationRow.sending_until.set(int(now.timestamp()) + CLAIM_S),
        NotificationRow.attempts.add(1),
        NotificationRow.updated_at.set(clock.iso(now)),
        _log(_entry(now, "sending", f"attempt {_receive_count(record)}")),
    ]


def _claim(
    row: NotificationRow,
    now: datetime,
    record: dict[str, Any],
    cap_taken: bool = False,
    grant: str | None = None,
) -> NotificationRow | str | None:
    """claimable -> sending, in one transaction with its conditions: the customer has not
    unfollowed us, and (a subscribe notification) one of their grants of `grant` is taken.
    None when claimed; the record as it was when it is not claimable; or the status to settle
    it with (`skipped:unsubscribed`, `skipped:no_grant`)."""
    actions = _claim_actions(now, record)
    if cap_taken:
        actions.append(NotificationRow.cap_taken.set(True))
    ops = [
        txn.update(LABEL, NotificationRow(row.pk, NOTIFICATION), actions, _claimable_condition(now), True),
        customers.reachable_op(row.openid),
    ]
    if grant:
        ops.append(grants.use_op(row.openid, grant))
    try:
        txn.run(ops)
    except txn.Cancelled as cancelled:
        if cancelled.failed(LABEL):
            raw = cancelled.items.get(LABEL)
            return (
                NotificationRow.from_raw_data(raw)
                if raw
                else NotificationRow(row.pk, NOTIFICATION, status="?")
            )
        if cancelled.failed("customer"):
            return "skipped:unsubscribed"
        if cancelled.failed("grant"):
            return "skipped:no_grant"
        raise
    return None
