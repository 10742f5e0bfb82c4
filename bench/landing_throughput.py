"""Landing throughput: the pipeline's insert of parsed rows vs DuckDB's own bulk insert of the same rows.

Both sides start from the same Python dicts (what the parsers produce: str, datetime, date, float, int, None) and
end with the rows in a real DuckDB file's `raw.symbl_messages`:
* baseline: Arrow's own converter on the dicts (`pa.Table.from_pylist`), then `INSERT ... SELECT` from the
  registered Arrow table: the least work that lands Python rows in DuckDB in bulk;
* ours: `duckdb_store.insert_rows` (columns checked against the table's declaration, typed Arrow schema), on an
  open connection;
* ours end to end: `WarehouseResource.replace_partition` (open the file, schema already set up, delete the window,
  insert, commit) — what an asset pays per write.
Rounds alternate the order; the figure is the median of per-round ratios (throughput ours / baseline).

    .venv/bin/python bench/landing_throughput.py [--rows 200000] [--rounds 7]

Measured 2026-12-03 at dc90204, beside a 10,000-recording ingest run (load 4.1): insert_rows 0.96x DuckDB's own
(min 0.73, max 1.60), replace_partition end to end 0.89x.
Measured 2026-12-06 at 9733638 (insert_rows registers a consumed Arrow stream), beside a 10,000-recording ingest
run and a CI run (load 4.6): insert_rows 1.01x (min 0.75, max 2.16), replace_partition end to end 1.09x.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestration.defs.warehouse import duckdb_store
from orchestration.defs.warehouse.resource import WarehouseResource

TABLE = "symbl_messages"


def message_rows(n: int) -> list[dict[str, Any]]:
    start = datetime(2026, 4, 7, 14, tzinfo=UTC)
    rows = []
    for i in range(n):
        at = start + timedelta(seconds=i * 3)
        rows.append(
            {
                "conversation_id": f"conv-{i // 200:06d}",
                "message_id": f"msg-{i:08d}",
                "partition_date": date(2026, 4, 7),
                "speaker_id": f"spk-{i % 3}",
                "speaker_name": ["Maya Chen", "Speaker 2", "Jordan Lee"][i % 3],
                "speaker_email": None if i % 3 == 1 else f"person{i % 3}@lumen.example",
                "speaker_user_id": None,
                "text": f"message {i} about pricing, timelines and the renewal we discussed last week",
                "start_time": at,
                "end_time": at + timedelta(seconds=2.5),
                "time_offset_seconds": float(i * 3 % 3600),
                "duration_seconds": 2.5,
                "sentiment_score": (i % 21 - 10) / 10,
                "sentiment_label": ["negative", "neutral", "positive"][i % 3],
                "word_count": 13,
            }
        )
    return rows


def baseline(con: Any, rows: list[dict[str, Any]]) -> None:
    data = pa.Table.from_pylist(rows)
    con.register("_baseline", data)
    con.execute(f"INSERT INTO raw.{TABLE} BY NAME SELECT * FROM _baseline")
    con.unregister("_baseline")


def timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    rows = message_rows(args.rows)
    work = Path(tempfile.mkdtemp(prefix="landing-"))
    path = str(work / "live.duckdb")
    resource = WarehouseResource(path=path, analyst_path=str(work / "analyst.duckdb"))
    with resource.connection() as con:  # schema set up once, outside the timings
        pass
    ratios, e2e_ratios, base_s, ours_s, e2e_s = [], [], [], [], []
    for r in range(args.rounds):
        with duckdb_store.connect(path) as con:

            def clear() -> None:
                con.execute(f"DELETE FROM raw.{TABLE}")
                con.execute("CHECKPOINT")

            sides = [
                ("base", lambda: baseline(con, rows)),
                ("ours", lambda: duckdb_store.insert_rows(con, TABLE, rows)),
            ]
            if r % 2:
                sides.reverse()
            got = {}
            for name, fn in sides:
                clear()
                got[name] = timed(fn)
            clear()
        got["e2e"] = timed(
            lambda: resource.replace_partition(TABLE, date(2026, 4, 7), date(2026, 4, 8), rows)
        )
        base_s.append(got["base"])
        ours_s.append(got["ours"])
        e2e_s.append(got["e2e"])
        ratios.append(got["base"] / got["ours"])
        e2e_ratios.append(got["base"] / got["e2e"])
    n = args.rows
    print(f"{n} rows of raw.{TABLE}, {args.rounds} rounds, load average {os.getloadavg()}")
    print(f"  DuckDB's own (from_pylist + INSERT): median {statistics.median(base_s):.3f} s "
          f"({n / statistics.median(base_s):,.0f} rows/s)")  # fmt: skip
    print(f"  insert_rows:                         median {statistics.median(ours_s):.3f} s "
          f"({n / statistics.median(ours_s):,.0f} rows/s)")  # fmt: skip
    print(f"  replace_partition (end to end):      median {statistics.median(e2e_s):.3f} s")
    print(f"  throughput ratio insert_rows / DuckDB's own: median {statistics.median(ratios):.2f}x "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})")  # fmt: skip
    print(f"  throughput ratio replace_partition / DuckDB's own: median {statistics.median(e2e_ratios):.2f}x")


if __name__ == "__main__":
    main()
