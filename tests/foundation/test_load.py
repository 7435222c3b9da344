"""The local stack takes real load: a burst of a hundred clients connecting at once is served,
none reset (issue 14 §6: chalice local listened with a backlog of 5)."""

from __future__ import annotations

import socket
import threading
from collections import Counter

import pytest

from infra.local import api_server

CLIENTS = 100
# Generous for a loaded 2-core machine; a connection the server dropped never answers within it.
SOCKET_TIMEOUT_S = 60


def get_health(port: int) -> str:
    """The status line of one `GET /health` on a fresh connection, or the error's name."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S) as conn:
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
    except OSError as error:
        return type(error).__name__
    return answer.split(b"\r\n", 1)[0].decode("latin-1") or "empty answer"


@pytest.mark.e2e
def test_a_hundred_clients_connecting_at_once_are_all_answered(stack):
    port = int(stack.url.rsplit(":", 1)[1])
    barrier = threading.Barrier(CLIENTS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def client() -> None:
        barrier.wait()
        outcome = get_health(port)
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == {"HTTP/1.1 200 OK": CLIENTS}


def test_the_api_server_listens_with_a_backlog_for_bursts():
    assert api_server.ApiHttpServer.request_queue_size >= CLIENTS
