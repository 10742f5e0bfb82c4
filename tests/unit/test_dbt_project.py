"""The dbt project parses offline, and its manifest maps onto the Dagster asset graph as expected."""

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import AssetKey
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from orchestration.defs.warehouse import schema
from orchestration.defs.warehouse.dbt import (
    DBT_PROJECT_DIR,
    WAREHOUSE_ENV_VAR,
    convo_intel_dbt_assets,
    convo_intel_dbt_translator,
    dbt_cli_resource,
    warehouse_path,
)
from orchestration.settings import PROJECT_ROOT

MARTS = {"dim_reps", "fct_conversations", "rep_quarter_scorecard", "team_quarter_scorecard", "rejections"}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Mapping[str, Any]:
    """A fresh `dbt parse` into its own target folder: proves the project parses offline, from scratch."""
    target = tmp_path_factory.mktemp("dbt_target")
    invocation = dbt_cli_resource().cli(["parse"], target_path=target, raise_on_error=False)
    invocation.wait()
    assert invocation.is_successful(), "dbt parse failed; see the captured log above"
    return invocation.get_artifact("manifest.json")


def nodes(manifest: Mapping[str, Any], resource_type: str) -> dict[str, Mapping[str, Any]]:
    return {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == resource_type}


STAGING_NAME = re.compile(r"^stg_(?P<source>[a-z]+)__(?P<entity>[a-z_]+)$")


def model_layer(node: Mapping[str, Any]) -> str:
    """The folder under models/ a model lives in (staging, intermediate, marts)."""
    return node["fqn"][1]


def test_manifest_has_a_staging_view_per_used_raw_table_and_every_mart(manifest: Mapping[str, Any]) -> None:
    models = nodes(manifest, "model")
    staging = {name for name, m in models.items() if model_layer(m) == "staging"}
    assert set(models) >= MARTS
    # Every staging model is models/staging/<source>/stg_<source>__<entity>.sql and reads exactly that source table.
    for name in staging:
        match = STAGING_NAME.match(name)
        assert match, name
        assert models[name]["original_file_path"] == f"models/staging/{match['source']}/{name}.sql", name
        sources = [
            (manifest["sources"][uid]["source_name"], manifest["sources"][uid]["name"])
            for uid in models[name]["depends_on"]["nodes"]
        ]
        assert sources == [(match["source"], match["entity"])], name
    assert {
        "stg_recordings__recordings",
        "stg_symbl__conversations",
        "stg_symbl__messages",
        "stg_semarize__bricks",
    } <= staging
    # Only staging models read sources; nothing else reads raw directly.
    for name, model in models.items():
        if name not in staging:
            assert not any(uid.startswith("source.") for uid in model["depends_on"]["nodes"]), name
    assert {m["config"]["materialized"] for n, m in models.items() if n in staging} == {"view"}
    assert {m["config"]["materialized"] for n, m in models.items() if n in MARTS} == {"table"}


def test_staging_models_only_rename_cast_and_deduplicate(manifest: Mapping[str, Any]) -> None:
    # A select list of bare columns, `column as name` or `cast(column as type) [as name]`; the one window is the
    # dedupe (qualify row_number() ... = 1). Anything else belongs in an intermediate or mart model.
    item = re.compile(r"^(cast\(\w+ as \w+(\[\])?\)|\w+)( as \w+)?$")
    for name, model in nodes(manifest, "model").items():
        if model_layer(model) != "staging":
            continue
        sql = re.sub(r"--[^\n]*", "", model["raw_code"])
        select_list = re.search(r"^select\s+(.*?)\s+from\s", sql, re.S | re.M)
        assert select_list, name
        for column in (c.strip() for c in select_list.group(1).split(",")):
            assert item.match(column), f"{name}: {column!r} is more than a rename or cast"
        tail = sql[select_list.end() :]
        assert re.search(r"qualify row_number\(\) over \(.*\) = 1\s*$", tail, re.S), name


def test_models_land_in_the_schema_of_their_folder(manifest: Mapping[str, Any]) -> None:
    for name, model in nodes(manifest, "model").items():
        assert model_layer(model) in ("staging", "intermediate", "marts"), name
        assert model["schema"] == model_layer(model), name


def test_every_raw_source_is_declared_with_the_producing_asset(
    manifest: Mapping[str, Any], snapshot: SnapshotAssertion
) -> None:
    translator = convo_intel_dbt_translator()
    sources = {s["identifier"]: s for s in manifest["sources"].values()}
    assert len(sources) == len(manifest["sources"])  # one declaration per raw table
    # Every declared table exists in the pipeline's DDL.
    assert set(sources) <= set(schema.TABLES)
    for name, source in sources.items():
        assert source["schema"] == schema.RAW_SCHEMA
        assert source["description"], name
    # Raw table -> the Dagster asset that writes it (review the diff when a source or a writer changes).
    producers = {name: translator.get_asset_key(sources[name]).to_user_string() for name in sorted(sources)}
    assert producers == snapshot.use_extension(JSONSnapshotExtension)


def test_dagster_assets_use_bare_names_and_folder_groups() -> None:
    specs = {spec.key: spec for spec in convo_intel_dbt_assets.specs}
    assert AssetKey(["fct_conversations"]) in specs and AssetKey(["rep_roster"]) in specs
    for key, spec in specs.items():
        name = key.path[-1]
        assert len(key.path) == 1, key
        expected = (
            "dbt_seeds"
            if name == "rep_roster"
            else "dbt_staging"
            if name.startswith("stg_")
            else "dbt_intermediate"
            if name.startswith("int_")
            else "dbt_marts"
        )
        assert spec.group_name == expected, name
    # Sources become dependencies on the pipeline's assets, several tables collapsing onto one asset.
    stg_metrics = specs[AssetKey(["stg_symbl__analytics_metrics"])]
    assert {dep.asset_key for dep in stg_metrics.deps} == {AssetKey(["symbl_analytics"])}
    assert {dep.asset_key for dep in specs[AssetKey(["fct_conversations"])].deps} >= {
        AssetKey(["dim_reps"]),
        AssetKey(["int_discovery_bricks_pivoted"]),
    }
    assert {dep.asset_key for dep in specs[AssetKey(["int_discovery_bricks_pivoted"])].deps} == {
        AssetKey(["stg_semarize__bricks"]),
        AssetKey(["stg_semarize__runs"]),
    }
    assert convo_intel_dbt_assets.op.pool == "duckdb_writer"


def test_dbt_tests_become_asset_checks() -> None:
    check_names = {(c.asset_key, c.name) for c in convo_intel_dbt_assets.check_keys}
    assert (AssetKey(["fct_conversations"]), "unique_fct_conversations_conversation_id") in check_names
    assert any(key == AssetKey(["team_quarter_scorecard"]) for key, _ in check_names)


def test_every_mart_and_seed_is_documented_and_tested(manifest: Mapping[str, Any]) -> None:
    tests_by_node: dict[str, set[str]] = {}
    for test in nodes(manifest, "test").values():
        for uid in test["depends_on"]["nodes"]:
            tests_by_node.setdefault(uid, set()).add(
                test["test_metadata"]["name"] if test.get("test_metadata") else ""
            )
    # Intermediate models may be covered by unit tests alone (their logic is what can break).
    for unit in manifest["unit_tests"].values():
        tests_by_node.setdefault(unit["depends_on"]["nodes"][0], set()).add("unit_test")
    documented = {**nodes(manifest, "model"), **nodes(manifest, "seed")}
    for name, node in documented.items():
        assert node["description"], f"{name} has no description"
        undocumented = [c for c, col in node["columns"].items() if not col["description"]]
        assert not undocumented, f"{name}: columns without description {undocumented}"
        tests = tests_by_node.get(node["unique_id"], set())
        assert tests - {"unit_test"} or (name.startswith("int_") and tests), f"{name} has no tests"
    # The kinds of test each mart must carry.
    fct = tests_by_node[documented["fct_conversations"]["unique_id"]]
    assert {"unique", "not_null", "relationships", "accepted_values"} <= fct
    for scorecard in ("rep_quarter_scorecard", "team_quarter_scorecard"):
        assert "unique_combination_of_columns" in tests_by_node[documented[scorecard]["unique_id"]]
    assert {"unique", "accepted_values"} <= tests_by_node[documented["rep_roster"]["unique_id"]]


def test_grain_tests_sit_where_they_can_fail(manifest: Mapping[str, Any]) -> None:
    """No uniqueness test on a staging view (its dedupe makes it true); the dedupe's tie-break is on the source."""
    grain_tests = {"unique", "unique_combination_of_columns"}
    tested_sources: set[str] = set()
    for test in nodes(manifest, "test").values():
        if (test.get("test_metadata") or {}).get("name") not in grain_tests:
            continue
        [parent] = test["depends_on"]["nodes"]
        if parent.startswith("source."):
            tested_sources.add(manifest["sources"][parent]["identifier"])
        else:
            node = manifest["nodes"][parent]
            assert node["resource_type"] != "model" or model_layer(node) != "staging", test["name"]
    # Every staging view that keeps the latest row by a timestamp has that timestamp's tie tested on its source.
    assert {
        "recordings",
        "symbl_conversations",
        "semarize_runs",
        "symbl_responses",
        "live_calls",
    } <= tested_sources
    marts = nodes(manifest, "model")
    for name in MARTS | {
        "fct_action_items",
        "compliance_disclosures",
        "rep_coaching",
        "customer_sentiment_weekly",
    }:
        uid = marts[name]["unique_id"]
        assert any(
            uid in t["depends_on"]["nodes"] and (t.get("test_metadata") or {}).get("name") in grain_tests
            for t in nodes(manifest, "test").values()
        ), f"{name} has no grain test"


def test_fiscal_calendar_rep_matching_and_brick_pivot_have_unit_tests(manifest: Mapping[str, Any]) -> None:
    tested = {unit["model"] for unit in manifest["unit_tests"].values()}
    assert {
        "int_conversations_completed",
        "int_conversation_rep_speech",
        "int_discovery_bricks_pivoted",
    } <= tested
    # The fiscal calendar is unit-tested at more than one start month (the var is overridden per test).
    start_months = {
        (unit.get("overrides") or {}).get("vars", {}).get("fiscal_year_start_month")
        for unit in manifest["unit_tests"].values()
        if unit["model"] == "int_conversations_completed"
    }
    assert len(start_months - {None}) >= 2
    # The marts read these models rather than repeating their logic.
    depends = nodes(manifest, "model")["fct_conversations"]["depends_on"]["nodes"]
    assert {
        "model.convo_intel.int_conversations_completed",
        "model.convo_intel.int_conversation_rep_speech",
        "model.convo_intel.int_discovery_bricks_pivoted",
    } <= set(depends)


def test_scorecards_define_every_metric(manifest: Mapping[str, Any]) -> None:
    metrics = {
        "conversations", "total_hours", "avg_talk_ratio", "avg_sentiment", "avg_discovery_depth",
        "budget_confirmed_rate", "risk_flag_rate", "next_step_rate", "competitor_mention_rate",
        "questions_per_call", "action_items_per_call", "follow_ups_per_call",
    }  # fmt: skip
    models = nodes(manifest, "model")
    assert {"rep_email", "fiscal_quarter"} | metrics <= set(models["rep_quarter_scorecard"]["columns"])
    assert {"team", "fiscal_quarter"} | metrics <= set(models["team_quarter_scorecard"]["columns"])


def test_fiscal_quarter_convention_has_a_data_test(manifest: Mapping[str, Any]) -> None:
    singular = [t for t in nodes(manifest, "test").values() if not t.get("test_metadata")]
    assert any("fiscal" in t["name"] for t in singular)


def rendered_profile_path(monkeypatch: pytest.MonkeyPatch, configured: str | None) -> Path:
    """The warehouse path dbt's own renderer makes of profiles.yml, resolved from dbt's working directory."""
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    if configured is None:
        monkeypatch.delenv(WAREHOUSE_ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(WAREHOUSE_ENV_VAR, configured)
    set_invocation_context(dict(os.environ))
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())["convo_intel"]["outputs"]["dev"]
    rendered = Path(ProfileRenderer({}).render_value(profile["path"])).expanduser()
    # dbt runs with dbt_project/ as its working directory.
    return rendered if rendered.is_absolute() else (DBT_PROJECT_DIR / rendered).resolve()


@pytest.mark.parametrize("configured", [None, "", "rel/w.duckdb", "/srv/warehouse/w.duckdb"])
def test_dbt_profile_and_the_pipeline_agree_on_the_warehouse(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, configured: str | None
) -> None:
    monkeypatch.chdir(tmp_path)  # neither side depends on where the process started
    assert rendered_profile_path(monkeypatch, configured) == warehouse_path()


def test_profile_default_is_the_repo_warehouse_and_telemetry_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (
        rendered_profile_path(monkeypatch, None) == PROJECT_ROOT / "var" / "warehouse" / "convo_intel.duckdb"
    )
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())["convo_intel"]["outputs"]["dev"]
    assert profile["threads"] == 1
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    assert project["flags"]["send_anonymous_usage_stats"] is False
    assert (
        not (DBT_PROJECT_DIR / "packages.yml").exists()
        and not (DBT_PROJECT_DIR / "dependencies.yml").exists()
    )


def test_warehouse_path_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(WAREHOUSE_ENV_VAR, raising=False)
    assert warehouse_path() == PROJECT_ROOT / "var" / "warehouse" / "convo_intel.duckdb"
    monkeypatch.setenv(WAREHOUSE_ENV_VAR, str(tmp_path / "w.duckdb"))
    assert warehouse_path() == tmp_path / "w.duckdb"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(WAREHOUSE_ENV_VAR, "rel/w.duckdb")  # from the project root, as dbt's profile takes it
    assert warehouse_path() == PROJECT_ROOT / "rel" / "w.duckdb"
