"""The monthly cap holds when broadcasts freeze their audiences at the same moment."""

from __future__ import annotations

import threading

import pytest

from functions.broadcasts import caps, domain
from functions.broadcasts.models import MemberRow, broadcast_pk
from functions.core import clock
from tests.broadcasts.conftest import followers
from tests.races import ask

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("patient_clients")]


def recipients(broadcast_id: str) -> set[str]:
    rows = MemberRow.query(broadcast_pk(broadcast_id), MemberRow.sk.startswith("M#"), consistent_read=True)
    return {row.openid for row in rows if row.group == "recipient"}


def test_no_follower_gets_more_than_four_broadcasts_a_month_however_many_race(aws, segments):
    # Given twelve followers, one of whom already received three broadcasts this month
    members = followers(12)
    for n in range(3):
        assert caps.take(members[0], f"bc-earlier-{n}", clock.now())
    segment_id = segments.define(members)
    # And seven broadcasts to all of them, due now
    ids = [
        domain.create_broadcast(domain.NewBroadcast(segment_id, "周末特惠", None, 0, None))["broadcast_id"]
        for _ in range(7)
    ]
    # When their send jobs all run at once (two runs each, as two schedule ticks might)
    start = threading.Barrier(len(ids) * 2)
    answers: list = []

    def run(broadcast_id: str) -> None:
        start.wait()
        answers.append(ask(lambda: domain.send(broadcast_id, members=segments.member_openids)))

    threads = [threading.Thread(target=run, args=(b,)) for b in ids for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then each broadcast went out by one of its runs (the other found it taken or done);
    # one left with fewer than 2 recipients would be skipped and give its places back
    views = {b: domain.get_broadcast(b) for b in ids}
    went = [b for b in ids if views[b]["status"] == "sent"]
    assert all(views[b]["status"] in ("sent", "skipped:audience_too_small") for b in ids)
    assert sorted(a.value for a in answers).count("sent") == len(went)
    # And no follower is a recipient of more broadcasts than their month allows, and their
    # count says exactly how many they are in
    allowance = {o: caps.PER_MONTH - (3 if o == members[0] else 0) for o in members}
    for openid in members:
        received = sum(openid in recipients(b) for b in went)
        assert received == caps.received_this_month(openid, clock.now()) - (3 if openid == members[0] else 0)
        assert received <= allowance[openid]
        if len(went) == len(ids):  # nothing given back: every place was taken
            assert received == allowance[openid]
    # And the counts agree: everyone not sent to was skipped for the monthly cap
    assert sum(views[b]["audience"] + views[b]["skipped_monthly_cap"] for b in ids) == 7 * 12
