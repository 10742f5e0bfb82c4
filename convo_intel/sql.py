"""`convo-intel sql` / `make sql`: a read-only SQL shell on the analysts' copy of the warehouse.

The shell is the DuckDB 1.x CLI that `make analyst-clients` installs into `.venv/duckdb1` (the analyst copy is
written in a storage version every 1.x client reads, so this is also what an analyst's own `duckdb` would do), or
a `duckdb` found on PATH. Without either, a small line-by-line shell on the project's own duckdb module does the
same job: statements end with `;`, results print as tables, `.quit` or Ctrl-D leaves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Where `make analyst-clients` puts duckdb==1.x and duckdb-cli==1.x (pip install --target).
DUCKDB1_DIR = REPO_ROOT / ".venv" / "duckdb1"
DEMO_ANALYST_COPY = REPO_ROOT / "var" / "demo" / "warehouse" / "convo_intel_analyst.duckdb"


def default_analyst_path() -> Path:
    """$CONVO_INTEL_ANALYST_WAREHOUSE, else the demo's copy when `make demo` made one, else the default copy."""
    from orchestration.settings import WarehouseSettings, warehouse_paths

    if WarehouseSettings().analyst_path is None and DEMO_ANALYST_COPY.exists():
        return DEMO_ANALYST_COPY
    return warehouse_paths().analyst


def duckdb_cli() -> str | None:
    """The DuckDB CLI binary: `.venv/duckdb1`'s (or $CONVO_INTEL_DUCKDB1_DIR's), else one on PATH."""
    for folder in (os.environ.get("CONVO_INTEL_DUCKDB1_DIR", ""), str(DUCKDB1_DIR)):
        if folder and (binary := Path(folder) / "duckdb_cli" / "duckdb").is_file():
            return str(binary)
    return shutil.which("duckdb")


def run_sql_shell(path: str | None = None, command: str | None = None) -> int:
    target = Path(path) if path else default_analyst_path()
    if not target.exists():
        print(
            f"convo-intel sql: {target} does not exist yet (run `make demo`, or set CONVO_INTEL_ANALYST_WAREHOUSE)",
            file=sys.stderr,
        )
        return 2
    cli = duckdb_cli()
    if cli is not None:
        argv = [cli, "-readonly", str(target)]
        if command is not None:
            argv += ["-c", command]
        else:
            print(f"{target} (read-only) in {cli}; .tables lists the tables, .quit leaves", file=sys.stderr)
        return subprocess.call(argv)
    return _python_shell(target, command)


def _python_shell(target: Path, command: str | None) -> int:
    import duckdb

    con = duckdb.connect(str(target), read_only=True)
    try:
        if command is not None:
            return _run(con, command)
        print(f"{target} (read-only); statements end with ';', .quit leaves", file=sys.stderr)
        buffer: list[str] = []
        while True:
            try:
                line = input("sql> " if not buffer else "...> ")
            except EOFError:
                print()
                return 0
            if not buffer and line.strip() in {".quit", ".exit", r"\q"}:
                return 0
            buffer.append(line)
            if line.rstrip().endswith(";"):
                _run(con, "\n".join(buffer))
                buffer = []
    finally:
        con.close()


def _run(con: object, sql: str) -> int:
    import duckdb

    try:
        relation = con.sql(sql)  # type: ignore[attr-defined]
    except duckdb.Error as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    if relation is not None:
        relation.show(max_rows=200, max_width=200)
    return 0
