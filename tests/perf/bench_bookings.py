"""Benchmark: bookings per second with and without contention, and DynamoDB calls per booking.

    .venv/bin/python -m tests.perf.bench_bookings [--threads 200] [--per-thread 2]

Runs its own moto server in a child process (patched like `make run`:
infra/local/moto_patches.py) and calls the booking domain from many threads:

- contended: every thread books the SAME slot (capacity large enough for all);
- spread:    every thread books its own slot;
- race:      all threads race for a slot of 10 (attempts/s; exactly 10 must win).

Absolute numbers measure the embedded moto (one Python process, every DynamoDB request
serialised), not DynamoDB, so each is also given as a ratio to a baseline measured in the same
run: one bare conditional UpdateItem (`ADD booked 1 IF booked < capacity`) per operation, on
one item (contended) or on one item per thread (spread). The ratio is what our design costs
on top of the cheapest possible capacity check.
"""

from __future__ import annotations

import argparse
import logging
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "wx-bench-bookings"

SERVER = """
import logging, sys
from infra.local import moto_patches
moto_patches.apply()
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
print("ready", flush=True)
sys.stdin.read()
server.stop()
"""


def start_moto() -> tuple[subprocess.Popen, str]:
    from infra.local.stack import free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        raise RuntimeError("moto server did not start")
    return process, f"http://127.0.0.1:{port}"


def configure(endpoint: str) -> None:
    """Environment first: table names are read when the models are imported."""
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        RESOURCE_PREFIX=PREFIX,
        QUIET_HOURS="off",
    )
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(key, None)
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    from botocore.config import Config

    from functions.core import aws
    from functions.core.models import TableMeta
    from infra.local.provision import provision

    # Hundreds of threads queue at one serialised server: the app's 2 s read timeout is for AWS.
    TableMeta.connect_timeout_seconds, TableMeta.read_timeout_seconds = 10, 120
    aws.CLIENT_CONFIG = Config(connect_timeout=10, read_timeout=120, max_pool_connections=50)
    aws.reset_clients()
    provision(endpoint, PREFIX)


class CallCounter:
    """Counts every DynamoDB operation (PynamoDB dispatch) and SQS send, per name."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def install(self) -> None:
        from pynamodb.connection.base import Connection

        from functions.core import queues

        original_dispatch = Connection.dispatch
        original_send = queues.send
        self._originals = (original_dispatch, original_send)
        counter = self

        def dispatch(self: Any, operation_name: str, operation_kwargs: dict) -> Any:
            with counter._lock:
                counter.counts[operation_name] += 1
            return original_dispatch(self, operation_name, operation_kwargs)

        def send(*args: Any, **kwargs: Any) -> str:
            with counter._lock:
                counter.counts["SQS SendMessage"] += 1
            return original_send(*args, **kwargs)

        Connection.dispatch = dispatch  # type: ignore[method-assign]
        queues.send = send

    def uninstall(self) -> None:
        from pynamodb.connection.base import Connection

        from functions.core import queues

        Connection.dispatch, queues.send = self._originals  # type: ignore[method-assign]

    def take(self) -> Counter[str]:
        with self._lock:
            taken, self.counts = self.counts, Counter()
        return taken


def day_ahead() -> str:
    from functions.core import clock

    return (clock.business_date() + timedelta(days=3)).isoformat()


def make_slots(n: int, capacity: int) -> list[str]:
    """n slots, each in its own area (so spread bookings share no item)."""
    from functions.bookings import slots

    area, day = f"bench-{uuid.uuid4().hex[:8]}", day_ahead()
    keys = [slots.SlotKey(f"{area}-{i}", day, "09:00-12:00") for i in range(n)]
    for key in keys:
        slots.define_slots([key], [capacity])
    return [k.slot_id for k in keys]


# Orders recorded before a scenario is timed: only a recorded order of one's own can be booked.
_orders: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()


def record_orders(n: int) -> None:
    from functions.core import clock
    from functions.orders.models import OrderRow

    for _ in range(n):
        openid, order_id = f"bench-{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
        items = [{"sku": "BENCH-1", "qty": 1, "price_cents": 100}]
        OrderRow(
            f"ORDER#{order_id}",
            "ORDER",
            order_id=order_id,
            openid=openid,
            items=items,
            total_cents=100,
            purchased_at=clock.iso(clock.now()),
        ).save()
        _orders.put((openid, order_id))


def book_once(slot_id: str) -> str:
    from functions.bookings import domain
    from functions.core.errors import AppError

    openid, order_id = _orders.get_nowait()
    request = domain.BookingRequest(slot_id, order_id, "上海市黄浦区南京东路1号", "13800138000")
    try:
        domain.book(openid, request)
    except AppError as error:
        return error.code
    return "ok"


def bare_update(slot_id: str) -> str:
    """The baseline: one conditional UpdateItem, nothing else."""
    from pynamodb.exceptions import UpdateError

    from functions.bookings import slots
    from functions.bookings.models import SlotRow

    try:
        slots.parse_slot_id(slot_id).row().update(
            actions=[SlotRow.booked.add(1)], condition=SlotRow.booked < SlotRow.capacity
        )
    except UpdateError:
        return "full"
    return "ok"


def timed(threads: int, per_thread: int, target: Callable[[int], str]) -> tuple[float, Counter[str]]:
    start = threading.Barrier(threads)

    def worker(t: int) -> list[str]:
        start.wait()
        return [target(t) for _ in range(per_thread)]

    began = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = [r for batch in pool.map(worker, range(threads)) for r in batch]
    return time.perf_counter() - began, Counter(results)


def run(threads: int, per_thread: int) -> dict[str, Any]:
    """Every scenario against the configured tables (a test may call it on its own moto)."""
    counter = CallCounter()
    counter.install()
    try:
        return _scenarios(threads, per_thread, counter)
    finally:
        counter.uninstall()


def _scenarios(threads: int, per_thread: int, counter: CallCounter) -> dict[str, Any]:
    total = threads * per_thread
    figures: dict[str, Any] = {"threads": threads, "operations": total}
    # Warm up: imports, connections and the server's first requests stay out of the timings.
    (warm,) = make_slots(1, 20)
    record_orders(min(threads, 10))
    timed(min(threads, 10), 1, lambda _: book_once(warm))
    timed(min(threads, 10), 1, lambda _: bare_update(warm))

    (hot,) = make_slots(1, total)
    seconds, results = timed(threads, per_thread, lambda _: bare_update(hot))
    assert results == {"ok": total}, results
    figures["baseline_contended_ops_s"] = total / seconds

    spread = make_slots(threads, per_thread)
    seconds, results = timed(threads, per_thread, lambda t: bare_update(spread[t]))
    assert results == {"ok": total}, results
    figures["baseline_spread_ops_s"] = total / seconds

    (hot,) = make_slots(1, total)
    record_orders(total)
    counter.take()
    seconds, results = timed(threads, per_thread, lambda _: book_once(hot))
    assert results == {"ok": total}, results
    figures["contended_bookings_s"] = total / seconds
    calls = counter.take()

    spread = make_slots(threads, per_thread)
    record_orders(total)
    counter.take()
    seconds, results = timed(threads, per_thread, lambda t: book_once(spread[t]))
    assert results == {"ok": total}, results
    figures["spread_bookings_s"] = total / seconds
    calls += counter.take()
    figures["calls_per_booking"] = {name: n / (2 * total) for name, n in sorted(calls.items())}

    places = 10 if threads > 10 else max(1, threads // 2)
    (race,) = make_slots(1, places)
    record_orders(threads)
    seconds, results = timed(threads, 1, lambda _: book_once(race))
    assert results == {"ok": places, "slot_full": threads - places}, results
    figures["race_attempts_s"], figures["race_places"] = threads / seconds, places

    (full,) = make_slots(1, 0)
    record_orders(threads)
    counter.take()
    seconds, results = timed(threads, 1, lambda _: book_once(full))
    assert results == {"slot_full": threads}, results
    figures["calls_per_refused_attempt"] = {name: n / threads for name, n in sorted(counter.take().items())}
    return figures


def report(f: dict[str, Any]) -> str:
    calls = ", ".join(f"{k} {v:.2f}" for k, v in f["calls_per_booking"].items())
    refused = ", ".join(f"{k} {v:.2f}" for k, v in f["calls_per_refused_attempt"].items())
    return "\n".join(
        [
            f"bookings benchmark: {f['threads']} threads, {f['operations']} bookings per scenario (moto)",
            f"  contended (one slot): {f['contended_bookings_s']:7.1f} bookings/s"
            f"  = {f['contended_bookings_s'] / f['baseline_contended_ops_s']:.2f} x bare conditional update"
            f" ({f['baseline_contended_ops_s']:.1f}/s)",
            f"  spread (own slots):   {f['spread_bookings_s']:7.1f} bookings/s"
            f"  = {f['spread_bookings_s'] / f['baseline_spread_ops_s']:.2f} x bare conditional update"
            f" ({f['baseline_spread_ops_s']:.1f}/s)",
            f"  contended / spread:   {f['contended_bookings_s'] / f['spread_bookings_s']:.2f}",
            f"  race for {f['race_places']} places:   {f['race_attempts_s']:7.1f} attempts/s,"
            f" exactly {f['race_places']} booked",
            f"  calls per booking:    {calls}",
            f"  calls per refused attempt (slot_full): {refused}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_bookings")
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--per-thread", type=int, default=2)
    args = parser.parse_args(argv)
    process, endpoint = start_moto()
    try:
        configure(endpoint)
        print(report(run(args.threads, args.per_thread)))
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
