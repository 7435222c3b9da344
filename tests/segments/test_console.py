"""The console's segments page: a form defines a segment (each filled field one rule), the list
shows exact counts, the recompute and the tag's sync state; bad input is a page, never a 5xx."""

from __future__ import annotations

import pytest

from functions.segments import domain
from tests.console.conftest import admin, browser, put_operator, put_store  # noqa: F401 - fixtures
from tests.segments.conftest import follow, run_job_tasks, uid


def test_an_admin_defines_a_segment_and_sees_its_members(admin, sent_tasks):  # noqa: F811
    store = uid("ST")
    for _ in range(3):
        follow(uid("o-"), store=store, consent=True)
    segment_id = uid("seg-")
    saved = admin.submit(
        "/console/segments",
        "/console/segments",
        {
            "segment_id": segment_id,
            "name": "vip",
            "first_store": store,
            "spent_max": "12.5",
            "reminder_consent": "yes",
            "followed_max": "30",
        },  # fmt: skip
    )
    assert saved.status == 303 and saved.path() == "/console/segments?done=saved"
    segment = domain.get_segment(segment_id)
    assert [r.to_dict() for r in segment.rules] == [
        {"field": "first_store", "op": "eq", "value": store},
        {"field": "total_spent_cents", "op": "lte", "value": 1250},
        {"field": "followed_days", "op": "lte", "value": 30},
        {"field": "reminder_consent", "op": "eq", "value": True},
    ]
    listed = admin.get("/console/segments")
    assert "计算中 0/8" in listed.text
    run_job_tasks(sent_tasks)
    listed = admin.get("/console/segments")
    row = listed.text.split(segment_id, 1)[1].split("</tr>", 1)[0]
    assert "<strong>3</strong>" in row and "已完成" in row and "累计消费 ≤ 12.50 元" in row


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"segment_id": "bad id", "name": "x"}, 400),
        ({"segment_id": "ok", "name": "x", "spent_min": "lots"}, 400),
        ({"segment_id": "ok", "name": "x", "followed_min": "-3"}, 400),
        ({"segment_id": "ok", "name": "x", "first_store": "有空格 的"}, 400),
        ({"segment_id": "ok", "name": "n" * 31, "wechat_tag": "on"}, 422),
    ],
)
def test_bad_input_is_a_page_and_changes_nothing(admin, sent_tasks, fields, status):  # noqa: F811
    page = admin.submit("/console/segments", "/console/segments", fields)
    assert page.status == status and "<html" in page.text.lower()
    assert sent_tasks == []


def test_a_store_operator_may_not_open_it(client, browser, admin_headers):  # noqa: F811
    store_id = put_store(client, admin_headers)
    device = browser()
    device.login(put_operator(client, admin_headers, role="store", store_id=store_id))
    assert device.get("/console/segments").status == 403
