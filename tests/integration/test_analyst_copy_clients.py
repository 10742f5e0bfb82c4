"""The analysts' copy opens in a DuckDB 1.x client, and the README's analyst queries answer there.

The project writes with duckdb 2.x, whose default storage format (version 69) no 1.x client reads. The copy is
published with `STORAGE_VERSION 'v1.0.0'`; this test builds the marts with dbt over the small hand-made dataset of
`test_dbt_build.py`, publishes the copy as the pipeline does, then opens it from a separate interpreter whose only
duckdb is 1.x (installed by `make analyst-clients` into `.venv/duckdb1`; CI gets it through `make test`) and runs
every SQL block of README's "For analysts" section, plus the DuckDB 1.x CLI the `convo-intel sql` shell uses.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from convo_intel.sql import DUCKDB1_DIR, duckdb_cli
from orchestration.defs.warehouse.duckdb_store import publish_snapshot
from tests.integration.test_dbt_build import WAREHOUSE_ENV_VAR, dbt_build, load_raw

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT_DIR = Path(os.environ.get("CONVO_INTEL_DUCKDB1_DIR", "") or DUCKDB1_DIR)

# Skipped only outside CI: `make test` (which .ci/run runs) installs the client first, so in CI it must be there.
pytestmark = pytest.mark.skipif(
    not (CLIENT_DIR / "duckdb").is_dir() and not os.environ.get("CI"),
    reason=f"no DuckDB 1.x client in {CLIENT_DIR} (`make analyst-clients` installs it; `make test` does)",
)


def readme_analyst_queries() -> list[str]:
    """Every ```sql block between '## For analysts' and the next '## ' heading of README.md."""
    text = (REPO_ROOT / "README.md").read_text()
    section = text.split("## For analysts", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, flags=re.S)
    return [b.strip() for b in blocks]


# Runs inside the 1.x interpreter: opens the copy read-only, runs each query, prints JSON.
CLIENT_SCRIPT = """
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
out = {"version": duckdb.__version__, "results": []}
for sql in json.loads(sys.argv[2]):
    cur = con.execute(sql)
    out["results"].append({"columns": [d[0] for d in cur.description], "rows": cur.fetchall()})
print(json.dumps(out, default=str))
"""


@pytest.fixture(scope="module")
def analyst_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("analyst_copy")
    live = folder / "warehouse.duckdb"
    with duckdb.connect(str(live)) as con:
        load_raw(con)
    mp = pytest.MonkeyPatch()
    mp.setenv(WAREHOUSE_ENV_VAR, str(live))
    mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    mp.delenv("CONVO_INTEL_FISCAL_YEAR_START_MONTH", raising=False)
    mp.delenv("CONVO_INTEL_ANALYST_STORAGE_VERSION", raising=False)
    dbt_build(folder / "target")
    published = publish_snapshot(str(live), str(folder / "warehouse_analyst.duckdb"))
    assert published["storage_version"] == "v1.0.0"
    yield Path(published["path"])
    mp.undo()


def run_in_duckdb1(path: Path, queries: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(CLIENT_DIR)}
    proc = subprocess.run(
        [sys.executable, "-c", CLIENT_SCRIPT, str(path), json.dumps(queries)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=str(CLIENT_DIR.parent),  # not the repo root: nothing of the project's may shadow the 1.x module
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_live_format_is_what_1x_clients_refuse(analyst_copy: Path) -> None:
    # The reason for the whole exercise: the live file (2.x default format) does not open in 1.x.
    env = {**os.environ, "PYTHONPATH": str(CLIENT_DIR)}
    live = analyst_copy.with_name("warehouse.duckdb")
    proc = subprocess.run(
        [sys.executable, "-c", CLIENT_SCRIPT, str(live), "[]"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=str(CLIENT_DIR.parent),
    )
    if duckdb.__version__.startswith("1."):
        pytest.skip("the project's own duckdb is 1.x: the live file is readable anyway")
    assert proc.returncode != 0 and "version" in proc.stderr.lower()


def test_readme_analyst_queries_answer_in_a_duckdb_1x_client(analyst_copy: Path) -> None:
    queries = readme_analyst_queries()
    assert len(queries) >= 3  # the scorecard, the published marker, the failures
    out = run_in_duckdb1(analyst_copy, queries)
    assert out["version"].startswith("1.")
    scorecard, published, *_ = out["results"]
    # The team scorecard of the hand-made dataset (test_dbt_build.py): Enterprise Sales FY2026-Q1 has 3 calls
    # (conv-1, conv-8, conv-9) with talk ratios 0.6, 0.2, 0.6.
    assert scorecard["columns"][:4] == ["team", "fiscal_quarter", "conversations", "avg_talk_ratio"]
    rows = {(r[0], r[1]): r for r in scorecard["rows"]}
    assert rows[("Enterprise Sales", "FY2026-Q1")][2] == 3
    assert rows[("Enterprise Sales", "FY2026-Q1")][3] == pytest.approx(round(1.4 / 3, 4))
    assert sorted(rows) == [
        ("Enterprise Sales", "FY2026-Q1"),
        ("Enterprise Sales", "FY2026-Q2"),
        ("Mid-Market Sales", "FY2026-Q1"),
        ("unassigned", "FY2026-Q2"),
    ]
    # The marker says when and in which format the copy was published.
    assert published["columns"][0] == "published_at" and len(published["rows"]) == 1
    assert "v1.0.0" in published["rows"][0]


def test_duckdb_1x_cli_opens_the_copy_read_only(analyst_copy: Path) -> None:
    cli = duckdb_cli()
    if cli is None or not cli.startswith(str(CLIENT_DIR)):
        pytest.skip("no DuckDB 1.x CLI next to the 1.x module")
    version = subprocess.run([cli, "-version"], capture_output=True, text=True, timeout=60).stdout
    assert version.startswith("v1."), version
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "convo_intel.cli",
            "sql",
            str(analyst_copy),
            "-c",
            "SELECT count(*) AS n FROM marts.fct_conversations",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CONVO_INTEL_DUCKDB1_DIR": str(CLIENT_DIR)},
        cwd=str(REPO_ROOT),
    )
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"\b6\b", proc.stdout), proc.stdout  # six completed conversations
    # Read-only: a write is refused.
    proc = subprocess.run(
        [cli, "-readonly", str(analyst_copy), "-c", "CREATE TABLE x AS SELECT 1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 or "read-only" in (proc.stdout + proc.stderr).lower()
