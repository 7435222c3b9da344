"""Recomputing membership in full: when a segment's rules change, and daily for the rules on
elapsed time (days since a purchase, since following, a purchase within N days).

Reading every customer is the job, so it is a parallel Scan of the profiles table: one task
per Scan segment (`Segment`/`TotalSegments`) on the segment-jobs queue, each a page at a time.
- Idempotent: each customer is re-evaluated through the same conditional transaction as an
  event (functions/segments/membership.py); a membership already right writes nothing, and a
  count moves only with a membership that changed.
- Resumable: after every page the shard's cursor is stored (JobShardRow); a task delivered
  again, after a crash or a timeout, starts from the last page done. A shard is marked done
  once, conditionally, and only that write counts it on the segment.
- Superseded: a task for rules that have changed since does nothing; the newer rules' job
  recomputes them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from functions.core import clock, queues
from functions.core.models import condition_failed
from functions.segments import evaluation
from functions.segments.membership import to_profile
from functions.segments.models import JobShardRow, ProfileRow, SegmentRow
from functions.segments.segment import Segment, find_segment, list_segments

log = logging.getLogger(__name__)

QUEUE = "segment-jobs"
SHARDS = 8  # TotalSegments of the parallel Scan
PAGE_SIZE = 200  # profiles per Scan page: what one worker holds at a time
THREADS = 4  # profiles of a page evaluated in parallel
SAFETY_MS = 60_000  # hand the rest of a shard to a new message this close to the timeout
PROGRESS_TTL_S = 30 * 86400


def rules_job_id(segment: Segment) -> str:
    return f"{segment.id}.v{segment.rules_version}"


def tasks(job_id: str, versions: dict[str, int], shards: int = SHARDS) -> list[dict[str, Any]]:
    return [
        {"kind": "recompute", "job": job_id, "segments": versions, "shard": n, "total": shards}
        for n in range(shards)
    ]


def start_rules_job(segment: Segment) -> str:
    """Send the recompute of `segment`'s current rules (the segment row already names the job)."""
    job_id = rules_job_id(segment)
    queues.send_many(QUEUE, tasks(job_id, {segment.id: segment.rules_version}, segment.job_shards or SHARDS))
    return job_id


def start_daily(day: date) -> dict[str, Any]:
    """The daily job: one pass over every profile for the segments whose rules read elapsed
    time; rule-change jobs left unfinished are sent again (they resume where they were); and
    each WeChat tag is reconciled with its segment."""
    segments = list_segments()
    timed = {s.id: s.rules_version for s in segments if s.on_elapsed_time}
    if timed:
        queues.send_many(QUEUE, tasks(f"daily.{day.isoformat()}", timed))
    resumed = [start_rules_job(s) for s in segments if s.recomputing]
    tagged = [s.id for s in segments if s.wechat_tag and s.tag_id is not None]
    queues.send_many(QUEUE, ({"kind": "reconcile", "segment": segment_id} for segment_id in tagged))
    return {"date": day.isoformat(), "segments": sorted(timed), "resumed": resumed, "reconciled": tagged}


@dataclass
class ShardResult:
    job: str
    shard: int
    read: int = 0
    changed: int = 0
    done: bool = False
    continued: bool = False
    superseded: list[str] = field(default_factory=list)


def _progress(job_id: str, shard: int) -> JobShardRow:
    try:
        return JobShardRow.get(f"JOB#{job_id}", f"SHARD#{shard:03d}", consistent_read=True)
    except DoesNotExist:
        return JobShardRow(f"JOB#{job_id}", f"SHARD#{shard:03d}", expires_at=clock.now_ts() + PROGRESS_TTL_S)


def _current(versions: dict[str, int]) -> tuple[list[Segment], list[str]]:
    """The job's segments whose rules are still the version it was started for."""
    current, superseded = [], []
    for segment_id, version in versions.items():
        segment = find_segment(segment_id)
        if segment is not None and segment.rules_version == int(version):
            current.append(segment)
        else:
            superseded.append(segment_id)
    return current, superseded


def _save_page(row: JobShardRow, cursor: dict[str, Any] | None, read: int, changed: int) -> None:
    actions = [
        JobShardRow.cursor.set(json.dumps(cursor)) if cursor else JobShardRow.cursor.remove(),
        JobShardRow.read.add(read),
        JobShardRow.changed.add(changed),
        JobShardRow.expires_at.set(row.expires_at or clock.now_ts() + PROGRESS_TTL_S),
    ]
    row.update(actions=actions)


def _finish(row: JobShardRow, job_id: str, segments: list[Segment]) -> bool:
    """Mark the shard done, once; the write that did counts it on each segment of this job."""
    try:
        not_done = JobShardRow.done.does_not_exist() | (JobShardRow.done == False)  # noqa: E712
        row.update(actions=[JobShardRow.done.set(True)], condition=not_done)
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    for segment in segments:
        try:
            SegmentRow("SEGMENTS", segment.id).update(
                actions=[SegmentRow.job_shards_done.add(1)], condition=SegmentRow.job_id == job_id
            )
        except UpdateError as error:
            if not condition_failed(error):  # a daily job: the segment's own job is another
                raise
    return True


def process_shard(task: dict[str, Any], remaining_ms: Callable[[], int] | None = None) -> ShardResult:
    job_id, shard, total = str(task["job"]), int(task["shard"]), int(task["total"])
    if not 0 <= shard < total:
        raise ValueError(f"shard {shard} out of 0..{total - 1}")
    result = ShardResult(job_id, shard)
    row = _progress(job_id, shard)
    if row.done:
        result.done = True
        return result
    segments, result.superseded = _current({str(k): int(v) for k, v in task["segments"].items()})
    if not segments:
        _finish(row, job_id, [])
        result.done = True
        return result
    cursor = json.loads(row.cursor) if row.cursor else None

    def evaluate(profile_row: ProfileRow) -> bool:
        outcome = evaluation.apply(
            profile_row.pk, None, segments=lambda: segments, first=to_profile(profile_row)
        )
        return outcome.wrote

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        while True:
            pages = ProfileRow.scan(
                segment=shard,
                total_segments=total,
                limit=PAGE_SIZE,
                page_size=PAGE_SIZE,
                last_evaluated_key=cursor,
                consistent_read=True,
            )
            page = list(pages)
            cursor = pages.last_evaluated_key
            changed = sum(pool.map(evaluate, page))
            result.read += len(page)
            result.changed += changed
            _save_page(row, cursor, len(page), changed)
            if not cursor:
                _finish(row, job_id, segments)
                result.done = True
                return result
            if remaining_ms is not None and remaining_ms() < SAFETY_MS:
                queues.send(QUEUE, task)  # the stored cursor says where to go on
                result.continued = True
                return result
