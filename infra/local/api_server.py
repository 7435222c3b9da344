"""The HTTP API of `make run`: chalice local's threaded server, listening with a backlog for real
load, with thread-local `current_request` and one log line per request (infra/local/http_log.py)."""

from __future__ import annotations

from typing import Any

from chalice.local import CustomLocalChalice, LocalChalice, LocalDevServer, ThreadedHTTPServer

from infra.local.http_api import ApiRequestHandler

BACKLOG = 1024


class ApiHttpServer(ThreadedHTTPServer):
    # socketserver listens with a backlog of 5: of 100 clients connecting at once, a burst beyond
    # it is dropped and reset (100 concurrent bookings, issue 14). moto's server is raised too.
    request_queue_size = BACKLOG


def create(app: Any, config: Any, host: str, port: int) -> LocalDevServer:
    """What chalice.local.create_local_server does (current_request made thread-local, which
    concurrent requests need), with our server class and request handler (infra/local/http_api.py: unknown routes in our
    error shape, one log line per request). Binds and listens."""
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, host, port, handler_cls=ApiRequestHandler, server_cls=ApiHttpServer)
