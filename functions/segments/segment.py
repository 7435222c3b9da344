"""A segment's definition as the rest of the capability reads it (reads only; no writes here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from functions.core.errors import NotFound
from functions.segments.models import SEGMENTS_PK, SegmentRow
from functions.segments.rules import Rule, rules_from_json


@dataclass(frozen=True)
class Segment:
    id: str
    name: str
    rules: tuple[Rule, ...]
    rules_version: int
    members: int
    wechat_tag: bool = False
    tag_id: int | None = None
    tag_skipped: int = 0
    tag_synced_at: str | None = None
    tag_reconciled_at: str | None = None
    tag_repaired: int = 0
    job_id: str | None = None
    job_shards: int = 0
    job_shards_done: int = 0
    updated_at: str | None = None

    @property
    def on_elapsed_time(self) -> bool:
        return any(rule.on_elapsed_time for rule in self.rules)

    @property
    def recomputing(self) -> bool:
        return self.job_id is not None and self.job_shards_done < self.job_shards

    def to_dict(self) -> dict[str, Any]:
        """The contract's answer (CONTRACT §12), with the recompute's and the tag's state."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "rules": [rule.to_dict() for rule in self.rules],
            "members": self.members,
            "wechat_tag": self.wechat_tag,
            "recompute": {
                "job_id": self.job_id,
                "shards": self.job_shards,
                "shards_done": self.job_shards_done,
                "done": not self.recomputing,
            },
        }
        if self.tag_id is not None:
            out["wechat_tag_id"] = self.tag_id
            out["tag_sync"] = {
                "skipped_tag_limit": self.tag_skipped,
                "synced_at": self.tag_synced_at,
                "reconciled_at": self.tag_reconciled_at,
                "repaired": self.tag_repaired,
            }
        return out


def to_segment(row: SegmentRow) -> Segment:
    return Segment(
        id=row.sk,
        name=row.name,
        rules=rules_from_json(json.loads(row.rules)),
        rules_version=int(row.rules_version),
        members=int(row.members or 0),
        wechat_tag=bool(row.wechat_tag),
        tag_id=int(row.tag_id) if row.tag_id is not None else None,
        tag_skipped=int(row.tag_skipped or 0),
        tag_synced_at=row.tag_synced_at,
        tag_reconciled_at=row.tag_reconciled_at,
        tag_repaired=int(row.tag_repaired or 0),
        job_id=row.job_id,
        job_shards=int(row.job_shards or 0),
        job_shards_done=int(row.job_shards_done or 0),
        updated_at=row.updated_at,
    )


def find_segment(segment_id: str) -> Segment | None:
    try:
        return to_segment(SegmentRow.get(SEGMENTS_PK, segment_id, consistent_read=True))
    except DoesNotExist:
        return None


def get_segment(segment_id: str) -> Segment:
    """The segment, or NotFound (`segment_not_found`)."""
    found = find_segment(segment_id)
    if found is None:
        raise NotFound(f"no segment {segment_id}", code="segment_not_found")
    return found


def list_segments() -> list[Segment]:
    """Every segment: one consistent Query of one partition."""
    return [to_segment(row) for row in SegmentRow.query(SEGMENTS_PK, consistent_read=True)]
