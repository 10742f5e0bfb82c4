"""The main job end to end: real Dagster runs, the sandbox over loopback HTTP, a real DuckDB file, a real dbt build.

One world per module (sandbox + drop folder + warehouse); tests that change state use days of their own.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import httpx
import pytest

from sandbox.app import build_app
from sandbox.config import SandboxConfig
from sandbox.server import ServedApp
from tests.e2e import corpus

SIGNAL_TABLES = {
    "messages": "symbl_messages",
    "topics": "symbl_topics",
    "action_items": "symbl_action_items",
    "questions": "symbl_questions",
    "follow_ups": "symbl_follow_ups",
    "entities": "symbl_entities",
    "analytics": "symbl_analytics_members",
    "trackers": "symbl_tracker_hits",
    "summary": "symbl_summaries",
}


class World:
    def __init__(self, root: Path, sandbox: ServedApp) -> None:
        self.root = root
        self.drop = root / "drop"
        self.sandbox = sandbox
        self.base = sandbox.base_url
        self.warehouse = str(root / "warehouse" / "live.duckdb")
        self.analyst = str(root / "warehouse" / "analyst.duckdb")
        self.first_ingest: Any = None

    def ingest(self, first: str, last: str | None = None, run_config: dict[str, Any] | None = None) -> Any:
        from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

        from orchestration.definitions import defs

        job = defs.resolve_job_def("conversation_ingest_job")
        if last is None:
            result = job.execute_in_process(partition_key=first, run_config=run_config, raise_on_error=False)
        else:
            tags = {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}
            result = job.execute_in_process(tags=tags, raise_on_error=False)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        return result

    def build_warehouse(self) -> Any:
        from orchestration.definitions import defs

        result = defs.resolve_job_def("warehouse_build_job").execute_in_process(raise_on_error=False)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        return result

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        con = duckdb.connect(self.warehouse, read_only=True)
        try:
            return con.execute(query, params or []).fetchall()
        finally:
            con.close()

    def calls(self) -> dict[str, int]:
        return httpx.get(f"{self.base}/_sandbox/stats").json()["calls"]

    def faults(self, **settings: Any) -> None:
        httpx.put(f"{self.base}/_sandbox/faults", json=settings).raise_for_status()

    def symbl(self, path: str) -> Any:
        token = httpx.post(
            f"{self.base}/symbl/oauth2/token:generate",
            json={"type": "application", "appId": "sandbox-app-id", "appSecret": "sandbox-app-secret"},
        ).json()["accessToken"]
        return httpx.get(f"{self.base}/symbl{path}", headers={"Authorization": f"Bearer {token}"}).json()


def submissions(calls: dict[str, int]) -> int:
    return sum(n for route, n in calls.items() if "/v1/process/" in route)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("e2e")
    mp = pytest.MonkeyPatch()
    config = SandboxConfig(data_dir=root / "sandbox", processing_factor=0.002, min_processing_seconds=0.05)
    with ServedApp(build_app(config)) as sandbox:
        w = World(root, sandbox)
        for call in corpus.calls():
            corpus.write_call(w.drop, call)
        corpus.write_bad_manifests(w.drop)
        for key, value in {
            "SYMBL_BASE_URL": f"{w.base}/symbl",
            "SEMARIZE_BASE_URL": f"{w.base}/semarize",
            "NEBULA_BASE_URL": f"{w.base}/nebula",
            "CONVO_INTEL_DROP_FOLDER": str(w.drop),
            "CONVO_INTEL_WAREHOUSE": w.warehouse,
            "CONVO_INTEL_ANALYST_WAREHOUSE": w.analyst,
        }.items():
            mp.setenv(key, value)
        w.first_ingest = w.ingest("2026-04-07", "2026-07-08")
        w.build_warehouse()
        yield w
    mp.undo()


def test_every_signal_table_is_filled_and_matches_the_sandbox(world: World) -> None:
    conversations = world.sql(
        "SELECT conversation_id FROM raw.symbl_conversations WHERE status = 'completed'"
    )
    assert len(conversations) == 4
    cid = world.sql("SELECT conversation_id FROM raw.symbl_conversations WHERE recording_id = 'rec-a'")[0][0]
    for table in SIGNAL_TABLES.values():
        (n,) = world.sql(f"SELECT count(*) FROM raw.{table}")[0]
        assert n > 0, f"raw.{table} is empty"
    api_messages = world.symbl(f"/v1/conversations/{cid}/messages")["messages"]
    stored = world.sql(
        "SELECT message_id, text FROM raw.symbl_messages WHERE conversation_id = ? ORDER BY 1", [cid]
    )
    assert sorted((m["id"], m["text"]) for m in api_messages) == sorted(stored)
    api_questions = world.symbl(f"/v1/conversations/{cid}/questions")["questions"]
    (nq,) = world.sql("SELECT count(*) FROM raw.symbl_questions WHERE conversation_id = ?", [cid])[0]
    assert nq == len(api_questions) > 0
    endpoints = {
        e for (e,) in world.sql("SELECT endpoint FROM raw.symbl_responses WHERE conversation_id = ?", [cid])
    }
    assert endpoints == {*SIGNAL_TABLES, "nebula_summary"}
    sources = world.sql(
        "SELECT source FROM raw.symbl_summaries WHERE conversation_id = ? GROUP BY 1 ORDER BY 1", [cid]
    )
    assert sources == [("nebula",), ("symbl",)]
    bricks = world.sql(
        "SELECT brick_key, value_type FROM raw.semarize_bricks WHERE recording_id = 'rec-a' ORDER BY 1"
    )
    assert {b for b, _ in bricks} >= {
        "discovery_depth",
        "budget_confirmed",
        "risk_flag",
        "next_step_confirmed",
    }
    assert dict(bricks)["budget_confirmed"] == "boolean"


def test_bad_manifests_are_rejected_with_reasons_and_the_day_completes(world: World) -> None:
    rows = world.sql(
        "SELECT source_file, reason FROM raw.recording_rejections WHERE stage IN ('manifest', 'media')"
    )
    by_file = {Path(f).name: reason for f, reason in rows}
    for name, word in {
        "bad-json.json": "json",
        "missing-host.json": "host",
        "missing-media.json": "does-not-exist",
    }.items():
        assert name in by_file, f"{name} not rejected: {by_file}"
        assert word in by_file[name].lower(), by_file[name]
    day = world.sql("SELECT count(*) FROM raw.recordings WHERE partition_date = '2026-04-07'")[0][0]
    assert day == 3  # rec-a, rec-b, rec-c went through beside the three bad ones


def test_data_promise_checks_pass_on_a_clean_corpus(world: World) -> None:
    results = {e.check_name: e for e in world.first_ingest.get_asset_check_evaluations()}
    evaluations = {name: e.passed for name, e in results.items()}
    for check in ("every_recording_accounted_for", "bricks_match_kit_types"):
        assert evaluations.get(check) is True, (check, evaluations)
    assert all(v for k, v in evaluations.items() if k.endswith("_keys_unique")), evaluations
    # The one mono call with neither a channel map nor speaker events comes back as diarized `Speaker <n>`
    # voices, as production does: the warn check names exactly that recording.
    speakers = results["speakers_match_participants"]
    assert speakers.passed is False
    assert speakers.metadata["suspicious"].value == 1, speakers.metadata["examples"].value
    assert speakers.metadata["examples"].value.startswith("rec-c ")


def test_each_attribution_case_has_the_hand_computed_talk_ratio_and_rep_questions(world: World) -> None:
    calls = {c.recording_id: c for c in corpus.calls()}
    rows = world.sql(
        "SELECT recording_id, attribution_method, talk_ratio, rep_question_count, customer_avg_sentiment "
        "FROM marts.fct_conversations ORDER BY 1"
    )
    got = {rid: (method, ratio, questions, sentiment) for rid, method, ratio, questions, sentiment in rows}
    expected_method = {"rec-a": "identity", "rec-b": "channel", "rec-c": "none", "rec-d": "speaker_events"}
    assert {rid: v[0] for rid, v in got.items()} == expected_method
    for rid in ("rec-a", "rec-b", "rec-d"):
        call = calls[rid]
        _, ratio, questions, _ = got[rid]
        assert ratio == pytest.approx(call.rep_seconds / call.total_seconds, abs=1e-3), rid
        assert questions == call.rep_questions, rid
    assert calls["rec-a"].rep_questions == 2 and calls["rec-b"].rep_questions == 0
    # Nobody could tell the rep apart on rec-c: per-rep figures are absent, never 1.0 or 0.
    assert got["rec-c"][1:] == (None, None, None)
    speakers = world.sql(
        "SELECT DISTINCT m.speaker_name, m.speaker_email FROM raw.symbl_messages m "
        "JOIN raw.symbl_conversations c USING (conversation_id) WHERE c.recording_id = 'rec-c'"
    )
    assert len(speakers) == 2 and all(re.fullmatch(r"Speaker \d+", n) and e is None for n, e in speakers)
    # Speaker events went to Symbl once, for rec-d only, and re-attributed its messages to the real people.
    assert world.calls().get("PUT /symbl/v1/conversations/{conversationId}/speakers") == 1
    named = world.sql(
        "SELECT DISTINCT m.speaker_email FROM raw.symbl_messages m "
        "JOIN raw.symbl_conversations c USING (conversation_id) WHERE c.recording_id = 'rec-d' ORDER BY 1"
    )
    assert named == [("liam.walsh@lumen.example",), ("pam@dunder.example",)]
    scorecard = world.sql(
        "SELECT conversations, attributable_calls, avg_talk_ratio FROM marts.team_quarter_scorecard "
        "WHERE team = 'unassigned'"
    )
    assert scorecard == [(1, 0, None)]


def test_insight_authors_land_their_email_from_user_id(world: World) -> None:
    # Production sends question authors as {id, name, userId}: the email must come from userId.
    cid = world.sql("SELECT conversation_id FROM raw.symbl_conversations WHERE recording_id = 'rec-a'")[0][0]
    authors = [q["from"] for q in world.symbl(f"/v1/conversations/{cid}/questions")["questions"]]
    assert authors and all("email" not in a and "@" in a["userId"] for a in authors)
    stored = world.sql("SELECT DISTINCT from_email FROM raw.symbl_questions WHERE conversation_id = ?", [cid])
    assert stored == [("maya.chen@lumen.example",)]


def test_rederiving_from_raw_makes_no_api_call_and_rebuilds_identical_tables(world: World) -> None:
    from orchestration.defs.symbl.signals import SIGNALS

    tables = [t for spec in SIGNALS for t in spec.tables] + ["semarize_bricks"]
    before = {t: _table_fingerprint(world, t) for t in tables}
    with duckdb.connect(world.warehouse) as con:  # as a parser change would: the typed rows are wrong
        for table in tables:
            con.execute(f"DELETE FROM raw.{table} WHERE partition_date = '2026-04-07'")
    calls_before = world.calls()
    raw = {"source": "raw"}
    rederived = [*(spec.asset_name for spec in SIGNALS), "nebula_summaries", "semarize_bricks"]
    ops = {name: {"config": raw} for name in rederived}
    from orchestration.definitions import defs

    selection = rederived
    job = defs.resolve_job_def("conversation_ingest_job")
    result = job.execute_in_process(
        partition_key="2026-04-07",
        run_config={"ops": ops},
        asset_selection=[dg.AssetKey(name) for name in selection],
        raise_on_error=False,
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    calls_after = world.calls()
    vendor_calls = {
        route: calls_after[route] - calls_before.get(route, 0)
        for route in calls_after
        if route.startswith(("GET /symbl", "POST /symbl", "PUT /symbl", "GET /semarize", "POST /semarize"))
        and calls_after[route] != calls_before.get(route, 0)
    }
    assert vendor_calls == {}
    assert {t: _table_fingerprint(world, t) for t in tables} == before


def test_demo_report_prints_the_team_scorecard_from_the_analyst_copy(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from convo_intel.demo import print_report

    print_report(world.analyst, world.warehouse)
    out = capsys.readouterr().out
    assert "Team x fiscal quarter scorecard" in out
    assert "Enterprise Sales" in out and "FY2026-Q2" in out and "unassigned" in out
    assert "4 conversations" in out and world.analyst in out


def test_host_not_in_roster_is_processed_as_unassigned(world: World) -> None:
    rows = world.sql("SELECT team FROM marts.fct_conversations WHERE recording_id = 'rec-c'")
    assert rows == [("unassigned",)]


def test_team_quarter_scorecard_matches_a_hand_computation(world: World) -> None:
    calls = {c.recording_id: c for c in corpus.calls()}
    a, b, d = calls["rec-a"], calls["rec-b"], calls["rec-d"]
    rows = world.sql(
        "SELECT team, fiscal_quarter, conversations, total_hours, avg_talk_ratio "
        "FROM marts.team_quarter_scorecard ORDER BY team, fiscal_quarter"
    )
    got = {(t, q): (n, hours, ratio) for t, q, n, hours, ratio in rows}
    # Enterprise Sales had rec-a (Maya) and rec-b (Daniel) in April -> FY2026-Q2 with a January fiscal year start.
    n, hours, ratio = got[("Enterprise Sales", "FY2026-Q2")]
    assert n == 2
    assert hours == pytest.approx((a.total_seconds + b.total_seconds) / 3600, abs=1e-3)
    expected_ratio = (a.rep_seconds / a.total_seconds + b.rep_seconds / b.total_seconds) / 2
    assert ratio == pytest.approx(expected_ratio, abs=1e-3)
    n, hours, ratio = got[("Mid-Market Sales", "FY2026-Q3")]
    assert (n, ratio) == (1, pytest.approx(d.rep_seconds / d.total_seconds, abs=1e-3))
    assert got[("unassigned", "FY2026-Q2")][0] == 1
    # Brick-driven columns equal the mean of the typed bricks (computed here from raw rows, not by dbt).
    depth = world.sql(
        "SELECT avg(value_number) FROM raw.semarize_bricks WHERE brick_key = 'discovery_depth' "
        "AND recording_id IN ('rec-a', 'rec-b')"
    )[0][0]
    (scorecard_depth,) = world.sql(
        "SELECT avg_discovery_depth FROM marts.team_quarter_scorecard "
        "WHERE team = 'Enterprise Sales' AND fiscal_quarter = 'FY2026-Q2'"
    )[0]
    assert scorecard_depth == pytest.approx(depth, abs=1e-3)


def _table_fingerprint(world: World, table: str) -> list[tuple[Any, ...]]:
    cols = [
        c
        for (c,) in world.sql(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = ? "
            "AND column_name NOT IN ('fetched_at', 'loaded_at', 'updated_at', 'rejected_at')",
            [table],
        )
    ]
    return world.sql(f"SELECT {', '.join(cols)} FROM raw.{table} ORDER BY ALL")


def test_rerun_of_a_partition_submits_nothing_new_and_leaves_identical_rows(world: World) -> None:
    tables = ["recordings", "symbl_conversations", *SIGNAL_TABLES.values(), "transcripts", "semarize_bricks"]
    before = {t: _table_fingerprint(world, t) for t in tables}
    calls_before = world.calls()
    world.ingest("2026-04-07")
    calls_after = world.calls()
    assert submissions(calls_after) == submissions(calls_before)
    # Nothing twice: a finished day's re-run asks no vendor anything (signals and summaries already landed
    # are reused, Semarize runs are reused by idempotency key).
    again = {
        route: calls_after[route] - calls_before.get(route, 0)
        for route in calls_after
        if route.split(" ")[-1].startswith(("/symbl", "/semarize", "/nebula"))
        and calls_after[route] != calls_before.get(route, 0)
    }
    assert again == {}
    for t in tables:
        assert _table_fingerprint(world, t) == before[t], f"raw.{t} changed on re-run"


def test_failed_symbl_job_is_recorded_and_resubmitted_on_the_next_run(world: World) -> None:
    call = corpus.Call(
        "rec-fail",
        "2026-05-05T15:00:00Z",
        "Grace Lee",
        "grace.lee@lumen.example",
        "Al Bundy",
        "al@shoes.example",
        "Shoes",
        "audio_file",
        corpus.SHALLOW,
        "FAILME support call",
    )
    corpus.write_call(world.drop, call)
    world.faults(fail_jobs_matching="FAILME")
    try:
        world.ingest("2026-05-05")
    finally:
        world.faults(fail_jobs_matching="")
    status, reason, attempts = world.sql(
        "SELECT status, failure_reason, attempts FROM raw.symbl_conversations WHERE recording_id = 'rec-fail'"
    )[0]
    assert status == "failed" and reason and attempts == 1
    world.ingest("2026-05-05")
    status, reason, attempts = world.sql(
        "SELECT status, failure_reason, attempts FROM raw.symbl_conversations WHERE recording_id = 'rec-fail'"
    )[0]
    assert (status, reason, attempts) == ("completed", None, 2)
    assert (
        world.sql(
            "SELECT count(*) FROM raw.symbl_messages m JOIN raw.symbl_conversations c "
            "USING (conversation_id) WHERE c.recording_id = 'rec-fail'"
        )[0][0]
        > 0
    )


def test_token_expiry_and_injected_429_and_5xx_lose_no_recording(world: World) -> None:
    day = "2026-06-02"
    ids = []
    for i in range(5):
        call = corpus.Call(
            f"rec-fault-{i}",
            f"{day}T1{i}:00:00Z",
            "Aisha Khan",
            "aisha.khan@lumen.example",
            "Kim Wexler",
            "kim@hhm.example",
            "HHM",
            "audio_file",
            corpus.DISCOVERY,
            f"Fault call {i}",
        )
        corpus.write_call(world.drop, call)
        ids.append(call.recording_id)
    world.faults(token_lifetime_seconds=2, fault_5xx_rate=0.15, fault_429_rate=0.15, fault_seed=3)
    try:
        world.ingest(day)
    finally:
        world.faults(token_lifetime_seconds=86400, fault_5xx_rate=0.0, fault_429_rate=0.0)
    rows = world.sql(
        "SELECT recording_id, status FROM raw.symbl_conversations WHERE recording_id LIKE 'rec-fault-%' ORDER BY 1"
    )
    assert rows == [(i, "completed") for i in ids]
    (n,) = world.sql(
        "SELECT count(DISTINCT recording_id) FROM raw.semarize_bricks WHERE recording_id LIKE 'rec-fault-%'"
    )[0]
    assert n == 5
    token_calls = sum(v for k, v in world.calls().items() if "oauth2" in k)
    assert token_calls > 1  # the short-lived token really was renewed mid-run


def test_analysts_read_the_published_copy_while_the_pipeline_writes(world: World) -> None:
    assert Path(world.analyst).exists()
    errors: list[BaseException] = []

    def materialize() -> None:
        try:
            world.ingest("2026-04-07", "2026-07-08")
            world.build_warehouse()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    writer = threading.Thread(target=materialize)
    writer.start()
    reads = 0
    while writer.is_alive():
        con = duckdb.connect(world.analyst, read_only=True)
        try:
            assert con.execute("SELECT count(*) FROM marts.fct_conversations").fetchone()[0] >= 4
        finally:
            con.close()
        reads += 1
        time.sleep(0.05)
    writer.join()
    assert not errors, errors
    assert reads > 0


def test_code_location_loads_without_errors() -> None:
    import subprocess
    import sys

    exe = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
    out = subprocess.run(
        [exe, "definitions", "validate", "-m", "orchestration.definitions"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_symbl_callbacks_complete_jobs_with_zero_job_polls(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestration.defs.webhooks.app import WebhookSettings, build_webhook_app

    token = "callback-token-0123456789abcdef"
    inbox = tmp_path / "inbox"
    day = "2026-06-09"
    ids = []
    for i in range(2):
        call = corpus.Call(
            f"rec-hook-{i}", f"{day}T1{i}:00:00Z", "Nora Fischer", "nora.fischer@lumen.example",
            "Ron Swanson", "ron@pawnee.example", "Pawnee", "audio_file", corpus.SHALLOW, f"Hook {i}",
        )  # fmt: skip
        corpus.write_call(world.drop, call)
        ids.append(call.recording_id)
    receiver = ServedApp(build_webhook_app(WebhookSettings(inbox_dir=inbox, symbl_callback_token=token)))
    with receiver:
        monkeypatch.setenv("CONVO_INTEL_INBOX_DIR", str(inbox))
        monkeypatch.setenv("CONVO_INTEL_WEBHOOK_PUBLIC_URL", receiver.base_url)
        monkeypatch.setenv("CONVO_INTEL_SYMBL_CALLBACK_TOKEN", token)
        httpx.post(f"{world.base}/_sandbox/stats/reset").raise_for_status()
        world.ingest(day)
        calls = world.calls()
    assert calls.get("GET /symbl/v1/job/{jobId}", 0) == 0, calls
    assert submissions(calls) == 2
    rows = world.sql(
        "SELECT recording_id, status FROM raw.symbl_conversations WHERE recording_id LIKE 'rec-hook-%' ORDER BY 1"
    )
    assert rows == [(i, "completed") for i in ids]
    assert list((inbox / "jobs").glob("*.json")), "jobs were not registered for the inbox sensor"


def test_a_callback_that_arrives_after_the_run_completes_the_job_in_the_next_run_with_zero_polls(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestration.defs.webhooks.app import WebhookSettings, build_webhook_app

    token = "callback-token-fedcba9876543210"
    inbox = tmp_path / "inbox"
    day = "2026-06-16"
    call = corpus.Call(
        "rec-late-hook", f"{day}T10:00:00Z", "Ethan Brooks", "ethan.brooks@lumen.example",
        "Leslie Knope", "leslie@pawnee.example", "Pawnee", "audio_file", corpus.DISCOVERY, "Late hook",
    )  # fmt: skip
    corpus.write_call(world.drop, call)
    short_wait = {"ops": {"symbl_conversations": {"config": {"job_deadline_seconds": 0.3}}}}
    with ServedApp(
        build_webhook_app(WebhookSettings(inbox_dir=inbox, symbl_callback_token=token))
    ) as receiver:
        monkeypatch.setenv("CONVO_INTEL_INBOX_DIR", str(inbox))
        monkeypatch.setenv("CONVO_INTEL_WEBHOOK_PUBLIC_URL", receiver.base_url)
        monkeypatch.setenv("CONVO_INTEL_SYMBL_CALLBACK_TOKEN", token)
        world.faults(processing_factor=0.03)  # an 80 s call now takes ~2.4 s: longer than the run waits
        try:
            world.ingest(day, run_config=short_wait)
        finally:
            world.faults(processing_factor=0.002)
        (status,) = world.sql(
            "SELECT status FROM raw.symbl_conversations WHERE recording_id = 'rec-late-hook'"
        )[0]
        assert status in ("submitted", "scheduled", "in_progress")
        deadline = time.monotonic() + 30
        from orchestration.defs.webhooks.inbox import latest_job_status

        while "completed" not in latest_job_status(inbox).values():
            assert time.monotonic() < deadline, "the sandbox never called back"
            time.sleep(0.2)
        httpx.post(f"{world.base}/_sandbox/stats/reset").raise_for_status()
        world.ingest(day)
        calls = world.calls()
    assert calls.get("GET /symbl/v1/job/{jobId}", 0) == 0, calls
    assert submissions(calls) == 0
    (status,) = world.sql("SELECT status FROM raw.symbl_conversations WHERE recording_id = 'rec-late-hook'")[
        0
    ]
    assert status == "completed"
