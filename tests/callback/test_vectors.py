"""Compatibility with WeChat's published sample vectors, decrypted through the handler.

A: the official account sample (Sample.py of WeChat's message encryption kit): token
"spamtest", EncodingAESKey "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", appid
"wx2c2769f8efd9abc2", a compatible-mode text message.
B: the kit's C#/enterprise sample: token "QDG6eK", EncodingAESKey
"jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", appid "wx5823bf96d3bd56c7".
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from functions.callback import crypto
from infra.local.wechat_sim import WeChat, sha1_sign

A = {
    "token": "spamtest",
    "aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "app_id": "wx2c2769f8efd9abc2",
    "timestamp": "1409735669",
    "nonce": "1320562132",
    "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
    "body": (
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>"
        "</FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]>"
        "</Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655H"
        "uD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNl"
        "ZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3y"
        "ZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJS"
        "gM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=]]></Encrypt></xml>"
    ),
    "from_user": "oyORnuP8q7ou2gfYjqLzSIWZf0rs",
    "content": "abcdteT",
    "msg_id": "6054768590064713728",
}
B = {
    "token": "QDG6eK",
    "aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    "app_id": "wx5823bf96d3bd56c7",
    "timestamp": "1409659813",
    "nonce": "1372623149",
    "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6",
    "body": (
        "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1"
        "I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8"
        "dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw"
        "2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZ"
        "pS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt>"
        "<AgentID><![CDATA[218]]></AgentID></xml>"
    ),
    "from_user": "mycreate",
    "content": "hello",
    "msg_id": "4561255354251345929",
}


def _post(client, vector, *, with_signature: bool = False, msg_signature: str | None = None):
    query = {
        "timestamp": vector["timestamp"],
        "nonce": vector["nonce"],
        "encrypt_type": "aes",
        "msg_signature": msg_signature or vector["msg_signature"],
    }
    if with_signature:
        query["signature"] = sha1_sign(vector["token"], vector["timestamp"], vector["nonce"])
    return client.http.post(
        "/wechat/callback?" + urlencode(query),
        headers={"Content-Type": "text/xml"},
        body=vector["body"].encode(),
    )


def _configure(settings_env, vector, replay_window: str = "0", app_id: str | None = None) -> None:
    settings_env(
        WECHAT_TOKEN=vector["token"],
        WECHAT_ENCODING_AES_KEY=vector["aes_key"],
        WECHAT_APP_ID=app_id or vector["app_id"],
        WECHAT_REPLAY_WINDOW_S=replay_window,
    )


@pytest.mark.parametrize("vector", [A, B], ids=["official-account-sample", "csharp-sample"])
@pytest.mark.parametrize("with_signature", [False, True])
def test_the_published_vector_decrypts_through_the_handler(
    client, settings_env, seen_messages, vector, with_signature
):
    # Given our account configured with the sample's token, key and appid (replay check off:
    # the samples are from 2014)
    _configure(settings_env, vector)
    # When WeChat's published request arrives
    response = _post(client, vector, with_signature=with_signature)
    # Then it verifies, decrypts to the published plaintext and is handled
    assert response.status_code == 200, response.body
    (message,) = seen_messages
    assert (message.from_user, message.content, message.msg_id) == (
        vector["from_user"],
        vector["content"],
        vector["msg_id"],
    )
    assert message.msg_type == "text"
    assert response.body == b"success"  # neither text is a keyword


@pytest.mark.parametrize("vector", [A, B], ids=["official-account-sample", "csharp-sample"])
def test_the_published_vector_with_a_changed_signature_is_refused(
    client, settings_env, seen_messages, vector
):
    _configure(settings_env, vector)
    flipped = vector["msg_signature"][:-1] + ("0" if vector["msg_signature"][-1] != "0" else "1")
    assert _post(client, vector, msg_signature=flipped).status_code == 403
    assert seen_messages == []


def test_the_published_vector_for_another_appid_is_refused(client, settings_env, seen_messages):
    _configure(settings_env, B, app_id="wx0000000000000000")
    response = _post(client, B)
    assert response.status_code == 403 and b"wrong_appid" in response.body
    assert seen_messages == []


def test_the_published_vector_is_stale_once_the_replay_window_is_on(client, settings_env, seen_messages):
    _configure(settings_env, A, replay_window="300")
    response = _post(client, A)
    assert response.status_code == 403 and b"stale_timestamp" in response.body
    assert seen_messages == []


def test_our_thin_crypto_module_reads_the_vectors_too():
    for vector in (A, B):
        encrypt = vector["body"].split("<Encrypt><![CDATA[")[1].split("]]>")[0]
        crypto.check_signature(
            (vector["timestamp"], vector["nonce"], encrypt), vector["token"], vector["msg_signature"]
        )
        xml = crypto.decrypt(encrypt, vector["token"], vector["aes_key"], vector["app_id"])
        assert f"<Content><![CDATA[{vector['content']}]]></Content>" in xml
        with pytest.raises(crypto.AppIdError):
            crypto.decrypt(encrypt, vector["token"], vector["aes_key"], "wx_someone_else")


def test_an_encrypted_reply_opens_with_the_samples_key(client, settings_env):
    # Given the sample account; when a keyword arrives in safe mode, the reply is sealed for it
    _configure(settings_env, A, replay_window="300")
    sim = WeChat(token=A["token"], aes_key=A["aes_key"], app_id=A["app_id"])
    path, body = sim.request(sim.text("oSample", "预约"), "aes")
    response = client.http.post(path, headers={"Content-Type": "text/xml"}, body=body)
    reply = sim.open_reply(response.body.decode(), "aes")
    assert reply["ToUserName"] == "oSample" and reply["Content"]


def test_server_verification_echoes_only_with_our_signature(client, settings_env):
    _configure(settings_env, A, replay_window="300")
    import time

    ts, nonce = str(int(time.time())), "263014780"
    good = {
        "signature": sha1_sign(A["token"], ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "echostr": "1616140317555161061",
    }
    response = client.http.get("/wechat/callback?" + urlencode(good))
    assert (response.status_code, response.body) == (200, b"1616140317555161061")
    assert response.headers["Content-Type"].startswith("text/plain")
    bad = {**good, "signature": sha1_sign("other-token", ts, nonce)}
    assert client.http.get("/wechat/callback?" + urlencode(bad)).status_code == 403
    stale = {**good, "timestamp": "1409659589", "signature": sha1_sign(A["token"], "1409659589", nonce)}
    assert client.http.get("/wechat/callback?" + urlencode(stale)).status_code == 403
