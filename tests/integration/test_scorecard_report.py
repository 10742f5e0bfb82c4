"""The scorecard report: built from a small hand-made warehouse, written as one self-contained HTML file, and
loaded in real headless Chromium with the network unreachable: every chart draws its marks, no console error.

Chromium comes from Debian (`apt-get install chromium`, done by `.ci/run`); without it the browser test skips.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from orchestration.defs.warehouse.report import KEY_CHART, REPORT_FILE_NAME, build_report, write_report

TEAMS = [
    # team, fiscal_quarter, conversations, avg_talk_ratio, avg_discovery_depth, risk_flag_rate
    ("Enterprise Sales", "FY2026-Q1", 3, 0.4667, 2.5, 0.5),
    ("Enterprise Sales", "FY2026-Q2", 1, 0.3, 2.0, 1.0),
    ("Mid-Market Sales", "FY2026-Q1", 1, 0.5, None, None),  # nothing scored: no depth, no risk
]
REPS = [
    # rep_name, team, fiscal_quarter, conversations, avg_discovery_depth, avg_talk_ratio
    ("Maya Chen", "Enterprise Sales", "FY2026-Q1", 1, 4.0, 0.6),
    ("Maya Chen", "Enterprise Sales", "FY2026-Q2", 1, 2.0, 0.3),
    ("Daniel Okafor", "Enterprise Sales", "FY2026-Q1", 2, 1.0, 0.4),
    ("Liam Walsh", "Mid-Market Sales", "FY2026-Q1", 1, None, 0.5),  # unscored: not on the rep chart
]
CALLS = [
    # team, rep_name, fiscal_quarter, talk_ratio, discovery_depth, risk_flag
    ("Enterprise Sales", "Maya Chen", "FY2026-Q1", 0.6, 4, False),
    ("Enterprise Sales", "Maya Chen", "FY2026-Q2", 0.3, 2, True),
    ("Enterprise Sales", "Daniel Okafor", "FY2026-Q1", 0.2, 1, True),
    ("Enterprise Sales", "Daniel Okafor", "FY2026-Q1", 0.6, None, None),
    ("Mid-Market Sales", "Liam Walsh", "FY2026-Q1", 0.5, None, None),
    ("unassigned", "Zed Unlisted", "FY2026-Q2", None, 3, True),  # rep not identified: no talk ratio
]

AGENTS = [
    # agent_id, day, calls, hallucination_rate, safety_violation_rate
    ("refund-bot", "2026-05-04", 3, 0.3333, 0.0),
    ("refund-bot", "2026-05-05", 2, 0.0, 0.5),
]
FEATURES = [
    # feature_area, feedback_month, calls, avg_satisfaction_0_100
    ("reporting", "2026-04-01", 2, 50.0),
    ("reporting", "2026-05-01", 1, 80.0),
    ("billing", "2026-05-01", 1, 25.0),
    ("none", "2026-05-01", 4, 50.0),  # no area named: not a bar
]

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    # No host resolves: the page must need nothing from the network.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=30000",
]


@pytest.fixture(scope="module")
def analyst_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "convo_intel_analyst.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.team_quarter_scorecard (team VARCHAR, fiscal_quarter VARCHAR, conversations INT,"
            " avg_talk_ratio DOUBLE, avg_discovery_depth DOUBLE, risk_flag_rate DOUBLE)"
        )
        con.executemany("INSERT INTO marts.team_quarter_scorecard VALUES (?, ?, ?, ?, ?, ?)", TEAMS)
        con.execute(
            "CREATE TABLE marts.rep_quarter_scorecard (rep_name VARCHAR, team VARCHAR, fiscal_quarter VARCHAR,"
            " conversations INT, avg_discovery_depth DOUBLE, avg_talk_ratio DOUBLE)"
        )
        con.executemany("INSERT INTO marts.rep_quarter_scorecard VALUES (?, ?, ?, ?, ?, ?)", REPS)
        con.execute(
            "CREATE TABLE marts.fct_conversations (team VARCHAR, rep_name VARCHAR, fiscal_quarter VARCHAR,"
            " talk_ratio DOUBLE, discovery_depth INT, risk_flag BOOLEAN)"
        )
        con.executemany("INSERT INTO marts.fct_conversations VALUES (?, ?, ?, ?, ?, ?)", CALLS)
        con.execute(
            "CREATE TABLE marts.ai_agent_quality_daily (agent_id VARCHAR, day DATE, calls INT,"
            " hallucination_rate DOUBLE, safety_violation_rate DOUBLE)"
        )
        con.executemany("INSERT INTO marts.ai_agent_quality_daily VALUES (?, ?, ?, ?, ?)", AGENTS)
        con.execute(
            "CREATE TABLE marts.product_feedback_by_feature (feature_area VARCHAR, feedback_month DATE,"
            " calls INT, avg_satisfaction_0_100 DOUBLE)"
        )
        con.executemany("INSERT INTO marts.product_feedback_by_feature VALUES (?, ?, ?, ?)", FEATURES)
        con.execute(
            "CREATE TABLE main.published_at AS SELECT TIMESTAMPTZ '2026-06-01 12:00:00+00' AS published_at"
        )
    return path


def test_report_charts_carry_the_marts_rows(analyst_copy: Path) -> None:
    with duckdb.connect(str(analyst_copy), read_only=True) as con:
        report = build_report(con)
    rows = {c.name: c.rows for c in report.charts}
    # Team trends: every team x quarter; reps: only scored; talk ratio: calls with a ratio; depth: scored
    # calls; risk: team x quarter with a risk rate.
    assert rows == {
        "team_trends": 3, "rep_trends": 3, "talk_ratio": 5, "discovery_depth": 4, "risk": 2,
        "ai_agent_quality": 2, "top_features": 2,
    }  # fmt: skip
    features = report.chart("top_features").spec.to_dict()
    [dataset] = features["datasets"].values()
    # reporting 2 + 1 calls at (50 x 2 + 80) / 3 = 60.0; billing 1 call at 25.0; 'none' is not a feature.
    assert [(r["feature_area"], r["calls"], r["satisfaction"]) for r in dataset] == [
        ("reporting", 3, 60.0),
        ("billing", 1, 25.0),
    ]
    trends = report.chart(KEY_CHART).spec.to_dict()
    values = next(iter(trends["datasets"].values()))
    # 3 team-quarters x 4 metrics, less Mid-Market's missing depth and risk.
    assert len(values) == 3 * 4 - 2
    assert {v["metric"] for v in values} == {
        "Calls (count)",
        "Rep talk share (0-1)",
        "Discovery depth (1-5)",
        "Risky calls (share 0-1)",
    }
    assert all(c.legend for c in report.charts)  # every chart says what it shows and in which unit


def test_report_file_is_self_contained_and_the_key_chart_is_a_png(analyst_copy: Path) -> None:
    path, report, png = write_report(str(analyst_copy))
    assert path == analyst_copy.with_name(REPORT_FILE_NAME)
    text = path.read_text()
    # Nothing loaded from elsewhere: no tag of the page (outside the inline scripts' code) has a src or href.
    markup = re.sub(r"(<script[^>]*>).*?</script>", r"\1</script>", text, flags=re.S)
    assert markup.count("<script") == 2 and not re.search(r"<[a-z]+[^>]+(src|href)=", markup)
    assert "2026-06-01" in text and report.chart(KEY_CHART).title in text
    assert png.startswith(b"\x89PNG") and len(png) > 5000


# Skipped only outside CI: .ci/run installs chromium, so there a missing browser is a failure, not a skip.
@pytest.mark.skipif(
    shutil.which("chromium") is None and not os.environ.get("CI"),
    reason="no chromium (apt-get install chromium)",
)
def test_report_renders_every_chart_in_headless_chromium(analyst_copy: Path, tmp_path: Path) -> None:
    path, report, _ = write_report(str(analyst_copy))
    proc = subprocess.run(
        ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    match = re.search(r'<pre id="report-status">([^<]*)</pre>', proc.stdout)
    assert match and match.group(1), "the page never reported (a script failed before the end)"
    status = json.loads(match.group(1))
    assert status["errors"] == []
    assert set(status["charts"]) == {c.name for c in report.charts}
    # Drawn marks: at least one per data row of each chart (lines add their own marks on top of points).
    points = {
        "team_trends": 10, "rep_trends": 3, "talk_ratio": 2, "discovery_depth": 3, "risk": 2,
        "ai_agent_quality": 2, "top_features": 2,
    }  # fmt: skip
    for name, marks in status["charts"].items():
        assert marks >= points[name], (name, marks)
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
