"""`scorecard_report`: the scorecards as charts, in one self-contained HTML file beside the analysts' copy.

Charts are Vega-Lite specs built with Altair; the page embeds the Vega / Vega-Lite / Vega-Embed bundle that
vl-convert ships (no CDN, no network: the file opens anywhere, offline), and vl-convert renders the key chart
to PNG (no browser needed) for the asset's materialization metadata, so the Dagster UI shows it too.

The page reports on itself: once every chart has rendered, `<pre id="report-status">` holds JSON with the
number of drawn marks per chart and any script error, which the headless-browser test reads.
"""

import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import altair as alt
import dagster as dg
import duckdb
import pandas as pd
import vl_convert
from dagster import AssetExecutionContext

from orchestration.defs.warehouse.resource import WarehouseResource

REPORT_FILE_NAME = "scorecard_report.html"
KEY_CHART = "team_trends"
# Team colours stay the same across every chart of the page.
TEAM_SCALE = alt.Scale(scheme="tableau10")


@dataclass
class Chart:
    name: str
    title: str
    legend: str  # what the chart shows, and the unit / scale of every value on it
    spec: alt.TopLevelMixin
    rows: int


@dataclass
class Report:
    published_at: str
    charts: list[Chart] = field(default_factory=list)

    def chart(self, name: str) -> Chart:
        return next(c for c in self.charts if c.name == name)


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    cur = con.execute(sql)
    return pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])


def build_report(con: duckdb.DuckDBPyConnection) -> Report:
    """Every chart of the report, from the marts of an open (read-only) warehouse connection."""
    published = con.execute("SELECT max(published_at) FROM main.published_at").fetchone()[0]
    report = Report(published_at=str(published) if published else "not published")

    teams = _frame(
        con,
        """
        SELECT team, fiscal_quarter, conversations, avg_talk_ratio, avg_discovery_depth, risk_flag_rate
        FROM marts.team_quarter_scorecard ORDER BY team, fiscal_quarter
        """,
    )
    long = teams.melt(
        id_vars=["team", "fiscal_quarter"],
        value_vars=["conversations", "avg_talk_ratio", "avg_discovery_depth", "risk_flag_rate"],
        var_name="metric",
        value_name="value",
    ).dropna(subset=["value"])
    labels = {
        "conversations": "Calls (count)",
        "avg_talk_ratio": "Rep talk share (0-1)",
        "avg_discovery_depth": "Discovery depth (1-5)",
        "risk_flag_rate": "Risky calls (share 0-1)",
    }
    long["metric"] = long["metric"].map(labels)
    trends = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("fiscal_quarter:O", title="Fiscal quarter"),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
            color=alt.Color("team:N", title="Team", scale=TEAM_SCALE),
            tooltip=["team", "fiscal_quarter", "metric", alt.Tooltip("value:Q", format=".2f")],
        )
        .properties(width=220, height=160)
        .facet(facet=alt.Facet("metric:N", title=None, sort=list(labels.values())), columns=4)
        .resolve_scale(y="independent")
    )
    report.charts.append(
        Chart(
            KEY_CHART,
            "Team trends by fiscal quarter",
            "One line per team. Calls: completed conversations. Rep talk share: the rep's share of talk time "
            "(0-1; 0.5 = equal). Discovery depth: the sales-discovery Kit's 1-5 rating of how many discovery "
            "areas the rep covered (scored calls only). Risky calls: share of scored calls with the Kit's risk "
            "flag (0-1).",
            trends,
            len(teams),
        )
    )

    reps = _frame(
        con,
        """
        SELECT rep_name, team, fiscal_quarter, conversations, avg_discovery_depth, avg_talk_ratio
        FROM marts.rep_quarter_scorecard WHERE avg_discovery_depth IS NOT NULL ORDER BY team, rep_name
        """,
    )
    rep_chart = (
        alt.Chart(reps)
        .mark_line(point=True)
        .encode(
            x=alt.X("fiscal_quarter:O", title="Fiscal quarter"),
            y=alt.Y("avg_discovery_depth:Q", title="Discovery depth (1-5)", scale=alt.Scale(domain=[1, 5])),
            color=alt.Color("rep_name:N", title="Rep"),
            tooltip=["rep_name", "team", "fiscal_quarter", "conversations", "avg_discovery_depth"],
        )
        .properties(width=260, height=180)
        .facet(facet=alt.Facet("team:N", title=None), columns=3)
    )
    report.charts.append(
        Chart(
            "rep_trends",
            "Rep discovery depth by quarter",
            "One line per rep, one panel per team: the mean discovery depth (1-5) of the rep's scored calls in "
            "each fiscal quarter. Quarters with no scored call are left out.",
            rep_chart,
            len(reps),
        )
    )

    calls = _frame(
        con,
        """
        SELECT team, rep_name, fiscal_quarter, talk_ratio, discovery_depth, risk_flag
        FROM marts.fct_conversations
        """,
    )
    talk = calls.dropna(subset=["talk_ratio"])
    talk_chart = (
        alt.Chart(talk)
        .mark_boxplot(extent="min-max")
        .encode(
            x=alt.X(
                "talk_ratio:Q",
                title="Rep talk share (0-1)",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format=".1f", tickCount=10),
            ),
            y=alt.Y("team:N", title=None),
            color=alt.Color("team:N", legend=None, scale=TEAM_SCALE),
        )
        .properties(width=620, height=160)
    )
    balanced = alt.Chart(pd.DataFrame({"x": [0.5]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    report.charts.append(
        Chart(
            "talk_ratio",
            "Talk ratio per call",
            "Each box spans one team's calls: the rep's share of talk time (0-1); whiskers reach the lowest and "
            "highest call, the line in the box is the median, the dashed line marks an even 0.5. Calls where the "
            "rep could not be identified have no talk ratio and are left out.",
            talk_chart + balanced,
            len(talk),
        )
    )

    depth = calls.dropna(subset=["discovery_depth"])
    depth_chart = (
        alt.Chart(depth)
        .mark_bar()
        .encode(
            x=alt.X(
                "discovery_depth:O",
                title="Discovery depth (1-5)",
                scale=alt.Scale(domain=[1, 2, 3, 4, 5]),
                axis=alt.Axis(labelAngle=0),
            ),
            y=alt.Y("count():Q", title="Calls"),
            color=alt.Color("team:N", title="Team", scale=TEAM_SCALE),
            tooltip=["team", "discovery_depth", "count()"],
        )
        .properties(width=420, height=220)
    )
    report.charts.append(
        Chart(
            "discovery_depth",
            "Discovery depth of scored calls",
            "Number of scored calls at each discovery depth, stacked by team (1 = one or no discovery area "
            "covered, 5 = five or more of pain, process, timeline, decision makers, budget, current tools).",
            depth_chart,
            len(depth),
        )
    )

    risk = teams.dropna(subset=["risk_flag_rate"])
    risk_chart = (
        alt.Chart(risk)
        .mark_bar()
        .encode(
            x=alt.X("fiscal_quarter:O", title="Fiscal quarter"),
            xOffset="team:N",
            y=alt.Y("risk_flag_rate:Q", title="Risky calls (share 0-1)", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("team:N", title="Team", scale=TEAM_SCALE),
            tooltip=[
                "team",
                "fiscal_quarter",
                "conversations",
                alt.Tooltip("risk_flag_rate:Q", format=".0%"),
            ],
        )
        .properties(width=420, height=220)
    )
    report.charts.append(
        Chart(
            "risk",
            "Deal risk by team and quarter",
            "Share of each team's scored calls in the quarter that the sales-discovery Kit flagged as risky "
            "(negative customer, competitor plus pricing objection, cancellation language, or a stalled next "
            "step), 0-1.",
            risk_chart,
            len(risk),
        )
    )
    _add_agent_quality(con, report)
    _add_top_features(con, report)
    return report


def _add_agent_quality(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    quality = _frame(
        con,
        "SELECT agent_id, CAST(day AS VARCHAR) AS day, calls, hallucination_rate, safety_violation_rate "
        "FROM marts.ai_agent_quality_daily ORDER BY agent_id, day",
    )
    chart = (
        alt.Chart(quality)
        .mark_bar()
        .encode(
            x=alt.X("day:O", title="Day"),
            xOffset="agent_id:N",
            y=alt.Y(
                "hallucination_rate:Q",
                title="Calls with a hallucination (share 0-1)",
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("agent_id:N", title="AI agent"),
            tooltip=["agent_id", "day", "calls", alt.Tooltip("hallucination_rate:Q", format=".0%"),
                     alt.Tooltip("safety_violation_rate:Q", format=".0%")],
        )
        .properties(width=420, height=220)
    )  # fmt: skip
    report.charts.append(
        Chart(
            "ai_agent_quality",
            "AI voice-agent quality by day",
            "Share of each AI agent's calls that day that the quality-gate Kit found hallucinating against the "
            "agent's policy documents, 0-1 (tooltip: calls and safety-violation share).",
            chart,
            len(quality),
        )
    )


def _add_top_features(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    features = _frame(
        con,
        """
        SELECT feature_area, sum(calls) AS calls,
               round(sum(avg_satisfaction_0_100 * calls) / sum(calls), 1) AS satisfaction
        FROM marts.product_feedback_by_feature WHERE feature_area <> 'none'
        GROUP BY feature_area ORDER BY calls DESC, feature_area LIMIT 10
        """,
    )
    chart = (
        alt.Chart(features)
        .mark_bar()
        .encode(
            x=alt.X("calls:Q", title="Calls whose feedback named it"),
            y=alt.Y("feature_area:N", title=None, sort="-x"),
            color=alt.Color("satisfaction:Q", title="Satisfaction (0-100)", scale=alt.Scale(domain=[0, 100])),
            tooltip=["feature_area", "calls", "satisfaction"],
        )
        .properties(width=420, height=220)
    )
    report.charts.append(
        Chart(
            "top_features",
            "Product areas customers talk about",
            "Calls whose product feedback named each area (product-feedback Kit, all months), coloured by the "
            "callers' average satisfaction, 0 (very dissatisfied) .. 100 (very satisfied).",
            chart,
            len(features),
        )
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>convo-intel scorecard report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 1100px; }}
section {{ margin-bottom: 2.5rem; }} p.legend {{ color: #444; max-width: 900px; }}
pre#report-status {{ display: none; }}
</style></head>
<body>
<h1>Conversation scorecards</h1>
<p>From the analysts' copy published {published}.
Fiscal quarters are named FY&lt;year the fiscal year ends&gt;-Q&lt;n&gt;. Every figure is also in
<code>marts.team_quarter_scorecard</code>, <code>marts.rep_quarter_scorecard</code> and
<code>marts.fct_conversations</code>.</p>
{sections}
<pre id="report-status"></pre>
<script type="module">
{bundle}
</script>
<script type="module">
const specs = {specs};
const status = {{charts: {{}}, errors: []}};
window.addEventListener("error", (e) => status.errors.push(String(e.message)));
const report = () => {{ document.getElementById("report-status").textContent = JSON.stringify(status); }};
for (const [name, spec] of Object.entries(specs)) {{
  try {{
    const result = await window.vegaEmbed("#chart-" + name, spec, {{renderer: "svg", actions: false}});
    await result.view.runAsync();
    status.charts[name] = document.querySelectorAll("#chart-" + name + " [role=graphics-symbol]").length;
  }} catch (err) {{
    status.errors.push(name + ": " + String(err));
    console.error(err);
  }}
}}
report();
</script>
</body></html>
"""


def render_html(report: Report) -> str:
    sections = "\n".join(
        f'<section><h2>{html.escape(c.title)}</h2><p class="legend">{html.escape(c.legend)}</p>'
        f'<div id="chart-{c.name}"></div></section>'
        for c in report.charts
    )
    specs = json.dumps({c.name: c.spec.to_dict() for c in report.charts})
    return _PAGE.format(
        published=html.escape(report.published_at),
        sections=sections,
        bundle=vl_convert.javascript_bundle(),
        specs=specs.replace("</", "<\\/"),  # never close the script tag from inside the data
    )


def render_png(chart: Chart, scale: float = 1.0) -> bytes:
    return vl_convert.vegalite_to_png(chart.spec.to_json(), scale=scale)


def write_report(analyst_path: str) -> tuple[Path, Report, bytes]:
    """Build the report from the analysts' copy and write it beside the copy (atomically)."""
    target = Path(analyst_path).with_name(REPORT_FILE_NAME)
    con = duckdb.connect(analyst_path, read_only=True)
    try:
        report = build_report(con)
    finally:
        con.close()
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(render_html(report), encoding="utf-8")
    tmp.replace(target)
    return target, report, render_png(report.chart(KEY_CHART))


@dg.asset(
    name="scorecard_report",
    group_name="warehouse",
    kinds={"altair", "html"},
    deps=["analyst_warehouse"],
    description=(
        "Charts of the scorecards (team and rep trends by quarter, talk ratio, discovery depth, risk, AI-agent "
        "quality, the product areas customers talk about) in one "
        "self-contained HTML file beside the analysts' copy (no network needed to open it); the team-trends chart "
        "is in this asset's metadata."
    ),
)
def scorecard_report(context: AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    path, report, png = write_report(warehouse.analyst_path)
    context.log.info(f"wrote {path} ({path.stat().st_size} bytes, {len(report.charts)} charts)")
    image = base64.b64encode(png).decode("ascii")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "bytes": path.stat().st_size,
            "charts": ", ".join(c.name for c in report.charts),
            "rows_per_chart": dg.MetadataValue.json({c.name: c.rows for c in report.charts}),
            "team_trends": dg.MetadataValue.md(
                f"**{report.chart(KEY_CHART).title}**\n\n![team trends](data:image/png;base64,{image})\n\n"
                f"{report.chart(KEY_CHART).legend}"
            ),
        }
    )
