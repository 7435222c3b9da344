"""The account's menu (infra/menu.json) as WeChat would take it, and the sandbox's WeChat: the
sign-in page, one-time codes, and `menu/create` refusing what WeChat refuses."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from infra import menu
from infra.local.sandbox import menu_errcode

CALLBACK_KEYS = {"MY_SHIPMENTS", "MY_BOOKINGS", "MY_COUPONS", "MY_POINTS", "REMINDERS_ON", "REMINDERS_OFF"}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_committed_menu_is_one_wechat_accepts(stage):
    from infra.deploy import stage_menu

    made = stage_menu(stage)
    assert menu_errcode(made) == 0
    buttons = menu.buttons(made)
    # Click buttons use the callback's keys; view buttons open our pages through WeChat's sign-in
    assert {b["key"] for b in buttons if b["type"] == "click"} <= CALLBACK_KEYS
    views = [b["url"] for b in buttons if b["type"] == "view"]
    assert views
    for url in views:
        parts = urlsplit(url)
        assert (
            f"{parts.scheme}://{parts.netloc}{parts.path}"
            == "https://open.weixin.qq.com/connect/oauth2/authorize"
        )
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert query["scope"] == "snsapi_base" and query["response_type"] == "code"
        assert query["redirect_uri"].startswith("https://h5")
        assert parse_qs(urlsplit(query["redirect_uri"]).query)["next"][0].startswith("/h5/")


def test_every_page_of_the_menu_is_served():
    from app import app
    from tests.h5.test_links import served

    for button in menu.buttons(menu.load()):
        if button["type"] == "view":
            assert served(app, f"http://x{button['url']}"), button


def button(name: str = "预约", **extra: object) -> dict:
    return {"type": "click", "name": name, "key": "MY_BOOKINGS", **extra}


@pytest.mark.parametrize(
    ("made", "errcode"),
    [
        ({}, 44002),
        ({"button": []}, 40016),
        ({"button": [button()] * 4}, 40016),
        ({"button": [{"name": "多", "sub_button": [button()] * 6}]}, 40023),
        ({"button": [{"name": "空", "sub_button": []}]}, 40023),
        ({"button": [button("一二三四五六")]}, 40018),  # 18 bytes > 16
        ({"button": [{"name": "菜单", "sub_button": [button("长" * 21)]}]}, 40025),  # 63 bytes > 60
        ({"button": [button(key="K" * 129)]}, 40019),
        ({"button": [{"name": "菜单", "sub_button": [button(key="")]}]}, 40026),
        ({"button": [{"type": "view", "name": "页", "url": "https://x/" + "a" * 1020}]}, 40020),
        (
            {"button": [{"name": "菜单", "sub_button": [{"type": "view", "name": "页", "url": "/h5/me"}]}]},
            40054,
        ),
        ({"button": [{"type": "teleport", "name": "传"}]}, 40017),
        ({"button": [{"name": "菜单", "sub_button": [{"type": "teleport", "name": "传"}]}]}, 40024),
    ],
)
def test_the_sandbox_refuses_a_menu_as_wechat_does(made, errcode):
    assert menu_errcode(made) == errcode


def test_menu_create_on_the_sandbox_keeps_a_good_menu_and_refuses_a_bad_one(sandbox):
    from functions.core.config import load_settings

    settings = load_settings()
    account = {
        "api_base": sandbox.url,
        "app_id": settings.wechat_app_id,
        "app_secret": settings.wechat_app_secret,
    }
    made = menu.render(
        menu.load(),
        oauth_base=sandbox.url,
        app_id=settings.wechat_app_id,
        h5_base_url="http://127.0.0.1:8000",
    )
    menu.create(made, **account)
    assert requests.get(f"{sandbox.url}/sandbox/menu", timeout=5).json()["menu"] == made
    with pytest.raises(menu.MenuRefused) as refused:
        menu.create({"button": [button()] * 4}, **account)
    assert refused.value.errcode == 40016
    assert requests.get(f"{sandbox.url}/sandbox/menu", timeout=5).json()["menu"] == made  # unchanged


# -- the sandbox's sign-in page -------------------------------------------------------------


def authorize(sandbox, **params: str) -> requests.Response:
    query = {
        "appid": "wx00sandbox0000001",
        "redirect_uri": "http://127.0.0.1:8000/h5/auth?next=%2Fh5%2Fme",
        "response_type": "code",
        "scope": "snsapi_base",
        "state": "s1",
        **params,
    }
    return requests.get(
        f"{sandbox.url}/connect/oauth2/authorize", params=query, allow_redirects=False, timeout=5
    )


def test_given_an_openid_the_sign_in_page_redirects_back_with_a_one_time_code(sandbox):
    from functions.core import wechat

    answer = authorize(sandbox, openid="o-direct")
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert location.path == "/h5/auth"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["next"] == "/h5/me" and query["state"] == "s1"
    # The code signs in once, as that customer; used again it is WeChat's 40163
    assert wechat.oauth_openid(query["code"]) == "o-direct"
    with pytest.raises(wechat.WeChatError) as used:
        wechat.oauth_openid(query["code"])
    assert used.value.errcode == 40163


def test_without_an_openid_the_sign_in_page_asks_who_you_are(sandbox):
    answer = authorize(sandbox)
    assert answer.status_code == 200 and "text/html" in answer.headers["Content-Type"]
    assert "name='openid'" in answer.text and 'name="state" value="s1"' in answer.text
    # Once picked, this browser is that customer: the next sign-in is silent, as in WeChat
    picked = authorize(sandbox, openid="o-picked")
    cookie = picked.headers["Set-Cookie"].split(";")[0]
    silent = requests.get(
        picked.url.replace("&openid=o-picked", ""),
        headers={"Cookie": cookie},
        allow_redirects=False,
        timeout=5,
    )
    assert silent.status_code == 302 and "code=" in silent.headers["Location"]


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"appid": "wx-other"}, "40013"),
        ({"redirect_uri": "javascript:x"}, "10003"),
        ({"scope": "all"}, "10005"),
    ],
)
def test_the_sign_in_page_refuses_bad_parameters(sandbox, params, text):
    answer = authorize(sandbox, openid="o-x", **params)
    assert answer.status_code == 400 and text in answer.text


def test_the_committed_menu_file_is_wechats_json():
    raw = json.loads(menu.MENU.read_text(encoding="utf-8"))
    assert set(raw) == {"button"}
