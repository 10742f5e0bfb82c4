"""Configuration in one place: one warehouse-path function, resources that read the run's environment, sandbox
credentials only on loopback, and a code location whose import changes nothing and warns about nothing of ours."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from pydantic import ValidationError

from orchestration.defs.nebula.assets import NebulaResource
from orchestration.defs.recordings import policy
from orchestration.defs.recordings.resource import DropFolderResource
from orchestration.defs.routing.assets import RiskAlertsConfig
from orchestration.defs.routing.crm import CrmResource
from orchestration.defs.semarize import kit_routing
from orchestration.defs.semarize.resource import SemarizeResource
from orchestration.defs.streaming.quality_gate import GateSettings
from orchestration.defs.symbl import trackers
from orchestration.defs.symbl.resource import SymblResource
from orchestration.defs.warehouse import duckdb_store
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.defs.webhooks.resource import WebhookInboxResource
from orchestration.settings import (
    ANALYST_WAREHOUSE_ENV,
    DEFAULT_CONVERSATION_URL_TEMPLATE,
    PROJECT_ROOT,
    WAREHOUSE_ENV,
    LiveCallsSettings,
    SemarizeSettings,
    warehouse_paths,
)

REAL_SYMBL = "https://api.symbl.ai"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        WAREHOUSE_ENV,
        ANALYST_WAREHOUSE_ENV,
        "CONVO_INTEL_SANDBOX_URL",
        "SYMBL_BASE_URL",
        "SYMBL_APP_ID",
        "SYMBL_APP_SECRET",
        "NEBULA_BASE_URL",
        "NEBULA_API_KEY",
        "SEMARIZE_KITS",
        "CONVO_INTEL_INBOX_DIR",
        "CONVO_INTEL_WAREHOUSE_LOCK_WAIT_SECONDS",
        "CONVO_INTEL_DUCKDB_MEMORY_LIMIT",
        "CONVO_INTEL_ANALYST_STORAGE_VERSION",
        "CONVO_INTEL_CONVERSATION_URL_TEMPLATE",
        "CONVO_INTEL_ALLOWED_MEDIA_HOSTS",
        "CONVO_INTEL_MEDIA_ROOTS",
        "CONVO_INTEL_MAX_FUTURE_HOURS",
        "SEMARIZE_KITS_BY_CALL_TYPE",
        "CONVO_INTEL_TRACKERS_FILE",
        "CONVO_INTEL_AGENT_POLICY_DIR",
        "CONVO_INTEL_TWILIO_BRIDGE_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)


def test_a_dotted_folder_gives_one_analyst_path_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    # The old derivations disagreed here: splitting the string at its last dot gave /data_analyst.d/warehouse.
    expected = Path("/data.d/warehouse_analyst")
    assert warehouse_paths("/data.d/warehouse").analyst == expected
    assert WarehouseResource(path="/data.d/warehouse").analyst_path == str(expected)
    monkeypatch.setenv(WAREHOUSE_ENV, "/data.d/warehouse")
    assert warehouse_paths().analyst == expected
    assert duckdb_store.default_snapshot_path() == str(expected)
    assert WarehouseResource().analyst_path == str(expected)


def test_warehouse_paths_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    default = PROJECT_ROOT / "var" / "warehouse"
    assert warehouse_paths() == warehouse_paths(str(default / "convo_intel.duckdb"))
    assert warehouse_paths().analyst == default / "convo_intel_analyst.duckdb"
    monkeypatch.setenv(WAREHOUSE_ENV, "")  # empty counts as unset
    assert warehouse_paths().live == default / "convo_intel.duckdb"
    monkeypatch.setenv(WAREHOUSE_ENV, str(tmp_path / "live.duckdb"))
    monkeypatch.setenv(ANALYST_WAREHOUSE_ENV, str(tmp_path / "elsewhere" / "copy.duckdb"))
    assert warehouse_paths().analyst == tmp_path / "elsewhere" / "copy.duckdb"
    # A live path given explicitly takes its copy beside it, not the environment's.
    assert warehouse_paths(str(tmp_path / "x.duckdb")).analyst == tmp_path / "x_analyst.duckdb"


def test_resources_read_the_environment_of_the_run_not_of_the_load(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    @dg.asset
    def where(webhook_inbox: WebhookInboxResource, warehouse: WarehouseResource) -> dict[str, str]:
        return {"inbox": webhook_inbox.inbox_dir, "warehouse": warehouse.path}

    defs = dg.Definitions(
        assets=[where], resources={"webhook_inbox": WebhookInboxResource(), "warehouse": WarehouseResource()}
    )
    monkeypatch.setenv("CONVO_INTEL_INBOX_DIR", str(tmp_path / "inbox"))
    monkeypatch.setenv(WAREHOUSE_ENV, str(tmp_path / "w.duckdb"))
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process()
    assert result.output_for_node("where") == {
        "inbox": str(tmp_path / "inbox"),
        "warehouse": str(tmp_path / "w.duckdb"),
    }
    # Nothing read from the environment shows as configuration (where a secret would be visible in the UI).
    inbox_config = defs.get_repository_def().get_top_level_resources()["webhook_inbox"].config_schema
    assert str(tmp_path) not in inbox_config.default_value_as_json_str


def test_sandbox_credentials_are_refused_off_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match=r"SYMBL_APP_ID, SYMBL_APP_SECRET not set.*api\.symbl\.ai"):
        SymblResource(base_url=REAL_SYMBL)
    with pytest.raises(ValidationError, match="SEMARIZE_API_KEY not set"):
        SemarizeResource(base_url="https://api.semarize.com")
    with pytest.raises(ValidationError, match="CRM_ACCESS_TOKEN not set"):
        CrmResource(base_url="https://api.hubapi.com")
    # The same rule when the URL comes from the environment, as in a deployment.
    monkeypatch.setenv("SYMBL_BASE_URL", REAL_SYMBL)
    with pytest.raises(ValidationError, match="SYMBL_APP_ID"):
        SymblResource()
    monkeypatch.setenv("SYMBL_APP_ID", "real-id")
    monkeypatch.setenv("SYMBL_APP_SECRET", "real-secret")
    resource = SymblResource()
    assert (resource.base_url, resource.app_id, resource.app_secret) == (REAL_SYMBL, "real-id", "real-secret")


def test_loopback_gets_the_sandbox_and_an_unresolved_env_var_is_checked_at_run_time() -> None:
    resource = SymblResource()
    assert resource.base_url == "http://127.0.0.1:8765/symbl" and resource.app_id == "sandbox-app-id"
    assert SymblResource(base_url="http://localhost:9/symbl").app_secret == "sandbox-app-secret"
    # While definitions load, a dg.EnvVar is still its name, not a URL: nothing to check until the run.
    assert SymblResource(base_url=dg.EnvVar("SYMBL_BASE_URL"))


def test_nebula_without_a_key_is_off_against_a_real_service(monkeypatch: pytest.MonkeyPatch) -> None:
    assert NebulaResource().enabled  # the sandbox's key on loopback
    monkeypatch.setenv("NEBULA_BASE_URL", "https://api.symbl.ai/nebula")
    assert not NebulaResource().enabled
    with pytest.raises(ValidationError, match="NEBULA_API_KEY"):
        NebulaResource(api_key="nebula-sandbox-key")


def test_semarize_kits_from_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    assert SemarizeResource().kits == ["SLSDISC1"]
    monkeypatch.setenv("SEMARIZE_KITS", " SLSDISC1, PRODFDB1,,")
    assert SemarizeSettings().kits == ["SLSDISC1", "PRODFDB1"]
    assert SemarizeResource().kits == ["SLSDISC1", "PRODFDB1"]
    assert SemarizeResource(kits=["X"]).kits == ["X"]  # given explicitly: the environment does not override


# variable, a value set after import, what the next call returns with it (and, unset, the default).
CALL_TIME_SETTINGS = [
    ("CONVO_INTEL_WAREHOUSE_LOCK_WAIT_SECONDS", " 0.5 ", duckdb_store.lock_wait_seconds, 0.5, 60.0),
    ("CONVO_INTEL_DUCKDB_MEMORY_LIMIT", " 1GB ", duckdb_store.memory_limit, "1GB", "128MB"),
    (
        "CONVO_INTEL_CONVERSATION_URL_TEMPLATE",
        "https://crm.example/c/{conversation_id}",
        lambda: RiskAlertsConfig().url_template(),
        "https://crm.example/c/{conversation_id}",
        DEFAULT_CONVERSATION_URL_TEMPLATE,
    ),
    (
        "CONVO_INTEL_ALLOWED_MEDIA_HOSTS",
        "a.test, b.test:81,",
        policy.default_allowed_media_hosts,
        ["a.test", "b.test:81"],
        ["127.0.0.1:8765"],
    ),
    (
        "CONVO_INTEL_MEDIA_ROOTS",
        "/media/a,/media/b",
        lambda: DropFolderResource().media_roots,
        ["/media/a", "/media/b"],
        [],
    ),
    ("CONVO_INTEL_MAX_FUTURE_HOURS", "2", lambda: DropFolderResource().max_future_hours, 2.0, 24.0),
    (
        "SEMARIZE_KITS_BY_CALL_TYPE",
        " support=PRODFDB1 ",
        kit_routing.routes_from_env,
        {"support": ["PRODFDB1"]},
        None,
    ),
    (
        "CONVO_INTEL_TRACKERS_FILE",
        "elsewhere.yaml",
        trackers.trackers_file,
        Path("elsewhere.yaml"),
        PROJECT_ROOT / "trackers.yaml",
    ),
    (
        "CONVO_INTEL_AGENT_POLICY_DIR",
        "/srv/policies",
        lambda: GateSettings.from_env().policy_dir,
        Path("/srv/policies"),
        Path("policies"),
    ),
]


@pytest.mark.parametrize(
    ("name", "value", "read", "expected", "default"),
    CALL_TIME_SETTINGS,
    ids=[c[0] for c in CALL_TIME_SETTINGS],
)
def test_a_variable_set_after_import_takes_effect_on_the_next_call(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, read: Any, expected: Any, default: Any
) -> None:
    assert read() == default
    monkeypatch.setenv(name, value)
    assert read() == expected
    monkeypatch.setenv(name, "")
    # Empty is unset, except for the media hosts, where it is "none" (as it always was).
    assert read() == ([] if name == "CONVO_INTEL_ALLOWED_MEDIA_HOSTS" else default)


@pytest.mark.parametrize(
    ("name", "read"),
    [
        ("CONVO_INTEL_WAREHOUSE_LOCK_WAIT_SECONDS", duckdb_store.lock_wait_seconds),
        ("CONVO_INTEL_MAX_FUTURE_HOURS", policy.default_max_future_hours),
        ("CONVO_INTEL_MAX_FUTURE_HOURS", DropFolderResource),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, read: Any
) -> None:
    monkeypatch.setenv(name, "soon")
    with pytest.raises(ValueError, match=name):
        read()


def test_the_twilio_bridge_token_is_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVO_INTEL_TWILIO_BRIDGE_TOKEN", "bridge-token-0123456789")
    settings = LiveCallsSettings()
    assert settings.twilio_bridge_token.get_secret_value() == "bridge-token-0123456789"
    assert "bridge-token" not in repr(settings) and "bridge-token" not in str(settings.model_dump())
    assert settings.resource_fields() == {}  # nothing of it reaches a resource's (UI-visible) configuration


IMPORT_PROBE = """
import json, os, warnings
before = dict(os.environ)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import orchestration.definitions
after = dict(os.environ)
print(json.dumps({
    "changed": sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k)),
    "ours": [f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}" for w in caught
             if w.filename.startswith(os.environ["PROJECT_ROOT"]) and "/.venv/" not in w.filename],
}))
"""


def test_importing_the_code_location_changes_no_environment_and_warns_about_nothing_of_ours() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYMBL_", "SEMARIZE_", "CONVO_INTEL_"))}
    env |= {"PROJECT_ROOT": str(PROJECT_ROOT), "PYTHONPATH": str(PROJECT_ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"changed": [], "ours": []}
