"""Benchmark: Dagster's per-run and per-step overhead, in-process vs multiprocess executor.

Runs a job of N no-op assets (the shape of our ingest job: 14 steps) a few times under each executor, on a
persistent temporary instance, and prints the wall time per run and per step. This is why the project's
Definitions use the in-process executor.

    .venv/bin/python bench/executor_overhead.py --repeat 3
"""

import argparse
import statistics
import sys
import tempfile
import time

import dagster as dg

STEPS = 14


def _noop_assets(n: int) -> list[dg.AssetsDefinition]:
    assets = []
    for i in range(n):

        @dg.asset(name=f"step_{i:02d}", deps=[f"step_{i - 1:02d}"] if i else [])
        def _noop() -> None:
            return None

        assets.append(_noop)
    return assets


def build_job(executor: dg.ExecutorDefinition) -> dg.JobDefinition:
    defs = dg.Definitions(
        assets=_noop_assets(STEPS),
        jobs=[dg.define_asset_job("noop_job", selection=dg.AssetSelection.all())],
        executor=executor,
    )
    return defs.resolve_job_def("noop_job")


def in_process_job() -> dg.JobDefinition:
    return build_job(dg.in_process_executor)


def multiprocess_job() -> dg.JobDefinition:
    return build_job(dg.multiprocess_executor)


def time_runs(job_fn: object, repeat: int, instance: dg.DagsterInstance) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.monotonic()
        with dg.execute_job(dg.reconstructable(job_fn), instance=instance) as result:
            assert result.success
        times.append(time.monotonic() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home, dg.DagsterInstance.local_temp(home) as instance:
        for name, fn in (("in_process", in_process_job), ("multiprocess", multiprocess_job)):
            times = time_runs(fn, args.repeat, instance)
            med = statistics.median(times)
            print(
                f"{name:13s} {STEPS} steps: median {med:.2f} s per run, {med / STEPS:.3f} s per step "
                f"(runs: {', '.join(f'{t:.2f}' for t in times)})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
