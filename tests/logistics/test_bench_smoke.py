"""The logistics benchmark keeps working (tiny N, on this test process's moto server)."""

from __future__ import annotations

from tests.perf import bench_logistics


def test_bench_logistics_runs_and_a_repush_writes_nothing(aws):
    results = bench_logistics.run(shipments=2, repushes=4, events=4, own_aws=False)
    assert "repush" in bench_logistics.report(results)
    assert results["repush"]["dynamodb_writes"] == 0
    assert results["repush"]["detail"] == {"Query": 4}  # one Query per re-push, nothing else
    # One put per event, and one transaction: the status with its customer's message
    assert results["first_push"]["dynamodb_writes"] == 4 + 1
    assert results["status_change"]["dynamodb_writes"] == 1 + 1
