"""The dbt project (``dbt_project/``) as Dagster assets.

Every dbt model and seed becomes an asset keyed by its bare name (``fct_conversations``), grouped by folder
(``dbt_staging``, ``dbt_marts``, ``dbt_seeds``); every dbt source depends on the pipeline asset that writes
its raw table (``meta.dagster.asset_key`` in ``models/staging/_sources.yml``); every dbt test becomes an
asset check.

The manifest is produced offline with ``dbt parse`` when it is missing (fresh clone) or under ``dagster dev``,
so the code location loads without any prepared build artefact. The DuckDB file comes from
``CONVO_INTEL_WAREHOUSE`` (default ``<repo>/var/warehouse/convo_intel.duckdb``); the fiscal-year start month
from ``CONVO_INTEL_FISCAL_YEAR_START_MONTH`` (read by ``dbt_project.yml``; default 1).
"""

import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
WAREHOUSE_ENV_VAR = "CONVO_INTEL_WAREHOUSE"
DEFAULT_WAREHOUSE_PATH = REPO_ROOT / "var" / "warehouse" / "convo_intel.duckdb"
# Every asset that writes the DuckDB file shares this pool (size 1): DuckDB allows one writing process.
WAREHOUSE_WRITER_POOL = "duckdb_writer"

# Models are grouped by their folder under models/; seeds have no folder of their own.
_GROUP_BY_FOLDER: dict[str, str] = {"staging": "dbt_staging", "marts": "dbt_marts"}
SEEDS_GROUP = "dbt_seeds"

# dbt never phones home from anything this module starts (the project's dbt_project.yml says so too).
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")


def warehouse_path() -> Path:
    """The DuckDB file dbt builds into: ``$CONVO_INTEL_WAREHOUSE`` or the repo's default location."""
    configured = os.environ.get(WAREHOUSE_ENV_VAR, "").strip()
    return Path(configured).expanduser().resolve() if configured else DEFAULT_WAREHOUSE_PATH


def _ensure_dbt_on_path() -> None:
    """Make the dbt CLI installed next to this interpreter findable, as an activated venv would.

    dagster-dbt runs dbt as a subprocess found on PATH (including for `dbt parse` in the preparer); a process
    started as `.venv/bin/python ...` without activating the venv would otherwise fail to find it.
    """
    if shutil.which("dbt") is not None:
        return
    interpreter_bin = Path(
        sys.executable
    ).parent  # not resolved: a venv's python is a symlink out of the venv
    if (interpreter_bin / "dbt").exists():
        os.environ["PATH"] = f"{interpreter_bin}{os.pathsep}{os.environ.get('PATH', '')}"


def _prepared_project() -> DbtProject:
    _ensure_dbt_on_path()
    project = DbtProject(project_dir=DBT_PROJECT_DIR)
    # Under `dagster dev` this re-parses on every load; elsewhere it does nothing...
    project.prepare_if_dev()
    # ...so a fresh clone (no target/manifest.json yet) is parsed here. `dbt parse` needs no database
    # connection and no network, so loading the code location stays offline.
    if _manifest_is_stale(project.manifest_path):
        project.preparer.prepare(project)
    return project


def _manifest_is_stale(manifest: Path) -> bool:
    """Missing, or older than any dbt source file: a stale manifest makes Dagster and dbt disagree on nodes."""
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml"]
    for folder in ("models", "macros", "seeds", "tests", "snapshots", "analyses"):
        sources += [p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file()]
    return any(p.stat().st_mtime > built for p in sources if p.exists())


convo_intel_dbt_project: DbtProject = _prepared_project()


class ConvoIntelDbtTranslator(DagsterDbtTranslator):
    """Asset keys are bare model/seed names; groups follow the folder; sources map via their meta."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            # meta.dagster.asset_key names the pipeline asset that writes the raw table.
            return super().get_asset_key(dbt_resource_props)
        # The default would prefix the configured schema (["marts", "fct_conversations"]).
        return AssetKey([dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        resource_type = dbt_resource_props["resource_type"]
        if resource_type == "seed":
            return SEEDS_GROUP
        if resource_type == "source":
            return None
        # fqn = [project, folder, ..., name]
        fqn: list[str] = dbt_resource_props.get("fqn", [])
        folder = fqn[1] if len(fqn) > 2 else None
        return _GROUP_BY_FOLDER.get(folder or "", super().get_group_name(dbt_resource_props))


def convo_intel_dbt_translator() -> ConvoIntelDbtTranslator:
    return ConvoIntelDbtTranslator(
        settings=DagsterDbtTranslatorSettings(
            enable_asset_checks=True,
            # Several raw tables come from one asset (symbl_analytics writes members + metrics,
            # semarize_bricks writes runs + bricks, recordings writes recordings + rejections).
            enable_duplicate_source_asset_keys=True,
        )
    )


def dbt_cli_resource() -> DbtCliResource:
    """The ``dbt`` resource: the project above, building into :func:`warehouse_path`.

    The warehouse path is resolved here (relative to this process's working directory, like the pipeline's
    DuckDB resource) and handed to dbt through the environment, because dbt would resolve a relative path
    against dbt_project/. The parent folder is created because dbt-duckdb will not.
    """
    path = warehouse_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    os.environ[WAREHOUSE_ENV_VAR] = str(path)
    return DbtCliResource(project_dir=convo_intel_dbt_project)


@dbt_assets(
    manifest=convo_intel_dbt_project.manifest_path,
    project=convo_intel_dbt_project,
    dagster_dbt_translator=convo_intel_dbt_translator(),
    pool=WAREHOUSE_WRITER_POOL,
    name="convo_intel_dbt_assets",
)
def convo_intel_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """``dbt build`` of the selected models, seeds and tests, streamed back as materializations + checks."""
    yield from dbt.cli(["build"], context=context).stream()
