"""WeChat callback: in-process latency and DynamoDB/SQS calls per callback.

    .venv/bin/python -m tests.perf.bench_callback [--n 300]

Starts its own moto server and drives the real app through chalice's test client:
- latency p50/p99 of subscribe-with-scene (a new follower each time), a text keyword (物流)
  and TEMPLATESENDJOBFINISH, in plaintext and AES (safe) mode, with the latency of one raw
  DynamoDB GetItem against the same server as the baseline;
- DynamoDB and SQS calls per callback type, counted by wrapping botocore's
  BaseClient._make_api_call (every boto3 and PynamoDB call passes through it), and the
  "own" time: latency minus the time spent inside those calls (our code, parsing, crypto).
Cold import is tests/perf/bench_import.py.
Figures are ratios within one run; nothing here asserts on wall-clock time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

from tests.perf.harness import aws_calls, bench_environment  # noqa: E402 - before functions.*

bench_environment("wx-bench-cb")

ROOT = Path(__file__).resolve().parents[2]


def start_moto() -> object:
    from infra.local.stack import free_port, start_embedded_aws

    return start_embedded_aws(free_port(), os.environ["RESOURCE_PREFIX"])


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def bench_latency(n: int, warmup: int) -> None:
    from chalice.test import Client

    from app import app
    from functions.core.aws import client as aws_client
    from functions.core.config import resource_name
    from functions.stores.domain import decode_scene, put_store, register_scene
    from infra.local.wechat_sim import WeChat

    sim = WeChat()
    store_id = f"bench{uuid.uuid4().hex[:6]}"
    put_store(store_id, "Bench", "欢迎光临")
    scene = decode_scene(f"{store_id}/staff1")
    register_scene(scene, permanent=True)

    dynamodb = aws_client("dynamodb")
    table = resource_name("stores")
    baseline = []
    for _ in range(n):
        started = time.perf_counter()
        dynamodb.get_item(TableName=table, Key={"pk": {"S": f"STORE#{store_id}"}, "sk": {"S": "STORE"}})
        baseline.append((time.perf_counter() - started) * 1000)
    base_p50 = pct(baseline, 50)
    print(f"baseline: one DynamoDB GetItem on moto  p50 {base_p50:.1f} ms  p99 {pct(baseline, 99):.1f} ms")

    cases = {
        "subscribe with scene": lambda i: sim.event(
            f"o{uuid.uuid4().hex[:12]}", "subscribe", f"qrscene_{scene.scene}"
        ),
        "text keyword (物流)": lambda i: sim.text(f"o{uuid.uuid4().hex[:12]}", "我的物流"),
        # the store inbox: two reads (the store, the conversation) and the transaction
        "text into the inbox": lambda i: sim.text(f"o{uuid.uuid4().hex[:12]}", "冰箱什么时候到"),
        "TEMPLATESENDJOBFINISH": lambda i: sim.event(
            "obench", "TEMPLATESENDJOBFINISH", MsgID=str(10_000_000 + i), Status="success"
        ),
    }
    rows = []
    with Client(app) as client:
        for name, make in cases.items():
            for mode in ("plain", "aes"):
                timings, own, per_call = [], [], Counter()
                for i in range(n + warmup):
                    path, body = sim.request(make(i), mode)
                    aws_calls.reset()
                    started = time.perf_counter()
                    response = client.http.post(path, headers={"Content-Type": "text/xml"}, body=body)
                    elapsed = (time.perf_counter() - started) * 1000
                    assert response.status_code == 200, response.body
                    if i >= warmup:  # warm-up: first AES import, connection pools
                        timings.append(elapsed)
                        calls, aws_ms = aws_calls.snapshot()
                        per_call.update(calls)
                        own.append(elapsed - aws_ms)
                p50, p99 = pct(timings, 50), pct(timings, 99)
                calls = {k: v / n for k, v in sorted(per_call.items())}
                rows.append((name, mode, p50, p99, pct(own, 50), pct(own, 99), calls))
    print(
        f"\n{'callback':24} {'mode':6} {'p50 ms':>7} {'p99 ms':>7} {'p50/GetItem':>11} "
        f"{'own p50':>8} {'own p99':>8}  AWS calls per callback"
    )
    for name, mode, p50, p99, own50, own99, calls in rows:
        described = ", ".join(f"{k} {v:g}" for k, v in calls.items()) or "none"
        ddb = sum(v for k, v in calls.items() if k.startswith("dynamodb:"))
        sqs = sum(v for k, v in calls.items() if k.startswith("sqs:"))
        print(
            f"{name:24} {mode:6} {p50:7.1f} {p99:7.1f} {p50 / base_p50:10.1f}x {own50:8.1f} {own99:8.1f}  "
            f"DynamoDB {ddb:g}, SQS {sqs:g} ({described})"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    t1 = time.perf_counter()
    aws_calls.install()
    moto = start_moto()
    t2 = time.perf_counter()
    try:
        bench_latency(args.n, args.warmup)
    finally:
        moto.stop()  # type: ignore[attr-defined]
    print(f"\n(bench phases: moto start {t2 - t1:.1f} s, latency {time.perf_counter() - t2:.1f} s)")


if __name__ == "__main__":
    main()
