"""PUT/GET /admin/segments/{id} and its members: the whole body validated, exact counts, paging."""

from __future__ import annotations

import pytest

from functions.segments import domain
from tests.segments.conftest import follow, get, order, put, run_job_tasks, uid


def test_a_segment_is_defined_recomputed_and_read_back(client, sent_tasks):
    store = uid("ST")
    members = [uid("o-") for _ in range(3)]
    for openid in members:
        follow(openid, store=store)
    follow(uid("o-"), store=uid("other"))
    # When ops define a segment of the store's followers
    rules = [
        {"field": "first_store", "op": "eq", "value": store},
        {"field": "subscribed", "op": "eq", "value": True},
    ]
    response = put(client, uid("seg-"), {"name": "store-fans", "rules": rules})
    assert response.status_code == 200, response.json_body
    segment_id = response.json_body["id"]
    assert response.json_body["recompute"]["done"] is False
    # And the recompute job runs its shards
    run_job_tasks([t for t in sent_tasks if t["job"].startswith(segment_id)])
    # Then the count is exact and the members page back
    body = get(client, f"/admin/segments/{segment_id}").json_body
    assert body["members"] == 3 and body["rules"] == rules and body["recompute"]["done"] is True
    assert "wechat_tag_id" not in body
    page = get(client, f"/admin/segments/{segment_id}/members").json_body
    assert sorted(page["openids"]) == sorted(members) and page["cursor"] is None
    assert sorted(domain.member_openids(segment_id, page_size=2)) == sorted(members)
    assert domain.member_count(segment_id) == 3


def test_members_page_with_a_cursor(client, sent_tasks, monkeypatch):
    sku = uid("SKU")
    buyers = sorted(uid("o-") for _ in range(5))
    for openid in buyers:
        order(openid, skus=[sku])
    segment_id = uid("seg-")
    put(
        client,
        segment_id,
        {"name": "buyers", "rules": [{"field": "purchased_sku", "op": "eq", "value": sku}]},
    )
    run_job_tasks(sent_tasks)
    monkeypatch.setattr(domain, "PAGE_SIZE", 2)
    seen, cursor = [], None
    while True:
        path = f"/admin/segments/{segment_id}/members" + (f"?cursor={cursor}" if cursor else "")
        page = get(client, path).json_body
        seen += page["openids"]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert seen == buyers


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        ({"field": "age", "op": "eq", "value": 3}, "invalid_field"),
        ({"field": "first_store", "op": "gte", "value": "S1"}, "invalid_op"),
        ({"field": "total_spent_cents", "op": "eq", "value": 3}, "invalid_op"),
        ({"field": "total_spent_cents", "op": "gte", "value": "3"}, "invalid_value"),
        ({"field": "total_spent_cents", "op": "gte", "value": True}, "invalid_value"),
        ({"field": "total_spent_cents", "op": "gte", "value": -1}, "invalid_value"),
        ({"field": "subscribed", "op": "eq", "value": 1}, "invalid_value"),
        ({"field": "first_store", "op": "eq", "value": "no spaces"}, "invalid_value"),
        ({"field": "followed_days", "op": "lte", "value": 1.5}, "invalid_value"),
        ({"field": "first_store", "op": "eq", "value": "S1", "within_days": 3}, "invalid_within_days"),
        ({"field": "purchased_sku", "op": "eq", "value": "X", "within_days": 0}, "invalid_within_days"),
        ({"field": "purchased_sku", "op": "eq"}, "invalid_value"),
    ],
)
def test_a_bad_rule_is_400_and_changes_nothing(client, sent_tasks, rule, code):
    segment_id = uid("seg-")
    good = {"field": "subscribed", "op": "eq", "value": True}
    response = put(client, segment_id, {"name": "x", "rules": [good, rule]})
    assert response.status_code == 400, response.json_body
    assert response.json_body["error"] == code
    assert get(client, f"/admin/segments/{segment_id}").status_code == 404
    assert sent_tasks == []


def test_unknown_segment_and_bad_cursor(client):
    assert get(client, "/admin/segments/nope-nope").json_body["error"] == "segment_not_found"
    assert get(client, "/admin/segments/nope-nope/members").status_code == 404
    assert get(client, "/admin/segments/x/members?cursor=%21%21").status_code == 400
    assert get(client, "/admin/segments/x/members?cursor=AAAA").json_body["error"] == "invalid_cursor"


def test_same_rules_again_start_no_new_job(client, sent_tasks):
    segment_id = uid("seg-")
    body = {"name": "a", "rules": [{"field": "subscribed", "op": "eq", "value": True}]}
    put(client, segment_id, body)
    run_job_tasks(sent_tasks)
    sent_tasks.clear()
    again = put(client, segment_id, {**body, "name": "renamed"})
    assert again.json_body["name"] == "renamed" and sent_tasks == []
    changed = put(client, segment_id, {**body, "rules": []})
    assert changed.json_body["recompute"]["job_id"] == f"{segment_id}.v2" and sent_tasks
