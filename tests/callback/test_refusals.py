"""Every refusal of CONTRACT §2 answers its status and stores nothing."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest

from functions.callback import storage
from functions.callback.message import Message
from functions.callback.xmlmsg import parse
from functions.customers.domain import get_customer
from infra.local.wechat_sim import WeChat, cdata, sha1_sign
from tests.callback.stories import counters, new_id, open_store, qr_scene

sim = WeChat()


@pytest.fixture
def scan(client):
    """A subscribe-with-scene event that would store a customer, counters and a dedupe record."""
    store_id, _ = open_store(client)
    scene = qr_scene(client, store_id)
    openid = new_id("o")
    xml = sim.event(openid, "subscribe", f"qrscene_{scene}")
    yield xml
    # Then nothing of it was stored
    assert get_customer(openid) is None
    assert counters(store_id)["scans"] == 0
    assert storage.stored_record(Message.from_fields(parse(xml)).dedupe_key) is None


def post(client, path: str, body: bytes):
    return client.http.post(path, headers={"Content-Type": "text/xml"}, body=body)


@pytest.mark.parametrize(
    ("mode", "tamper", "code"),
    [
        ("plain", "signature", "invalid_signature"),
        ("compat", "signature", "invalid_signature"),
        ("aes", "msg_signature", "invalid_msg_signature"),
        ("compat", "msg_signature", "invalid_msg_signature"),
    ],
)
def test_a_bad_signature_is_403(client, scan, mode, tamper, code):
    response = post(client, *sim.request(scan, mode, tamper=tamper))
    assert response.status_code == 403 and code.encode() in response.body


def test_a_missing_signature_is_403(client, scan):
    path, body = sim.request(scan)
    path = path.replace("signature=", "signaturex=")
    assert post(client, path, body).status_code == 403


@pytest.mark.parametrize("offset", [-301, 301, -86400])
def test_a_timestamp_outside_the_replay_window_is_403(client, scan, offset):
    response = post(client, *sim.request(scan, timestamp=int(time.time()) + offset))
    assert response.status_code == 403 and b"stale_timestamp" in response.body


def test_inside_the_window_and_with_the_window_off_it_is_accepted(client, settings_env):
    openid = new_id("o")
    assert (
        post(
            client, *sim.request(sim.event(openid, "subscribe"), timestamp=int(time.time()) - 290)
        ).status_code
        == 200
    )
    settings_env(WECHAT_REPLAY_WINDOW_S="0")
    other = new_id("o")
    assert post(client, *sim.request(sim.event(other, "subscribe"), timestamp=1409735669)).status_code == 200
    assert get_customer(other).subscribed


DTD_BODIES = [
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x "boom">]><xml><ToUserName>&x;</ToUserName></xml>',
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><xml><a>&lol2;</a></xml>',
    '<!DOCTYPE xml SYSTEM "http://attacker.example/x.dtd"><xml/>',
    '<!DOCTYPE xml [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><xml/>',
    '<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>',
]


@pytest.mark.parametrize("body", DTD_BODIES)
@pytest.mark.parametrize("mode", ["plain", "aes"])
def test_xml_with_a_dtd_or_entity_is_400(client, scan, body, mode):
    # In safe mode the declaration sits inside the (validly signed) ciphertext
    response = post(client, *sim.request(body, mode))
    assert response.status_code == 400 and b"invalid_xml" in response.body


def test_a_dtd_wrapped_around_a_real_event_is_400(client, scan):
    body = '<!DOCTYPE xml [<!ENTITY x "y">]>' + scan
    assert post(client, *sim.request(body)).status_code == 400


@pytest.mark.parametrize(
    "body", ["", "not xml", "<xml>", "<xml><a></b></xml>", "<other/>", "<xml/><xml/>", "\x00"]
)
def test_malformed_xml_is_400(client, scan, body):
    assert post(client, *sim.request(body)).status_code == 400


def test_xml_without_the_required_fields_is_400(client, scan):
    assert post(client, *sim.request("<xml><MsgType>text</MsgType></xml>")).status_code == 400


def test_a_body_over_64_kib_is_400(client, scan):
    padded = scan.replace("</xml>", f"<Pad>{cdata('x' * 65536)}</Pad></xml>")
    response = post(client, *sim.request(padded))
    assert response.status_code == 400 and b"body_too_large" in response.body


def test_a_body_of_exactly_64_kib_is_accepted(client):
    openid = new_id("o")
    xml = sim.event(openid, "subscribe")
    filler = 65536 - len(xml.encode()) - len("<Pad></Pad>")
    body = xml.replace("</xml>", f"<Pad>{'x' * filler}</Pad></xml>")
    assert len(body.encode()) == 65536
    assert post(client, *sim.request(body)).status_code == 200
    assert get_customer(openid).subscribed


def test_an_aes_payload_for_another_appid_is_403(client, scan):
    response = post(client, *sim.request(scan, "aes", app_id="wx_not_our_account"))
    assert response.status_code == 403 and b"wrong_appid" in response.body


def test_a_ciphertext_that_does_not_decrypt_is_400(client, scan):
    path, body = sim.request(scan, "aes")
    # Re-sign a garbage ciphertext with the right token: only the key is missing
    from urllib.parse import parse_qs, urlencode

    from infra.local.wechat_sim import sha1_sign

    query = {k: v[0] for k, v in parse_qs(path.split("?", 1)[1]).items()}
    garbage = "QUJD"  # base64 of 3 bytes: not a whole AES block
    query["msg_signature"] = sha1_sign(sim.token, query["timestamp"], query["nonce"], garbage)
    body = f"<xml><Encrypt>{cdata(garbage)}</Encrypt></xml>".encode()
    assert post(client, "/wechat/callback?" + urlencode(query), body).status_code == 400


def test_in_safe_mode_a_plaintext_callback_is_403(client, scan, settings_env):
    # Given the account is in safe mode: a signature/timestamp/nonce triple copied from any
    # logged callback URL must not let anyone forge a plaintext event
    settings_env(WECHAT_MESSAGE_MODE="safe")
    response = post(client, *sim.request(scan, "plain"))
    assert response.status_code == 403
    assert response.json_body["error"] == "plaintext_refused"


@pytest.mark.parametrize("mode", ["aes", "compat"])
def test_in_safe_mode_an_encrypted_callback_is_handled(client, settings_env, mode):
    settings_env(WECHAT_MESSAGE_MODE="safe")
    openid = new_id("o")
    assert post(client, *sim.request(sim.event(openid, "subscribe"), mode)).status_code == 200
    assert get_customer(openid).subscribed


def test_server_verification_works_in_safe_mode(client, settings_env):
    settings_env(WECHAT_MESSAGE_MODE="safe")
    ts, nonce = str(int(time.time())), "n1"
    query = f"signature={sim_sign(ts, nonce)}&timestamp={ts}&nonce={nonce}&echostr=hello"
    response = client.http.get(f"/wechat/callback?{query}")
    assert (response.status_code, response.body) == (200, b"hello")


def test_an_unknown_message_mode_is_refused_when_settings_load(settings_env):
    from functions.core.config import get_settings

    settings_env(WECHAT_MESSAGE_MODE="encrypted")
    with pytest.raises(ValueError, match="WECHAT_MESSAGE_MODE"):
        get_settings()


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [("²³", None), ("１７００００００００", None), ("9" * 5000, None), ("1700000000", "ä" * 40)],
)
def test_odd_characters_in_the_query_are_refused_not_a_500(client, scan, timestamp, signature):
    query = {"signature": signature or sim_sign(timestamp, "n"), "timestamp": timestamp, "nonce": "n"}
    response = client.http.post(
        "/wechat/callback?" + urlencode(query),
        headers={"Content-Type": "text/xml"},
        body=scan.encode(),
    )
    assert response.status_code in (400, 403), response.body
    assert set(response.json_body) == {"error", "message"}


def sim_sign(timestamp: str, nonce: str) -> str:
    return sha1_sign(sim.token, timestamp, nonce)
