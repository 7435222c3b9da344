"""Segments' admin routes (CONTRACT §12). The events that move memberships and the jobs are in
background.py."""

from __future__ import annotations

from chalice import Response

from functions.core.fields import SegmentId
from functions.core.http import Blueprint
from functions.segments import domain
from functions.segments.requests import MembersQuery, SegmentBody

blueprint = Blueprint(__name__)


@blueprint.route(
    "/admin/segments/{segment_id}",
    methods=["PUT"],
    auth="admin",
    body=SegmentBody,
    path_types={"segment_id": SegmentId},
)
def put_segment(segment_id: str, body: SegmentBody) -> Response:
    """Define a segment: rules ANDed; new rules recompute its membership in full."""
    segment = domain.put_segment(segment_id, body.name, [r.to_rule() for r in body.rules], body.wechat_tag)
    return Response(body=segment.to_dict(), status_code=200)


@blueprint.route(
    "/admin/segments/{segment_id}", methods=["GET"], auth="admin", path_types={"segment_id": SegmentId}
)
def get_segment(segment_id: str) -> Response:
    """A segment, its exact member count, its recompute and its tag's sync state."""
    return Response(body=domain.get_segment(segment_id).to_dict())


@blueprint.route(
    "/admin/segments/{segment_id}/members",
    methods=["GET"],
    auth="admin",
    query=MembersQuery,
    path_types={"segment_id": SegmentId},
)
def get_members(segment_id: str, query: MembersQuery) -> Response:
    """A page of the segment's members (openids), and the cursor of the next page."""
    openids, cursor = domain.members_page(segment_id, query.cursor)
    return Response(body={"openids": openids, "cursor": cursor})
