"""Issue 12's figures in one go: every scale benchmark, one after another, each in its own process, with the
load average before and after each, and the lines that carry its figures gathered into one report.

Each benchmark is a separate process on purpose: peak RSS is a process's high-water mark, and a second run in one
process would start from the first one's. Full output of each goes to ``<out>/<name>.txt``; the report goes to
stdout and ``<out>/report.md``.

    .venv/bin/python bench/scale_report.py                          # everything: about 3 hours on 2 cores
    .venv/bin/python bench/scale_report.py --only memory-100 landing  # a subset, by name
    .venv/bin/python bench/scale_report.py --list

The 10,000-recording memory run dominates (its Symbl sandbox analyses every call, ~1 core for ~an hour here).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


@dataclass(frozen=True)
class Bench:
    name: str
    what: str  # the must-show line it answers
    args: tuple[str, ...]
    figures: str  # regex: the output lines that carry its figures


def _memory(n: int) -> Bench:
    return Bench(
        f"memory-{n}",
        f"peak RSS of the ingest run at {n:,} recordings in one day",
        ("ingest_memory.py", "--recordings", str(n), "--concurrency", "25"),
        r"peak \(VmHWM\)|ingest run \d+ s|^  symbl_messages |^load average",
    )


def _bound(*, warm: bool) -> Bench:
    return Bench(
        "makespan-bound" + ("-warm" if warm else ""),
        "makespan at N=500, C=50 against the concurrency bound; job polls per recording"
        + (" (the processing rate learned, as on a second day)" if warm else " (cold)"),
        ("makespan.py", "--job-seconds", "15", "--skip-patterns", *(["--warm"] if warm else [])),
        r"makespan / bound|job polls per recording|step: .* bound",
    )


BENCHES: tuple[Bench, ...] = (
    _memory(100),
    _memory(2_000),
    _memory(10_000),
    _bound(warm=False),
    _bound(warm=True),
    Bench(
        "patterns",
        "N=100 at C=5 and C=50 against the parallel fixed-delay flow and the SDK's sequential pattern",
        ("makespan.py", "--job-seconds", "5", "--skip-bound", "--warm"),
        r"^(ours|flow|sdk) |^pattern|^2\. Patterns",
    ),
    Bench(
        "rerun",
        "calls an immediate re-run of a finished day makes; tokens per run",
        ("pipeline_partition.py", "--recordings", "100"),
        r"re-run of|token:generate|peak RSS|ingest run:",
    ),
    Bench(
        "landing",
        "landing throughput against DuckDB's own bulk insert of the same rows",
        ("landing_throughput.py",),
        r"ratio|rows of",
    ),
    Bench(
        "backfill-180",
        "a 180-day single-run backfill's overhead beyond its API-bound time",
        ("backfill_overhead.py", "--days", "180", "--recordings", "6"),
        r"run +\d|range overhead|ASSET_MATERIALIZATION ",
    ),
    Bench(
        "sensor-10k",
        "the new-recordings sensor's tick at 10,000 known recordings",
        ("sensor_tick.py", "--manifests", "10000"),
        r"^idle tick|^tick with|cursor \(settled",
    ),
)


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def run(bench: Bench, out: Path) -> list[str]:
    log = out / f"{bench.name}.txt"
    before, started = load(), time.monotonic()
    with log.open("w") as sink:
        code = subprocess.call(
            [sys.executable, str(BENCH / bench.args[0]), *bench.args[1:]],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    seconds = time.monotonic() - started
    pattern = re.compile(bench.figures)
    lines = [line.rstrip() for line in log.read_text(errors="replace").splitlines() if pattern.search(line)]
    return [
        f"## {bench.name}: {bench.what}",
        f"`{' '.join(('bench/' + bench.args[0], *bench.args[1:]))}`: exit {code}, {seconds:.0f} s, "
        f"load {before} -> {load()}; full output {log}",
        "```",
        *lines,
        "```",
        "",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run these benchmarks only")
    parser.add_argument("--out", type=Path, help="folder for the outputs (default: a new temporary one)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args()
    if args.list:
        for bench in BENCHES:
            print(f"{bench.name:<20} {bench.what}")
        return 0
    chosen = [b for b in BENCHES if not args.only or b.name in args.only]
    unknown = set(args.only or ()) - {b.name for b in BENCHES}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))} (see --list)")
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    out.mkdir(parents=True, exist_ok=True)
    report = out / "report.md"
    lines = [f"# Issue 12 figures, {time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} cores", ""]
    report.write_text("\n".join(lines))
    print("\n".join(lines), flush=True)
    for bench in chosen:
        section = run(bench, out)
        print("\n".join(section), flush=True)
        lines += section
        report.write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
