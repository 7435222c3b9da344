"""A broadcast's life through the real app against moto and the sandbox: created, frozen, sent
in chunks through the notification worker, counted back from MASSSENDJOBFINISH."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests

from functions.broadcasts import caps, domain
from functions.broadcasts.models import ChunkRow, MemberRow, broadcast_pk
from functions.core import clock, measure
from functions.notifications.domain import get_notification
from functions.notifications.models import NOTIFICATION, NotificationRow
from infra.local.wechat_sim import WeChat, deliver
from tests.broadcasts.conftest import follower, followers, get_broadcast, post_broadcast
from tests.conftest import drain

sim = WeChat()


class Killed(BaseException):
    """A Lambda stopped from outside (a timeout): no `except Exception` runs."""


def mass_sends(sandbox, broadcast_id: str) -> list[dict]:
    sends = requests.get(f"{sandbox.url}/sandbox/mass", timeout=5).json()["sends"]
    return [s for s in sends if s["clientmsgid"].startswith(f"{broadcast_id}#")]


def chunks_of(broadcast_id: str) -> list[ChunkRow]:
    return list(
        ChunkRow.query(broadcast_pk(broadcast_id), ChunkRow.sk.startswith("C#"), consistent_read=True)
    )


def groups_of(broadcast_id: str) -> dict[str, str]:
    rows = MemberRow.query(broadcast_pk(broadcast_id), MemberRow.sk.startswith("M#"), consistent_read=True)
    return {row.openid: row.group for row in rows}


def job_finish(client, msg_id: str, counts: dict[str, int], create_time: int | None = None) -> None:
    xml = sim.event(
        "mphelper", "MASSSENDJOBFINISH", MsgID=msg_id, Status="send success", create_time=create_time,
        **{k: str(v) for k, v in counts.items()},
    )  # fmt: skip
    assert deliver(client, sim, xml) == (200, "success")


def test_a_broadcast_goes_to_the_subscribed_members_once_and_counts_come_back(
    client, admin_headers, sandbox, segments
):
    # Given a segment of five followers and one who has left
    members = followers(5)
    gone = follower(subscribed=False)
    segment_id = segments.define([*members, gone])
    # When ops broadcast to it now
    created = post_broadcast(client, admin_headers, segment_id=segment_id, text="会员日：全场八折")
    broadcast_id = created["broadcast_id"]
    assert created["status"] == "scheduled"
    assert get_broadcast(client, admin_headers, broadcast_id)["report"] is None
    # And the minute's schedule runs
    assert domain.run_due()[broadcast_id] == "sent"
    # Then the audience is frozen: the five subscribed members, no holdout
    view = get_broadcast(client, admin_headers, broadcast_id)
    assert (view["status"], view["audience"], view["holdout"], view["skipped_monthly_cap"]) == (
        "sent",
        5,
        0,
        0,
    )
    # And one chunk is queued as one notification through the one worker
    record = get_notification(f"{broadcast_id}#0")
    assert (record["kind"], record["status"]) == ("broadcast", "queued")
    drain("notifications", "notification_worker")
    (sent,) = mass_sends(sandbox, broadcast_id)
    assert sorted(sent["touser"]) == sorted(members)
    assert sent["msgtype"] == "text" and sent["text"] == {"content": "会员日：全场八折"}
    record = get_notification(f"{broadcast_id}#0")
    assert (record["status"], record["msgid"]) == ("sent", str(sent["msg_id"]))
    # When WeChat reports the job finished (twice, as it may)
    counts = {"TotalCount": 5, "FilterCount": 5, "SentCount": 5, "ErrorCount": 0}
    job_finish(client, str(sent["msg_id"]), counts, create_time=clock.now_ts())
    job_finish(client, str(sent["msg_id"]), counts, create_time=clock.now_ts() + 1)
    # Then the counts are the broadcast's, once, and the chunk's notification is delivered
    view = get_broadcast(client, admin_headers, broadcast_id)
    assert (view["sent"], view["total"], view["errors"], view["finished_chunks"]) == (5, 5, 0, 1)
    assert get_notification(f"{broadcast_id}#0")["status"] == "delivered"
    # And the schedule does not send it again
    assert broadcast_id not in domain.run_due()


def test_each_chunk_goes_exactly_once_when_the_job_dies_and_is_retried(
    client, admin_headers, sandbox, segments, monkeypatch
):
    # Given chunks of at most 3 (WeChat's 10,000, scaled down) and eight members: 3 + 3 + 2
    monkeypatch.setattr(domain, "MAX_CHUNK", 3)
    members = followers(8)
    broadcast_id = post_broadcast(client, admin_headers, segment_id=segments.define(members))["broadcast_id"]
    # When the job dies after queueing its first chunk (killed: no cleanup runs)
    real_commit, calls = domain.commit_chunk, []

    def dies_on_the_second_chunk(row, number, openids):
        calls.append(number)
        if len(calls) == 2:
            raise Killed("the Lambda timed out")
        return real_commit(row, number, openids)

    monkeypatch.setattr(domain, "commit_chunk", dies_on_the_second_chunk)
    with pytest.raises(Killed):
        domain.run_due()
    # Then no other run takes it while its lease holds
    assert domain.send(broadcast_id) == "busy"
    # When the next run comes after the lease ran out
    clock.set_now(clock.now() + timedelta(seconds=domain.LEASE_S + 1))
    assert domain.send(broadcast_id) == "sent"
    clock.set_now(None)
    assert calls == [0, 1, 0, 1, 2]  # chunk 0 again: found queued, skipped
    # Then three chunks, each queued once, cover the eight members once
    assert sorted(c.size for c in chunks_of(broadcast_id)) == [2, 3, 3]
    drain("notifications", "notification_worker")
    sends = mass_sends(sandbox, broadcast_id)
    assert sorted(s["clientmsgid"] for s in sends) == [f"{broadcast_id}#{n}" for n in range(3)]
    assert sorted(o for s in sends for o in s["touser"]) == sorted(members)
    assert all(len(s["touser"]) >= 2 for s in sends)
    # And each member's month counts this broadcast once
    assert {caps.received_this_month(o, clock.now()) for o in members} == {1}


def test_a_failure_the_job_sees_is_retried_the_next_minute(
    client, admin_headers, sandbox, segments, monkeypatch
):
    broadcast_id = post_broadcast(client, admin_headers, segment_id=segments.define(followers(3)))[
        "broadcast_id"
    ]
    real_commit = domain.commit_chunk

    def storage_down(row, number, openids):
        raise ConnectionError("DynamoDB unreachable")

    monkeypatch.setattr(domain, "commit_chunk", storage_down)
    assert domain.run_due()[broadcast_id] == "failed"  # logged; the other due broadcasts go on
    monkeypatch.setattr(domain, "commit_chunk", real_commit)
    assert domain.run_due()[broadcast_id] == "sent"  # its lease was given back: no wait


def test_a_send_whose_answer_was_lost_is_not_sent_again(client, admin_headers, sandbox, segments):
    # Given a broadcast whose chunk WeChat accepted
    broadcast_id = post_broadcast(client, admin_headers, segment_id=segments.define(followers(3)))[
        "broadcast_id"
    ]
    domain.send(broadcast_id)
    drain("notifications", "notification_worker")
    (first,) = mass_sends(sandbox, broadcast_id)
    # When the worker's write after the send is lost (its claim ran out, the message comes back)
    nid = f"{broadcast_id}#0"
    NotificationRow(nid, NOTIFICATION).update(
        actions=[NotificationRow.status.set("sending"), NotificationRow.sending_until.set(0)]
    )
    from functions.notifications import worker

    worker.requeue({"notification_id": nid, "openid": domain.sender_of(broadcast_id), "kind": "broadcast"}, 0)
    drain("notifications", "notification_worker")
    # Then WeChat refuses the repeated clientmsgid (45065) naming the first send, and nothing goes twice
    assert len(mass_sends(sandbox, broadcast_id)) == 1
    record = get_notification(nid)
    assert (record["status"], record["msgid"]) == ("sent", str(first["msg_id"]))


def test_a_job_short_of_time_hands_over_to_the_next_minute(client, admin_headers, sandbox, segments):
    members = followers(4)
    broadcast_id = post_broadcast(client, admin_headers, segment_id=segments.define(members))["broadcast_id"]
    # A Lambda a few seconds from its timeout stops before deciding anyone, and lets go at once
    assert domain.send(broadcast_id, remaining_ms=lambda: 5_000) == "sending"
    assert domain.get_broadcast(broadcast_id)["audience"] == 0
    # The next minute's run goes on from there
    assert domain.run_due(remaining_ms=lambda: 500_000)[broadcast_id] == "sent"
    assert domain.get_broadcast(broadcast_id)["audience"] == 4


def test_an_audience_of_one_is_too_small_and_gives_its_month_back(client, admin_headers, sandbox, segments):
    only = follower()
    broadcast_id = post_broadcast(
        client, admin_headers, segment_id=segments.define([only, follower(subscribed=False)])
    )["broadcast_id"]
    assert domain.send(broadcast_id) == "skipped:audience_too_small"
    view = get_broadcast(client, admin_headers, broadcast_id)
    assert (view["status"], view["audience"], view["chunks"]) == ("skipped:audience_too_small", 1, 0)
    assert get_notification(f"{broadcast_id}#0") is None
    assert caps.received_this_month(only, clock.now()) == 0


def test_the_holdout_and_the_monthly_cap_are_taken_out_of_the_audience(
    client, admin_headers, sandbox, segments
):
    # Given 40 members, one of whom already received 4 broadcasts this month
    members = followers(40)
    full = members[0]
    for n in range(caps.PER_MONTH):
        assert caps.take(full, f"bc-earlier-{n}", clock.now())
    broadcast_id = post_broadcast(
        client, admin_headers, segment_id=segments.define(members), holdout_percent=30, media_id="MEDIA_1"
    )["broadcast_id"]
    # When it is sent
    domain.send(broadcast_id)
    # Then the holdout is the hash's, the full follower is capped, and the rest receive it
    groups = groups_of(broadcast_id)
    held = {o for o in members if measure.held_out(broadcast_id, o, 30)}
    assert groups[full] == "capped"
    assert {o for o, g in groups.items() if g == "holdout"} == held - {full}
    assert {o for o, g in groups.items() if g == "recipient"} == set(members) - held - {full}
    view = get_broadcast(client, admin_headers, broadcast_id)
    assert view["audience"] + view["holdout"] + view["skipped_monthly_cap"] == 40
    assert view["skipped_monthly_cap"] == 1
    # And a media broadcast goes as mpnews
    drain("notifications", "notification_worker")
    (sent,) = mass_sends(sandbox, broadcast_id)
    assert sent["msgtype"] == "mpnews" and sent["mpnews"] == {"media_id": "MEDIA_1"}
    assert full not in sent["touser"]


def test_a_scheduled_broadcast_waits_for_its_time(client, admin_headers, sandbox, segments):
    later = clock.now() + timedelta(hours=2)
    broadcast_id = post_broadcast(
        client, admin_headers, segment_id=segments.define(followers(2)), send_at=clock.iso(later)
    )["broadcast_id"]
    assert broadcast_id not in domain.run_due()
    assert broadcast_id in domain.run_due(now=later + timedelta(seconds=1))


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"text": "a", "media_id": "M"}, 422, "text_or_media_id"),
        ({}, 422, "text_or_media_id"),
        ({"text": "a", "holdout_percent": 51}, 400, "invalid_holdout_percent"),
        ({"text": "a", "holdout_percent": -1}, 400, "invalid_holdout_percent"),
        ({"text": "   "}, 400, "invalid_text"),
        ({"text": "a", "send_at": "2999-01-01T00:00:00Z"}, 422, "invalid_send_at"),
        ({"text": "a", "send_at": "yesterday"}, 400, "invalid_send_at"),
        ({"text": "a", "segment_id": "no-such-segment"}, 404, "segment_not_found"),
        ({"text": "a", "segment_id": "bad segment"}, 400, "invalid_segment_id"),
    ],
)
def test_bad_broadcasts_are_refused(client, admin_headers, segments, body, status, code):
    body = {"segment_id": segments.define([]), **body}
    response = client.http.post("/admin/broadcasts", headers=admin_headers, body=json.dumps(body))
    assert response.status_code == status, response.body
    assert json.loads(response.body)["error"] == code


def test_reading_a_broadcast(client, admin_headers):
    assert (
        client.http.get("/admin/broadcasts/bc-20260101-000000000000", headers=admin_headers).status_code
        == 404
    )
    assert client.http.get("/admin/broadcasts/nope", headers=admin_headers).status_code == 400
    assert client.http.get("/admin/broadcasts/bc-20260101-000000000000").status_code == 401
    response = client.http.get(
        "/admin/broadcasts/bc-20260101-000000000000?window_days=0", headers=admin_headers
    )
    assert response.status_code == 400
