"""Givens of the broadcast tests: followers, a segment of them, a broadcast run by its job."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from functions.core.errors import NotFound


class Segments:
    """The segments capability as the broadcasts see it (get_segment, member_openids), over a
    dict: these tests are about what a broadcast does with a segment's members."""

    def __init__(self) -> None:
        self.members: dict[str, list[str]] = {}

    def get_segment(self, segment_id: str) -> dict[str, Any]:
        if segment_id not in self.members:
            raise NotFound(f"no segment {segment_id}", code="segment_not_found")
        return {"id": segment_id, "members": len(self.members[segment_id])}

    def member_openids(self, segment_id: str) -> Iterator[str]:
        return iter(list(self.members.get(segment_id, [])))

    def member_count(self, segment_id: str) -> int:
        return len(self.members.get(segment_id, []))

    def define(self, openids: Iterable[str]) -> str:
        segment_id = f"seg-{uuid.uuid4().hex[:8]}"
        self.members[segment_id] = list(openids)
        return segment_id


@pytest.fixture
def segments(monkeypatch: pytest.MonkeyPatch) -> Segments:
    from functions.broadcasts import domain

    fake = Segments()
    monkeypatch.setattr(domain, "segments", fake)
    return fake


def follower(*, subscribed: bool = True) -> str:
    from functions.core import clock
    from functions.customers.models import CustomerRow

    openid = "o" + uuid.uuid4().hex[:27]
    row = CustomerRow(openid, subscribed=subscribed, reminder_consent=False)
    if not subscribed:
        row.unsubscribed_at = clock.iso(clock.now())
    row.save()
    return openid


def followers(n: int) -> list[str]:
    return [follower() for _ in range(n)]


def post_broadcast(client: Any, admin_headers: dict[str, str], **body: Any) -> dict[str, Any]:
    import json

    if "media_id" not in body:
        body.setdefault("text", "春季新品上市，欢迎到店试用")
    response = client.http.post("/admin/broadcasts", headers=admin_headers, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return json.loads(response.body)


def get_broadcast(
    client: Any, admin_headers: dict[str, str], broadcast_id: str, **query: Any
) -> dict[str, Any]:
    import json
    from urllib.parse import urlencode

    suffix = f"?{urlencode(query)}" if query else ""
    response = client.http.get(f"/admin/broadcasts/{broadcast_id}{suffix}", headers=admin_headers)
    assert response.status_code == 200, response.body
    return json.loads(response.body)
