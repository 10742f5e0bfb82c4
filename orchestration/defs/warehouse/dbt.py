"""The dbt project (``dbt_project/``) as Dagster assets.

Every dbt model and seed becomes an asset keyed by its bare name (``fct_conversations``), grouped by folder
(``dbt_staging``, ``dbt_intermediate``, ``dbt_marts``, ``dbt_seeds``); every dbt source depends on the pipeline
asset that writes its raw table (``meta.dagster.asset_key`` in ``models/staging/<source>/_<source>__sources.yml``);
every dbt test becomes an asset check.

The manifest is produced offline with ``dbt parse`` when it is missing (fresh clone) or under ``dagster dev``,
so the code location loads without any prepared build artefact. The DuckDB file comes from
``CONVO_INTEL_WAREHOUSE`` (default ``<repo>/var/warehouse/convo_intel.duckdb``; a relative path is taken from
the repo root, by Python and by dbt's profile alike); the fiscal-year start month
from ``CONVO_INTEL_FISCAL_YEAR_START_MONTH`` (read by ``dbt_project.yml``; default 1).
"""

import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
)
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from orchestration.defs.warehouse import duckdb_store
from orchestration.partitions import WAREHOUSE_WRITER_POOL
from orchestration.settings import PROJECT_ROOT, WAREHOUSE_ENV, warehouse_paths

REPO_ROOT = PROJECT_ROOT
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
WAREHOUSE_ENV_VAR = WAREHOUSE_ENV  # read by dbt_project/profiles.yml

# Models are grouped by their folder under models/; seeds have no folder of their own.
_GROUP_BY_FOLDER: dict[str, str] = {"staging": "dbt_staging", "marts": "dbt_marts"}
SEEDS_GROUP = "dbt_seeds"


def warehouse_path() -> Path:
    """The DuckDB file dbt builds into: the live path of :func:`orchestration.settings.warehouse_paths`.

    dbt's profile reads the same variable (``CONVO_INTEL_WAREHOUSE``) and resolves a relative value from the
    same folder (the project root), so the two agree without this process writing its environment.
    """
    return warehouse_paths().live


def dbt_executable() -> str:
    """The dbt CLI installed next to this interpreter (as an activated venv would find it), else dbt on PATH.

    dagster-dbt runs dbt as a subprocess; a process started as `.venv/bin/python ...` without activating the
    venv would otherwise not find it. Named explicitly instead of prepending the venv to this process's PATH.
    """
    beside = Path(sys.executable).parent / "dbt"  # not resolved: a venv's python is a symlink out of the venv
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def _parse(project: DbtProject) -> None:
    """`dbt parse` into the project's target folder: needs no database connection and no network."""
    DbtCliResource(project_dir=project, dbt_executable=dbt_executable()).cli(
        ["parse", "--quiet"], target_path=project.target_path
    ).wait()


def _prepared_project() -> DbtProject:
    project = DbtProject(project_dir=DBT_PROJECT_DIR)
    # Re-parsed on every load under `dagster dev`, and in a fresh clone (no target/manifest.json yet) or after
    # a dbt file changed, so the code location loads without any prepared build artefact.
    if project.preparer.using_dagster_dev() or _manifest_is_stale(project.manifest_path):
        _parse(project)
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
    """The ``dbt`` resource: the project above; the profile finds the warehouse through ``CONVO_INTEL_WAREHOUSE``."""
    return DbtCliResource(project_dir=convo_intel_dbt_project, dbt_executable=dbt_executable())


@dbt_assets(
    manifest=convo_intel_dbt_project.manifest_path,
    project=convo_intel_dbt_project,
    dagster_dbt_translator=convo_intel_dbt_translator(),
    pool=WAREHOUSE_WRITER_POOL,
    name="convo_intel_dbt_assets",
)
def convo_intel_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """``dbt build`` of the selected models, seeds and tests, streamed back as materializations + checks."""
    # Created here, at run time, because dbt-duckdb will not create the parent folder.
    warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    invocation = dbt.cli(["build"], context=context)
    yield from with_built_table_metadata(invocation.stream(), invocation.manifest, warehouse_path())


def with_built_table_metadata(
    events: Iterable[Any], manifest: Mapping[str, Any], database: Path
) -> Iterator[Any]:
    """Each model's and seed's materialization with its row count and column types, read from the built file.

    Read by this process after dbt has exited (the stream is exhausted first): DuckDB has one writer, so nothing
    may open the file while the dbt subprocess holds it. Not through dagster-dbt's ``fetch_row_counts`` /
    ``fetch_column_metadata``, which query via dbt's adapter inside this process and leave its read-write
    connection open, so every later read-only or differently configured open of the file in the run fails.
    Views get their column types but no row count (counting would run the view's whole query).
    """
    buffered = list(events)
    nodes: Mapping[str, Any] = manifest.get("nodes", {})
    with duckdb_store.connect(str(database), read_only=True) as con:
        for event in buffered:
            node = _built_node(event, nodes)
            if node is None:
                yield event
                continue
            schema, table = node["schema"], node.get("alias") or node["name"]
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [schema, table],
            ).fetchall()
            docs = {
                name: (props.get("description") or None) for name, props in node.get("columns", {}).items()
            }
            metadata: dict[str, Any] = {
                "dagster/column_schema": TableSchema(
                    columns=[
                        TableColumn(name, data_type, description=docs.get(name))
                        for name, data_type in columns
                    ]
                )
            }
            if node.get("config", {}).get("materialized") != "view":
                (count,) = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
                metadata["dagster/row_count"] = MetadataValue.int(
                    count
                )  # the key the UI shows as "Row count"
            yield event.with_metadata({**event.metadata, **metadata})


def _built_node(event: Any, nodes: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if not isinstance(event, Output | AssetMaterialization):
        return None
    unique_id = event.metadata.get("unique_id")
    node = nodes.get(getattr(unique_id, "text", unique_id))
    return node if node and node.get("resource_type") in ("model", "seed") else None
