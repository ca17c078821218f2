"""Redshift Spectrum: the lake's parquet datasets as external tables, so that dbt on Redshift reads
the same `lake` sources (schema var('lake_schema')) that the Spark target registers as parquet tables.

The tables are declared from the sources YAML (each column's data_type, the one definition the
jobs' output is tested against) and each partition at the folder of its date's current version, as
the lake's commit records say (regcalc.lake: a version is never overwritten; a new one is committed,
then registered here). Spectrum DDL cannot run inside a transaction, so every statement runs on its
own through the Data API; each is idempotent, so a failed registration is fixed by running it again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml

from regcalc.aws import (
    AwsError,
    S3Files,
    parse_s3_uri,
    quote_identifier,
    quote_literal,
    run_redshift_statements,
)
from regcalc.decimals import render_data_type
from regcalc.lake import NULL_PARTITION, PARTITION_COLUMN, CommitLog
from regcalc.settings import PROJECT_DIR

logger = logging.getLogger(__name__)

SOURCES_YAML = PROJECT_DIR / "models" / "staging" / "_staging__sources.yml"
LAKE_SOURCE = "lake"
PARTITIONS_PER_STATEMENT = 100  # ALTER TABLE ... ADD PARTITION takes many; keep statements short
# Spark SQL types of the sources YAML (the lake's parquet) -> warehouse column types: Spectrum tables,
# and the lake tables regcalc.warehouse loads on Redshift and PostgreSQL (valid on both).
REDSHIFT_TYPES = {
    "string": "varchar(65535)",
    "double": "double precision",
    "int": "integer",
    "bigint": "bigint",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}
_DECIMAL = re.compile(r"^decimal\(\d+,\s*\d+\)$")


@dataclass(frozen=True)
class LakeDataset:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, Redshift type), without the partition column
    location: str = ""  # folder under the lake URI (the sources YAML's external.location); "" = name

    @property
    def folder(self) -> str:
        return self.location or self.name


def lake_datasets(sources_yaml: Path = SOURCES_YAML) -> list[LakeDataset]:
    """The lake source's tables and their columns, typed for Redshift, with the folder their `external:`
    block declares (none: the table's name). Raises AwsError when a table's external.partitions is not the
    lake's layout (one partition column, as_of_date: regcalc.lake writes nothing else)."""
    document = yaml.safe_load(sources_yaml.read_text(encoding="utf-8"))
    sources = [source for source in document.get("sources", []) if source.get("name") == LAKE_SOURCE]
    if not sources:
        raise AwsError(f"{sources_yaml}: no source named {LAKE_SOURCE!r}")
    datasets = []
    for table in sources[0].get("tables", []):
        columns = []
        for column in table.get("columns", []):
            if column["name"] == PARTITION_COLUMN:
                continue
            # rendered as dbt renders it: the money / rate types are vars of dbt_project.yml
            spark_type = render_data_type(column.get("data_type", "")).strip().lower()
            redshift_type = REDSHIFT_TYPES.get(spark_type) or (
                spark_type if _DECIMAL.match(spark_type) else None
            )
            if redshift_type is None:
                raise AwsError(
                    f"{sources_yaml}: {table['name']}.{column['name']}: data_type {spark_type or '(none)'!r} "
                    f"has no Spectrum type; use one of {', '.join(REDSHIFT_TYPES)} or decimal(p,s)"
                )
            columns.append((column["name"], redshift_type))
        external = table.get("external") or {}
        partitions = [partition.get("name") for partition in external.get("partitions") or []]
        if partitions and partitions != [PARTITION_COLUMN]:
            raise AwsError(
                f"{sources_yaml}: {table['name']}: external.partitions {partitions} is not the lake's "
                f"layout [{PARTITION_COLUMN}] (regcalc.lake writes one folder per as-of date)"
            )
        datasets.append(LakeDataset(table["name"], tuple(columns), external.get("location", "")))
    return datasets


def published_partitions(lake_uri: str, client: Any) -> dict[str, dict[str, str]]:
    """Dataset -> {as-of date: s3:// URI of its current version's folder}, from the lake's commit records.

    The rows without a date (Spark's null partition: rejects whose date did not parse) have no Spectrum
    partition value; those rows stay in the lake and in the Spark target."""
    bucket, prefix = parse_s3_uri(lake_uri)
    root = f"s3://{bucket}/{prefix}/" if prefix else f"s3://{bucket}/"
    partitions: dict[str, dict[str, str]] = {}
    for day, commit in CommitLog(S3Files(client, lake_uri)).current().items():
        if day == NULL_PARTITION:
            continue
        for dataset, location in commit.locations.items():
            partitions.setdefault(dataset, {})[day] = f"{root}{location}/"
    return partitions


def dataset_location(lake_uri: str, dataset: str) -> str:
    """s3:// folder of a lake dataset (its folder under the lake URI; Redshift's scheme, also for an
    s3a:// lake URI)."""
    bucket, prefix = parse_s3_uri(lake_uri)
    return f"s3://{bucket}/{prefix}/{dataset}/" if prefix else f"s3://{bucket}/{dataset}/"


def spectrum_statements(
    datasets: Sequence[LakeDataset],
    partitions: Mapping[str, Mapping[str, str]],
    *,
    lake_uri: str,
    schema: str,
    catalog_database: str,
    iam_role: str,
) -> list[str]:
    """DDL that (re)declares every lake dataset as a Spectrum table with its published partitions,
    `partitions[dataset]` = {as-of date: location}.

    Tables are dropped and created again, so a changed column list or lake URI is followed (dropping
    an external table deletes no data); the staging views are late-binding (bind: false), so they
    survive it. Run it after the jobs and before `dbt build`, as `regcalc run` does: while it runs the
    tables are briefly absent, never pointing at a partly written version."""
    external_schema = quote_identifier(schema)
    statements = [
        f"create external schema if not exists {external_schema} from data catalog "
        f"database {quote_literal(catalog_database)} iam_role {quote_literal(iam_role)} "
        "create external database if not exists"
    ]
    for dataset in datasets:
        table = f"{external_schema}.{quote_identifier(dataset.name)}"
        columns = ", ".join(f"{quote_identifier(name)} {kind}" for name, kind in dataset.columns)
        location = dataset_location(lake_uri, dataset.folder)
        statements += [
            f"drop table if exists {table}",
            f"create external table {table} ({columns}) partitioned by ({PARTITION_COLUMN} date) "
            f"stored as parquet location {quote_literal(location)}",
        ]
        days = sorted(partitions.get(dataset.name, {}).items())
        for start in range(0, len(days), PARTITIONS_PER_STATEMENT):
            added = " ".join(
                f"partition ({PARTITION_COLUMN}={quote_literal(day)}) location {quote_literal(folder)}"
                for day, folder in days[start : start + PARTITIONS_PER_STATEMENT]
            )
            statements.append(f"alter table {table} add if not exists {added}")
    return statements


def redshift_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The Data API target and Spectrum settings from the environment (README: Targets and production).

    REGCALC_REDSHIFT_DATABASE; REGCALC_REDSHIFT_CLUSTER_ID (provisioned) or REGCALC_REDSHIFT_WORKGROUP
    (serverless); REGCALC_REDSHIFT_SECRET_ARN, else temporary credentials of REGCALC_REDSHIFT_USER
    (provisioned only); REGCALC_SPECTRUM_IAM_ROLE (the role Spectrum reads S3 and the Glue catalog
    with); REGCALC_SPECTRUM_CATALOG_DATABASE (Glue database, default regcalc_lake)."""
    settings = {
        "database": environ.get("REGCALC_REDSHIFT_DATABASE"),
        "cluster_identifier": environ.get("REGCALC_REDSHIFT_CLUSTER_ID"),
        "workgroup_name": environ.get("REGCALC_REDSHIFT_WORKGROUP"),
        "secret_arn": environ.get("REGCALC_REDSHIFT_SECRET_ARN"),
        "iam_role": environ.get("REGCALC_SPECTRUM_IAM_ROLE"),
        "catalog_database": environ.get("REGCALC_SPECTRUM_CATALOG_DATABASE", "regcalc_lake"),
    }
    if not settings["secret_arn"] and settings["cluster_identifier"]:
        settings["db_user"] = environ.get("REGCALC_REDSHIFT_USER")
    missing = [
        name
        for name, needed in (
            ("REGCALC_REDSHIFT_DATABASE", settings["database"]),
            (
                "REGCALC_REDSHIFT_CLUSTER_ID or REGCALC_REDSHIFT_WORKGROUP",
                settings["cluster_identifier"] or settings["workgroup_name"],
            ),
            ("REGCALC_SPECTRUM_IAM_ROLE", settings["iam_role"]),
        )
        if not needed
    ]
    if missing:
        raise AwsError(f"to register the lake in Redshift Spectrum, set {', '.join(missing)}")
    return {name: value for name, value in settings.items() if value}


def register_spectrum(
    lake_uri: str,
    *,
    schema: str,
    catalog_database: str,
    iam_role: str,
    database: str,
    cluster_identifier: str | None = None,
    workgroup_name: str | None = None,
    db_user: str | None = None,
    secret_arn: str | None = None,
    s3_client: Any = None,
    data_api_client: Any = None,
    sources_yaml: Path = SOURCES_YAML,
) -> dict[str, list[str]]:
    """Declare the lake at `lake_uri` (s3://) in Redshift; return the dates registered per dataset."""
    datasets = lake_datasets(sources_yaml)
    s3 = s3_client or boto3.client("s3")
    partitions = published_partitions(lake_uri, s3)
    if not partitions:
        raise AwsError(f"no published partition under {lake_uri}: run the Spark jobs on it first")
    statements = spectrum_statements(
        datasets,
        partitions,
        lake_uri=lake_uri,
        schema=schema,
        catalog_database=catalog_database,
        iam_role=iam_role,
    )
    run_redshift_statements(
        statements,
        database=database,
        cluster_identifier=cluster_identifier,
        workgroup_name=workgroup_name,
        db_user=db_user,
        secret_arn=secret_arn,
        client=data_api_client,
    )
    return {dataset.name: sorted(partitions.get(dataset.name, {})) for dataset in datasets}
