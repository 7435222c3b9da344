"""Every kind of outbound message: how it goes out, whether it is a reminder, what it says.

- `channel`: `template` kinds go out as the WeChat template that infra/templates.yaml gives
  them, as a template message or a subscribe notification (the file's `channel` decides, see
  functions/notifications/templates.py); other channels (functions/notifications/channels.py)
  build their own body and need no template.
- `reminder`: reminder kinds need consent and obey the frequency caps and quiet hours; the
  others are transactional service notices and ignore both.
- `values`: the named values the kind's producer records (`notify_op(..., fields=...)`); the
  templates file may show any of them and nothing else (checked when it loads). Empty: not
  checked.
- `template_setting`: the setting (TEMPLATE_*) that, when set, overrides the template's id;
  kept here for kinds added before the file named it (the file's `setting` wins).

Adding a kind: a `Kind(...)` line here, and for a templated kind its template and its line
under `kinds:` in infra/templates.yaml (docs/notifications.md, "Adding a kind").
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.core.config import Settings

# Channels whose kinds need a template in infra/templates.yaml.
TEMPLATED_CHANNELS = ("template", "subscribe")


@dataclass(frozen=True)
class Kind:
    template_setting: str = ""  # attribute of Settings holding the template id, if any
    reminder: bool = False
    channel: str = "template"  # how it goes out: functions/notifications/channels.py
    values: tuple[str, ...] = ()

    def template_id(self, settings: Settings) -> str:
        return getattr(settings, self.template_setting, "") if self.template_setting else ""


BOOKING_VALUES = ("status", "time", "place", "reference")

KINDS: dict[str, Kind] = {
    "booking_confirmed": Kind("template_booking", values=BOOKING_VALUES),
    "booking_rescheduled": Kind("template_booking", values=BOOKING_VALUES),
    "booking_cancelled": Kind("template_booking", values=BOOKING_VALUES),
    "booking_reminder": Kind("template_booking", values=BOOKING_VALUES),
    "shipment_status": Kind("template_shipment", values=("tracking_no", "status", "detail", "time")),
    "coupon_issued": Kind("template_coupon", values=("title", "benefit", "valid_to", "code")),
    "repurchase_reminder": Kind("template_reminder", reminder=True, values=("product", "purchased_on")),
    "warranty_registered": Kind("template_warranty", values=("product", "serial", "warranty_until")),
    "service_scheduled": Kind("template_booking", values=BOOKING_VALUES),
    "service_cancelled": Kind("template_booking", values=BOOKING_VALUES),
    "service_reminder": Kind("template_booking", values=BOOKING_VALUES),
    "inbox_reply": Kind(channel="custom", values=("text",)),  # a store's answer in the inbox: no template
    "order_receipt": Kind("template_receipt", values=("store", "amount", "points", "balance")),
    "referral_rewarded": Kind("template_referral", values=("reason", "points", "balance")),
    # One chunk of a broadcast (functions/broadcasts): no template, sent by message/mass/send.
    "broadcast": Kind(channel="mass", values=("broadcast_id", "chunk", "text", "media_id")),
}
