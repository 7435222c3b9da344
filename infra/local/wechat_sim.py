"""Speaks as WeChat's servers: builds signed (and AES-encrypted) callback requests and
opens our replies. Written from the protocol, independently of the code under test."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import time
from dataclasses import dataclass
from urllib.parse import urlencode
from xml.etree import ElementTree

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from functions.core.config import SANDBOX_AES_KEY, SANDBOX_APP_ID, SANDBOX_TOKEN


def sha1_sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@dataclass
class WeChat:
    token: str = SANDBOX_TOKEN
    aes_key: str = SANDBOX_AES_KEY
    app_id: str = SANDBOX_APP_ID
    account: str = "gh_0123456789ab"

    # -- messages ------------------------------------------------------------------------

    def event(
        self, openid: str, event: str, key: str | None = None, create_time: int | None = None, **extra: str
    ) -> str:
        parts = [
            f"<ToUserName>{cdata(self.account)}</ToUserName>",
            f"<FromUserName>{cdata(openid)}</FromUserName>",
            f"<CreateTime>{create_time or int(time.time())}</CreateTime>",
            "<MsgType><![CDATA[event]]></MsgType>",
            f"<Event>{cdata(event)}</Event>",
        ]
        if key is not None:
            parts.append(f"<EventKey>{cdata(key)}</EventKey>")
        parts += [f"<{k}>{cdata(v) if not v.isdigit() else v}</{k}>" for k, v in extra.items()]
        return "<xml>" + "".join(parts) + "</xml>"

    def text(
        self, openid: str, content: str, msg_id: str | None = None, create_time: int | None = None
    ) -> str:
        return (
            f"<xml><ToUserName>{cdata(self.account)}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{cdata(content)}</Content><MsgId>{msg_id or str(int.from_bytes(os.urandom(7), 'big'))}</MsgId></xml>"
        )

    # -- transport -----------------------------------------------------------------------

    def _key(self) -> bytes:
        return base64.b64decode(self.aes_key + "=")

    def seal(self, xml: str, app_id: str | None = None) -> str:
        key = self._key()
        body = xml.encode()
        plain = os.urandom(16) + struct.pack(">I", len(body)) + body + (app_id or self.app_id).encode()
        pad = 32 - len(plain) % 32
        plain += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def unseal(self, encrypt: str) -> tuple[str, str]:
        key = self._key()
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        plain = decryptor.update(base64.b64decode(encrypt)) + decryptor.finalize()
        plain = plain[: -plain[-1]]
        (length,) = struct.unpack(">I", plain[16:20])
        return plain[20 : 20 + length].decode(), plain[20 + length :].decode()

    def request(
        self,
        xml: str,
        mode: str = "plain",
        *,
        timestamp: int | None = None,
        nonce: str = "1320562132",
        openid: str = "",
        app_id: str | None = None,
        tamper: str | None = None,
    ) -> tuple[str, bytes]:
        """(path with query, body) of a POST WeChat would send in `mode`: plain | compat | aes."""
        ts = str(timestamp if timestamp is not None else int(time.time()))
        query = {
            "signature": sha1_sign(self.token, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": openid,
        }
        body = xml
        if mode in ("aes", "compat"):
            encrypt = self.seal(xml, app_id)
            inner = f"<Encrypt>{cdata(encrypt)}</Encrypt>"
            body = (
                xml.replace("</xml>", inner + "</xml>")
                if mode == "compat"
                else (f"<xml><ToUserName>{cdata(self.account)}</ToUserName>{inner}</xml>")
            )
            query.update(encrypt_type="aes", msg_signature=sha1_sign(self.token, ts, nonce, encrypt))
        if tamper:
            query[tamper] = "0" * 40
        return "/wechat/callback?" + urlencode(query), body.encode()

    def open_reply(self, body: str, mode: str = "plain") -> dict[str, str] | str:
        """The reply's fields (verifying msg_signature in safe mode), or "success"."""
        if body == "success":
            return body
        fields = {child.tag: (child.text or "") for child in ElementTree.fromstring(body)}  # noqa: S314 - our own reply
        if mode in ("aes", "compat"):
            expected = sha1_sign(self.token, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"])
            assert fields["MsgSignature"] == expected, "reply msg_signature does not verify"
            xml, app_id = self.unseal(fields["Encrypt"])
            assert app_id == self.app_id
            fields = {child.tag: (child.text or "") for child in ElementTree.fromstring(xml)}  # noqa: S314
        return fields


WECHAT_RETRIES = 3  # WeChat delivers a message again, up to 3 times, when the answer fails


def deliver(
    client, sim: WeChat, xml: str, mode: str = "plain", retries: int = WECHAT_RETRIES, **kwargs
) -> tuple[int, dict[str, str] | str]:  # type: ignore[no-untyped-def]
    """POST `xml` to the app as WeChat would, and again on a 5xx as WeChat retries (at once,
    not after WeChat's 5 s); (status, opened reply) of the last delivery."""
    path, body = sim.request(xml, mode, **kwargs)
    response = client.http.post(path, headers={"Content-Type": "text/xml"}, body=body)
    for _ in range(retries):
        if response.status_code < 500:
            break
        response = client.http.post(path, headers={"Content-Type": "text/xml"}, body=body)
    text = response.body.decode() if isinstance(response.body, bytes) else response.body
    if response.status_code != 200:
        return response.status_code, text
    return 200, sim.open_reply(text, mode)


PROG = "python -m infra.local.wechat_sim"


def main(argv: list[str] | None = None) -> int:
    """Send one signed callback to the running `make run` (found by PORT), as WeChat would,
    and print the reply.

    python -m infra.local.wechat_sim subscribe o-demo --scene <scene>
    python -m infra.local.wechat_sim text o-demo 物流 --mode aes
    python -m infra.local.wechat_sim click o-demo MY_BOOKINGS
    """
    import json
    import sys
    import urllib.error
    import urllib.request

    from functions.core.config import load_settings
    from infra.local.cli import OneLineParser, refuse
    from infra.local.stack import LocalError, use_running_stack

    parser = OneLineParser(prog=PROG, description="Send one callback to the running stack as WeChat would.")
    parser.add_argument("what", choices=["subscribe", "scan", "unsubscribe", "click", "text"])
    parser.add_argument("openid")
    parser.add_argument("value", nargs="?", help="scene for scan, menu key for click, content for text")
    parser.add_argument("--scene", help="scene of a subscribe through a QR code")
    parser.add_argument("--mode", choices=["plain", "compat", "aes"], default="plain")
    parser.add_argument("--url", help="the API's base URL (default: the stack `make run` serves on PORT)")
    args = parser.parse_args(argv)
    needs = {
        "text": ("the message", "物流"),
        "scan": ("the scene", "<scene>"),
        "click": ("the key", "MY_BOOKINGS"),
    }
    if args.what in needs and not args.value:
        label, example = needs[args.what]
        return refuse(
            PROG, f"{args.what} needs {label} after the openid: {PROG} {args.what} {args.openid} {example}"
        )
    try:
        stack = {} if args.url else use_running_stack()
        url = args.url or stack["api"]
    except LocalError as error:
        return refuse(PROG, error)
    settings = load_settings()  # the running stack's account, as it recorded it
    sim = WeChat(settings.wechat_token, settings.wechat_encoding_aes_key, settings.wechat_app_id)
    if args.what == "text":
        xml = sim.text(args.openid, args.value)
    elif args.what == "subscribe":
        xml = sim.event(args.openid, "subscribe", f"qrscene_{args.scene}" if args.scene else None)
    else:
        event = {"scan": "SCAN", "unsubscribe": "unsubscribe", "click": "CLICK"}[args.what]
        xml = sim.event(args.openid, event, args.value)
    path, body = sim.request(xml, args.mode, openid=args.openid)
    request = urllib.request.Request(url + path, data=body, headers={"Content-Type": "text/xml"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            reply = response.read().decode()
    except urllib.error.HTTPError as error:
        return refuse(PROG, f"{url} answered {error.code}: {error.read().decode(errors='replace')[:200]}")
    except OSError as error:
        return refuse(PROG, f"cannot reach {url} ({getattr(error, 'reason', error)}): is `make run` running?")
    if args.what == "text" and stack.get("sandbox"):
        # WeChat knows the follower just wrote: customer-service messages to them are allowed
        # for 48 hours (the sandbox answers 45015 otherwise).
        tell = urllib.request.Request(
            stack["sandbox"] + "/sandbox/interactions",
            data=json.dumps({"openid": args.openid}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            urllib.request.urlopen(tell, timeout=5).read()
        except OSError as error:
            print(f"{PROG}: the sandbox was not told that {args.openid} wrote ({error})", file=sys.stderr)
    print(json.dumps(sim.open_reply(reply, args.mode), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
