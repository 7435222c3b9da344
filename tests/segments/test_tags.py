"""WeChat tags: created inline with WeChat's refusals mapped, kept in step in batches of at most
50, followers at 20 tags skipped and counted, drift repaired by the reconciliation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from functions.segments import domain, tags
from infra.local import sandbox as sandbox_module
from tests.segments.conftest import follow, get, put, run_job_tasks, uid


@pytest.fixture
def wechat(sandbox: Any) -> Iterator[Any]:
    """The sandbox with no tags, and a record of every tag batch call's size."""
    state = sandbox.state
    with state.lock:
        saved = dict(state.tags)
        state.tags.clear()
    sizes: list[tuple[bool, int]] = []
    original = sandbox_module.tags_batch

    def recording(state_: Any, body: dict, tagging: bool) -> dict:
        sizes.append((tagging, len(body.get("openid_list") or [])))
        return original(state_, body, tagging)

    sandbox_module.tags_batch = recording
    sandbox.batch_sizes = sizes
    yield sandbox
    sandbox_module.tags_batch = original
    with state.lock:
        state.tags.clear()
        state.tags.update(saved)


def tagged_segment(client: Any, sent_tasks: list, store: str, name: str | None = None) -> dict:
    segment_id = uid("seg-")
    body = {"name": name or uid("t")[:20], "rules": [{"field": "first_store", "op": "eq", "value": store}],
            "wechat_tag": True}  # fmt: skip
    response = put(client, segment_id, body)
    assert response.status_code == 200, response.json_body
    run_job_tasks([t for t in sent_tasks if t.get("job", "").startswith(segment_id)])
    return response.json_body


def in_wechat(sandbox: Any, tag_id: int) -> set[str]:
    with sandbox.state.lock:
        return set(sandbox.state.tags[tag_id]["openids"])


def test_members_are_tagged_and_untagged_in_batches_of_at_most_50(client, sent_tasks, wechat):
    store = uid("ST")
    created = tagged_segment(client, sent_tasks, store)
    tag_id = created["wechat_tag_id"]
    assert tag_id >= 100
    openids = [uid("o-") for _ in range(120)]
    for openid in openids:
        follow(openid, store=store)
    segment = domain.get_segment(created["id"])
    result = tags.sync(segment)
    assert result.tagged == 120 and result.stopped is None
    assert in_wechat(wechat, tag_id) == set(openids)
    assert [n for tagging, n in wechat.batch_sizes if tagging] == [50, 50, 20]
    # When 60 of them unfollow, they are untagged, in batches again
    for openid in openids[:60]:
        follow(openid, store=store, subscribed=False)
        follow(openid, store="elsewhere")
    result = tags.sync(segment)
    assert result.untagged == 60 and in_wechat(wechat, tag_id) == set(openids[60:])
    assert max(n for _, n in wechat.batch_sizes) <= 50
    body = get(client, f"/admin/segments/{created['id']}").json_body
    assert body["members"] == 60 and body["tag_sync"]["synced_at"]


def test_a_follower_with_20_tags_is_skipped_and_counted(client, sent_tasks, wechat):
    store = uid("ST")
    created = tagged_segment(client, sent_tasks, store)
    full, others = uid("full-"), [uid("o-") for _ in range(5)]
    with wechat.state.lock:
        for i in range(20):  # 20 tags of someone else's
            wechat.state.tags[1000 + i] = {"id": 1000 + i, "name": f"other{i}", "openids": {full}}
    for openid in [full, *others]:
        follow(openid, store=store)
    result = tags.sync(domain.get_segment(created["id"]))
    assert result.skipped_tag_limit == 1 and result.tagged == 5
    assert in_wechat(wechat, created["wechat_tag_id"]) == set(others)
    body = get(client, f"/admin/segments/{created['id']}").json_body
    assert body["tag_sync"]["skipped_tag_limit"] == 1 and body["members"] == 6
    # The reconciliation does not try the skipped follower again
    assert tags.reconcile(domain.get_segment(created["id"])).repaired_tag == 0


def test_drift_is_repaired_by_the_reconciliation(client, sent_tasks, wechat):
    store = uid("ST")
    created = tagged_segment(client, sent_tasks, store)
    tag_id = created["wechat_tag_id"]
    openids = [uid("o-") for _ in range(30)]
    for openid in openids:
        follow(openid, store=store)
    segment = domain.get_segment(created["id"])
    tags.sync(segment)
    # Given drift: someone in WeChat's console untags 7 members and tags 4 strangers
    strangers = {uid("x-") for _ in range(4)}
    with wechat.state.lock:
        wechat.state.tags[tag_id]["openids"].difference_update(openids[:7])
        wechat.state.tags[tag_id]["openids"].update(strangers)
    # When the reconciliation reads the tag back (a page at a time)
    sandbox_module.TAG_FANS_PAGE, saved = 10, sandbox_module.TAG_FANS_PAGE
    try:
        result = tags.reconcile(segment)
    finally:
        sandbox_module.TAG_FANS_PAGE = saved
    # Then both sides agree again
    assert (result.repaired_tag, result.repaired_untag) == (7, 4)
    assert in_wechat(wechat, tag_id) == set(openids)
    assert get(client, f"/admin/segments/{created['id']}").json_body["tag_sync"]["repaired"] == 11


def test_a_transient_refusal_leaves_the_rest_for_the_next_run(client, sent_tasks, wechat):
    store = uid("ST")
    created = tagged_segment(client, sent_tasks, store)
    openids = [uid("o-") for _ in range(70)]
    for openid in openids:
        follow(openid, store=store)
    requests.post(
        f"{wechat.url}/sandbox/faults", json={"api": "cgi-bin/tags/members/batchtagging", "errcode": -1}
    )
    segment = domain.get_segment(created["id"])
    first = tags.sync(segment)
    assert first.stopped and first.tagged == 0
    second = tags.sync(segment)
    assert second.tagged == 70 and in_wechat(wechat, created["wechat_tag_id"]) == set(openids)


def test_tag_creation_limits_and_refusals(client, sent_tasks, wechat):
    store = uid("ST")
    # A name WeChat already has (our own earlier attempt whose answer was lost) is adopted
    with wechat.state.lock:
        wechat.state.tags[150] = {"id": 150, "name": "vip-fans", "openids": set()}
    adopted = tagged_segment(client, sent_tasks, store, name="vip-fans")
    assert adopted["wechat_tag_id"] == 150
    # A name over 30 bytes is refused before WeChat is asked
    too_long = put(client, uid("seg-"), {"name": "n" * 31, "rules": [], "wechat_tag": True})
    assert too_long.status_code == 422 and too_long.json_body["error"] == "tag_name_too_long"
    # WeChat refusing is 502, and nothing is stored
    requests.post(f"{wechat.url}/sandbox/faults", json={"api": "cgi-bin/tags/create", "errcode": 40013})
    refused_id = uid("seg-")
    refused = put(client, refused_id, {"name": "x", "rules": [], "wechat_tag": True})
    assert refused.status_code == 502 and refused.json_body["error"] == "wechat_error"
    assert get(client, f"/admin/segments/{refused_id}").status_code == 404
    # At 100 tags: 409 tag_limit
    with wechat.state.lock:
        for i in range(100 - len(wechat.state.tags)):
            wechat.state.tags[2000 + i] = {"id": 2000 + i, "name": f"filler{i}", "openids": set()}
    full_id = uid("seg-")
    full = put(client, full_id, {"name": "one-more", "rules": [], "wechat_tag": True})
    assert full.status_code == 409 and full.json_body["error"] == "tag_limit"
    assert get(client, f"/admin/segments/{full_id}").status_code == 404


def test_the_sandbox_answers_with_wechats_limits(wechat):
    state = wechat.state
    assert sandbox_module.tags_create(state, {"tag": {"name": "中" * 11}})["errcode"] == 45158  # 33 bytes
    tag_id = sandbox_module.tags_create(state, {"tag": {"name": "a"}})["tag"]["id"]
    assert sandbox_module.tags_create(state, {"tag": {"name": "a"}})["errcode"] == 45157
    assert (
        sandbox_module.tags_batch(state, {"tagid": tag_id, "openid_list": ["o"] * 51}, True)["errcode"]
        == 40032
    )
    assert sandbox_module.tags_batch(state, {"tagid": 9999, "openid_list": ["o"]}, True)["errcode"] == 45159
    assert (
        sandbox_module.tags_batch(state, {"tagid": tag_id, "openid_list": ["bad id"]}, True)["errcode"]
        == 40003
    )
    assert sandbox_module.tags_of(state, {"openid": "o"}) == {"tagid_list": []}
