"""Compare two warehouses (e.g. the demo's analyst copy before and after a refactor): tables, views, mart values.

Prints the tables and views only one side has, then, for each mart given, whether its rows are identical on the
columns both sides have (write-time columns and the sandbox's random conversation ids left out; floats rounded to
1e-9, so summation order does not count as a difference) and the first differing rows if not.

    .venv/bin/python bench/compare_warehouses.py BEFORE.duckdb AFTER.duckdb
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import duckdb

MARTS = ("marts.team_quarter_scorecard", "marts.rep_quarter_scorecard", "marts.fct_conversations")
IGNORED = {"built_at", "loaded_at", "published_at", "fetched_at", "conversation_id"}


def relations(con: Any) -> tuple[set[str], set[str]]:
    tables = {
        f"{s}.{t}" for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
    }
    views = {
        f"{s}.{v}"
        for s, v in con.execute(
            "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal"
        ).fetchall()
    }
    return tables, views


def columns(con: Any, relation: str) -> list[str]:
    schema, name = relation.split(".")
    sql = "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?"
    return [r[0] for r in con.execute(sql + " ORDER BY ordinal_position", [schema, name]).fetchall()]


def rows(con: Any, relation: str, cols: list[str]) -> list[tuple[Any, ...]]:
    fetched = con.execute(f"SELECT {', '.join(cols)} FROM {relation} ORDER BY ALL").fetchall()
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in fetched]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument(
        "--mart", action="append", help="schema.table to compare (default: the scorecards + facts)"
    )
    args = parser.parse_args()
    with duckdb.connect(args.before, read_only=True) as a, duckdb.connect(args.after, read_only=True) as b:
        (ta, va), (tb, vb) = relations(a), relations(b)
        print("tables only before:", sorted(ta - tb))
        print("tables only after: ", sorted(tb - ta))
        print("views only before: ", sorted(va - vb))
        print("views only after:  ", sorted(vb - va))
        same_everywhere = True
        for mart in args.mart or MARTS:
            ca, cb = columns(a, mart), columns(b, mart)
            common = [c for c in ca if c in cb and c not in IGNORED]
            ra, rb = rows(a, mart, common), rows(b, mart, common)
            same = ra == rb
            same_everywhere &= same
            print(
                f"{mart}: rows {len(ra)} vs {len(rb)}, {len(common)} common columns, identical={same}; "
                f"columns only before {sorted(set(ca) - set(cb))}, only after {sorted(set(cb) - set(ca))}"
            )
            for x, y in [(x, y) for x, y in zip(ra, rb, strict=False) if x != y][:3]:
                print("   before:", x)
                print("   after: ", y)
    return 0 if same_everywhere else 1


if __name__ == "__main__":
    sys.exit(main())
