"""Property tests on the XML and signature edges."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.callback import crypto
from functions.callback.message import Message
from functions.callback.xmlmsg import XmlRefused, parse, text_reply
from infra.local.wechat_sim import WeChat, sha1_sign

sim = WeChat()
# Characters XML 1.0 can carry (no control chars other than tab/newline/CR, no surrogates).
xml_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff", min_codepoint=0x20)
    | st.sampled_from("\t\n]]>&<'\""),
    max_size=200,
)


@given(xml_text, xml_text.filter(bool))
def test_any_text_survives_a_reply_round_trip(content, openid):
    fields = parse(text_reply(openid, "gh_x", content, 1))
    assert fields["Content"] == content.replace("\r", "\n") or "\r" in content
    assert fields["ToUserName"] == openid.replace("\r", "\n") or "\r" in openid


@given(xml_text)
def test_incoming_text_is_read_back_exactly(content):
    message = Message.from_fields(parse(sim.text("o1", content, msg_id="7", create_time=5)))
    if "\r" not in content:
        assert message.content == content.strip()


@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_are_refused_never_crash(data):
    try:
        fields = parse(data)
    except XmlRefused:
        return
    assert isinstance(fields, dict)


@given(st.text(string.printable, max_size=60), st.sampled_from(["<!DOCTYPE", "<!ENTITY"]))
def test_a_declaration_anywhere_before_the_root_is_refused(prefix, decl):
    body = (
        f'<?xml version="1.0"?>{decl} xml [<!ENTITY a "{prefix.replace(chr(34), "")}">]><xml><a>1</a></xml>'
    )
    try:
        parse(body)
    except XmlRefused:
        return
    raise AssertionError("a declaration was accepted")


tokens = st.text(string.ascii_letters + string.digits, min_size=3, max_size=32)
digits = st.text(string.digits, min_size=1, max_size=12)


@given(tokens, digits, digits)
def test_only_the_exact_signature_is_accepted(token, timestamp, nonce):
    good = sha1_sign(token, timestamp, nonce)
    crypto.check_signature((timestamp, nonce), token, good)
    for bad in (good.upper(), good[:-1], good + "0", "", None, sha1_sign(token + "x", timestamp, nonce)):
        if bad == good:
            continue
        try:
            crypto.check_signature((timestamp, nonce), token, bad)
        except crypto.SignatureError:
            continue
        raise AssertionError(f"accepted {bad!r}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(xml_text.filter(lambda t: "\r" not in t))
def test_any_message_round_trips_through_our_encryption(content):
    xml = sim.text("o1", content, msg_id="1", create_time=1)
    encrypted = crypto.encrypt(xml, "nonce", "1", sim.token, sim.aes_key, sim.app_id)
    opened = sim.open_reply(encrypted, "aes")
    assert opened["Content"] == content
    sealed = sim.seal(xml)
    assert crypto.decrypt(sealed, sim.token, sim.aes_key, sim.app_id) == xml
