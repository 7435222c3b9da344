"""WeChat tags: the one a segment is mirrored to (CONTRACT §12).

- `create_tag` is inline in the segment's PUT (its answer is the tag's id): `409 tag_limit` at
  WeChat's 100 tags an account (45056), `502 wechat_error` for any other refusal. A name that
  already exists (45157: our own earlier attempt whose answer was lost) is looked up and used.
- Members are (un)tagged from pending rows (TagSyncRow) that each membership change writes in
  its own transaction: `sync` sends them in batches of at most 50 (untagging first), deletes
  a row once WeChat has it (unless a newer change replaced it), skips and counts a follower
  who already has 20 tags (45059: found with `tags/getidlist`), and sends a batch that WeChat
  refuses for one bad openid one by one. A transient refusal (busy, 5xx, timeout, quota)
  leaves the rest for the next run.
- `reconcile` (daily) reads the tag's members back (`user/tag/get`) and queues a repair for
  each difference, on the condition that the membership still says so.
- Calls go through functions/core/wechat.py: the notification pipeline's shared access_token,
  its forced refresh and its one retry on a token error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DeleteError

from functions.core import clock, txn
from functions.core.errors import Conflict, WeChatRefused
from functions.core.models import condition_failed
from functions.segments.membership import members_pk, tag_sync_pk
from functions.segments.models import SEGMENTS_PK, MemberRow, SegmentRow, TagSyncRow

log = logging.getLogger(__name__)

MAX_NAME_BYTES = 30
MAX_TAGS = 100
MAX_BATCH = 50
MAX_TAGS_PER_FOLLOWER = 20
NAME_EXISTS, NAME_TOO_LONG, TOO_MANY_TAGS = 45157, 45158, 45056
FOLLOWER_TAG_LIMIT, TOO_MANY_OPENIDS = 45059, 40032
PENDING_PAGE = 500  # pending changes read at a time
MAX_CALLS_PER_RUN = 1_000  # one run's WeChat calls at most (the schedule's next run goes on)


def _wechat() -> Any:
    from functions.core import wechat  # noqa: PLC0415 - lazily: requests only where a tag is called

    return wechat


def _refused(api: str, error: Any) -> WeChatRefused:
    return WeChatRefused(f"WeChat refused {api}: {error.errcode} {error.errmsg}", code="wechat_error")


def find_tag(name: str) -> int | None:
    wechat = _wechat()
    try:
        data = wechat.call("cgi-bin/tags/get")
    except wechat.WeChatError as error:
        raise _refused("tags/get", error) from None
    return next((int(t["id"]) for t in data.get("tags") or [] if t.get("name") == name), None)


def create_tag(name: str) -> int:
    """The id of the account's tag named `name`, created if it is not there."""
    wechat = _wechat()
    try:
        data = wechat.call("cgi-bin/tags/create", {"tag": {"name": name}})
    except wechat.WeChatError as error:
        if error.errcode == TOO_MANY_TAGS:
            raise Conflict(f"the account already has {MAX_TAGS} tags", code="tag_limit") from None
        if error.errcode == NAME_EXISTS:
            found = find_tag(name)
            if found is not None:
                return found
        raise _refused("tags/create", error) from None
    return int(data["tag"]["id"])


# -- keeping the tag in step with the segment ---------------------------------------------


@dataclass
class SyncResult:
    tagged: int = 0
    untagged: int = 0
    skipped_tag_limit: int = 0
    dropped: int = 0  # refused for good (an openid WeChat does not know)
    calls: int = 0
    stopped: str | None = None  # a transient refusal: the rest waits for the next run


class _Transient(Exception):
    pass


def _batch_call(op: str, tag_id: int, openids: list[str], result: SyncResult) -> Any:
    """One batch call; None on success, else WeChat's error (a transient one raises)."""
    wechat = _wechat()
    api = "cgi-bin/tags/members/batchtagging" if op == "tag" else "cgi-bin/tags/members/batchuntagging"
    result.calls += 1
    try:
        wechat.call(api, {"openid_list": openids, "tagid": tag_id})
    except wechat.WeChatError as error:
        if error.transient or error.errcode == 45009:
            raise _Transient(f"{api}: {error.errcode}") from None
        return error
    return None


def _tag_count(openid: str, result: SyncResult) -> tuple[int, bool]:
    wechat = _wechat()
    result.calls += 1
    try:
        data = wechat.call("cgi-bin/tags/getidlist", {"openid": openid})
    except wechat.WeChatError as error:
        if error.transient:
            raise _Transient(f"tags/getidlist: {error.errcode}") from None
        return 0, False
    ids = data.get("tagid_list") or []
    return len(ids), True


def _done(segment_id: str, rows: list[TagSyncRow]) -> None:
    """Pending rows WeChat now reflects: deleted unless a newer change replaced their op."""
    for row in rows:
        try:
            row.delete(condition=TagSyncRow.op == row.op)
        except DeleteError as error:
            if not condition_failed(error):
                raise


def _skip(segment_id: str, openid: str) -> bool:
    """Mark a member WeChat cannot tag (20 tags already): counted once on the segment."""
    try:
        txn.run(
            [
                txn.update(
                    "member",
                    MemberRow(members_pk(segment_id), openid),
                    [MemberRow.tag_skipped.set(True)],
                    condition=MemberRow.pk.exists() & MemberRow.tag_skipped.does_not_exist(),
                ),
                txn.update("segment", SegmentRow(SEGMENTS_PK, segment_id), [SegmentRow.tag_skipped.add(1)]),
            ]
        )
    except txn.Cancelled:
        return False
    return True


def _send(segment_id: str, tag_id: int, op: str, rows: list[TagSyncRow], result: SyncResult) -> None:
    openids = [row.sk for row in rows]
    error = _batch_call(op, tag_id, openids, result)
    if error is None:
        _done(segment_id, rows)
        if op == "tag":
            result.tagged += len(rows)
        else:
            result.untagged += len(rows)
        return
    if op == "tag" and error.errcode == FOLLOWER_TAG_LIMIT:
        # Someone in the batch has 20 tags: find them, skip and count them, send the rest.
        keep = []
        for row in rows:
            count, known = _tag_count(row.sk, result)
            if known and count >= MAX_TAGS_PER_FOLLOWER:
                _skip(segment_id, row.sk)
                _done(segment_id, [row])
                result.skipped_tag_limit += 1
            else:
                keep.append(row)
        if keep and len(keep) < len(rows):
            _send(segment_id, tag_id, op, keep, result)
            return
        rows = keep
    if len(rows) > 1:  # one bad openid refuses the batch: send them one by one
        for row in rows:
            _send(segment_id, tag_id, op, [row], result)
        return
    log.warning("WeChat refused %s of %s on tag %s for good: %s", op, openids, tag_id, error)
    _done(segment_id, rows)
    result.dropped += len(rows)


def sync(segment: Any, max_calls: int = MAX_CALLS_PER_RUN) -> SyncResult:
    """Send the segment's pending (un)taggings to WeChat in batches of at most 50, up to
    `max_calls` calls (a large recompute's changes take several runs, never one long one)."""
    result = SyncResult()
    if not segment.wechat_tag or segment.tag_id is None:
        return result
    try:
        while result.calls < max_calls:
            rows = list(TagSyncRow.query(tag_sync_pk(segment.id), limit=PENDING_PAGE, consistent_read=True))
            if not rows:
                break
            for op in ("untag", "tag"):  # untag first: frees a place under the 20-tag limit
                mine = [row for row in rows if row.op == op]
                for start in range(0, len(mine), MAX_BATCH):
                    _send(segment.id, segment.tag_id, op, mine[start : start + MAX_BATCH], result)
            if len(rows) < PENDING_PAGE:
                break
    except _Transient as error:
        result.stopped = str(error)
    SegmentRow(SEGMENTS_PK, segment.id).update(actions=[SegmentRow.tag_synced_at.set(clock.iso(clock.now()))])
    return result


def wechat_members(tag_id: int) -> set[str]:
    """Every follower WeChat has under the tag (`user/tag/get`, 10,000 a page)."""
    wechat = _wechat()
    members: set[str] = set()
    next_openid = ""
    while True:
        data = wechat.call("cgi-bin/user/tag/get", {"tagid": tag_id, "next_openid": next_openid})
        page = (data.get("data") or {}).get("openid") or []
        members.update(page)
        next_openid = data.get("next_openid") or ""
        if not page or not next_openid:
            return members


def _repair(segment_id: str, openid: str, op: str) -> bool:
    """Queue a repair, on the condition that the membership still says so and no change is pending."""
    member = MemberRow.pk.exists() if op == "tag" else MemberRow.pk.does_not_exist()
    now = clock.iso(clock.now())
    try:
        txn.run(
            [
                txn.check("member", MemberRow, members_pk(segment_id), openid, member),
                txn.put(
                    "sync",
                    TagSyncRow(tag_sync_pk(segment_id), openid, op=op, at=now),
                    condition=TagSyncRow.pk.does_not_exist(),
                ),
            ]
        )
    except txn.Cancelled:
        return False
    return True


@dataclass
class ReconcileResult:
    in_wechat: int = 0
    members: int = 0
    repaired_tag: int = 0
    repaired_untag: int = 0
    sync: SyncResult | None = None


def reconcile(segment: Any) -> ReconcileResult:
    """Read the tag's members back from WeChat and repair any drift, then sync."""
    result = ReconcileResult()
    if not segment.wechat_tag or segment.tag_id is None:
        return result
    in_wechat = wechat_members(segment.tag_id)
    result.in_wechat = len(in_wechat)
    ours: set[str] = set()
    for row in MemberRow.query(members_pk(segment.id), consistent_read=True):
        ours.add(row.sk)
        if row.sk not in in_wechat and not row.tag_skipped and _repair(segment.id, row.sk, "tag"):
            result.repaired_tag += 1
    result.members = len(ours)
    for openid in sorted(in_wechat - ours):
        if _repair(segment.id, openid, "untag"):
            result.repaired_untag += 1
    repaired = result.repaired_tag + result.repaired_untag
    SegmentRow(SEGMENTS_PK, segment.id).update(
        actions=[
            SegmentRow.tag_reconciled_at.set(clock.iso(clock.now())),
            SegmentRow.tag_repaired.add(repaired),
        ]
    )
    result.sync = sync(segment)
    return result
