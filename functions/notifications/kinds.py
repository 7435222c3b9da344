"""Every kind of outbound message, its template setting and whether it is a reminder.

Reminder kinds need consent and obey the frequency caps and quiet hours; the others are
transactional service notices and ignore both.
"""

from __future__ import annotations

from dataclasses import dataclass

from functions.core.config import Settings


@dataclass(frozen=True)
class Kind:
    template_setting: str  # attribute of Settings holding the template id
    reminder: bool = False
    channel: str = "template"  # how it goes out: functions/notifications/channels.py

    def template_id(self, settings: Settings) -> str:
        return getattr(settings, self.template_setting)


KINDS: dict[str, Kind] = {
    "booking_confirmed": Kind("template_booking"),
    "booking_rescheduled": Kind("template_booking"),
    "booking_cancelled": Kind("template_booking"),
    "booking_reminder": Kind("template_booking"),
    "shipment_status": Kind("template_shipment"),
    "coupon_issued": Kind("template_coupon"),
    "repurchase_reminder": Kind("template_reminder", reminder=True),
    "warranty_registered": Kind("template_warranty"),
    "service_scheduled": Kind("template_booking"),
    "service_cancelled": Kind("template_booking"),
    "service_reminder": Kind("template_booking"),
    "inbox_reply": Kind("", channel="custom"),  # a store's answer in the inbox: no template
    "order_receipt": Kind("template_receipt"),
    "referral_rewarded": Kind("template_referral"),
    # One chunk of a broadcast (functions/broadcasts): no template, sent by message/mass/send.
    "broadcast": Kind("", channel="mass"),
}
