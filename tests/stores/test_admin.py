"""Ops routes for stores, QR codes and stats (CONTRACT §6)."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timedelta
from urllib.parse import quote

import pytest

from functions.core import clock, txn
from functions.stores import stats
from functions.stores.domain import decode_scene, encode_scene, get_store
from functions.stores.models import SceneRow, scene_pk
from tests.races import ask_http


def sid() -> str:
    return f"st{uuid.uuid4().hex[:10]}"


def put(client, store_id, headers, **body):
    return client.http.put(f"/admin/stores/{store_id}", headers=headers, body=json.dumps(body))


def qr(client, headers, **body):
    return client.http.post("/admin/qrcodes", headers=headers, body=json.dumps(body))


def test_creating_a_store_hands_out_its_pos_secret_once(client, admin_headers):
    store_id = sid()
    created = put(client, store_id, admin_headers, name="Xuhui", welcome="欢迎光临徐汇店")
    assert created.status_code == 201
    view = json.loads(created.body)
    assert view["store_id"] == store_id and len(view["pos_secret"]) >= 32
    # When ops update the welcome, the secret stays and is not shown again
    updated = put(client, store_id, admin_headers, name="Xuhui", welcome="新的欢迎语")
    assert updated.status_code == 200
    assert "pos_secret" not in json.loads(updated.body)
    store = get_store(store_id)
    assert store.pos_secret == view["pos_secret"] and store.welcome == "新的欢迎语"


@pytest.mark.slow
@pytest.mark.usefixtures("patient_clients")
def test_racing_creations_make_one_store_and_one_secret(client, admin_headers):
    store_id = sid()
    barrier, results = threading.Barrier(6), []

    def run(i):
        barrier.wait()
        results.append(ask_http(lambda: put(client, store_id, admin_headers, name=f"n{i}", welcome="w")))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(r.status_code for r in results) == [200] * 5 + [201]
    (secret,) = [json.loads(r.body)["pos_secret"] for r in results if r.status_code == 201]
    assert get_store(store_id).pos_secret == secret


@pytest.mark.parametrize(
    ("store_id", "body"),
    [
        ("ok1", {"name": "", "welcome": "w"}),
        ("ok1", {"name": "n"}),
        ("ok1", {"name": "n", "welcome": "w" * 601}),
        ("ok1", {"name": 5, "welcome": "w"}),
        ("ok1", {"name": "  ", "welcome": "w"}),
        ("ok1", {"name": "n" * 33, "welcome": "w"}),
        ("has%20space", {"name": "n", "welcome": "w"}),
        ("x" * 65, {"name": "n", "welcome": "w"}),
    ],
)
def test_bad_store_input_is_400_and_stores_nothing(client, admin_headers, store_id, body):
    store_id = store_id.replace("ok1", sid())
    response = client.http.put(f"/admin/stores/{store_id}", headers=admin_headers, body=json.dumps(body))
    assert response.status_code == 400
    assert get_store(store_id) is None


def test_reserved_store_ids_are_422_and_store_nothing(client, admin_headers):
    # "_unknown" is grammatical (CONTRACT §1) but reserved: it counts scans of foreign scenes.
    response = put(client, "_unknown", admin_headers, name="n", welcome="w")
    assert (response.status_code, response.json_body["error"]) == (422, "reserved_store_id")
    assert get_store("_unknown") is None


def test_store_ids_follow_the_contract_grammar(client, admin_headers):
    # Up to 64 characters of A-Z a-z 0-9 . _ : - (the old rule stopped at 32, without . and :)
    store_id = f"{sid()}.sh:{'x' * 40}"[:64]
    assert put(client, store_id, admin_headers, name="n", welcome="w").status_code == 201
    assert get_store(store_id).store_id == store_id


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}, {"X-Api-Key": ""}])
def test_admin_routes_need_the_api_key_and_store_nothing(client, sandbox, headers):
    headers = {**headers, "Content-Type": "application/json"}
    store_id = sid()
    assert put(client, store_id, headers, name="n", welcome="w").status_code == 401
    assert get_store(store_id) is None
    response = qr(client, headers, store_id=store_id)
    assert response.status_code == 401 and b"pos_secret" not in response.body
    assert client.http.get(f"/admin/stores/{store_id}/stats", headers=headers).status_code == 401
    assert sandbox.state.calls.get("cgi-bin/qrcode/create", 0) == 0


@pytest.mark.parametrize(
    ("extra", "action", "scene_of"),
    [
        ({}, "QR_STR_SCENE", lambda s: s),
        ({"permanent": True}, "QR_LIMIT_STR_SCENE", lambda s: s),
        ({"staff_id": "alice"}, "QR_STR_SCENE", lambda s: f"{s}/alice"),
        ({"campaign": "spring", "permanent": True}, "QR_LIMIT_STR_SCENE", lambda s: f"{s}//spring"),
        (
            {"staff_id": "bob", "campaign": "c1", "expire_seconds": 3600},
            "QR_STR_SCENE",
            lambda s: f"{s}/bob/c1",
        ),
    ],
)
def test_a_qr_code_is_created_through_wechat_and_its_scene_registered(
    client, sandbox, admin_headers, extra, action, scene_of
):
    store_id = sid()
    put(client, store_id, admin_headers, name="n", welcome="w")
    response = qr(client, admin_headers, store_id=store_id, **extra)
    assert response.status_code == 201, response.body
    code = json.loads(response.body)
    assert code["scene"] == scene_of(store_id) and len(code["scene"]) <= 64
    assert code["image_url"] == "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=" + quote(
        code["ticket"], safe=""
    )
    (sent,) = [q for q in sandbox.state.qrcodes if q["ticket"] == code["ticket"]]
    assert sent["action_name"] == action
    assert sent["action_info"]["scene"]["scene_str"] == code["scene"]
    if action == "QR_STR_SCENE":
        assert sent["expire_seconds"] == extra.get("expire_seconds", 30 * 24 * 3600)
    else:
        assert "expire_seconds" not in sent
    row = SceneRow.get(scene_pk(code["scene"]), "SCENE")
    assert (row.store_id, row.staff_id, row.campaign) == (
        store_id,
        extra.get("staff_id"),
        extra.get("campaign"),
    )


def test_a_qr_code_for_an_unknown_store_is_404_and_nothing_is_created(client, sandbox, admin_headers):
    store_id = sid()
    response = qr(client, admin_headers, store_id=store_id, staff_id="x")
    assert response.status_code == 404 and b"store_not_found" in response.body
    assert sandbox.state.calls.get("cgi-bin/qrcode/create", 0) == 0
    with pytest.raises(SceneRow.DoesNotExist):
        SceneRow.get(scene_pk(f"{store_id}/x"), "SCENE")


@pytest.mark.parametrize(
    "body",
    [
        {"store_id": "S", "staff_id": "a" * 32, "campaign": "c" * 32},  # 64+ chars with separators
        {"store_id": "S", "permanent": "yes"},
        {"store_id": "S", "permanent": True, "expire_seconds": 3600},
        {"store_id": "S", "expire_seconds": 30 * 24 * 3600 + 1},
        {"store_id": "S", "staff_id": "bad/slash"},
        {},
    ],
)
def test_bad_qr_input_is_refused_before_wechat_is_called(client, sandbox, admin_headers, body):
    store_id = sid()
    put(client, store_id, admin_headers, name="n", welcome="w")
    body = {k: (store_id if v == "S" else v) for k, v in body.items()}
    response = qr(client, admin_headers, **body)
    assert response.status_code in (400, 422), response.body
    assert sandbox.state.calls.get("cgi-bin/qrcode/create", 0) == 0


def test_wechat_refusing_the_code_is_a_502(client, sandbox, admin_headers):
    import requests

    store_id = sid()
    put(client, store_id, admin_headers, name="n", welcome="w")
    requests.post(
        f"{sandbox.url}/sandbox/faults",
        json={"api": "cgi-bin/qrcode/create", "errcode": 45009, "count": 1},
        timeout=5,
    )
    response = qr(client, admin_headers, store_id=store_id)
    assert response.status_code == 502 and b"wechat_error" in response.body


def test_stats_read_the_daily_counters(client, admin_headers):
    store_id = sid()
    put(client, store_id, admin_headers, name="n", welcome="w")
    clock.set_now(datetime.fromisoformat("2026-03-10T02:00:00+00:00"))  # 10:00 in Shanghai
    today = clock.business_date()
    txn.run([stats.counters_op(store_id, {"scans": 3, "new_followers": 2})])
    txn.run([stats.counters_op(store_id, {"unsubscribes": 1}, day=today - timedelta(days=1))])
    response = client.http.get(
        f"/admin/stores/{store_id}/stats?from={today - timedelta(days=2)}&to={today}", headers=admin_headers
    )
    assert response.status_code == 200
    view = json.loads(response.body)
    assert [d["date"] for d in view["days"]] == ["2026-03-08", "2026-03-09", "2026-03-10"]
    assert view["days"][1]["unsubscribes"] == 1
    assert view["days"][2] == {
        "date": "2026-03-10",
        "scans": 3,
        "new_followers": 2,
        "unsubscribes": 0,
        "bookings": 0,
        "redemptions": 0,
    }
    # Defaults: the last seven business days
    assert (
        len(
            json.loads(client.http.get(f"/admin/stores/{store_id}/stats", headers=admin_headers).body)["days"]
        )
        == 7
    )


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("from=2026-03-10&to=2026-03-01", 422),  # a rule across from and to
        ("from=2025-01-01&to=2026-03-01", 422),
        ("from=yesterday", 400),  # a shape error
    ],
)
def test_bad_stats_ranges_are_refused(client, admin_headers, query, status):
    store_id = sid()
    put(client, store_id, admin_headers, name="n", welcome="w")
    assert (
        client.http.get(f"/admin/stores/{store_id}/stats?{query}", headers=admin_headers).status_code
        == status
    )


def test_stats_of_an_unknown_store_are_404_but_unknown_scans_are_readable(client, admin_headers):
    assert client.http.get(f"/admin/stores/{sid()}/stats", headers=admin_headers).status_code == 404
    assert client.http.get("/admin/stores/_unknown/stats", headers=admin_headers).status_code == 200


def test_scenes_encode_and_decode():
    assert encode_scene("s1") == "s1"
    assert decode_scene(encode_scene("s1", "alice", "spring")).staff_id == "alice"
    assert decode_scene(encode_scene("s1", None, "spring")).campaign == "spring"
    for foreign in ("", "123 45", "a/b/c/d", "_x", "x" * 65, "/a"):
        assert decode_scene(foreign) is None
