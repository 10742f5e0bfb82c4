"""What closing a DuckDB connection costs in memory as a table of large text values grows (the cause of the
ingest run's memory growth: raw.symbl_responses keeps each verbatim answer, ~300 KB for a transcript).

Writes the way the signal assets write: per batch, open the file, insert ``--per-batch`` values of ``--size``
bytes in one transaction, close. Closing checkpoints; the peak of that close (VmHWM, reset before it through
/proc/self/clear_refs) is printed every few batches with the resident memory after it. ``--chunk C`` stores each
value as rows of at most C bytes instead, ``--row-group-size`` attaches the file with smaller row groups; only
both together (parts under DuckDB's 4 KB inline-string limit, 2,048-row groups) stay flat.

    .venv/bin/python bench/duckdb_checkpoint_memory.py --batches 40 --size 300000            # grows with the table

Measured 2026-12-02 (DuckDB 2.0.1, memory_limit 512MB, 25 values a batch, load average 4-6):
* whole 300 KB values: close peak +4 MB at 25 values, +273 MB at 425, +659 MB at 1,000 (past the memory limit:
  not buffer-managed); the same with JSON, VARCHAR, BLOB or VARCHAR[] columns, memory_limit 128MB, FSST /
  dictionary / zstd disabled or compression forced off, and with --row-group-size 2048 (+659 MB at 1,000);
* values of 32 KB or less stay flat (+2-4 MB at 72 MB of values); 40 KB and more grow with the table;
* --chunk 4000 alone: most closes +3 MB, but every 2nd, 4th, 8th, ... batch more (+21, +51, +109, +224,
  +445 MB at batch 32): highest +460 MB over 60 batches (450 MB of values);
* --chunk 4000 --row-group-size 2048: highest close peak +6 MB over 60 batches (450 MB of values): flat.

    .venv/bin/python bench/duckdb_checkpoint_memory.py --batches 60 --size 300000 --chunk 4000 --row-group-size 2048
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa


def status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--per-batch", type=int, default=25)
    parser.add_argument("--size", type=int, default=300_000, help="bytes per value")
    parser.add_argument(
        "--chunk", type=int, default=0, help="store values as rows of at most this many bytes"
    )
    parser.add_argument("--memory-limit", default="512MB")
    parser.add_argument("--row-group-size", type=int, default=0, help="ATTACH ... (ROW_GROUP_SIZE n), 2048k")
    args = parser.parse_args()

    def connect() -> duckdb.DuckDBPyConnection:
        if not args.row_group_size:
            return duckdb.connect(str(path), config={"memory_limit": args.memory_limit})
        con = duckdb.connect(config={"memory_limit": args.memory_limit})
        con.execute(f"ATTACH '{path}' AS w (ROW_GROUP_SIZE {args.row_group_size})")
        con.execute("USE w")
        return con

    rng = random.Random(1)
    vocabulary = ["".join(rng.choice("abcdefghij") for _ in range(6)) for _ in range(2000)]
    path = Path(tempfile.mkdtemp(prefix="bench-ckpt-")) / "t.duckdb"
    with connect() as con:
        con.execute("CREATE TABLE r (k VARCHAR, seq INTEGER, body VARCHAR)")
    highest = 0.0
    for batch in range(args.batches):
        keys, seqs, parts = [], [], []
        for i in range(args.per_batch):
            value = " ".join(rng.choice(vocabulary) for _ in range(args.size // 7))
            step = args.chunk or len(value)
            for seq, at in enumerate(range(0, len(value), step)):
                keys.append(f"{batch}-{i}")
                seqs.append(seq)
                parts.append(value[at : at + step])
        rows = pa.table({"k": keys, "seq": seqs, "body": parts})
        con = connect()
        con.execute("BEGIN TRANSACTION")
        con.register("batch_rows", rows)
        con.execute("INSERT INTO r SELECT * FROM batch_rows")
        con.unregister("batch_rows")
        con.execute("COMMIT")
        before = status_mb("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM: the next reading is this close's peak
        con.close()
        highest = max(highest, status_mb("VmHWM") - before)
        if batch % 8 == 0 or batch == args.batches - 1 or status_mb("VmHWM") - before > 20:
            print(
                f"batch {batch + 1:3d}: {(batch + 1) * args.per_batch:5d} values "
                f"({(batch + 1) * args.per_batch * args.size / 1e6:5.0f} MB), close peak "
                f"+{status_mb('VmHWM') - before:4.0f} MB, RSS after {status_mb('VmRSS'):4.0f} MB, "
                f"file {os.path.getsize(path) / 1e6:4.0f} MB",
                flush=True,
            )
    print(f"highest close peak over all batches: +{highest:.0f} MB")
    path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
