"""Benchmark: the repurchase job reads what is due, not the history.

    .venv/bin/python -m tests.perf.bench_reminders                      # 200,000 and 1,000,000
    .venv/bin/python -m tests.perf.bench_reminders --purchases 5000 --due 100   # smoke size

For each history size N it starts a fresh moto server (its own process, so this process's
memory is the job's), writes N due-index items spread over a year with batch writes, of which
`--due` fall on the measured day, then runs the real job: the scheduled fan-out and the
`reminder_shard_worker` consumer over `--workers` parallel shard workers (Lambda's concurrency).
It prints the items DynamoDB returned to the job (vs. the due count: the target is within 10%),
wall time, and peak memory (tracemalloc, on a second day with the same due count so the
timed run is not slowed by tracing), and the ratios against the first, smallest N.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

PREFIX = "bench"
LOAD_BATCH = 500
MOTO_LAUNCHER = """
import os, sys, threading
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

# DynamoDB applies each item write atomically; moto's conditional checks and ADDs race between
# threads. Serialise its DynamoDB requests.
lock, call_action = threading.RLock(), DynamoHandler.call_action
def serialised(self):
    with lock:
        return call_action(self)
DynamoHandler.call_action = serialised

# DynamoDB answers a Query from the key's partition; stock moto walks every item of the table
# for each Query, so its time grows with history however few items come back. Walk only the
# partition (the same items are returned, in the same order). --stock-moto turns this off.
if os.environ.get("BENCH_STOCK_MOTO") != "1":
    partition = threading.local()
    all_items, query = Table.all_items, Table.query
    def partition_items(self):
        key = getattr(partition, "key", None)
        if key is None or not self.has_range_key:
            return all_items(self)
        return iter(list(self.items[key].values())) if key in self.items else iter(())
    def partition_query(self, hash_key, *args, **kwargs):
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        partition.key = hash_key if index_name is None else None
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            partition.key = None
    Table.all_items, Table.query = partition_items, partition_query

from moto.server import main
main(["-H", "127.0.0.1", "-p", sys.argv[1]])
"""


class CallTimer:
    """Counts and times every AWS call this process makes, per operation."""

    def __init__(self) -> None:
        import botocore.client

        self.calls: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        original = botocore.client.BaseClient._make_api_call

        def timed(client: Any, operation: str, params: dict[str, Any]) -> Any:
            started = time.perf_counter()
            try:
                return original(client, operation, params)
            finally:
                with self._lock:
                    entry = self.calls.setdefault(operation, [0, 0.0])
                    entry[0] += 1
                    entry[1] += time.perf_counter() - started

        botocore.client.BaseClient._make_api_call = timed

    def snapshot(self) -> dict[str, tuple[int, float]]:
        with self._lock:
            return {op: (int(n), t) for op, (n, t) in self.calls.items()}

    @staticmethod
    def delta(
        before: dict[str, tuple[int, float]], after: dict[str, tuple[int, float]]
    ) -> dict[str, tuple[int, float]]:
        return {
            op: (n - before.get(op, (0, 0.0))[0], t - before.get(op, (0, 0.0))[1])
            for op, (n, t) in after.items()
            if n != before.get(op, (0, 0.0))[0]
        }


TIMER: CallTimer | None = None


def _start_moto(
    port: int, stock: bool = False, launcher: str = MOTO_LAUNCHER
) -> tuple[subprocess.Popen, str]:
    """A moto server running `launcher` (a benchmark's patches), once it answers."""
    process = subprocess.Popen(
        [sys.executable, "-c", launcher, str(port)],
        env={**os.environ, "BENCH_STOCK_MOTO": "1" if stock else "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    import requests

    for _ in range(300):
        try:
            requests.get(f"{endpoint}/moto-api/", timeout=1)
            return process, endpoint
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto server did not start")


def _environment(endpoint: str) -> None:
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "RESOURCE_PREFIX": PREFIX,
            "QUIET_HOURS": "off",
        }
    )
    from botocore.config import Config

    from functions.core import aws
    from functions.core.aws import reset_clients
    from functions.core.config import reset_settings
    from functions.core.models import TableMeta
    from functions.core.queues import reset_queue_urls

    # moto answers a Query by walking the whole table in Python (moto/dynamodb/models/table.py),
    # so at 10^6 items one query takes seconds: give it time. DynamoDB's cost is per item returned.
    TableMeta.read_timeout_seconds = 120
    # The same for SQS and the other boto3 clients, on a busy machine.
    aws.CLIENT_CONFIG = Config(
        connect_timeout=5, read_timeout=120, retries={"max_attempts": 5, "mode": "standard"}
    )
    reset_settings()
    reset_clients()
    reset_queue_urls()


def _batch_write(items: list[dict[str, Any]], table: str, threads: int = 8) -> None:
    import boto3
    from botocore.config import Config

    dynamodb = boto3.client("dynamodb", config=Config(max_pool_connections=threads * 2))

    def write(chunk: list[dict[str, Any]]) -> None:
        request = {table: [{"PutRequest": {"Item": item}} for item in chunk]}
        while request:
            request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or None

    # DynamoDB takes 25 items per BatchWriteItem; moto takes any number, and the load (not the
    # measured job) is the slow part of this benchmark on moto.
    chunks = [items[i : i + LOAD_BATCH] for i in range(0, len(items), LOAD_BATCH)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(write, chunks))


def _due_item(openid: str, sku: str, order_id: str, purchased_at: str, day: date) -> dict[str, Any]:
    from functions.reminders.due import due_row

    row = due_row(openid, sku, order_id, purchased_at, day)
    return row.serialize()


def load(purchases: int, due: int, days: list[date], sku: str, replenish_days: int) -> None:
    """`due` purchases on each of `days`; the rest spread evenly over the year around them."""
    from functions.core import clock
    from functions.core.config import resource_name
    from functions.customers.models import CustomerRow
    from functions.reminders.products import Product, put_product

    put_product(Product(sku=sku, name="SK-II 神仙水 230ml", replenish_days=replenish_days))
    rng = random.Random(42)
    table = resource_name("reminders")
    first = days[0] - timedelta(days=182)
    other_days = [first + timedelta(days=i) for i in range(365) if first + timedelta(days=i) not in days]
    batch: list[dict[str, Any]] = []
    customers: list[dict[str, Any]] = []
    for i in range(purchases):
        if i < due * len(days):
            day = days[i // due]
            openid = f"o-due-{i:08d}"
            # 90% consented subscribers; 10% never consented (skipped: no_consent).
            customers.append(CustomerRow(openid, subscribed=True, reminder_consent=i % 10 != 0).serialize())
        else:
            day = rng.choice(other_days)
            openid = f"o-{i:08d}"
        bought_on = day - timedelta(days=replenish_days)
        purchased_at = clock.iso(clock.business_datetime(bought_on, "15:00"))
        batch.append(_due_item(openid, sku, f"ord-{i:08d}", purchased_at, day))
        if len(batch) >= 10_000:
            _batch_write(batch, table)
            batch = []
    _batch_write(batch, table)
    _batch_write(customers, resource_name("customers"))


def run_job(day: date, workers: int) -> dict[str, Any]:
    """Fan out, then consume the shard queue with `workers` parallel consumers until empty."""
    import boto3

    from app import app
    from functions.core.config import resource_name
    from infra.local.runtime import EventRuntime

    runtime = EventRuntime(app, boto3.client("sqs"), resource_name, poll_wait_s=0)
    runtime.invoke("repurchase_reminders", {"date": day.isoformat()})
    consumer = runtime.consumers["reminder_shard_worker"]

    url = runtime._queue(consumer.queue)[0]

    def outstanding() -> int:
        attributes = runtime.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(v) for v in attributes.values())

    def work() -> None:
        # Until the queue is empty and nothing is in flight (a failed shard comes back).
        while runtime.poll_once(consumer, wait_s=0) or outstanding():
            time.sleep(0.05)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda _: work(), range(workers)))
    from functions.reminders.stats import run_stats

    return run_stats(day)


def bench(
    purchases: int, due: int, workers: int, port: int, memory: bool = True, stock: bool = False
) -> dict[str, Any]:
    # The same port every time: PynamoDB keeps its connection (and endpoint) per model class.
    moto, endpoint = _start_moto(port, stock)
    try:
        _environment(endpoint)
        from functions.core import clock
        from infra.local.provision import provision

        provision(endpoint, PREFIX)
        today = date(2031, 6, 15)
        memory_day = today + timedelta(days=1)
        clock.set_now(clock.business_datetime(today, "10:00"))
        started = time.perf_counter()
        load(purchases, due, [today, memory_day], "SKU-ESSENCE", 90)
        load_s = time.perf_counter() - started

        assert TIMER is not None
        before = TIMER.snapshot()
        started = time.perf_counter()
        stats = run_job(today, workers)
        wall_s = time.perf_counter() - started
        calls = CallTimer.delta(before, TIMER.snapshot())

        peak = 0
        if memory:
            clock.set_now(clock.business_datetime(memory_day, "10:00"))
            tracemalloc.start()
            run_job(memory_day, workers)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()

        rerun_started = time.perf_counter()
        clock.set_now(clock.business_datetime(today, "11:00"))
        rerun = run_job(today, workers)
        rerun_s = time.perf_counter() - rerun_started
        return {
            "purchases": purchases,
            "due": stats["due"],
            "read": stats["read"],
            "sent": stats["sent"],
            "skipped": stats["skipped"],
            "wall_s": wall_s,
            "per_item_ms": 1000 * wall_s / max(1, stats["due"]),
            "peak_mib": peak / 2**20,
            "load_s": load_s,
            "rerun_sent": rerun["sent"] - stats["sent"],
            "rerun_s": rerun_s,
            "calls": calls,
        }
    finally:
        moto.terminate()
        try:
            moto.wait(60)  # freeing 10^6 items takes a while
        except subprocess.TimeoutExpired:
            moto.kill()
            moto.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_reminders")
    parser.add_argument("--purchases", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--due", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4, help="parallel shard workers (Lambda concurrency)")
    parser.add_argument("--no-memory", action="store_true", help="skip the traced run (smoke test)")
    parser.add_argument(
        "--stock-moto", action="store_true", help="moto's own Query, which walks the whole table each time"
    )
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    from infra.local.stack import free_port

    global TIMER
    TIMER = CallTimer()
    port = free_port()
    results = []
    for n in args.purchases:
        result = bench(n, args.due, args.workers, port, memory=not args.no_memory, stock=args.stock_moto)
        results.append(result)
        base = results[0]
        print(
            f"purchases={n:>9,}  due={result['due']:>6,}  read={result['read']:>6,} "
            f"(read/due {result['read'] / max(1, result['due']):.3f}, read/history {result['read'] / n:.4f})  "
            f"sent={result['sent']:,} skipped={result['skipped']}  "
            f"job {result['wall_s']:.1f}s ({result['per_item_ms']:.1f} ms/item, x{result['wall_s'] / base['wall_s']:.2f} "
            f"vs first)  peak {result['peak_mib']:.1f} MiB (x{result['peak_mib'] / max(base['peak_mib'], 1e-9):.2f})  "
            f"re-run: {result['rerun_sent']} more sent in {result['rerun_s']:.1f}s  (load {result['load_s']:.0f}s)",
            flush=True,
        )
        calls = result["calls"]
        total_calls = sum(n for n, _ in calls.values())
        query_n, query_s = calls.get("Query", (0, 0.0))
        print(
            f"    AWS calls by the job: {total_calls:,} ({total_calls / max(1, result['due']):.1f} per due item; "
            + ", ".join(f"{op} {n}" for op, (n, _) in sorted(calls.items(), key=lambda kv: -kv[1][0]))
            + f"); moto time in Query {query_s:.1f}s for {query_n} queries "
            f"({1000 * query_s / max(1, query_n):.0f} ms each)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
