"""Segments: definitions, exact member counts, members paged (CONTRACT §12).

Interface for other capabilities (broadcasts read their audience here):
    get_segment(segment_id) -> Segment          # raises NotFound (segment_not_found)
    member_openids(segment_id) -> Iterator[str]  # every current member, paged internally
    member_count(segment_id) -> int              # exact
Memberships are written by functions/segments/membership.py only, from events
(functions/segments/events.py) and the recompute jobs (functions/segments/jobs.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence

from pynamodb.exceptions import PutError, UpdateError

from functions.core import clock, queues
from functions.core import cursor as cursors
from functions.core.errors import Conflict, RuleBroken
from functions.core.models import condition_failed
from functions.segments import jobs, tags
from functions.segments.membership import members_pk
from functions.segments.models import SEGMENTS_PK, MemberRow, SegmentRow
from functions.segments.rules import Rule, check_rules
from functions.segments.segment import Segment, find_segment, get_segment, list_segments

__all__ = [
    "Segment",
    "find_segment",
    "get_segment",
    "list_segments",
    "member_count",
    "member_openids",
    "members_page",
    "put_segment",
]

PAGE_SIZE = 1000  # openids per page of GET /admin/segments/{id}/members
_OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")
ATTEMPTS = 3


def member_count(segment_id: str) -> int:
    """The exact number of current members (kept in the membership's own transaction)."""
    return get_segment(segment_id).members


def _page(segment_id: str, after: str | None, limit: int) -> tuple[list[str], str | None]:
    start = {"pk": {"S": members_pk(segment_id)}, "sk": {"S": after}} if after else None
    rows = MemberRow.query(
        members_pk(segment_id), limit=limit, page_size=limit, last_evaluated_key=start, consistent_read=True
    )
    openids = [row.sk for row in rows]
    last = rows.last_evaluated_key
    return openids, (last["sk"]["S"] if last else None)


def member_openids(segment_id: str, page_size: int = PAGE_SIZE) -> Iterator[str]:
    """Every current member, in openid order, a page at a time (NotFound if no such segment)."""
    get_segment(segment_id)
    after: str | None = None
    while True:
        openids, after = _page(segment_id, after, page_size)
        yield from openids
        if after is None:
            return


def _decode_cursor(cursor: str) -> str:
    openid = cursors.decode(cursor)
    if not _OPENID.fullmatch(openid):
        raise cursors.refused()
    return openid


def members_page(segment_id: str, cursor: str | None, limit: int = PAGE_SIZE) -> tuple[list[str], str | None]:
    """One page of members and the cursor of the next (None at the end)."""
    after = _decode_cursor(cursor) if cursor else None
    get_segment(segment_id)
    openids, last = _page(segment_id, after, limit)
    return openids, cursors.encode(last) if last else None


def put_segment(segment_id: str, name: str, rules: Sequence[Rule], wechat_tag: bool) -> Segment:
    """Define or redefine a segment. New rules start a full recompute (a job); a segment that
    becomes a WeChat tag gets its tag now (inline) and its members tagged by the tag sync."""
    rules = check_rules(rules)
    if wechat_tag and len(name.encode()) > tags.MAX_NAME_BYTES:
        raise RuleBroken(
            f"a WeChat tag's name is at most {tags.MAX_NAME_BYTES} bytes", code="tag_name_too_long"
        )
    for _ in range(ATTEMPTS):
        existing = find_segment(segment_id)
        tag_id = existing.tag_id if existing else None
        if wechat_tag and tag_id is None:
            tag_id = tags.create_tag(name)
        if _write(segment_id, name, rules, wechat_tag, tag_id, existing):
            break
    else:
        raise Conflict(f"segment {segment_id} is being changed by another request", code="segment_changed")
    segment = get_segment(segment_id)
    if segment.recomputing:
        jobs.start_rules_job(segment)  # also resumes an unfinished one (shards resume from their cursor)
    elif wechat_tag and (existing is None or not existing.wechat_tag):
        queues.send(jobs.QUEUE, {"kind": "reconcile", "segment": segment_id})
    return segment


def _write(
    segment_id: str,
    name: str,
    rules: tuple[Rule, ...],
    wechat_tag: bool,
    tag_id: int | None,
    existing: Segment | None,
) -> bool:
    """Store the definition on the condition nobody else changed it meanwhile; False if someone did."""
    now = clock.iso(clock.now())
    rules_json = json.dumps([rule.to_dict() for rule in rules], separators=(",", ":"))
    if existing is None:
        row = SegmentRow(
            SEGMENTS_PK,
            segment_id,
            name=name,
            rules=rules_json,
            rules_version=1,
            members=0,
            wechat_tag=wechat_tag,
            tag_id=tag_id,
            job_id=f"{segment_id}.v1",
            job_shards=jobs.SHARDS,
            job_shards_done=0,
            updated_at=now,
        )
        try:
            row.save(condition=SegmentRow.sk.does_not_exist())
        except PutError as error:
            if condition_failed(error):
                return False
            raise
        return True
    actions = [
        SegmentRow.name.set(name),
        SegmentRow.wechat_tag.set(wechat_tag),
        SegmentRow.updated_at.set(now),
    ]
    if tag_id is not None:
        actions.append(SegmentRow.tag_id.set(tag_id))
    if existing.rules != rules:
        version = existing.rules_version + 1
        actions += [
            SegmentRow.rules.set(rules_json),
            SegmentRow.rules_version.set(version),
            SegmentRow.job_id.set(f"{segment_id}.v{version}"),
            SegmentRow.job_shards.set(jobs.SHARDS),
            SegmentRow.job_shards_done.set(0),
        ]
    try:
        SegmentRow(SEGMENTS_PK, segment_id).update(
            actions=actions, condition=SegmentRow.rules_version == existing.rules_version
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True
