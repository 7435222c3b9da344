"""End to end against `make run`: ops set up a store code over HTTP, then WeChat's servers
deliver a signed, AES-encrypted subscribe and we open and verify the encrypted reply."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlencode

import pytest
import requests

from infra.local.wechat_sim import WeChat, sha1_sign

ADMIN = {"X-Api-Key": "dev-admin-key"}
sim = WeChat()  # `make run` uses the sandbox account's token, key and appid


@pytest.mark.e2e
def test_wechat_subscribes_by_scanning_a_store_code_in_safe_mode(stack):
    store_id = f"e2e{uuid.uuid4().hex[:8]}"
    # Given a store and a permanent staff code created through the admin API
    created = requests.put(
        f"{stack.url}/admin/stores/{store_id}",
        json={"name": "E2E", "welcome": "欢迎来到 E2E 店"},
        headers=ADMIN,
        timeout=10,
    )
    assert created.status_code == 201 and created.json()["pos_secret"]
    code = requests.post(
        f"{stack.url}/admin/qrcodes",
        json={"store_id": store_id, "staff_id": "dan", "permanent": True},
        headers=ADMIN,
        timeout=10,
    ).json()
    assert code["scene"] == f"{store_id}/dan"

    # When WeChat verifies the server URL and then delivers the encrypted subscribe, twice
    ts, nonce = str(int(time.time())), "98765"
    echo = requests.get(
        f"{stack.url}/wechat/callback?"
        + urlencode(
            {
                "signature": sha1_sign(sim.token, ts, nonce),
                "timestamp": ts,
                "nonce": nonce,
                "echostr": "e2e-echo",
            }
        ),
        timeout=10,
    )
    assert echo.text == "e2e-echo"
    openid = f"o{uuid.uuid4().hex[:12]}"
    xml = sim.event(openid, "subscribe", f"qrscene_{code['scene']}")
    replies = []
    for attempt in range(2):
        path, body = sim.request(xml, "aes", nonce=f"n{attempt}", openid=openid)
        response = requests.post(
            stack.url + path, data=body, headers={"Content-Type": "text/xml"}, timeout=10
        )
        assert response.status_code == 200, response.text
        # Then the reply is encrypted for our account, its msg_signature verifies
        assert "<Encrypt>" in response.text and "<MsgSignature>" in response.text
        replies.append(sim.open_reply(response.text, "aes"))
    assert replies[0]["Content"] == replies[1]["Content"] == "欢迎来到 E2E 店"
    assert replies[0]["ToUserName"] == openid and replies[0]["MsgType"] == "text"

    # And the store counted one scan and one new follower, not two
    stats = requests.get(f"{stack.url}/admin/stores/{store_id}/stats", headers=ADMIN, timeout=10).json()
    today = stats["days"][-1]
    assert (today["scans"], today["new_followers"]) == (1, 1)

    # And a tampered delivery is refused
    path, body = sim.request(xml, "aes", tamper="msg_signature")
    assert requests.post(stack.url + path, data=body, timeout=10).status_code == 403
