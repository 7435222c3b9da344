"""`make run`'s request handler: Chalice's local one, answering as our API Gateway does.

Chalice's local server answers a path no route matches with API Gateway's bare 403 `Missing
Authentication Token` (and a 500 when that request carries a non-ASCII Authorization), a method
the path does not declare with a 405 (or, for OPTIONS, an answer of its own), and the standard
library answers an unknown method or a malformed request in HTML. Here each is an error in our
{"error", "message"} shape, as in AWS (the gateway responses of infra/template.py): a method and
path no route declares is an unknown route, 404 `not_found`; a malformed request is a 400. No
request gets a 5xx for its form.
"""

from __future__ import annotations

import functools
import json
from http import HTTPStatus
from typing import Any

from chalice.local import RouteMatcher

from functions.core.http import NO_SUCH_ROUTE
from infra.local.http_log import LoggingRequestHandler


@functools.cache
def _routing(app: Any) -> tuple[RouteMatcher, dict[str, set[str]]]:
    """The app's routes and each one's methods; API Gateway answers a CORS preflight (OPTIONS)
    for a route with CORS, as Chalice does."""
    methods = {
        path: set(views) | ({"OPTIONS"} if any(v.cors for v in views.values()) else set())
        for path, views in app.routes.items()
    }
    return RouteMatcher(list(app.routes)), methods


class ApiRequestHandler(LoggingRequestHandler):
    """A drop-in handler class for chalice's LocalDevServer (and `bound`, as LoggingRequestHandler)."""

    def __init__(self, *args: Any, app_object: Any, config: Any) -> None:
        self._routes, self._methods = _routing(app_object)
        super().__init__(*args, app_object=app_object, config=config)

    def _generic_handle(self) -> None:
        length = self.headers.get("content-length", "0")
        if not (length.isascii() and length.isdigit()):
            self.close_connection = True
            self._answer(400, {"error": "invalid_content_length", "message": "Content-Length must be digits"})
            return
        if not self._declared(self.command, self.path):
            self._parse_payload()  # read the body, so the connection can serve the next request
            self._answer(404, NO_SUCH_ROUTE)
            return
        super()._generic_handle()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def _declared(self, method: str, path: str) -> bool:
        try:
            route = self._routes.match_route(path).route
        except ValueError:
            return False
        return method in self._methods.get(route, set())

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's refusals: a method no route has, a malformed request."""
        self.close_connection = True
        # A request line that did not parse leaves no method or path for the log line.
        self.command, self.path = self.command or "-", getattr(self, "path", None) or "-"
        if code == HTTPStatus.NOT_IMPLEMENTED:  # a method we have no handler for
            self._answer(404, NO_SUCH_ROUTE)
            return
        status = code if code < 500 else 400
        error = HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
        self._answer(status, {"error": error, "message": message or HTTPStatus(status).phrase})

    def _answer(self, status: int, body: dict[str, str]) -> None:
        self._send_http_response(status, {"Content-Type": "application/json"}, json.dumps(body))
