"""regcalc.warehouse without a warehouse: the Redshift COPY path against moto's S3 and a recording Data
API, the choice of the loading step per target, and the errors a user sees. (The PostgreSQL path runs
for real in tests/test_postgres.py.)"""

from __future__ import annotations

import datetime as dt
import itertools

import boto3
import pytest
import sqlglot
from sqlglot import exp

from regcalc.lake import Commit, commit_record
from regcalc.settings import Settings
from regcalc.spectrum import LakeDataset
from regcalc.warehouse import (
    LoadError,
    copy_lake,
    load_lake,
    redshift_copy_statements,
    redshift_prune_statement,
    redshift_table_statements,
)

REGION = "eu-west-1"  # = conftest.AWS_REGION
BUCKET = "regcalc-prod-lake"
LAKE = f"s3a://{BUCKET}/lcr"
ROLE = "arn:aws:iam::123456789012:role/regcalc-spectrum"
ENTITIES = LakeDataset("entities", (("entity_id", "varchar(65535)"), ("is_active", "boolean")))
SOURCES = """
version: 2
sources:
  - name: lake
    tables:
      - name: entities
        columns:
          - {name: entity_id, data_type: string}
          - {name: as_of_date, data_type: date}
          - {name: is_active, data_type: boolean}
"""


class RecordingDataApi:
    """The Redshift Data API calls run_redshift_statements makes, recorded; every statement finishes.
    (moto has no BatchExecuteStatement.)"""

    def __init__(self):
        self.calls: list[tuple[str, list[str]]] = []
        self._ids = itertools.count(1)

    def execute_statement(self, Sql, **target):  # noqa: N803 - boto3's parameter names
        self.calls.append(("single", [Sql]))
        return {"Id": f"statement-{next(self._ids)}"}

    def batch_execute_statement(self, Sqls, **target):  # noqa: N803
        self.calls.append(("transaction", list(Sqls)))
        return {"Id": f"statement-{next(self._ids)}"}

    def describe_statement(self, Id):  # noqa: N803
        return {"Id": Id, "Status": "FINISHED"}


def test_one_date_is_replaced_in_one_transaction_through_a_temporary_table():
    folder = f"s3://{BUCKET}/lcr/entities/run-1/as_of_date=2026-09-30/"
    statements = redshift_copy_statements(ENTITIES, folder, "2026-09-30", "regcalc_lake", ROLE)

    assert statements == [
        'create temp table "entities__load" ("entity_id" varchar(65535), "is_active" boolean)',
        f"COPY \"entities__load\" FROM '{folder}' IAM_ROLE '{ROLE}' FORMAT AS PARQUET",
        'delete from "regcalc_lake"."entities" where as_of_date = \'2026-09-30\'',
        'insert into "regcalc_lake"."entities" ("entity_id", "is_active", as_of_date) '
        'select "entity_id", "is_active", cast(\'2026-09-30\' as date) from "entities__load"',
        'drop table "entities__load"',
    ]
    for statement in [*statements, *redshift_table_statements(ENTITIES, "regcalc_lake")]:
        parsed = sqlglot.parse_one(statement, read="redshift")
        assert not isinstance(parsed, exp.Command), statement


def test_copy_lake_loads_every_published_date_and_drops_the_others(aws, tmp_path):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    # 2026-09-29 published twice (version 2 is current), 2026-09-30 once; run-3 is still being written
    folders = {}
    for day, version, run_id in (
        ("2026-09-29", 1, "run-1"),
        ("2026-09-30", 1, "run-1"),
        ("2026-09-29", 2, "run-2"),
    ):
        folders[day] = f"entities/{run_id}/as_of_date={day}"
        s3.put_object(Bucket=BUCKET, Key=f"lcr/{folders[day]}/part-0.parquet", Body=b"PAR1")
        commit = Commit(day, version, run_id, "2026-10-01T02:30:00+00:00", {"entities": folders[day]})
        s3.put_object(Bucket=BUCKET, Key=f"lcr/{commit.path}", Body=commit_record(commit).encode())
    s3.put_object(Bucket=BUCKET, Key="lcr/entities/run-3/as_of_date=2026-10-01/part-0.parquet", Body=b"PAR1")
    current = {day: f"s3://{BUCKET}/lcr/{folder}/" for day, folder in folders.items()}
    sources = tmp_path / "_sources.yml"
    sources.write_text(SOURCES)
    data_api = RecordingDataApi()
    target = {"schema": "regcalc_lake", "iam_role": ROLE, "database": "prod", "cluster_identifier": "c"}

    loaded = copy_lake(LAKE, s3_client=s3, data_api_client=data_api, sources_yaml=sources, **target)

    assert loaded == {"entities": ["2026-09-29", "2026-09-30"]}
    create = redshift_table_statements(ENTITIES, "regcalc_lake")
    assert data_api.calls == [
        *[("single", [statement]) for statement in create],
        *[
            ("transaction", redshift_copy_statements(ENTITIES, current[day], day, "regcalc_lake", ROLE))
            for day in ("2026-09-29", "2026-09-30")
        ],
        ("single", [redshift_prune_statement(ENTITIES, "regcalc_lake", ["2026-09-29", "2026-09-30"])]),
    ]
    assert redshift_prune_statement(ENTITIES, "regcalc_lake", ["2026-09-29"]) == (
        'delete from "regcalc_lake"."entities" where as_of_date is null or as_of_date not in (\'2026-09-29\')'
    )

    # Given dates: only those, nothing pruned; a date that was never published is refused.
    data_api.calls.clear()
    one = copy_lake(
        LAKE,
        dates=[dt.date(2026, 9, 30)],
        s3_client=s3,
        data_api_client=data_api,
        sources_yaml=sources,
        **target,
    )
    assert one == {"entities": ["2026-09-30"]}
    assert [kind for kind, _ in data_api.calls] == ["single", "single", "transaction"]
    with pytest.raises(LoadError, match="entities: no published partition for 2026-10-01: run the jobs"):
        copy_lake(
            LAKE,
            dates=[dt.date(2026, 10, 1)],
            s3_client=s3,
            data_api_client=data_api,
            sources_yaml=sources,
            **target,
        )


def test_redshift_reads_the_lake_from_s3_only(monkeypatch):
    settings = Settings.from_env(lake="/tmp/a-local-lake", target="redshift")
    with pytest.raises(
        LoadError, match="Redshift reads the lake from S3: '/tmp/a-local-lake' is not an s3://"
    ):
        load_lake(None, settings)
    monkeypatch.setenv("REGCALC_REDSHIFT_LAKE_LOAD", "unload")
    with pytest.raises(LoadError, match="REGCALC_REDSHIFT_LAKE_LOAD='unload': use one of spectrum, copy"):
        load_lake(None, Settings.from_env(lake=LAKE, target="redshift"))


def test_an_unreachable_postgres_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("REGCALC_POSTGRES_HOST", "127.0.0.1")
    monkeypatch.setenv("REGCALC_POSTGRES_PORT", "1")  # nothing listens on port 1
    monkeypatch.setenv("REGCALC_POSTGRES_USER", "regcalc")
    monkeypatch.setenv("REGCALC_POSTGRES_DATABASE", "regcalc")
    with pytest.raises(
        LoadError,
        match=r"cannot connect to PostgreSQL 127.0.0.1:1 \(target postgres\): .*refused.* Fix: check",
    ):
        load_lake(None, Settings.from_env(lake="/tmp/lake", target="postgres"))
