"""Moving one customer in or out of segments: the only writer of memberships and counts.

One transaction holds the customer's profile (rewritten whole, on the condition that its
version is the one the decision was made on, and with the version bumped), each membership
item that changes (put on the condition it was absent, deleted on the condition it was there),
each segment's count (ADD ±1, on the condition that its rules are still the version evaluated)
and, for a segment mirrored to a WeChat tag, the follower's pending (un)tagging. So a count
moves only with a membership that actually changed, and an evaluation made on an older
profile or older rules is refused (`Stale`) and made again on fresh state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pynamodb.exceptions import PutError

from functions.core import clock, txn
from functions.core.models import condition_failed
from functions.segments.models import MemberRow, ProfileRow, SegmentRow, TagSyncRow
from functions.segments.rules import Profile

MAX_ITEMS = 100  # DynamoDB's limit on one transaction
PER_CHANGE = 3  # member item, segment count, tag sync


class Stale(Exception):
    """The profile or a segment's rules changed since the decision: decide again."""


def members_pk(segment_id: str) -> str:
    return f"MEMBERS#{segment_id}"


def tag_sync_pk(segment_id: str) -> str:
    return f"TAGSYNC#{segment_id}"


def profile_row(profile: Profile) -> ProfileRow:
    return ProfileRow(
        profile.openid,
        v=profile.v,
        subscribed=profile.subscribed,
        followed_at=profile.followed_at,
        reminder_consent=profile.reminder_consent,
        first_store=profile.first_store,
        first_staff=profile.first_staff,
        total_spent_cents=profile.total_spent_cents,
        last_purchase_at=profile.last_purchase_at,
        skus=dict(profile.skus) or None,
        orders=set(profile.orders) or None,
        segments=set(profile.segments) or None,
    )


def to_profile(row: ProfileRow) -> Profile:
    skus = row.skus.as_dict() if row.skus is not None and hasattr(row.skus, "as_dict") else row.skus
    return Profile(
        openid=row.pk,
        subscribed=bool(row.subscribed),
        followed_at=row.followed_at,
        reminder_consent=bool(row.reminder_consent),
        first_store=row.first_store,
        first_staff=row.first_staff,
        total_spent_cents=int(row.total_spent_cents or 0),
        last_purchase_at=row.last_purchase_at,
        skus={str(k): str(v) for k, v in (skus or {}).items()},
        orders=frozenset(row.orders or ()),
        segments=frozenset(row.segments or ()),
        v=int(row.v or 0),
    )


def _version_condition(v: int) -> Any:
    return ProfileRow.pk.does_not_exist() if v == 0 else ProfileRow.v == v


def write(before: Profile, after: Profile, joins: Sequence[Any], leaves: Sequence[Any]) -> Profile:
    """Store `after` (made from `before`) with the customer joining `joins` and leaving `leaves`
    (Segment objects: id, rules_version, wechat_tag); returns the profile as stored.

    Raises Stale when `before` is no longer the stored profile or a segment's rules moved on.
    """
    changes = [(s, True) for s in joins] + [(s, False) for s in leaves]
    per_txn = (MAX_ITEMS - 1) // PER_CHANGE
    chunks = [changes[i : i + per_txn] for i in range(0, len(changes), per_txn)] or [[]]
    segments = set(before.segments)
    v = before.v
    stored = after
    for chunk in chunks:
        for segment, join in chunk:
            (segments.add if join else segments.discard)(segment.id)
        stored = replace(after, segments=frozenset(segments), v=v + 1)
        _commit(stored, v, chunk)
        v += 1
    return stored


def _commit(profile: Profile, expected_v: int, chunk: Sequence[tuple[Any, bool]]) -> None:
    row = profile_row(profile)
    condition = _version_condition(expected_v)
    if not chunk:
        try:
            row.save(condition=condition)
        except PutError as error:
            if condition_failed(error):
                raise Stale(profile.openid) from None
            raise
        return
    now = clock.iso(clock.now())
    ops = [txn.put("profile", row, condition=condition)]
    for segment, join in chunk:
        member = MemberRow(members_pk(segment.id), profile.openid, since=now)
        if join:
            ops.append(txn.put(f"member:{segment.id}", member, condition=MemberRow.pk.does_not_exist()))
        else:
            ops.append(txn.delete(f"member:{segment.id}", member, condition=MemberRow.pk.exists()))
        ops.append(
            txn.update(
                f"segment:{segment.id}",
                SegmentRow("SEGMENTS", segment.id),
                [SegmentRow.members.add(1 if join else -1)],
                condition=SegmentRow.rules_version == segment.rules_version,
            )
        )
        if segment.wechat_tag:
            sync = TagSyncRow(tag_sync_pk(segment.id), profile.openid, op="tag" if join else "untag", at=now)
            ops.append(txn.put(f"tag:{segment.id}", sync))
    try:
        txn.run(ops)
    except txn.Cancelled as cancelled:
        raise Stale(f"{profile.openid}: {cancelled.reasons}") from None
