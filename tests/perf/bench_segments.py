"""Benchmark: a segment's full recompute is one parallel Scan; an event costs a few calls.

    .venv/bin/python -m tests.perf.bench_segments                        # 200,000 customers
    .venv/bin/python -m tests.perf.bench_segments --customers 5000 --no-memory   # quick

A fresh moto server in its own process (patched like `make run`: serialised and linearizable,
infra/local/moto_patches.py) holds N customer profiles written with batch writes. Then, in
this process, over `--workers` parallel consumers of the segment-jobs queue (Lambda's
concurrency), each a Scan segment:
- a baseline: the same parallel Scan of the profiles (same shards, same page size), reading only;
- the recompute of a new segment through the real path (`put_segment` sends the shard tasks,
  `segment_jobs` consumes them): items DynamoDB returned per customer, the calls by operation,
  wall time against the baseline;
- peak memory (tracemalloc) of a second recompute (the rules changed), so the timed run is not
  slowed by tracing;
- incremental evaluation: orders and follows fed to the event handlers, with `--segments`
  segments defined: DynamoDB calls per event.

moto answers each Scan page by sorting every item of the table and hashing each one's key to
find its Scan segment, starting over from the table's first item (moto/dynamodb/models/table.py):
a recompute would be quadratic in moto alone. The benchmark's moto keeps the sorted keys of each
Scan segment and starts a page at its start key, as DynamoDB does, and (as bench_reminders)
answers a Query from its partition only (`--stock-moto` turns both off: only for small N).
Items returned are the same either way.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from tests.perf.bench_reminders import CallTimer, _batch_write, _environment, _start_moto

PREFIX = "bench"
STORES = [f"store-{i:02d}" for i in range(50)]
SKUS = [f"SKU-{i:03d}" for i in range(200)]
MOTO_LAUNCHER = """
import bisect, hashlib, os, sys, threading
sys.path.insert(0, os.getcwd())
from infra.local import moto_patches
moto_patches.apply()  # serialised, linearizable transactions without whole-table snapshots

if os.environ.get("BENCH_STOCK_MOTO") != "1":
    from moto.dynamodb.models.table import Table
    scan_from = threading.local()
    cache = {}
    all_items, scan = Table.all_items, Table.scan

    def plain(value):
        return value.value if hasattr(value, "value") else value

    def segment_keys(table, segment, total):
        # The sorted keys of one Scan segment, as (hash, range, hash object, range object);
        # rebuilt when the table's key set grows (the profiles table is only written by key,
        # never deleted from, during the benchmark). The segment is moto's own: md5 of the hash.
        size = len(table.items)
        entry = cache.get((id(table), total))
        if entry is None or entry[0] != size:
            lists = [[] for _ in range(total)]
            for hash_key, hash_set in table.items.items():
                h = plain(hash_key)
                digest = hashlib.md5(str(h).encode("utf8")).digest()[0] % total
                if table.range_key_attr:
                    lists[digest].extend((h, str(plain(r)), hash_key, r) for r in hash_set)
                else:
                    lists[digest].append((h, "", hash_key, None))
            entry = (size, [sorted(keys, key=lambda k: (k[0], k[1])) for keys in lists])
            cache[(id(table), total)] = entry
        return entry[1][segment]

    def items_from(self):
        start = getattr(scan_from, "args", None)
        if start is None:
            key = getattr(scan_from, "partition", None)
            if key is not None and self.range_key_attr:  # a Query: only its partition
                return iter(list(self.items[key].values())) if key in self.items else iter(())
            return all_items(self)
        exclusive_start_key, (segment, total) = start
        keys = segment_keys(self, segment, total)
        position = 0
        if exclusive_start_key:
            h = list(exclusive_start_key[self.hash_key_attr].values())[0]
            r = list(exclusive_start_key[self.range_key_attr].values())[0] if self.range_key_attr else ""
            position = bisect.bisect_right(keys, (h, str(r)), key=lambda k: (k[0], k[1]))
        def walk():
            for _, _, hash_key, range_key in keys[position:]:
                hash_set = self.items.get(hash_key)
                item = hash_set.get(range_key) if (hash_set is not None and self.range_key_attr) else hash_set
                if item is not None:
                    yield item
        return walk()

    def fast_scan(self, filters, limit, exclusive_start_key, filter_expression=None, index_name=None,
                  consistent_read=False, projection_expression=None, segments=(None, None)):
        if index_name is None and segments != (None, None):
            scan_from.args = (exclusive_start_key, segments)
        try:
            return scan(self, filters, limit, exclusive_start_key, filter_expression, index_name,
                        consistent_read, projection_expression, segments=segments)
        finally:
            scan_from.args = None

    # A Query reads its partition in DynamoDB; stock moto walks the whole table (as in
    # bench_reminders), and here each event's Query of the segments' partition would walk
    # every membership item.
    query = Table.query

    def partition_query(self, hash_key, *args, **kwargs):
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        scan_from.partition = hash_key if index_name is None else None
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            scan_from.partition = None

    Table.all_items, Table.scan, Table.query = items_from, fast_scan, partition_query

from moto.server import main
main(["-H", "127.0.0.1", "-p", sys.argv[1]])
"""


def load(customers: int) -> None:
    """N profiles as the events would have left them: 90% following, half consenting, 0-3
    orders of 1-3 SKUs over the last year, a first store among 50."""
    from functions.core import clock
    from functions.core.config import resource_name
    from functions.segments.membership import profile_row
    from functions.segments.rules import Profile

    rng = random.Random(18)
    now = clock.now()
    table = resource_name("segment-profiles")
    batch: list[dict[str, Any]] = []
    for i in range(customers):
        orders = rng.randint(0, 3)
        skus: dict[str, str] = {}
        last = None
        for _ in range(orders):
            at = clock.iso(now - timedelta(days=rng.randint(0, 365)))
            for sku in rng.sample(SKUS, rng.randint(1, 3)):
                skus[sku] = max(skus.get(sku, at), at)
            last = max(last or at, at)
        profile = Profile(
            openid=f"o-{i:08d}",
            subscribed=rng.random() < 0.9,
            followed_at=clock.iso(now - timedelta(days=rng.randint(0, 700))),
            reminder_consent=rng.random() < 0.5,
            first_store=rng.choice(STORES),
            first_staff=f"staff-{rng.randint(0, 9)}",
            total_spent_cents=sum(rng.randint(1000, 200_000) for _ in range(orders)),
            last_purchase_at=last,
            skus=skus,
            orders=frozenset(f"ord-{i}-{n}" for n in range(orders)),
            v=1,
        )
        batch.append(profile_row(profile).serialize())
        if len(batch) >= 10_000:
            _batch_write(batch, table)
            batch = []
    _batch_write(batch, table)


def _runtime() -> Any:
    import boto3

    from app import app
    from functions.core.config import resource_name
    from infra.local.runtime import EventRuntime

    return EventRuntime(app, boto3.client("sqs"), resource_name, poll_wait_s=0)


def consume(runtime: Any, workers: int) -> None:
    """The segment-jobs queue with `workers` parallel consumers until it is empty."""
    consumer = runtime.consumers["segment_jobs"]
    url = runtime._queue(consumer.queue)[0]

    def outstanding() -> int:
        attributes = runtime.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(v) for v in attributes.values())

    def work() -> None:
        while runtime.poll_once(consumer, wait_s=0) or outstanding():
            time.sleep(0.05)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda _: work(), range(workers)))


def baseline_scan(shards: int, page: int) -> int:
    """The same parallel Scan the job makes, reading only."""
    from functions.segments.models import ProfileRow

    def shard(n: int) -> int:
        read, cursor = 0, None
        while True:
            pages = ProfileRow.scan(segment=n, total_segments=shards, limit=page, page_size=page,
                                    last_evaluated_key=cursor, consistent_read=True)  # fmt: skip
            read += len(list(pages))
            cursor = pages.last_evaluated_key
            if not cursor:
                return read

    with ThreadPoolExecutor(max_workers=shards) as pool:
        return sum(pool.map(shard, range(shards)))


def recompute(runtime: Any, segment_id: str, rules: list[Any], workers: int) -> tuple[float, Any]:
    from functions.segments import domain

    started = time.perf_counter()
    domain.put_segment(segment_id, segment_id, rules, wechat_tag=False)
    consume(runtime, workers)
    return time.perf_counter() - started, domain.get_segment(segment_id)


def incremental(events_n: int, segments_n: int, timer: CallTimer) -> dict[str, Any]:
    """`segments_n` segments (plus the recomputed one), then orders and follows of known customers."""
    from functions.core import clock
    from functions.customers.domain import Customer
    from functions.segments import domain, events
    from functions.segments.rules import Rule

    for n in range(segments_n):
        store = STORES[n % len(STORES)]
        domain.put_segment(f"inc-{n}", f"inc-{n}", [Rule("first_store", "eq", store),
                           Rule("total_spent_cents", "gte", 50_000 * (n % 4))], wechat_tag=False)  # fmt: skip
    rng = random.Random(7)
    before = timer.snapshot()
    for n in range(events_n):
        openid = f"o-{rng.randrange(1000):08d}"
        if n % 2 == 0:
            sku = rng.choice(SKUS)
            events.on_order_recorded({"type": "order_recorded", "order_id": f"bench-{n}", "openid": openid,
                                      "items": [{"sku": sku}], "total_cents": rng.randint(1000, 90_000),
                                      "purchased_at": clock.iso(clock.now())})  # fmt: skip
        else:
            events.on_customer_changed(Customer(openid, rng.random() < 0.7, rng.random() < 0.5, rng.choice(STORES),
                                                None, subscribed_at=clock.iso(clock.now())))  # fmt: skip
    calls = CallTimer.delta(before, timer.snapshot())
    return {op: n / events_n for op, (n, _) in sorted(calls.items())}


def bench(
    customers: int, workers: int, port: int, memory: bool, stock: bool, events_n: int, segments_n: int
) -> None:
    moto, endpoint = _start_moto(port, stock, MOTO_LAUNCHER)
    try:
        _environment(endpoint)
        from functions.segments import jobs
        from functions.segments.rules import Rule
        from infra.local.provision import provision

        provision(endpoint, PREFIX)
        started = time.perf_counter()
        load(customers)
        print(f"loaded {customers:,} profiles in {time.perf_counter() - started:.1f}s", flush=True)
        timer = CallTimer()
        runtime = _runtime()

        started = time.perf_counter()
        scanned = baseline_scan(jobs.SHARDS, jobs.PAGE_SIZE)
        base_s = time.perf_counter() - started

        rules = [Rule("subscribed", "eq", True), Rule("total_spent_cents", "gte", 150_000)]
        before = timer.snapshot()
        wall_s, segment = recompute(runtime, "bench-vip", rules, workers)
        calls = CallTimer.delta(before, timer.snapshot())
        from functions.segments.models import JobShardRow

        read = sum(row.read for row in JobShardRow.query(f"JOB#{segment.job_id}", consistent_read=True))
        returned = read + calls.get("GetItem", (0, 0))[0]
        print(
            f"customers={customers:,}  baseline scan {scanned:,} items in {base_s:.1f}s  |  "
            f"recompute: members={segment.members:,}  items read={read:,} (+GetItem {calls.get('GetItem', (0, 0))[0]}) "
            f"= {returned / customers:.3f} per customer  wall {wall_s:.1f}s (x{wall_s / base_s:.2f} the baseline scan)",
            flush=True,
        )
        print("  calls: " + ", ".join(f"{op} {n:,}" for op, (n, _) in sorted(calls.items())), flush=True)

        if memory:
            tracemalloc.start()
            changed = [Rule("subscribed", "eq", True), Rule("total_spent_cents", "gte", 100_000)]
            mem_s, segment = recompute(runtime, "bench-vip", changed, workers)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"  rules changed: members={segment.members:,} in {mem_s:.1f}s (traced); "
                  f"peak memory {peak / 2**20:.1f} MiB", flush=True)  # fmt: skip

        per_event = incremental(events_n, segments_n, timer)
        total = sum(per_event.values())
        print(
            f"incremental: {events_n} events, {segments_n + 1} segments: {total:.2f} DynamoDB calls per event ("
            + ", ".join(f"{op} {n:.2f}" for op, n in per_event.items())
            + ")",
            flush=True,
        )
    finally:
        moto.terminate()
        try:
            moto.wait(60)
        except subprocess.TimeoutExpired:
            moto.kill()
            moto.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_segments")
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument(
        "--workers", type=int, default=8, help="parallel shard consumers (Lambda concurrency)"
    )
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--segments", type=int, default=20, help="segments defined for the incremental part")
    parser.add_argument("--no-memory", action="store_true", help="skip the traced recompute")
    parser.add_argument("--stock-moto", action="store_true", help="moto's own Scan (quadratic: small N only)")
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    from infra.local.stack import free_port

    bench(
        args.customers,
        args.workers,
        free_port(),
        not args.no_memory,
        args.stock_moto,
        args.events,
        args.segments,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
