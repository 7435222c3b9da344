"""The points page and the share page, over chalice.test.Client with a customer's cookies."""

from __future__ import annotations

import re
from datetime import timedelta

from functions.core import clock
from tests.h5.conftest import uid
from tests.points.conftest import give_points, on_sale_direct


def qrcode_calls(sandbox) -> int:
    with sandbox.state.lock:
        return sandbox.state.calls.get("cgi-bin/qrcode/create", 0)


def test_the_points_page_exchanges_points_for_a_coupon(phone):
    # Given a customer with 60 points, and campaigns costing 50 and 500
    openid = uid("o")
    give_points(openid, 60)
    affordable = on_sale_direct(50)
    on_sale_direct(500)
    device = phone(openid)
    # When they open their points page
    shown = device.get("/h5/points")
    assert shown.status == 200
    assert re.search(r'class="points__figure">60<', shown.text)
    assert "到店扫码" in shown.text and "+60" in shown.text
    assert f'value="{affordable}"' in shown.text and "积分不足" in shown.text  # the 500 one
    assert "/h5/r/" in shown.text  # my share link
    # And exchange 50 of them, the form sent twice (a double tap)
    key = re.search(r'name="request_key" value="([0-9a-f]{32})"', shown.text).group(1)
    form = {"csrf_token": shown.csrf, "campaign_id": affordable, "request_key": key}
    done = device.post("/h5/points", form)
    assert device.post("/h5/points", form).path() == "/h5/points?done=exchanged"
    # Then the page says so, the balance is 10, and the coupon is among my coupons
    assert (done.status, done.path()) == (303, "/h5/points?done=exchanged")
    after = device.get(done.path())
    assert "兑换成功" in after.text and 'class="points__figure">10<' in after.text
    assert "兑换优惠券" in after.text and "-50" in after.text
    assert device.get("/h5/coupons").text.count("积分兑换") == 1
    # And another exchange is refused with a page that says why, and changes nothing
    key = re.search(r'name="request_key" value="([0-9a-f]{32})"', after.text).group(1)
    refused = device.post(
        "/h5/points", {"csrf_token": shown.csrf, "campaign_id": affordable, "request_key": key}
    )
    assert refused.status == 409 and "积分不足" in refused.text
    assert 'class="points__figure">10<' in device.get("/h5/points").text


def test_the_points_page_needs_a_session_and_its_form_a_csrf_token(phone):
    stranger = phone(None).get("/h5/points")
    assert stranger.status == 302 and "/connect/oauth2/authorize" in stranger.location
    openid = uid("o")
    give_points(openid, 100)
    campaign_id = on_sale_direct(10)
    fields = {"csrf_token": "forged", "campaign_id": campaign_id, "request_key": "0" * 32}
    forged = phone(openid).post("/h5/points", fields)
    assert forged.status == 403
    from functions.points.ledger import balance_of

    assert balance_of(openid) == 100


def test_the_history_pages_to_older_entries(phone):
    openid = uid("o")
    for n in range(22):
        clock.set_now(clock.now() + timedelta(seconds=1))
        give_points(openid, 1, entry_id=f"scan:s{n}:d")
    device = phone(openid)
    first = device.get("/h5/points")
    more = re.search(r'href="([^"]*cursor=[^"]*)"', first.text)
    assert more and first.text.count("到店扫码") == 20
    older = device.get(more.group(1).replace("&amp;", "&"))
    assert older.status == 200 and older.text.count("到店扫码") == 2 and "积分兑好券" not in older.text


def test_the_share_page_shows_a_cached_follow_code_and_counts_views(client, phone, sandbox):
    from functions.points.referrals import referrers

    sharer = uid("o")
    code = client.http.get("/me", headers=_customer(sharer)).json_body["ref_code"]
    before = qrcode_calls(sandbox)
    # A friend (not signed in) opens the share page twice
    friend = phone(None)
    first = friend.get(f"/h5/r/{code}")
    second = friend.get(f"/h5/r/{code}")
    assert first.status == second.status == 200
    assert "<svg" in first.text and "长按识别二维码" in first.text
    # WeChat made one code, with the referral's scene, for 30 days
    assert qrcode_calls(sandbox) == before + 1
    with sandbox.state.lock:
        made = sandbox.state.qrcodes[-1]
    assert (
        made["action_name"] == "QR_STR_SCENE" and made["action_info"]["scene"]["scene_str"] == f"ref/{code}"
    )
    # Both views counted
    (mine,) = [r for r in referrers(limit=10_000) if r.openid == sharer]
    assert mine.views == 2
    # A day before the code expires, the next view makes a new one
    clock.set_now(clock.now() + timedelta(days=29, hours=1))
    assert friend.get(f"/h5/r/{code}").status == 200
    assert qrcode_calls(sandbox) == before + 2


def test_an_unknown_share_code_is_a_404_page(phone):
    assert phone(None).get("/h5/r/abcdefghijklmnop").status == 404
    assert phone(None).get("/h5/r/short").status in (400, 404)


def _customer(openid: str) -> dict[str, str]:
    from tests.conftest import customer_headers

    return customer_headers(openid)
