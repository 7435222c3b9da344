"""One log line per request of `make run`'s HTTP API: method, path, status, the error code of a
refusal, and the time taken. WeChat's signature parameters are left out of the path: they are
long, change on every request and say nothing a person reading the log needs."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from chalice.local import ChaliceRequestHandler

log = logging.getLogger("http")

UNLOGGED_PARAMS = frozenset({"signature", "msg_signature", "timestamp", "nonce", "echostr"})


def loggable_path(path: str) -> str:
    """`path` without WeChat's signature parameters."""
    parts = urlsplit(path)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in UNLOGGED_PARAMS]
    return parts.path + (f"?{urlencode(kept)}" if kept else "")


def error_code(status: int, body: str | bytes | None) -> str | None:
    """The `error` of a 4xx/5xx JSON body, if it has one."""
    if status < 400 or not body:
        return None
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return str(parsed["error"]) if isinstance(parsed, dict) and "error" in parsed else None


def request_line(method: str, path: str, status: int, error: str | None, elapsed_ms: float) -> str:
    return f"{method} {loggable_path(path)} {status}{f' {error}' if error else ''} {elapsed_ms:.0f} ms"


class LoggingRequestHandler(ChaliceRequestHandler):
    _started = 0.0
    _error: str | None = None

    def parse_request(self) -> bool:
        self._started, self._error = time.monotonic(), None
        return super().parse_request()

    def _send_http_response(self, code: int, headers: Any, body: str | bytes | None) -> None:
        self._error = error_code(code, body)
        super()._send_http_response(code, headers, body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        try:
            status = int(code)
        except (TypeError, ValueError):
            status = 0
        line = request_line(
            self.command, self.path, status, self._error, (time.monotonic() - self._started) * 1000
        )
        log.log(logging.ERROR if status >= 500 else logging.INFO, "%s", line)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.warning("%s", format % args)
