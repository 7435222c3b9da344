"""Coupons: redemptions/s (no contention, and all on one code), claims/s against a hot campaign.

    .venv/bin/python -m tests.perf.bench_coupons [--n 400] [--threads 16]

Starts its own moto server (DynamoDB serialised and transactions made atomic, as in the tests:
infra/local/moto_patches.py) and calls the domain functions the handlers call, from
--threads threads. The baseline is a raw conditional UpdateItem (one item, ADD) against the same
server in the same run; every figure is also printed as a ratio to it, with the DynamoDB calls
per operation (counted around botocore). moto serialises every request, so sharding cannot
speed anything up here: the shard figures show that sharding costs nothing locally, and the
docs/benchmarks.md turns the per-operation write units into AWS partition limits.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tests.perf.harness import aws_calls, bench_environment  # noqa: E402 - before functions.*

bench_environment("wx-bench-coupons", QUIET_HOURS="off")


def start_moto() -> object:
    from infra.local.stack import free_port, start_embedded_aws

    return start_embedded_aws(free_port(), os.environ["RESOURCE_PREFIX"])


def run(n: int, threads: int, op: Callable[[int], str]) -> tuple[float, Counter[str], Counter[str]]:
    """(ops/s, outcomes, AWS calls) of n calls of op(i) over `threads` threads."""
    aws_calls.reset()
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def one(i: int) -> None:
        outcome = op(i)
        with lock:
            outcomes[outcome] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, range(n)))
    elapsed = time.perf_counter() - started
    return n / elapsed, outcomes, aws_calls.snapshot()[0]


def outcome_of(call: Callable[[], object]) -> str:
    from functions.core.errors import AppError

    try:
        call()
        return "ok"
    except AppError as error:
        return error.code


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args(argv)
    n, threads = args.n, args.threads

    moto = start_moto()
    aws_calls.install()
    from functions.core import clock
    from functions.core.aws import client
    from functions.core.config import resource_name
    from functions.coupons import campaigns, issuing, redemption
    from functions.coupons.requests import CampaignRequest
    from functions.stores.models import StoreRow

    def campaign(total: int, per_customer: int, shards: int) -> campaigns.Campaign:
        campaign_id = f"bench-{uuid.uuid4().hex[:8]}"
        campaigns.put_campaign(
            campaign_id,
            CampaignRequest(
                title="bench",
                discount_cents=500,
                min_spend_cents=0,
                valid_from="2020-01-01",
                valid_to="2099-12-31",
                total_limit=total,
                per_customer_limit=per_customer,
                counter_shards=shards,
            ),
        )
        return campaigns.require_campaign(campaign_id, consistent=True)

    at = clock.iso(clock.now())
    stores = [f"bench-store-{k}" for k in range(threads)]
    for store_id in stores:
        StoreRow(
            f"STORE#{store_id}",
            "STORE",
            store_id=store_id,
            name="b",
            welcome="w",
            pos_secret="s",
            created_at=at,
            updated_at=at,
        ).save()

    results: dict[str, float] = {}
    table = resource_name("coupons")
    ddb = client("dynamodb")

    # Baseline: one conditional ADD on one item, the cheapest write there is.
    def baseline(i: int) -> str:
        ddb.update_item(
            TableName=table,
            Key={"pk": {"S": "BENCH#baseline"}, "sk": {"S": "X"}},
            UpdateExpression="ADD n :one",
            ConditionExpression="attribute_not_exists(n) OR n >= :zero",
            ExpressionAttributeValues={":one": {"N": "1"}, ":zero": {"N": "0"}},
        )
        return "ok"

    rate, _, _ = run(n, threads, baseline)
    results["baseline_update_per_s"] = rate
    print(f"baseline: conditional UpdateItem          {rate:8.1f}/s  (1.00x)")

    def report(name: str, rate: float, outcomes: Counter[str], calls: Counter[str]) -> None:
        results[name] = rate
        per_op = ", ".join(f"{k.split(':')[1]} {v / n:.2f}" for k, v in sorted(calls.items()))
        print(
            f"{name:40s}  {rate:8.1f}/s  ({rate / results['baseline_update_per_s']:.2f}x)  "
            f"outcomes {dict(outcomes)}  calls/op: {per_op}"
        )

    # Redemptions without contention: n distinct coupons, each redeemed once.
    hot = campaign(total=n, per_customer=1, shards=1)
    codes = [issuing.issue_coupon(hot, f"bench-o-{i}", "issue").coupon.code for i in range(n)]
    report(
        "redemptions, no contention",
        *run(
            n,
            threads,
            lambda i: outcome_of(lambda: redemption.redeem(stores[i % threads], codes[i], f"r{i}", 1000)),
        ),
    )

    # Redemptions all on one code: 1 succeeds, the others are told already_redeemed.
    one = issuing.issue_coupon(campaign(total=1, per_customer=1, shards=1), "bench-one", "issue").coupon.code
    report(
        "redemptions, all on one code",
        *run(
            n,
            threads,
            lambda i: outcome_of(lambda: redemption.redeem(stores[i % threads], one, f"x{i}", 1000)),
        ),
    )

    # Claims against one hot campaign (distinct customers), with 1 and with 8 counter shards,
    # then the storm after it sold out (every claim refused).
    for shards in (1, 8):
        flash = campaign(total=n, per_customer=1, shards=shards)
        report(
            f"claims, hot campaign, {shards} shard(s)",
            *run(
                n,
                threads,
                lambda i, c=flash: outcome_of(lambda: issuing.claim(f"c-{c.campaign_id}-{i}", c.campaign_id)),
            ),
        )
        report(
            f"claims after sold out, {shards} shard(s)",
            *run(
                n,
                threads,
                lambda i, c=flash: outcome_of(
                    lambda: issuing.claim(f"late-{c.campaign_id}-{i}", c.campaign_id)
                ),
            ),
        )
    moto.stop()  # type: ignore[attr-defined]
    return results


if __name__ == "__main__":
    main()
