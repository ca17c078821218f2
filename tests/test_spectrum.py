"""regcalc.spectrum: the S3 lake declared as Redshift Spectrum tables, against moto's S3 and Data API."""

from __future__ import annotations

import boto3
import pytest
import yaml
from moto.core import DEFAULT_ACCOUNT_ID
from moto.redshiftdata.models import redshiftdata_backends

from regcalc.aws import AwsError
from regcalc.lake import NULL_PARTITION, Commit, commit_record
from regcalc.spectrum import (
    LakeDataset,
    lake_datasets,
    redshift_from_env,
    register_spectrum,
    spectrum_statements,
)

REGION = "eu-west-1"  # = conftest.AWS_REGION, where the aws fixture runs moto
BUCKET = "regcalc-prod-lake"
LAKE = f"s3a://{BUCKET}/lcr"
ROLE = "arn:aws:iam::123456789012:role/regcalc-spectrum"
SOURCES = {
    "version": 2,
    "sources": [
        {"name": "other", "tables": [{"name": "ignored", "columns": [{"name": "x", "data_type": "string"}]}]},
        {
            "name": "lake",
            "tables": [
                {
                    "name": "entities",
                    "columns": [
                        {"name": "entity_id", "data_type": "string"},
                        {"name": "as_of_date", "data_type": "date"},
                        {"name": "is_active", "data_type": "boolean"},
                    ],
                },
                {
                    "name": "deal_liquidity",
                    "columns": [
                        {"name": "deal_id", "data_type": "string"},
                        {"name": "amount", "data_type": "double"},
                        {"name": "days", "data_type": "int"},
                        {"name": "price", "data_type": "decimal(18, 4)"},
                        {"name": "as_of_date", "data_type": "date"},
                    ],
                },
            ],
        },
    ],
}
ENTITIES = LakeDataset("entities", (("entity_id", "varchar(65535)"), ("is_active", "boolean")))
DEALS = LakeDataset(
    "deal_liquidity",
    (
        ("deal_id", "varchar(65535)"),
        ("amount", "double precision"),
        ("days", "integer"),
        ("price", "decimal(18, 4)"),
    ),
)
EXPECTED_STATEMENTS = [
    "create external schema if not exists \"regcalc_lake\" from data catalog database 'regcalc_glue' "
    f"iam_role '{ROLE}' create external database if not exists",
    'drop table if exists "regcalc_lake"."entities"',
    'create external table "regcalc_lake"."entities" ("entity_id" varchar(65535), "is_active" boolean) '
    f"partitioned by (as_of_date date) stored as parquet location 's3://{BUCKET}/lcr/entities/'",
    'alter table "regcalc_lake"."entities" add if not exists '
    f"partition (as_of_date='2026-09-29') location 's3://{BUCKET}/lcr/entities/run-1/as_of_date=2026-09-29/' "
    f"partition (as_of_date='2026-09-30') location 's3://{BUCKET}/lcr/entities/run-2/as_of_date=2026-09-30/'",
    'drop table if exists "regcalc_lake"."deal_liquidity"',
    'create external table "regcalc_lake"."deal_liquidity" ("deal_id" varchar(65535), '
    '"amount" double precision, "days" integer, "price" decimal(18, 4)) '
    "partitioned by (as_of_date date) stored as parquet "
    f"location 's3://{BUCKET}/lcr/deal_liquidity/'",
    'alter table "regcalc_lake"."deal_liquidity" add if not exists '
    "partition (as_of_date='2026-09-30') "
    f"location 's3://{BUCKET}/lcr/deal_liquidity/run-2/as_of_date=2026-09-30/'",
]
# The published versions (as_of_date, version, run_id, datasets): 2026-09-30 was rerun by run-2, so its
# current version is run-2's; the rows without a date (null partition) have no Spectrum partition.
VERSIONS = [
    ("2026-09-29", 1, "run-1", ("entities",)),
    ("2026-09-30", 1, "run-1", ("entities", "deal_liquidity")),
    ("2026-09-30", 2, "run-2", ("entities", "deal_liquidity")),
    (NULL_PARTITION, 1, "run-1", ("deal_liquidity",)),
]
PARTITIONS = {
    "entities": {
        "2026-09-29": f"s3://{BUCKET}/lcr/entities/run-1/as_of_date=2026-09-29/",
        "2026-09-30": f"s3://{BUCKET}/lcr/entities/run-2/as_of_date=2026-09-30/",
    },
    "deal_liquidity": {"2026-09-30": f"s3://{BUCKET}/lcr/deal_liquidity/run-2/as_of_date=2026-09-30/"},
}


@pytest.fixture
def sources_yaml(tmp_path):
    path = tmp_path / "_sources.yml"
    path.write_text(yaml.safe_dump(SOURCES))
    return path


@pytest.fixture
def clients(aws):
    """S3 and Redshift Data API clients on moto (the aws fixture of conftest.py)."""
    s3 = boto3.client("s3", region_name=REGION)
    data_api = boto3.client("redshift-data", region_name=REGION)

    def finish_all(**kwargs):  # moto keeps statements STARTED
        for statement in sent():
            statement.status = "FINISHED"

    data_api.meta.events.register("before-call.redshift-data.DescribeStatement", finish_all)
    return s3, data_api


def sent():
    return list(redshiftdata_backends[DEFAULT_ACCOUNT_ID][REGION].statements.values())


def publish_lake(s3) -> None:
    """VERSIONS as the jobs publish them: parquet in each version folder, then its commit record."""
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    for day, version, run_id, datasets in VERSIONS:
        locations = {dataset: f"{dataset}/{run_id}/as_of_date={day}" for dataset in datasets}
        for folder in locations.values():
            s3.put_object(Bucket=BUCKET, Key=f"lcr/{folder}/part-0.parquet", Body=b"PAR1")
        commit = Commit(day, version, run_id, "2026-10-01T02:30:00+00:00", locations)
        s3.put_object(Bucket=BUCKET, Key=f"lcr/{commit.path}", Body=commit_record(commit).encode())
    # a run being written (no commit record yet), and another dataset's folder: neither is registered
    for key in (
        "lcr/deal_liquidity/run-3/as_of_date=2026-10-01/part-0.parquet",
        "lcr/deal_liquidity_old/as_of_date=2020-01-01/part-0.parquet",
    ):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"PAR1")


def register(clients, sources_yaml):
    s3, data_api = clients
    return register_spectrum(
        LAKE,
        schema="regcalc_lake",
        catalog_database="regcalc_glue",
        iam_role=ROLE,
        database="prod",
        cluster_identifier="regcalc-prod",
        secret_arn="arn:aws:secretsmanager:eu-west-1:123456789012:secret:regcalc",
        s3_client=s3,
        data_api_client=data_api,
        sources_yaml=sources_yaml,
    )


def test_datasets_and_types_come_from_the_sources_yaml(sources_yaml):
    assert lake_datasets(sources_yaml) == [ENTITIES, DEALS]


def test_statements_declare_each_dataset_with_its_partitions():
    statements = spectrum_statements(
        [ENTITIES, DEALS],
        PARTITIONS,
        lake_uri=LAKE,
        schema="regcalc_lake",
        catalog_database="regcalc_glue",
        iam_role=ROLE,
    )
    assert statements == EXPECTED_STATEMENTS


def test_many_partitions_are_added_a_hundred_per_statement():
    days = [f"2026-{month:02d}-{day:02d}" for month in range(1, 10) for day in range(1, 29)]  # 252
    statements = spectrum_statements(
        [ENTITIES],
        {"entities": {day: f"s3://{BUCKET}/lcr/entities/run-1/as_of_date={day}/" for day in days}},
        lake_uri=LAKE,
        schema="s",
        catalog_database="g",
        iam_role=ROLE,
    )
    adds = [statement for statement in statements if statement.startswith("alter table")]
    assert [statement.count("partition (") for statement in adds] == [100, 100, 52]


def test_register_lists_the_published_dates_and_runs_the_ddl(clients, sources_yaml):
    publish_lake(clients[0])

    dates = register(clients, sources_yaml)

    assert dates == {"entities": ["2026-09-29", "2026-09-30"], "deal_liquidity": ["2026-09-30"]}
    assert [statement.query_string for statement in sent()] == EXPECTED_STATEMENTS
    assert {(s.cluster_identifier, s.database) for s in sent()} == {("regcalc-prod", "prod")}


def test_every_dataset_of_the_project_has_spectrum_types():
    datasets = {dataset.name: dataset for dataset in lake_datasets()}
    assert set(datasets) == {"deal_liquidity", "entities", "counterparties", "fx_rates"}
    for dataset in datasets.values():
        assert dataset.columns and "as_of_date" not in dict(dataset.columns)


def test_a_missing_bucket_is_explained_and_nothing_runs(clients, sources_yaml):
    with pytest.raises(AwsError, match="NoSuchBucket.*the bucket does not exist"):
        register(clients, sources_yaml)
    assert sent() == []


def test_an_empty_lake_is_refused(clients, sources_yaml):
    clients[0].create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    with pytest.raises(AwsError, match=f"no published partition under {LAKE}: run the Spark jobs"):
        register(clients, sources_yaml)
    assert sent() == []


def test_a_failing_statement_names_it_and_stops(clients, sources_yaml):
    publish_lake(clients[0])
    data_api = clients[1]

    def fail_create(parsed, **kwargs):  # moto never fails a statement: edit its answer
        if parsed["QueryString"].startswith("create external table"):
            parsed.update(Status="FAILED", Error="ERROR: permission denied for schema regcalc_lake")

    data_api.meta.events.register("after-call.redshift-data.DescribeStatement", fail_create)
    with pytest.raises(AwsError) as raised:
        register(clients, sources_yaml)
    message = str(raised.value)
    assert 'SQL: create external table "regcalc_lake"."entities"' in message
    assert "permission denied for schema regcalc_lake" in message
    assert "2 statement(s) before it were committed; 4 after it not run" in message
    assert len(sent()) == 3


def test_an_unknown_column_type_names_the_file_and_column(tmp_path):
    broken = yaml.safe_load(yaml.safe_dump(SOURCES))
    broken["sources"][1]["tables"][1]["columns"][1]["data_type"] = "map<string,int>"
    path = tmp_path / "_sources.yml"
    path.write_text(yaml.safe_dump(broken))
    with pytest.raises(AwsError, match=r"_sources.yml: deal_liquidity.amount: data_type 'map<string,int>'"):
        lake_datasets(path)


def test_connection_settings_from_the_environment():
    environ = {
        "REGCALC_REDSHIFT_DATABASE": "prod",
        "REGCALC_REDSHIFT_CLUSTER_ID": "regcalc-prod",
        "REGCALC_REDSHIFT_USER": "loader",
        "REGCALC_SPECTRUM_IAM_ROLE": ROLE,
    }
    assert redshift_from_env(environ) == {
        "database": "prod",
        "cluster_identifier": "regcalc-prod",
        "db_user": "loader",
        "iam_role": ROLE,
        "catalog_database": "regcalc_lake",
    }
    with pytest.raises(AwsError) as raised:
        redshift_from_env({"REGCALC_REDSHIFT_DATABASE": "prod"})
    assert str(raised.value) == (
        "to register the lake in Redshift Spectrum, set REGCALC_REDSHIFT_CLUSTER_ID or "
        "REGCALC_REDSHIFT_WORKGROUP, REGCALC_SPECTRUM_IAM_ROLE"
    )


def test_the_external_block_of_the_project_declares_each_folder_and_the_lake_partitioning(tmp_path):
    datasets = {dataset.name: dataset.folder for dataset in lake_datasets()}
    assert datasets == {name: name for name in ("deal_liquidity", "entities", "counterparties", "fx_rates")}
    moved = yaml.safe_load(yaml.safe_dump(SOURCES))
    moved["sources"][1]["tables"][0]["external"] = {"location": "reference/entities", "partitions": []}
    path = tmp_path / "_sources.yml"
    path.write_text(yaml.safe_dump(moved))
    assert lake_datasets(path)[0].folder == "reference/entities"
    moved["sources"][1]["tables"][0]["external"]["partitions"] = [{"name": "run_id", "data_type": "string"}]
    path.write_text(yaml.safe_dump(moved))
    with pytest.raises(
        AwsError, match=r"entities: external.partitions \['run_id'\] is not the lake's layout"
    ):
        lake_datasets(path)
