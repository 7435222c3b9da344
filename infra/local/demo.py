"""`make demo`: a customer's whole journey against the running `make run`, one step at a time.

Each step speaks to the stack as its real caller does: ops through the admin API, WeChat's
servers through a signed and encrypted callback, the customer's H5 page with a session from
the OAuth sign-in, Kuaidi100 with its signed push, a store's POS terminal with its HMAC, ops
again through `make invoke`. Dates are relative to today (business time), and every id is new,
so the demo runs again and again on the same stack. Each step checks that it got what it
should; the first that does not stops the demo, naming the step, with a non-zero exit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from infra.local.cli import OneLineParser, refuse
from infra.local.http_log import loggable_path
from infra.local.stack import ROOT, LocalError, use_running_stack, wait_for

PROG = "make demo"
WIDTH = 160  # longest response shown; the rest is elided


class StepFailed(Exception):
    pass


def shown(value: Any) -> str:
    text = " ".join(value.split()) if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"


def pick(*keys: str) -> Callable[[Any], Any]:
    """Show only these fields of an answer."""
    return lambda answer: {k: answer[k] for k in keys if k in answer}


def slot_lines(answer: Any) -> list[str]:
    """A slot list as `<date> <window>: <remaining> left`."""
    listed = answer["slots"] if isinstance(answer, dict) else answer
    return [f"{slot['date']} {slot['window']}: {slot['remaining']} left" for slot in listed]


class Journey:
    """The journey's state, its HTTP calls and its steps (in STEPS order)."""

    def __init__(self, record: dict[str, Any]):
        from functions.core.config import load_settings

        self.api, self.sandbox = record["api"], record["sandbox"]
        self.settings = load_settings()  # the running stack's, as it recorded them
        now = datetime.now(ZoneInfo(self.settings.tz_business))
        self.now = now.replace(microsecond=0)
        self.today = now.date()
        self.tomorrow, self.day_after = self.today + timedelta(days=1), self.today + timedelta(days=2)
        tag = secrets.token_hex(3)
        self.store_id, self.openid = f"sh-jingan-{tag}", f"o-demo-{tag}"
        self.order_id, self.area = f"SO-{tag}", f"shanghai-jingan-{tag}"
        self.tracking_no, self.campaign_id = f"SF{int(time.time() * 1000) % 10**12:012d}", f"welcome-{tag}"
        self.admin = {"X-Api-Key": self.settings.admin_api_key}
        self.welcome = "欢迎光临静安店！扫码即可预约送货安装。"
        self.customer: dict[str, str] = {}
        self.pos_secret = self.scene = self.code = ""

    # -- HTTP ----------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        expect: int,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        show: Callable[[Any], Any] | None = None,
    ) -> Any:
        """Send one request, show it and (what `show` picks of) its answer; StepFailed unless
        the status is `expect`."""
        headers = dict(headers or {})
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body, ensure_ascii=False).encode()
            headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(self.api + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        text = raw.decode("utf-8", "replace")
        try:
            answer = json.loads(text)
        except ValueError:
            answer = text
        print(f"    {method} {loggable_path(path)}  →  {status}")
        if status != expect:
            raise StepFailed(
                f"{method} {loggable_path(path)} answered {status}, not {expect}: {shown(answer)}"
            )
        print(f"    {shown(show(answer) if show else answer)}")
        return answer

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            raise StepFailed(what)

    # -- the steps -----------------------------------------------------------------------

    def store(self) -> None:
        """ops open a store; its creation answers the POS terminal's secret, once"""
        store = {"name": "上海静安店", "welcome": self.welcome}
        path = f"/admin/stores/{self.store_id}"
        answer = self.call("PUT", path, 201, body=store, headers=self.admin, show=pick("name", "pos_secret"))
        self.pos_secret = answer.get("pos_secret", "")
        self.check(bool(self.pos_secret), "the store's creation did not answer its pos_secret")

    def qr_code(self) -> None:
        """ops create a permanent QR code for a salesperson of the store"""
        body = {"store_id": self.store_id, "staff_id": "zhang-wei", "permanent": True}
        show = pick("scene", "image_url")
        answer = self.call("POST", "/admin/qrcodes", 201, body=body, headers=self.admin, show=show)
        self.scene = answer["scene"]

    def follow(self) -> None:
        """the customer scans it and follows; WeChat calls back, signed and encrypted (safe mode)"""
        from infra.local.wechat_sim import WeChat

        s = self.settings
        wechat = WeChat(s.wechat_token, s.wechat_encoding_aes_key, s.wechat_app_id)
        xml = wechat.event(self.openid, "subscribe", f"qrscene_{self.scene}")
        path, body = wechat.request(xml, "aes", openid=self.openid)
        encrypted = lambda _: "<xml><Encrypt>…</Encrypt><MsgSignature>…</MsgSignature>…</xml>"  # noqa: E731
        answer = self.call("POST", path, 200, body=body, headers={"Content-Type": "text/xml"}, show=encrypted)
        reply = wechat.open_reply(answer, "aes")
        print(f"    decrypted: {shown(pick('MsgType', 'Content')(reply))}")
        self.check(isinstance(reply, dict) and reply.get("Content") == self.welcome, "no store welcome reply")
        path = f"/admin/stores/{self.store_id}/stats"
        days = self.call("GET", path, 200, headers=self.admin, show=lambda answer: answer["days"][-1])["days"]
        counted = (sum(day["scans"] for day in days), sum(day["new_followers"] for day in days))
        self.check(counted == (1, 1), f"the store counted {counted} scans and new followers, not (1, 1)")

    def order(self) -> None:
        """ops record the customer's purchase and its parcel"""
        order = {
            "order_id": self.order_id,
            "openid": self.openid,
            "store_id": self.store_id,
            "items": [{"sku": "AC-9000", "qty": 1, "price_cents": 399900}],
            "total_cents": 399900,
            "reminder_consent": True,
            "shipment": {"carrier": "shunfeng", "tracking_no": self.tracking_no},
            "area": self.area,
        }
        show = pick("order_id", "total_cents", "shipment")
        self.call("POST", "/admin/orders", 201, body=order, headers=self.admin, show=show)

    def slots(self) -> None:
        """ops open delivery and installation windows in the customer's area"""
        self.call("PUT", f"/admin/areas/{self.area}", 200, body={"name": "静安区"}, headers=self.admin)
        windows = [{"window": "09:00-12:00", "capacity": 2}, {"window": "13:00-17:00", "capacity": 3}]
        for day in (self.tomorrow, self.day_after):
            body = {"area": self.area, "date": day.isoformat(), "windows": windows}
            self.call("PUT", "/admin/slots", 200, body=body, headers=self.admin, show=slot_lines)

    def sign_in(self) -> None:
        """the customer opens the H5 page; WeChat's OAuth code is exchanged for a session"""
        answer = self.call("GET", f"/auth/wechat?{urlencode({'code': f'openid:{self.openid}'})}", 200)
        self.check(answer.get("openid") == self.openid, "signed in as someone else")
        self.customer = {"Authorization": f"Bearer {answer['token']}"}

    def book(self) -> None:
        """the customer books the day after tomorrow (tomorrow's windows close at BOOKING_CUTOFF)"""
        query = urlencode({"area": self.area, "from": self.tomorrow, "to": self.day_after})
        listed = self.call("GET", f"/slots?{query}", 200, headers=self.customer, show=slot_lines)
        open_slots = [s for s in listed if s["date"] == self.day_after.isoformat() and s["remaining"] > 0]
        self.check(bool(open_slots), f"no open slot on {self.day_after}")
        booking = {
            "slot_id": open_slots[0]["slot_id"],
            "order_id": self.order_id,
            "address": "上海市静安区南京西路1号",
            "phone": "13800000000",
        }
        answer = self.call("POST", "/bookings", 201, body=booking, headers=self.customer)
        self.check(answer.get("status") == "confirmed", "the booking is not confirmed")

    def kuaidi100(self) -> None:
        """Kuaidi100 pushes the parcel's tracking: out for delivery (sign = MD5(param + salt))"""
        stamp = self.now.strftime("%Y-%m-%d %H:%M:%S")
        picked = (self.now - timedelta(hours=20)).strftime("%Y-%m-%d %H:%M:%S")
        history = [
            {"context": "【上海市】快递员正在派件", "time": stamp, "ftime": stamp},
            {"context": "【深圳市】已揽收", "time": picked, "ftime": picked},
        ]
        last = {"nu": self.tracking_no, "com": "shunfeng", "state": "5", "ischeck": "0", "data": history}
        param = json.dumps({"status": "polling", "message": "", "lastResult": last}, ensure_ascii=False)
        sign = hashlib.md5((param + self.settings.kuaidi100_salt).encode()).hexdigest()  # noqa: S324
        form = urlencode({"param": param, "sign": sign}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        answer = self.call("POST", "/logistics/kuaidi100", 200, body=form, headers=headers)
        self.check(answer.get("result") is True, "Kuaidi100's push was not accepted")

    def campaign(self) -> None:
        """ops start a coupon campaign: 20 yuan off 100, for a month from today"""
        campaign = {
            "title": "满100减20",
            "discount_cents": 2000,
            "min_spend_cents": 10000,
            "valid_from": self.today.isoformat(),
            "valid_to": (self.today + timedelta(days=30)).isoformat(),
            "total_limit": 1000,
            "per_customer_limit": 1,
        }
        path = f"/admin/coupon-campaigns/{self.campaign_id}"
        show = pick("title", "discount_cents", "min_spend_cents", "valid_from", "valid_to")
        self.call("PUT", path, 201, body=campaign, headers=self.admin, show=show)

    def issue(self) -> None:
        """ops issue a coupon of it to the customer"""
        path = f"/admin/coupon-campaigns/{self.campaign_id}/issue"
        show = lambda answer: answer["results"]  # noqa: E731
        answer = self.call("POST", path, 200, body={"openids": [self.openid]}, headers=self.admin, show=show)
        [result] = answer["results"]
        self.check(result.get("status") == "issued", f"the coupon was not issued: {result}")
        self.code = result["code"]

    def pos_redemption(self) -> None:
        """the store's POS terminal redeems it on a 150-yuan sale (HMAC with its pos_secret)"""
        body = json.dumps(
            {"code": self.code, "order_id": f"POS-{self.order_id}", "amount_cents": 15000}
        ).encode()
        stamp = str(int(time.time()))
        signature = hmac.new(
            self.pos_secret.encode(), stamp.encode() + b"\n" + body, hashlib.sha256
        ).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Store-Id": self.store_id,
            "X-Timestamp": stamp,
            "X-Signature": signature,
        }
        answer = self.call("POST", "/pos/redemptions", 200, body=body, headers=headers)
        self.check((answer.get("status"), answer.get("discount_cents")) == ("redeemed", 2000), "not redeemed")

    def reminder_job(self) -> None:
        """ops run tomorrow's day-before booking reminders now, as the daily schedule would"""
        event = {"date": self.tomorrow.isoformat()}
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "event.json")
            with open(path, "w") as file:
                json.dump(event, file)
            print(f"    make invoke FN=booking_reminders EVENT={path}   ({json.dumps(event)})")
            done = subprocess.run(
                [sys.executable, "-m", "infra.local.invoke", "booking_reminders", "--event", path],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=300,
            )
        self.check(done.returncode == 0, f"make invoke failed: {done.stderr.strip()[-300:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"    {shown(result)}")
        self.check(result.get("reminded", 0) >= 1, "no booking was reminded")

    def messages(self) -> None:
        """the template messages WeChat showed them (the sandbox keeps every one sent)"""
        from functions.notifications import templates

        ids = {name: t.template_id(self.settings) for name, t in templates.load().templates.items()}
        expected = Counter({ids["booking"]: 2, ids["shipment"]: 1, ids["coupon"]: 1})
        names = {ids["booking"]: "booking", ids["shipment"]: "parcel", ids["coupon"]: "coupon"}

        def received() -> list[dict[str, Any]]:
            query = urlencode({"touser": self.openid})
            url = f"{self.sandbox}/sandbox/messages?{query}"
            with urllib.request.urlopen(url, timeout=10) as response:
                messages = json.loads(response.read())["messages"]
            got = Counter(m.get("template_id") for m in messages)
            return messages if all(got[t] >= n for t, n in expected.items()) else []

        messages = wait_for(received, timeout=120, every=0.5)
        self.check(bool(messages), f"the customer did not receive {dict(expected)} within 120 s")
        for message in sorted(messages, key=lambda m: m.get("msgid", 0)):
            values = " · ".join(str(field.get("value")) for field in message.get("data", {}).values())
            print(f"    {names.get(message.get('template_id'), message.get('template_id'))}: {values}")


STEPS: list[tuple[str, Callable[[Journey], None]]] = [
    ("store", Journey.store),
    ("QR code", Journey.qr_code),
    ("follow through the QR code", Journey.follow),
    ("order with shipment", Journey.order),
    ("slots for tomorrow and the day after", Journey.slots),
    ("sign-in", Journey.sign_in),
    ("book", Journey.book),
    ("Kuaidi100 push", Journey.kuaidi100),
    ("campaign", Journey.campaign),
    ("issue", Journey.issue),
    ("POS redemption", Journey.pos_redemption),
    ("reminder job", Journey.reminder_job),
    ("the messages the customer received", Journey.messages),
]


def main(argv: list[str] | None = None) -> int:
    OneLineParser(prog=PROG, description=__doc__.splitlines()[0]).parse_args(argv)
    try:
        record = use_running_stack()
    except LocalError as error:
        return refuse(PROG, error)
    if not record.get("sandbox"):
        return refuse(
            PROG, "the demo needs the WeChat sandbox of `make run`: start it without WECHAT_API_BASE"
        )
    journey = Journey(record)
    print(
        f"A customer's journey against {journey.api}, today {journey.today} ({journey.settings.tz_business})"
    )
    for number, (title, run) in enumerate(STEPS, 1):
        print(f"\n{number:2}. {title}: {run.__doc__}", flush=True)
        try:
            run(journey)
        except Exception as error:  # any failure ends the demo at this step, named
            sys.stdout.flush()
            what = error if isinstance(error, StepFailed) else f"{type(error).__name__}: {error}"
            print(f"{PROG}: step {number} ({title}) failed: {what}", file=sys.stderr)
            return 1
    pages = f"{journey.api}/h5/bookings"
    print(f"\nThe customer's pages: {pages} (sign in as {journey.openid} on the sandbox's page)")
    print(
        f"The ops console: {journey.api}/console/ (its first account: make operator NAME=boss PASSWORD='a long password')"
    )
    print(f"The whole journey works: {len(STEPS)} steps.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
