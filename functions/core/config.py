"""Every setting in one place, read from the environment with a working local default.

Secrets are read from the environment too; in AWS, `functions.core.secrets` fills the
environment from SSM Parameter Store before the first read (see infra/README).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import lru_cache

from functions.core.secrets import load_into_environ

# The local WeChat sandbox's account. Real values come from the environment / SSM.
SANDBOX_APP_ID = "wx00sandbox0000001"
SANDBOX_APP_SECRET = "sandbox-app-secret"  # noqa: S105 - local sandbox only
SANDBOX_TOKEN = "sandboxtoken"  # noqa: S105 - local sandbox only
SANDBOX_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
_GENERATED_SESSION_SECRET = secrets.token_hex(32)
# The account's message encryption setting; in "safe" a plaintext callback is refused.
MESSAGE_MODES = ("plain", "compat", "safe")


@dataclass(frozen=True)
class Settings:
    wechat_app_id: str
    wechat_app_secret: str
    wechat_token: str
    wechat_encoding_aes_key: str
    wechat_api_base: str
    wechat_replay_window_s: int
    wechat_message_mode: str  # one of MESSAGE_MODES
    admin_api_key: str
    session_secret: str
    session_ttl_s: int
    kuaidi100_salt: str
    logistics_hmac_secret: str
    template_shipment: str
    template_booking: str
    template_reminder: str
    template_coupon: str
    template_warranty: str  # TEMPLATE_*: "" unless set; then the id infra/templates.yaml gives
    template_receipt: str
    template_referral: str
    tz_business: str
    quiet_hours: str
    booking_cutoff: str
    resource_prefix: str
    notify_threads: int
    h5_base_url: str
    wechat_oauth_base: str
    wechat_mp_base: str
    inbox_escalate_min: int  # minutes a store may leave a conversation unanswered (>= 1)
    points_per_yuan: int = 1
    referral_points: int = 100
    # Merged over infra/templates.yaml (JSON or YAML): a stage's own templates and channels.
    templates_override: str = ""

    @property
    def quiet_hours_window(self) -> tuple[str, str] | None:
        """(start, end) as "HH:MM" strings, or None when quiet hours are off."""
        if self.quiet_hours.strip().lower() in ("", "off", "none"):
            return None
        start, end = self.quiet_hours.split("-")
        return start.strip(), end.strip()


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def load_settings() -> Settings:
    load_into_environ()  # AWS: secrets from SSM once per container; locally a no-op
    return Settings(
        wechat_app_id=_env("WECHAT_APP_ID", SANDBOX_APP_ID),
        wechat_app_secret=_env("WECHAT_APP_SECRET", SANDBOX_APP_SECRET),
        wechat_token=_env("WECHAT_TOKEN", SANDBOX_TOKEN),
        wechat_encoding_aes_key=_env("WECHAT_ENCODING_AES_KEY", SANDBOX_AES_KEY),
        wechat_api_base=_env("WECHAT_API_BASE", "http://127.0.0.1:9000").rstrip("/"),
        wechat_replay_window_s=int(_env("WECHAT_REPLAY_WINDOW_S", "300")),
        wechat_message_mode=_message_mode(_env("WECHAT_MESSAGE_MODE", "compat")),
        admin_api_key=_env("ADMIN_API_KEY", "dev-admin-key"),
        session_secret=_env("SESSION_SECRET", _GENERATED_SESSION_SECRET),
        session_ttl_s=int(_env("SESSION_TTL_S", "7200")),
        kuaidi100_salt=_env("KUAIDI100_SALT", "dev-salt"),
        logistics_hmac_secret=_env("LOGISTICS_HMAC_SECRET", "dev-logistics-secret"),
        template_shipment=_env("TEMPLATE_SHIPMENT", ""),
        template_booking=_env("TEMPLATE_BOOKING", ""),
        template_reminder=_env("TEMPLATE_REMINDER", ""),
        template_coupon=_env("TEMPLATE_COUPON", ""),
        template_warranty=_env("TEMPLATE_WARRANTY", ""),
        template_receipt=_env("TEMPLATE_RECEIPT", ""),
        template_referral=_env("TEMPLATE_REFERRAL", ""),
        tz_business=_env("TZ_BUSINESS", "Asia/Shanghai"),
        quiet_hours=_env("QUIET_HOURS", "21:00-09:00"),
        booking_cutoff=_env("BOOKING_CUTOFF", "18:00"),
        resource_prefix=_env("RESOURCE_PREFIX", "wx-local"),
        notify_threads=int(_env("NOTIFY_THREADS", "8")),
        # The customer pages' public base (CONTRACT §9): the local API unless set; in AWS the
        # API's URL (its stage prefix included) or the pages' own domain.
        h5_base_url=_env("H5_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        # WeChat's web sign-in page: the local sandbox serves it wherever it serves the API.
        wechat_oauth_base=_env("WECHAT_OAUTH_BASE", _env("WECHAT_API_BASE", "http://127.0.0.1:9000")).rstrip(
            "/"
        ),
        # Where QR code images are (`/cgi-bin/showqrcode?ticket=`): the local sandbox draws them.
        wechat_mp_base=_env("WECHAT_MP_BASE", _env("WECHAT_API_BASE", "http://127.0.0.1:9000")).rstrip("/"),
        inbox_escalate_min=_at_least("INBOX_ESCALATE_MIN", "30", 1),
        points_per_yuan=_at_least("POINTS_PER_YUAN", "1", 0),
        referral_points=_at_least("REFERRAL_POINTS", "100", 0),
        templates_override=_env("TEMPLATES_OVERRIDE", ""),
    )


def _at_least(name: str, default: str, minimum: int) -> int:
    value = int(_env(name, default))
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return value


def _message_mode(value: str) -> str:
    mode = value.strip().lower()
    if mode not in MESSAGE_MODES:
        raise ValueError(f"WECHAT_MESSAGE_MODE must be one of {', '.join(MESSAGE_MODES)}, not {value!r}")
    return mode


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment)."""
    get_settings.cache_clear()


def resource_name(logical: str) -> str:
    """Physical name of a table or queue: `<prefix>-<logical>`, as infra/data.yaml names them."""
    return f"{get_settings().resource_prefix}-{logical}"
