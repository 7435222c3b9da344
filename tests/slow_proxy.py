"""A TCP proxy in front of the moto server that holds back DynamoDB's answers: a slow DynamoDB.

Requests reach moto at once (so a write lands); each answer waits `delay` seconds before it is
relayed, as when DynamoDB is slow to answer or its answer is lost. `storage_through` points every
model and transaction connection of the app at it for the duration of a block.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse


class SlowProxy:
    def __init__(self, upstream: str, delay: float = 0.0):
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.delay = delay
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self._stopped = threading.Event()
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True, name="slow-proxy").start()

    def stop(self) -> None:
        self._stopped.set()
        self._server.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            upstream = socket.create_connection(self.upstream)
            answered = threading.Event()
            answered.set()
            threading.Thread(target=self._requests, args=(client, upstream, answered), daemon=True).start()
            threading.Thread(target=self._answers, args=(upstream, client, answered), daemon=True).start()

    @staticmethod
    def _requests(client: socket.socket, upstream: socket.socket, answered: threading.Event) -> None:
        try:
            while chunk := client.recv(65536):
                answered.clear()  # the next answer is held back
                upstream.sendall(chunk)
        except OSError:
            pass
        finally:
            upstream.close()

    def _answers(self, upstream: socket.socket, client: socket.socket, answered: threading.Event) -> None:
        try:
            while chunk := upstream.recv(65536):
                if not answered.is_set():
                    time.sleep(self.delay)
                    answered.set()
                client.sendall(chunk)
        except OSError:
            pass
        finally:
            client.close()


def reset_storage_connections() -> None:
    """Forget every model's and the transaction helper's connection, so the next call connects anew."""
    from pynamodb.models import Model

    from functions.core.models import transaction_connection

    pending = list(Model.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        model._connection = None
    transaction_connection.cache_clear()


@contextmanager
def storage_through(proxy: SlowProxy) -> Iterator[SlowProxy]:
    """The app's DynamoDB calls go through `proxy` inside the block."""
    saved = os.environ["AWS_ENDPOINT_URL"]
    os.environ["AWS_ENDPOINT_URL"] = proxy.url
    reset_storage_connections()
    try:
        yield proxy
    finally:
        os.environ["AWS_ENDPOINT_URL"] = saved
        reset_storage_connections()
