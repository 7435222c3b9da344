"""A browser over chalice.test.Client for the server-rendered pages (customer pages and the
console): it keeps the cookies the app sets and sends forms as a person would."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@dataclass
class Page:
    status: int
    headers: dict[str, Any]
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("location") or self.headers.get("Location") or ""

    @property
    def csrf(self) -> str:
        found = CSRF.search(self.text)
        assert found, "the page has no form"
        return found.group(1)

    def path(self) -> str:
        """The local path and query of the redirect."""
        parts = urlsplit(self.location)
        return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class Browser:
    """Keeps the cookies the app sets (and every Set-Cookie line, for the tests of their flags)."""

    client: Any
    cookies: dict[str, str] = field(default_factory=dict)
    set_cookies: list[str] = field(default_factory=list)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def _keep(self, response: Any) -> Page:
        raw = response.headers.get("Set-Cookie") or response.headers.get("set-cookie")
        for line in raw if isinstance(raw, list) else [raw] if raw else []:
            self.set_cookies.append(line)
            jar: SimpleCookie = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        body = response.body.decode() if isinstance(response.body, bytes) else (response.body or "")
        return Page(response.status_code, dict(response.headers), body)

    def get(self, path: str) -> Page:
        return self._keep(self.client.http.get(path, headers=self._headers()))

    def post(self, path: str, fields: dict[str, str]) -> Page:
        headers = self._headers({"Content-Type": "application/x-www-form-urlencoded"})
        return self._keep(self.client.http.post(path, headers=headers, body=urlencode(fields)))

    def submit(self, page_path: str, action: str, fields: dict[str, str]) -> Page:
        """Open the page, then send its form as a person would (its csrf_token included)."""
        opened = self.get(page_path)
        assert opened.status == 200, opened.text
        return self.post(action, {"csrf_token": opened.csrf, **fields})
