"""Templates as configuration (infra/templates.yaml): each WeChat type's rule, the checks a
configuration must pass, and the sandbox refusing what WeChat refuses (47003)."""

from __future__ import annotations

import copy
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.notifications import templates
from functions.notifications.domain import notify
from functions.notifications.kinds import KINDS, TEMPLATED_CHANNELS
from infra.local.sandbox import data_errcode
from tests.notifications.conftest import VALUES, customer, drain_notifications, record, sent_to

HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)


# -- each type's rule (hypothesis) ------------------------------------------------------------


@given(st.text(max_size=80))
def test_a_thing_is_at_most_20_characters_on_one_line_or_refused_when_empty(value):
    try:
        shown = templates.render_value("thing", value)
    except ValueError:
        assert not value.split()  # only an empty (or all-space) value is refused
        return
    assert 0 < len(shown) <= 20 and "\n" not in shown and "\r" not in shown
    assert data_errcode({"thing1": {"value": shown}}) == 0


@given(st.text(max_size=20).filter(lambda s: s.split() and s == " ".join(s.split())))
def test_a_short_clean_thing_is_unchanged(value):
    assert templates.render_value("thing", value) == value


def test_a_long_thing_is_cut_at_a_word_with_an_ellipsis():
    assert templates.render_value("thing", "A very long product name that goes on") == "A very long product…"
    assert templates.render_value("thing", "Stainless steel water filter cartridge") == "Stainless steel…"
    assert (
        templates.render_value("thing", "净水器滤芯（高级款）十二个月装，含安装服务")
        == "净水器滤芯（高级款）十二个月装，含安装…"
    )


@given(st.datetimes(min_value=__import__("datetime").datetime(2000, 1, 1)), st.booleans())
def test_times_are_written_the_way_wechat_reads_them(moment, with_clock):
    value = moment.strftime("%Y-%m-%d %H:%M") if with_clock else moment.date().isoformat()
    shown = templates.render_value("time", value)
    expected = f"{moment.year}年{moment.month}月{moment.day}日" + (f" {moment:%H:%M}" if with_clock else "")
    assert shown == expected
    assert data_errcode({"time2": {"value": shown}}) == 0


def test_an_instant_is_shown_in_business_time_and_a_range_with_a_tilde():
    assert templates.render_value("time", "2024-05-01T01:30:00.000000Z") == "2024年5月1日 09:30"
    assert templates.render_value("time", "09:00~12:00") == "09:00 ~ 12:00"
    for bad in ("tomorrow", "2024-13-01", "25:00", "无", "", "a~b~c"):
        with pytest.raises(ValueError):
            templates.render_value("time", bad)


@given(st.text(max_size=50))
def test_a_character_string_is_32_ascii_characters_or_refused(value):
    try:
        shown = templates.render_value("character_string", value)
    except ValueError:
        compact = "".join(value.split())
        assert not compact or len(compact) > 32 or not re.fullmatch(r"[\x21-\x7e]+", compact)
        return
    assert re.fullmatch(r"[\x21-\x7e]{1,32}", shown)
    assert data_errcode({"character_string4": {"value": shown}}) == 0


@given(st.text(HAN, min_size=1, max_size=5))
def test_a_phrase_of_up_to_five_chinese_characters_passes(value):
    assert templates.render_value("phrase", value) == value
    assert data_errcode({"phrase3": {"value": value}}) == 0


@given(st.text(max_size=8).filter(lambda s: not re.fullmatch(r"\s*[\u4e00-\u9fff]{1,5}\s*", s)))
def test_anything_else_is_not_a_phrase(value):
    with pytest.raises(ValueError):
        templates.render_value("phrase", "".join(value.split()) if len(value.split()) > 1 else value)


@given(
    st.decimals(min_value=0, max_value=9_999_999, places=2, allow_nan=False), st.sampled_from(["", "¥", "￥"])
)
def test_an_amount_is_a_number_with_an_optional_currency(amount, sign):
    shown = templates.render_value("amount", f"{sign}{amount}")
    assert data_errcode({"amount5": {"value": shown}}) == 0
    for bad in ("ten yuan", "1,000", "¥", "12345678901"):
        with pytest.raises(ValueError):
            templates.render_value("amount", bad)


@given(st.integers(min_value=0, max_value=9_999_999_999))
def test_a_number_is_digits(number):
    assert templates.render_value("number", str(number)) == str(number)
    with pytest.raises(ValueError):
        templates.render_value("number", f"{number}件")


def test_a_phone_number_is_17_digits_and_symbols():
    assert templates.render_value("phone_number", "+86-0766-66888866") == "+86-0766-66888866"
    for bad in ("call me", "+86-0766-66888866-123456"):
        with pytest.raises(ValueError):
            templates.render_value("phone_number", bad)


# -- the configuration ------------------------------------------------------------------------


def test_the_committed_file_is_valid_and_covers_every_template_kind():
    config = templates.parse(templates.raw_config(templates.COMMITTED, override=""))
    templated = {k for k, spec in KINDS.items() if spec.channel in TEMPLATED_CHANNELS}
    assert set(config.kinds) == templated
    # Every fixed text passes its own type, and no reminder promises an offer
    for template in config.templates.values():
        for field in template.fields:
            if field.text is not None:
                assert field.render({}) == field.text
    reminder = config.for_kind("repurchase_reminder")
    assert reminder is not None
    shown = reminder.render({"product": "Coffee beans", "purchased_on": "2024-05-01"})
    assert not any("优惠" in item["value"] for item in shown.values())


def committed() -> dict:
    return copy.deepcopy(templates.raw_config(templates.COMMITTED, override=""))


def broken(change) -> dict:
    data = committed()
    change(data)
    return data


BAD = {
    "unknown type": lambda d: d["templates"]["booking"]["fields"]["thing1"].update(type="word"),
    "key and type disagree": lambda d: d["templates"]["booking"]["fields"]["thing1"].update(type="time"),
    "fixed text too long for a thing": lambda d: d["templates"]["reminder"]["fields"]["thing3"].update(
        text="这是一段超过二十个字的固定文字，微信会拒绝它的，一定会"
    ),
    "a phrase that is not Chinese": lambda d: d["templates"]["booking"]["fields"].update(
        phrase5={"type": "phrase", "text": "OK"}
    ),
    "a const without its text": lambda d: d["templates"]["booking"]["fields"].update(
        const6={"type": "const", "from": "status"}
    ),
    "both from and text": lambda d: d["templates"]["booking"]["fields"]["thing1"].update(text="x"),
    "a value the producer does not give": lambda d: d["templates"]["booking"]["fields"]["thing3"].update(
        **{"from": "price"}
    ),
    "unknown channel": lambda d: d["templates"]["coupon"].update(channel="sms"),
    "no id": lambda d: d["templates"]["coupon"].pop("id"),
    "unknown setting": lambda d: d["templates"]["coupon"].update(setting="template_nothing"),
    "a kind without a template": lambda d: d["kinds"].pop("coupon_issued"),
    "a kind that does not exist": lambda d: d["kinds"].update(no_such_kind="booking"),
    "a kind naming a missing template": lambda d: d["kinds"].update(coupon_issued="nothing"),
    "a bad WeChat key": lambda d: d["templates"]["booking"]["fields"].update(
        {"Thing 1": {"type": "thing", "text": "x"}}
    ),
    "cut on a thing": lambda d: d["templates"]["booking"]["fields"]["thing1"].update(cut=True),
}


@pytest.mark.parametrize("change", BAD.values(), ids=BAD.keys())
def test_a_bad_configuration_is_refused_with_its_reason(change):
    with pytest.raises(templates.ConfigError, match="infra/templates.yaml"):
        templates.parse(broken(change))


def test_a_stage_overrides_the_file_and_a_template_setting_overrides_its_id(monkeypatch):
    override = '{"templates": {"reminder": {"channel": "subscribe", "id": "SUB_REMINDER"}}}'
    config = templates.parse(templates.raw_config(templates.COMMITTED, override=override))
    reminder = config.for_kind("repurchase_reminder")
    assert reminder.channel == "subscribe" and reminder.default_id == "SUB_REMINDER"
    assert [f.key for f in reminder.fields] == ["thing1", "time2", "thing3"]  # the rest is kept

    from functions.core.config import reset_settings

    monkeypatch.setenv("TEMPLATE_REMINDER", "FROM_THE_STAGE")
    reset_settings()
    try:
        assert reminder.template_id() == "FROM_THE_STAGE"
    finally:
        monkeypatch.delenv("TEMPLATE_REMINDER")
        reset_settings()
    assert reminder.template_id() == "SUB_REMINDER"


def test_a_bad_configuration_stops_the_worker_before_any_send(monkeypatch):
    monkeypatch.setenv("TEMPLATES_OVERRIDE", '{"templates": {"booking": {"channel": "fax"}}}')
    from functions.core.config import reset_settings

    reset_settings()
    templates.reset()
    try:
        with pytest.raises(templates.ConfigError, match="channel"):
            templates.load()
    finally:
        monkeypatch.delenv("TEMPLATES_OVERRIDE")
        reset_settings()
        templates.reset()


# -- sending ------------------------------------------------------------------------------------


def test_the_sandbox_refuses_a_value_that_breaks_its_type_with_47003():
    assert data_errcode({"thing1": {"value": "x" * 21}}) == 47003
    assert data_errcode({"character_string2": {"value": "订单123"}}) == 47003
    assert data_errcode({"phrase3": {"value": "已经发货了啊"}}) == 47003
    assert data_errcode({"time4": {"value": "明天"}}) == 47003
    assert data_errcode({"amount5": {"value": "ten"}}) == 47003
    assert data_errcode({"thing1": {"value": "ok"}, "first": {"value": "hi"}}) == 47003
    assert data_errcode({"thing1": {"value": "fine"}, "time2": {"value": "2024年5月1日 09:00"}}) == 0


def test_a_value_that_cannot_be_made_valid_fails_without_a_call(sandbox, aws):
    # Given a shipment whose tracking number holds Chinese (a character_string cannot)
    openid = customer()
    nid = notify(openid, "shipment_status", {**VALUES, "tracking_no": "顺丰123"})
    drain_notifications()
    # Then nothing went to WeChat and the record says which field
    assert sent_to(sandbox, openid) == []
    view = record(nid)
    assert view["status"] == "failed:invalid_field"
    assert "character_string1" in view["history"][-1]["detail"]


@pytest.mark.e2e
def test_make_run_refuses_to_start_with_a_bad_configuration():
    import os
    import tempfile

    from infra.local.stack import free_port
    from tests.conftest import popen_make_run

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST", "WECHAT_API_BASE"))}
    env.update(
        PORT=str(free_port()),
        MOTO_PORT=str(free_port()),
        SANDBOX_PORT=str(free_port()),
        LOCAL_RUN_DIR=tempfile.mkdtemp(prefix="stack-"),
        TEMPLATES_OVERRIDE='{"templates": {"booking": {"fields": {"thing1": {"type": "thing", "text": "x", "from": "status"}}}}}',
    )
    process = popen_make_run(env)
    output, _ = process.communicate(timeout=240)
    assert process.returncode != 0
    assert "infra/templates.yaml" in output and "exactly one of `from` and `text`" in output
    assert "ready http" not in output
