"""The subscribe button (`wx-open-subscribe`) on the customer pages: only inside WeChat, with a
`wx.config` signed by WeChat's algorithm over a jsapi_ticket shared like the access_token."""

from __future__ import annotations

import html
import json
import re

import pytest

from functions.core import wechat
from functions.notifications import templates
from functions.web import jssdk
from tests.h5.conftest import uid

IPHONE_WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)
SUB_REMINDER = "SUB_REMINDER_TEMPLATE"


def test_the_signature_is_wechats_published_example():
    # 附录1-JS-SDK使用权限签名算法: the example of WeChat's JS-SDK documentation
    ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
    assert (
        jssdk.signature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value#frag")
        == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
    )


@pytest.fixture
def reminder_by_subscribe(monkeypatch):
    from functions.core.config import reset_settings

    override = {"templates": {"reminder": {"channel": "subscribe", "id": SUB_REMINDER}}}
    monkeypatch.setenv("TEMPLATES_OVERRIDE", json.dumps(override))
    reset_settings()
    templates.reset()
    yield SUB_REMINDER
    monkeypatch.delenv("TEMPLATES_OVERRIDE")
    reset_settings()
    templates.reset()


def get(phone, path: str, agent: str):
    device = phone(uid("o"))
    response = device.client.http.get(path, headers={**device._headers(), "User-Agent": agent})
    body = response.body.decode() if isinstance(response.body, bytes) else response.body
    return response, body


@pytest.mark.parametrize("path", ["/h5/me", "/h5/bookings"])
def test_outside_wechat_there_is_no_button_and_no_script(phone, sandbox, reminder_by_subscribe, path):
    response, body = get(phone, path, SAFARI)
    assert response.status_code == 200
    assert "wx-open-subscribe" not in body and "<script" not in body and "res.wx.qq.com" not in body
    assert "script-src 'none'" in response.headers["Content-Security-Policy"]
    assert sandbox.state.calls.get("cgi-bin/ticket/getticket", 0) == 0


def test_without_a_subscribe_template_there_is_no_button_even_in_wechat(phone, sandbox):
    response, body = get(phone, "/h5/me", IPHONE_WECHAT)
    assert response.status_code == 200 and "wx-open-subscribe" not in body and "<script" not in body


@pytest.mark.parametrize("path", ["/h5/me", "/h5/bookings"])
def test_inside_wechat_the_button_offers_the_template_with_a_signed_wx_config(
    phone, sandbox, reminder_by_subscribe, path
):
    response, body = get(phone, path, IPHONE_WECHAT)
    assert response.status_code == 200
    # The open tag offers the reminder's subscribe template
    assert re.search(rf'<wx-open-subscribe template="{SUB_REMINDER}"', body)
    # wx.config is signed over the page's own URL with the shared jsapi_ticket
    config = json.loads(html.unescape(re.search(r"wx\.config\((\{.*?\})\);", body).group(1)))
    from functions.core.links import page_url

    expected = jssdk.signature(wechat.jsapi_ticket(), config["nonceStr"], config["timestamp"], page_url(path))
    assert config["signature"] == expected
    assert config["openTagList"] == ["wx-open-subscribe"] and config["appId"]
    # And the policy admits WeChat's script and this page's nonce, nothing else
    policy = response.headers["Content-Security-Policy"]
    nonce = re.search(r'<script nonce="([^"]+)">wx\.config', body).group(1)
    assert f"script-src 'nonce-{nonce}' https://res.wx.qq.com" in policy


def test_the_ticket_is_fetched_once_and_shared(phone, sandbox, reminder_by_subscribe):
    for key in ("TICKET",):
        for row in wechat.TokenRow.query(f"{key}#{wechat.get_settings().wechat_app_id}"):
            row.delete()
    wechat._ticket_cache.cache_clear()
    before = sandbox.state.calls.get("cgi-bin/ticket/getticket", 0)
    for _ in range(3):
        get(phone, "/h5/me", IPHONE_WECHAT)
    wechat._ticket_cache.cache_clear()  # a cold container reads the shared item, asks nobody
    get(phone, "/h5/me", IPHONE_WECHAT)
    assert sandbox.state.calls.get("cgi-bin/ticket/getticket", 0) - before == 1
