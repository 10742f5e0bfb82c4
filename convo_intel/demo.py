"""`make demo`: sandbox + demo corpus + every partition through the pipeline + dbt, then the scorecard.

Everything runs on loopback against the embedded sandbox; the runs are recorded in a Dagster instance under the
work dir so that `make dev` afterwards shows their history in the UI.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

DAGSTER_YAML = """\
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
# Frees pool slots still held by runs that ended (FAILURE/CANCELED) a minute ago. A run whose worker was killed
# stays STARTED under DefaultRunLauncher (no worker health check): the dead_run_reaper sensor handles that case.
run_monitoring:
  enabled: true
  free_slots_after_run_end_seconds: 60
"""


def prepare_environment(workdir: Path, sandbox_url: str) -> dict[str, str]:
    """The environment the pipeline reads (same variables a production deployment sets)."""
    home = workdir / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    env = {
        "DAGSTER_HOME": str(home.resolve()),
        "CONVO_INTEL_SANDBOX_URL": sandbox_url,
        "SYMBL_BASE_URL": f"{sandbox_url}/symbl",
        "SEMARIZE_BASE_URL": f"{sandbox_url}/semarize",
        "NEBULA_BASE_URL": f"{sandbox_url}/nebula",
        "SLACK_WEBHOOK_URL": f"{sandbox_url}/slack/services/T00000000/B00000000/sandbox-slack-token",
        "CRM_BASE_URL": f"{sandbox_url}/crm",
        "CONVO_INTEL_DROP_FOLDER": str((workdir / "drop").resolve()),
        "CONVO_INTEL_WAREHOUSE": str((workdir / "warehouse" / "convo_intel.duckdb").resolve()),
        "CONVO_INTEL_ANALYST_WAREHOUSE": str(
            (workdir / "warehouse" / "convo_intel_analyst.duckdb").resolve()
        ),
        "CONVO_INTEL_LIVE_DIR": str((workdir / "live").resolve()),
        "CONVO_INTEL_AGENT_POLICY_DIR": str((workdir / "policies").resolve()),
        # Support and QBR calls are also scored for product feedback (marts.product_feedback_by_feature); every
        # call keeps the sales-discovery Kit, so the scorecards read the same as with one Kit.
        "SEMARIZE_KITS_BY_CALL_TYPE": "support|qbr=SLSDISC1,PRODFDB1;*=SLSDISC1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DO_NOT_TRACK": "1",
    }
    os.environ.update(env)
    return env


def manifest_date_range(drop: Path) -> tuple[str, str]:
    days = []
    for path in (drop / "manifests").rglob("*.json"):
        try:
            days.append(date.fromisoformat(json.loads(path.read_text())["start_time"][:10]))
        except (ValueError, KeyError, TypeError):
            continue  # a broken manifest is the pipeline's to reject, not the demo's to choke on
    if not days:
        raise SystemExit(f"no readable manifests in {drop}")
    return min(days).isoformat(), max(days).isoformat()


def play_live_agent_calls(policy_dir: Path) -> dict[str, Any]:
    """The AI voice-agent calls, streamed live (quality gate at stop), then landed by live_calls_job, which
    hands each finished call to the batch path as a manifest in the drop folder."""
    from convo_intel.demo_agents import play_agent_calls, write_policy
    from orchestration.definitions import defs

    started = time.monotonic()
    write_policy(policy_dir)
    calls = play_agent_calls()
    print(f"{len(calls)} AI-agent calls streamed live and scored by the quality gate")
    result = defs.resolve_job_def("live_calls_job").execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    )
    if not result.success:
        raise SystemExit("live_calls_job failed; see the Dagster logs above")
    return {"live_seconds": round(time.monotonic() - started, 1)}


@contextlib.contextmanager
def output_to(log_path: Path) -> Iterator[None]:
    """Send this process's stdout and stderr, and its children's (dbt), to ``log_path`` at the descriptor level.

    The runs print ~600 lines of Dagster events and dbt progress; the demo's reader wants the scorecard, so the full
    log goes to a file (named on screen, tailed on failure) and the terminal gets one line per run.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log_path.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def run_pipeline(first_day: str, last_day: str, log_path: Path) -> dict[str, Any]:
    """One run for the whole partition range (single-run backfill), the dbt build + analyst copy, then routing
    over the same range (it reads the marts), their logs in ``log_path``. Returns the wall time of each run."""
    import dagster as dg
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from orchestration.definitions import defs

    instance = dg.DagsterInstance.get()
    quiet = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    date_range = {ASSET_PARTITION_RANGE_START_TAG: first_day, ASSET_PARTITION_RANGE_END_TAG: last_day}
    timings: dict[str, Any] = {}
    for label, job_name, tags in (
        ("ingest", "conversation_ingest_job", date_range),
        ("warehouse", "warehouse_build_job", None),
        ("routing", "routing_job", date_range),
    ):
        started = time.monotonic()
        with output_to(log_path):
            result = defs.resolve_job_def(job_name).execute_in_process(
                instance=instance, run_config=quiet, tags=tags, raise_on_error=False
            )
        timings[f"{label}_seconds"] = round(time.monotonic() - started, 1)
        if not result.success:
            print(tail(log_path), file=sys.stderr)
            raise SystemExit(
                f"{job_name} failed; the last lines of its log are above (all of it: {log_path})"
            )
        print(f"  {job_name}: {'ok':<4} {timings[f'{label}_seconds']:>6.1f} s")
    return timings


# (heading, width, legend) of each column of the demo's scorecard, in order.
SCORECARD_COLUMNS: tuple[tuple[str, int, str], ...] = (
    ("team", 18, "team from the rep roster ('unassigned': host not in the roster)"),
    ("quarter", 10, "fiscal quarter, FY<year the fiscal year ends>-Q<n>"),
    ("calls", 6, "completed conversations"),
    ("attrib", 6, "calls whose rep could be told apart (channel map, speaker events or named speakers)"),
    ("hours", 6, "total call time, hours"),
    ("talk", 5, "rep's share of talk time, 0-1 (0.5 = even), over the attributable calls only"),
    ("cust.", 6, "customer-side sentiment, -1 (negative) .. 1 (positive)"),
    ("depth", 6, "discovery depth, 1-5 (sales-discovery Kit; scored calls only)"),
    ("budget", 7, "share of scored calls where budget was confirmed, 0-1"),
    ("risk", 5, "share of scored calls flagged as a deal risk, 0-1"),
    ("next", 5, "share of scored calls with a dated next step agreed, 0-1"),
)


def format_scorecard(rows: list[tuple[Any, ...]]) -> str:
    """The team x quarter scorecard as an aligned table, followed by a legend for every column."""
    widths = [w for _, w, _ in SCORECARD_COLUMNS]
    lines = ["", "Team x fiscal quarter scorecard", "  ".join(h.ljust(w) for h, w, _ in SCORECARD_COLUMNS)]
    for row in rows:
        lines.append(
            "  ".join(("-" if v is None else str(v)).ljust(w) for v, w in zip(row, widths, strict=True))
        )
    lines.append("")
    lines += [f"  {h:<8} {legend}" for h, _, legend in SCORECARD_COLUMNS]
    lines.append("  (- = nothing to measure: no scored call, or the rep could not be identified)")
    return "\n".join(lines)


def print_report(analyst_path: str, live_path: str) -> None:
    import duckdb

    con = duckdb.connect(analyst_path, read_only=True)
    try:
        counts = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in (
                "raw.recordings",
                "raw.recording_rejections",
                "marts.fct_conversations",
                "raw.semarize_bricks",
                "raw.risk_alerts_sent",
                "raw.crm_sync",
            )
        }
        rows = con.execute(
            """
            SELECT team, fiscal_quarter, conversations, attributable_calls, round(total_hours, 1),
                   round(avg_talk_ratio, 2), round(avg_customer_sentiment, 2), round(avg_discovery_depth, 2),
                   round(budget_confirmed_rate, 2), round(risk_flag_rate, 2), round(next_step_rate, 2)
            FROM marts.team_quarter_scorecard ORDER BY team, fiscal_quarter
            """
        ).fetchall()
        attribution = con.execute(
            "SELECT attribution_method, count(*) FROM marts.fct_conversations GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall()
        published = con.execute("SELECT max(published_at) FROM main.published_at").fetchone()[0]
        feedback = con.execute(
            "SELECT feature_area, sum(calls), round(avg(avg_satisfaction_0_100)) "
            "FROM marts.product_feedback_by_feature GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall()
        agents = con.execute(
            "SELECT * FROM (SELECT agent_id, CAST(day AS VARCHAR), calls, round(hallucination_rate, 2) "
            "FROM marts.ai_agent_quality_daily) ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()
    print(format_scorecard(rows))
    print(
        f"\n{counts['raw.recordings']} recordings, {counts['raw.recording_rejections']} rejections, "
        f"{counts['marts.fct_conversations']} conversations, {counts['raw.semarize_bricks']} bricks, "
        f"{counts['raw.risk_alerts_sent']} risk alerts to Slack, {counts['raw.crm_sync']} CRM calls upserted"
    )
    print(
        "Speaker attribution (calls per method; talk ratio is over attributable calls only): "
        + ", ".join(f"{method} {n}" for method, n in attribution)
    )
    if agents:
        print(
            "AI-agent quality (ai_agent_quality_daily): "
            + "; ".join(
                f"{agent} {day}: {calls} calls, hallucination rate {rate}"
                for agent, day, calls, rate in agents
            )
        )
    if feedback:
        print(
            "Product feedback by feature (product_feedback_by_feature; calls naming it, satisfaction 0-100): "
            + ", ".join(f"{area} {calls} ({sat})" for area, calls, sat in feedback)
        )
    report = Path(analyst_path).with_name("scorecard_report.html")
    print(f"Live warehouse:    {live_path}")
    print(f"Analyst copy:      {analyst_path}   (published {published}; make sql, or duckdb -readonly)")
    if report.exists():
        print(f"Charts:            {report}   (self-contained HTML: open it in any browser)")


def run_demo(workdir: Path, recordings: int = 60, seed: int = 7) -> int:
    import warnings

    import dagster as dg

    # Dagster's API-maturity warnings (beta backfill policies) say nothing about the
    # demo's data and would bury the scorecard; everything else still prints.
    for category in (dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning):
        warnings.filterwarnings("ignore", category=category)
    from sandbox.app import build_app
    from sandbox.config import SandboxConfig
    from sandbox.demo_data import generate
    from sandbox.server import ServedApp, free_port

    if workdir.exists():
        shutil.rmtree(workdir)  # a demo is a fresh, reproducible run
    drop = workdir / "drop"
    started = time.monotonic()
    # The corpus's *_url manifests point at the sandbox's /media, so pick the port before generating.
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    print(generate(out_dir=drop, seed=seed, recordings=recordings, media_base_url=f"{base_url}/media"))
    config = SandboxConfig.from_env(data_dir=workdir / "sandbox", media_dir=(drop / "media").resolve())
    config.ensure_data_dir()
    with ServedApp(build_app(config), port=port) as sandbox:
        print(f"sandbox: {sandbox.base_url} (Symbl /symbl, Semarize /semarize, Nebula /nebula, media /media)")
        env = prepare_environment(workdir, sandbox.base_url)
        timings = play_live_agent_calls(Path(env["CONVO_INTEL_AGENT_POLICY_DIR"]))
        first_day, last_day = manifest_date_range(drop)
        log_path = workdir / "pipeline.log"
        print(f"materializing partitions {first_day} .. {last_day} as one run (full log: {log_path})")
        timings |= run_pipeline(first_day, last_day, log_path)
    print_report(env["CONVO_INTEL_ANALYST_WAREHOUSE"], env["CONVO_INTEL_WAREHOUSE"])
    print(f"Timings: {timings}, total {round(time.monotonic() - started, 1)} s")
    return 0
