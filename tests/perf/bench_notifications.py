"""Notification worker throughput against a WeChat that answers in 20 ms and in 200 ms.

    .venv/bin/python -m tests.perf.bench_notifications [--n 400] [--sequential-n N]
                                                        [--latency-ms 20,200] [--threads 8]

Starts its own moto server (patched as in `make run`: infra/local/moto_patches.py) and WeChat
sandbox, each in its own process, records N notifications with notify(), relays them from the
table's stream to the queue (the outbox relay, before the clock starts), and runs the real
`notification_worker` through the local event runtime (one poller, as one Lambda instance,
with the worker's own batch size) until every record is `sent`. For each WeChat latency:
- sequential: the same worker with one thread, i.e. a strictly sequential sender;
- parallel: the worker with `--threads` (NOTIFY_THREADS).
It prints messages/s, the speed-up against the thread count, the AWS calls per sent
notification split by call, and the stable_token calls per 10,000 sends.
Figures are ratios within one run; nothing here asserts on wall-clock time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.perf.harness import aws_calls, bench_environment  # noqa: E402 - before functions.*

bench_environment("wx-bench", QUIET_HOURS="off")

SEND = "cgi-bin/message/template/send"
WRITES = {"TransactWriteItems", "UpdateItem", "PutItem", "DeleteItem", "BatchWriteItem"}
READS = {"GetItem", "Query", "TransactGetItems", "BatchGetItem", "Scan"}


def _spawn(args: list[str], url: str) -> subprocess.Popen:
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            requests.get(url, timeout=0.5)
            return process
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{args} did not start")


def start_services() -> list[subprocess.Popen]:
    """moto and the WeChat sandbox in their own processes, so that their CPU does not share
    this process's GIL with the worker being measured (as in AWS, where they are remote)."""
    from functions.core.config import load_settings
    from infra.local.provision import provision
    from infra.local.stack import free_port

    moto_port, sandbox_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{moto_port}"
    serve_moto = (
        "import sys, threading; from infra.local import moto_patches; moto_patches.apply(); "
        "from moto.server import ThreadedMotoServer; "
        "ThreadedMotoServer(ip_address='127.0.0.1', port=int(sys.argv[1]), verbose=False).start(); "
        "threading.Event().wait()"
    )
    moto = _spawn([sys.executable, "-c", serve_moto, str(moto_port)], endpoint)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    provision(endpoint, os.environ["RESOURCE_PREFIX"])
    s = load_settings()
    code = (
        "import sys, threading; from infra.local.sandbox import Sandbox; "
        "Sandbox('127.0.0.1', int(sys.argv[1]), *sys.argv[2:]).start(); threading.Event().wait()"
    )
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    args = [s.wechat_app_id, s.wechat_app_secret, s.wechat_token]
    sandbox = _spawn([sys.executable, "-c", code, str(sandbox_port), *args], f"{sandbox_url}/sandbox/calls")
    os.environ["WECHAT_API_BASE"] = sandbox_url
    return [moto, sandbox]


def sandbox_calls(api: str) -> int:
    calls = requests.get(f"{os.environ['WECHAT_API_BASE']}/sandbox/calls", timeout=5).json()["calls"]
    return int(calls.get(api, 0))


def worker_runtime():
    """The event runtime over an app holding only the notifications blueprint (the outbox
    relay and the worker); one for the whole run, so that it keeps its place in the stream."""
    import boto3
    from chalice import Chalice

    from functions.core.config import resource_name
    from functions.notifications.background import blueprint
    from infra.local.runtime import EventRuntime

    app = Chalice(app_name="bench-notifications")
    app.register_blueprint(blueprint)
    return EventRuntime(app, boto3.client("sqs"), resource_name, poll_wait_s=0)


def queue(n: int, tag: str) -> list[str]:
    from functions.notifications.domain import notify

    def one(i: int) -> str:
        for attempt in range(5):  # notify() is idempotent with a fixed id: retry a busy moto
            try:
                return notify(
                    f"o-bench-{tag}-{i % 500}",
                    "shipment_status",
                    {
                        "tracking_no": f"SF{i}",
                        "status": "已发货",
                        "detail": f"Parcel {i}",
                        "time": "2024-05-01 10:00",
                    },
                    notification_id=f"bench-{tag}-{i}",
                )
            except Exception:
                if attempt == 4:
                    raise
                time.sleep(1)
        raise AssertionError("unreachable")

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, range(n)))


def run(runtime, n: int, threads: int, tag: str) -> dict[str, float]:
    from functions.core.config import reset_settings
    from functions.notifications.domain import get_notification

    os.environ["NOTIFY_THREADS"] = str(threads)
    reset_settings()
    consumer = runtime.consumers["notification_worker"]
    ids = queue(n, tag)
    while runtime.poll_stream_once(runtime.stream_consumers["notification_outbox"]):
        pass
    sends_before, tokens_before = sandbox_calls(SEND), sandbox_calls("cgi-bin/stable_token")
    aws_calls.reset()
    started = time.perf_counter()
    idle = 0
    while idle < 3:  # the queue looked empty three polls in a row
        idle = idle + 1 if runtime.poll_once(consumer, wait_s=0) == 0 else 0
    elapsed = time.perf_counter() - started
    made, aws_ms = aws_calls.snapshot()
    sends = sandbox_calls(SEND) - sends_before
    tokens = sandbox_calls("cgi-bin/stable_token") - tokens_before
    sample = [get_notification(i)["status"] for i in ids[:: max(1, n // 50)]]
    assert set(sample) == {"sent"}, sample
    return {
        "n": n,
        "seconds": elapsed,
        "rate": n / elapsed,
        "sends": sends,
        "token_calls": tokens,
        "calls_per_message": {name: count / n for name, count in sorted(made.items())},
        "aws_ms_per_message": aws_ms / n,
    }


def _calls(calls: dict[str, float]) -> str:
    writes = sum(v for k, v in calls.items() if k.partition(":")[2] in WRITES)
    reads = sum(v for k, v in calls.items() if k.partition(":")[2] in READS)
    listed = ", ".join(f"{name} {count:.2f}" for name, count in calls.items())
    return f"DynamoDB writes {writes:.2f}, reads {reads:.2f} ({listed})"


def main(argv: list[str] | None = None) -> dict[int, dict[str, dict]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=int(os.environ.get("BENCH_N", "400")))
    parser.add_argument("--sequential-n", type=int, default=None, help="default: n (equal queue depths)")
    parser.add_argument("--latency-ms", default="20,200", help="WeChat's latency per send, comma-separated")
    parser.add_argument("--threads", type=int, default=8, help="NOTIFY_THREADS of the parallel run")
    args = parser.parse_args(argv)
    sequential_n = args.sequential_n or args.n
    latencies = [int(v) for v in str(args.latency_ms).split(",") if v.strip()]

    aws_calls.install()
    processes = start_services()
    results: dict[int, dict[str, dict]] = {}
    try:
        runtime = worker_runtime()
        for latency in latencies:
            requests.delete(f"{os.environ['WECHAT_API_BASE']}/sandbox/faults", timeout=5).raise_for_status()
            fault = {"api": SEND, "delay_ms": latency, "count": -1}  # every template send answers after it
            requests.post(
                f"{os.environ['WECHAT_API_BASE']}/sandbox/faults", json=fault, timeout=5
            ).raise_for_status()
            seq = run(runtime, sequential_n, 1, f"seq{latency}")
            par = run(runtime, args.n, args.threads, f"par{latency}")
            results[latency] = {"sequential": seq, "parallel": par}
            print(f"latency {latency} ms done", flush=True)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()

    batch = runtime.consumers["notification_worker"].batch_size
    print(
        f"one poller (one Lambda instance), batches of up to {batch}, {args.threads} threads in the parallel runs"
    )
    print(f"{'WeChat latency':>14} {'sequential':>12} {'parallel':>12} {'speed-up':>9} {'/ threads':>10}")
    for latency, pair in results.items():
        seq, par = pair["sequential"], pair["parallel"]
        ratio = par["rate"] / seq["rate"]
        print(
            f"{latency:>11} ms {seq['rate']:>8.1f} /s {par['rate']:>8.1f} /s {ratio:>8.1f}x {ratio / args.threads:>9.2f}"
        )
    for latency, pair in results.items():
        for name, run_ in pair.items():
            print(
                f"AWS calls per sent notification, {latency} ms {name}: {_calls(run_['calls_per_message'])};"
                f" {run_['aws_ms_per_message']:.1f} ms in them"
            )
    sends = sum(r["sends"] for pair in results.values() for r in pair.values())
    token_calls = sum(r["token_calls"] for pair in results.values() for r in pair.values())
    print(
        f"stable_token calls: {token_calls} for {sends} sends = "
        f"{token_calls * 10000 / max(1, sends):.1f} per 10,000 sends"
    )
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
