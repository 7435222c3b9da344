"""Message templates as configuration (infra/templates.yaml) and rendering within WeChat's types.

A kind's producer records named values (`{"product": "净水器滤芯", "purchased_on": "2024-05-01"}`);
the configuration says which WeChat template shows them, on which channel (`template`:
`message/template/send`, `subscribe`: `message/subscribe/bizsend`), and which WeChat key shows
which value with which WeChat type. WeChat refuses a value that breaks its key's type with 47003;
rendering applies each type's rule first, cleaning what can be cleaned (a long `thing` is cut
with an ellipsis, a date is written the way WeChat reads it) and refusing what cannot
(`InvalidField`: the worker records `failed:invalid_field`, never a send WeChat would refuse).

Where the configuration comes from, in order:
- the committed file, `infra/templates.yaml` (shipped in the deployment zip as
  `chalicelib/templates.yaml` by infra/template.py);
- `TEMPLATES_OVERRIDE` (a stage's setting): YAML or JSON merged over it, template by template
  and key by key, e.g. `{"templates": {"reminder": {"channel": "subscribe", "id": "..."}}}`;
- a template's `setting` (`template_booking` → `TEMPLATE_BOOKING`): when set, its id wins.

`load()` checks the whole configuration against the kinds (functions/notifications/kinds.py)
and the types' rules, and raises `ConfigError` naming every problem: `make run` refuses to
start with a bad file, the worker refuses its first batch, and a test checks the committed one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from functions.core import clock
from functions.core.config import Settings, get_settings
from functions.notifications.kinds import KINDS, TEMPLATED_CHANNELS

COMMITTED = Path(__file__).resolve().parents[2] / "infra" / "templates.yaml"
# In the deployment zip (no infra/ there): infra/template.py ships the file as chalicelib/templates.yaml.
PACKAGED = Path(__file__).resolve().parents[2] / "chalicelib" / "templates.yaml"
TYPES = ("thing", "time", "character_string", "phrase", "amount", "number", "phone_number", "const")
CHANNELS = ("template", "subscribe")
THING_LIMIT = 20
STRING_LIMIT = 32
PHRASE_LIMIT = 5
NUMBER_DIGITS = 10
PHONE_LIMIT = 17
# Patterns, compiled on first use (re's cache), not at import: the API function imports this
# module for the subscribe button and must start fast.
_KEY = r"^([a-z_]+?)(\d+)$"
_NAME = r"^[a-z][a-z0-9_]{0,39}$"
_SPACE = r"\s+"
_HAN = r"^[\u4e00-\u9fff]+$"
_ASCII_STRING = r"^[\x21-\x7e]+$"  # letters, digits, symbols; no space, no Chinese
_AMOUNT = r"^(?:[¥￥$€£])?(\d{1,10})(?:\.(\d{1,2}))?(元)?$"
_NUMBER = r"^\d{1,10}(?:\.\d{1,4})?$"
_PHONE = r"^\+?[0-9][0-9()\-\s]{0,16}$"
_CLOCK = r"^([01]\d|2[0-3]):([0-5]\d)$"


class ConfigError(ValueError):
    """The templates configuration is unusable; the message lists every problem."""


class InvalidField(ValueError):
    """A value that its WeChat type cannot show (WeChat would answer 47003)."""

    def __init__(self, key: str, reason: str):
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


# -- the types' rules ------------------------------------------------------------------------


def _one_line(value: str) -> str:
    return re.sub(_SPACE, " ", value).strip()


def render_thing(value: str) -> str:
    """≤ 20 characters of anything; longer is cut at a word boundary if one is near, with "…"."""
    text = _one_line(value)
    if not text:
        raise ValueError("empty")
    if len(text) <= THING_LIMIT:
        return text
    cut = text[: THING_LIMIT - 1]
    space = cut.rfind(" ")
    if text[THING_LIMIT - 1] != " " and space >= THING_LIMIT // 2:
        cut = cut[:space]  # a Latin word cut in half reads worse than a shorter line
    return cut.rstrip(" ,.;:，。；：、-") + "…"


def _time_point(text: str) -> str:
    """One time point in WeChat's format: `2024年5月1日 09:00`, `2024年5月1日` or `09:00`."""
    text = text.strip()
    if re.match(_CLOCK, text):
        return text
    try:
        if "T" in text or text.endswith("Z"):  # an instant: shown in business time
            moment = clock.parse_iso(text).astimezone(clock.business_tz())
            return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"
        if " " in text:
            moment = datetime.strptime(text[:16], "%Y-%m-%d %H:%M")
            return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"
        day = date.fromisoformat(text)
    except (ValueError, OverflowError):
        raise ValueError(f"not a time: {text!r}") from None
    return f"{day.year}年{day.month}月{day.day}日"


def render_time(value: str) -> str:
    """ISO dates, `YYYY-MM-DD HH:MM`, ISO instants and `HH:MM`, or two of them joined by `~`."""
    parts = [p for p in value.split("~")]
    if len(parts) > 2 or not all(p.strip() for p in parts):
        raise ValueError(f"not a time or a time range: {value!r}")
    return " ~ ".join(_time_point(p) for p in parts)


def render_character_string(value: str) -> str:
    text = re.sub(_SPACE, "", value)
    if not text or not re.match(_ASCII_STRING, text):
        raise ValueError("only letters, digits and symbols")
    if len(text) > STRING_LIMIT:
        raise ValueError(f"longer than {STRING_LIMIT}")  # a cut code or number would mislead
    return text


def render_phrase(value: str) -> str:
    text = re.sub(_SPACE, "", value)
    if not text or not re.match(_HAN, text) or len(text) > PHRASE_LIMIT:
        raise ValueError(f"at most {PHRASE_LIMIT} Chinese characters")
    return text


def render_amount(value: str) -> str:
    text = re.sub(_SPACE, "", unicodedata.normalize("NFKC", value))
    found = re.match(_AMOUNT, text)
    if not found:
        raise ValueError("a number with at most 10 digits and an optional currency")
    return text


def render_number(value: str) -> str:
    text = value.strip()
    if not re.match(_NUMBER, text):
        raise ValueError(f"digits only (at most {NUMBER_DIGITS}), optionally with decimals")
    return text


def render_phone_number(value: str) -> str:
    text = _one_line(value)
    if len(text) > PHONE_LIMIT or not re.match(_PHONE, text):
        raise ValueError(f"a phone number of at most {PHONE_LIMIT} digits and symbols")
    return text


RULES = {
    "thing": render_thing,
    "time": render_time,
    "character_string": render_character_string,
    "phrase": render_phrase,
    "amount": render_amount,
    "number": render_number,
    "phone_number": render_phone_number,
    "const": _one_line,  # the template's fixed text: the configuration gives it
}


def render_value(wechat_type: str, value: object) -> str:
    """`value` as WeChat's `wechat_type` shows it; ValueError if it cannot be made valid."""
    if value is None:
        raise ValueError("missing")
    return RULES[wechat_type](str(value))


# -- the configuration -----------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    key: str  # WeChat's key, e.g. thing1
    type: str  # one of TYPES
    source: str | None  # the named value shown, or None for a fixed text
    text: str | None  # the fixed text (always for `const`)
    optional: bool = False  # an empty value leaves the key out instead of refusing the message
    cut: bool = False  # character_string: keep the first 32 characters instead of refusing

    def render(self, values: Mapping[str, object]) -> str | None:
        raw = self.text if self.source is None else values.get(self.source)
        if self.optional and (raw is None or not str(raw).strip()):
            return None
        if self.cut and raw is not None:
            raw = re.sub(_SPACE, "", str(raw))[:STRING_LIMIT]
        try:
            return render_value(self.type, raw)
        except ValueError as error:
            raise InvalidField(self.key, f"{self.source or 'text'} {error}") from None


@dataclass(frozen=True)
class Template:
    name: str
    channel: str  # template | subscribe
    default_id: str
    setting: str | None  # Settings attribute whose value, when set, is the id
    fields: tuple[Field, ...]

    def template_id(self, settings: Settings | None = None) -> str:
        if self.setting:
            configured = getattr(settings or get_settings(), self.setting, "")
            if configured:
                return str(configured)
        return self.default_id

    def render(self, values: Mapping[str, object]) -> dict[str, dict[str, str]]:
        """WeChat's `data`: `{"thing1": {"value": "..."}}`; raises InvalidField."""
        data = {}
        for field in self.fields:
            value = field.render(values)
            if value is not None:
                data[field.key] = {"value": value}
        return data


@dataclass(frozen=True)
class Config:
    templates: dict[str, Template]
    kinds: dict[str, str]  # kind -> template name

    def for_kind(self, kind: str) -> Template | None:
        name = self.kinds.get(kind)
        return None if name is None else self.templates[name]


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in over.items()}}
    return over


def _read_yaml(text: str) -> Any:
    import yaml  # only when the configuration is first loaded (cold start of a sender)

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe loader


def raw_config(path: Path | None = None, override: str | None = None) -> Any:
    """The committed (or packaged) file with `override` (TEMPLATES_OVERRIDE) merged over it."""
    source = path or (COMMITTED if COMMITTED.exists() else PACKAGED)
    data = _read_yaml(source.read_text(encoding="utf-8"))
    override = get_settings().templates_override if override is None else override
    if override.strip():
        try:
            extra = json.loads(override)
        except ValueError:
            extra = _read_yaml(override)
        data = _merge(data, extra)
    return data


def _field(template: str, key: Any, spec: Any, problems: list[str]) -> Field | None:
    where = f"templates.{template}.fields.{key}"
    if not isinstance(key, str) or not re.match(_KEY, key):
        problems.append(f"{where}: a WeChat key is a type and a number, e.g. thing1")
        return None
    if not isinstance(spec, dict) or set(spec) - {"type", "from", "text", "optional", "cut"}:
        problems.append(f"{where}: give `type` and one of `from` (a named value) or `text`")
        return None
    kind_of_key = re.match(_KEY, key).group(1)  # type: ignore[union-attr]
    wechat_type = spec.get("type", kind_of_key)
    if wechat_type not in TYPES:
        problems.append(f"{where}: unknown type {wechat_type!r} (one of {', '.join(TYPES)})")
        return None
    if kind_of_key in TYPES and kind_of_key != wechat_type:
        problems.append(f"{where}: the key says {kind_of_key}, the type says {wechat_type}")
        return None
    source, text = spec.get("from"), spec.get("text")
    if (source is None) == (text is None):
        problems.append(f"{where}: exactly one of `from` and `text`")
        return None
    if wechat_type == "const" and text is None:
        problems.append(f"{where}: a const field gives its fixed `text`")
        return None
    if source is not None and (not isinstance(source, str) or not re.match(_NAME, source)):
        problems.append(f"{where}: `from` names a value in snake_case, not {source!r}")
        return None
    if text is not None:
        try:
            if not isinstance(text, str) or render_value(wechat_type, text) != _one_line(text):
                raise ValueError("it would be changed to fit")
        except ValueError as error:
            problems.append(f"{where}: the text {text!r} is not a valid {wechat_type}: {error}")
            return None
    if spec.get("cut") and wechat_type != "character_string":
        problems.append(f"{where}: only a character_string may be cut")
        return None
    return Field(
        key, wechat_type, source, text, bool(spec.get("optional", False)), bool(spec.get("cut", False))
    )


def _template(name: Any, spec: Any, problems: list[str]) -> Template | None:
    where = f"templates.{name}"
    if not isinstance(spec, dict) or set(spec) - {"id", "setting", "channel", "fields"}:
        problems.append(f"{where}: give id, setting (optional), channel and fields")
        return None
    channel = spec.get("channel", "template")
    if channel not in CHANNELS:
        problems.append(f"{where}: channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
    template_id, setting = spec.get("id"), spec.get("setting")
    if not isinstance(template_id, str) or not template_id.strip():
        problems.append(f"{where}: `id` (the WeChat template id) is required")
    if setting is not None and setting not in Settings.__dataclass_fields__:
        problems.append(f"{where}: no setting {setting!r} (functions/core/config.py)")
    fields_spec = spec.get("fields")
    if not isinstance(fields_spec, dict) or not fields_spec:
        problems.append(f"{where}: `fields` maps at least one WeChat key")
        return None
    fields = [_field(str(name), key, value, problems) for key, value in fields_spec.items()]
    if None in fields or problems:
        return None
    return Template(str(name), channel, str(template_id).strip(), setting, tuple(f for f in fields if f))


def parse(data: Any) -> Config:
    """A checked Config from the raw mapping; ConfigError lists every problem."""
    problems: list[str] = []
    if not isinstance(data, dict) or set(data) - {"templates", "kinds"}:
        raise ConfigError("the file has two sections: templates and kinds")
    templates: dict[str, Template] = {}
    for name, spec in (data.get("templates") or {}).items():
        found: list[str] = []
        template = _template(name, spec, found)
        problems += found
        if template is not None:
            templates[str(name)] = template
    kinds: dict[str, str] = {}
    for kind, name in (data.get("kinds") or {}).items():
        if kind not in KINDS:
            problems.append(f"kinds.{kind}: no such kind (functions/notifications/kinds.py)")
        elif name not in (data.get("templates") or {}):
            problems.append(f"kinds.{kind}: no template {name!r}")
        elif name in templates:
            kinds[kind] = name
            known = KINDS[kind].values
            unknown = [
                f.source for f in templates[name].fields if f.source and known and f.source not in known
            ]
            if unknown:
                problems.append(
                    f"kinds.{kind}: its producer gives {', '.join(known)}; not {', '.join(unknown)}"
                )
    for kind, spec in KINDS.items():
        if spec.channel in TEMPLATED_CHANNELS and kind not in (data.get("kinds") or {}):
            problems.append(f"kinds.{kind}: a {spec.channel} kind needs a template here")
    if problems:
        raise ConfigError("infra/templates.yaml: " + "; ".join(problems))
    return Config(templates, kinds)


@lru_cache(maxsize=1)
def load() -> Config:
    """The checked configuration, once per process."""
    return parse(raw_config())


def reset() -> None:
    """Forget the loaded configuration (tests change the file or TEMPLATES_OVERRIDE)."""
    load.cache_clear()


def template_for(kind: str) -> Template | None:
    return load().for_kind(kind)


def subscribe_template_ids(kinds: tuple[str, ...]) -> list[str]:
    """The subscribe templates of `kinds` (those configured `channel: subscribe`): what an H5
    page offers the follower to grant."""
    found = []
    for kind in kinds:
        template = template_for(kind)
        if template is not None and template.channel == "subscribe":
            found.append(template.template_id())
    return list(dict.fromkeys(found))
