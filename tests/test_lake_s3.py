"""The pipeline on a lake at s3a:// over the real S3 protocol (moto server, fixture s3a_bucket), exactly as
production runs it: the jobs, a rerun of one date, the recalc planner, the Spectrum registration and a dbt
build on the local target reading the lake from s3a://, compared with a local lake and the independent
oracle; and `regcalc` started as a process, configured from the environment, killed in the middle of a
publish, and without the S3A connector.

The bank is small (300 deals, 2 entities, 2 dates): S3 over moto is slow, the protocol is what matters.
The tests run in file order on one lake: the rerun test publishes a new version of one date.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import boto3
import pytest
import yaml
from moto.core import DEFAULT_ACCOUNT_ID
from moto.redshiftdata.models import redshiftdata_backends
from pyspark.sql import functions as F

import reference_lcr
from regcalc import contract
from regcalc.dbt import invoke_dbt
from regcalc.lake import NULL_PARTITION, Lake
from regcalc.marts import LCR_COLUMNS
from regcalc.pipeline import DEAL_DATASET, run_jobs
from regcalc.recalc import lake_runs, plan_recalc, save_state
from regcalc.s3a import JARS_ENV, hadoop_version
from regcalc.settings import ENVIRONMENT, PROFILES_DIR, PROJECT_DIR, Settings
from regcalc.spectrum import lake_datasets, register_spectrum, spectrum_statements
from regcalc.warehouse import load_lake
from test_lake import amounts, copy_case

LAKE_DATASETS = (DEAL_DATASET, *(dataset.name for dataset in contract.REFERENCE_DATASETS))
DAY1, DAY2 = date(2026, 9, 29), date(2026, 9, 30)
SCHEMA, LAKE_SCHEMA = "s3lake", "s3lake_lake"


@pytest.fixture(scope="module")
def bank(spark, s3a_bucket, tmp_path_factory):
    """One small bank run by the jobs on s3a://<bucket>/bank and on a local lake."""
    from regcalc.generate import generate_bank

    work = tmp_path_factory.mktemp("s3_bank")
    generate_bank(spark, work / "input", deals=300, entities=2, dates=2, seed=11, first_date=DAY1)
    uri = f"{s3a_bucket.uri}/bank"
    report = run_jobs(spark, uri, work / "input", max_reject_rate=1.0)
    local = run_jobs(spark, str(work / "lake"), work / "input", max_reject_rate=1.0)
    return {"work": work, "uri": uri, "report": report, "local": str(work / "lake"), "local_report": local}


def without_run_id(frame):
    return frame.drop("run_id")


def test_the_jobs_write_on_s3_what_they_write_on_a_local_disk(spark, bank, s3a_bucket):
    s3, local = Lake(spark, bank["uri"]), Lake(spark, bank["local"])
    for dataset in LAKE_DATASETS:
        on_s3, on_disk = without_run_id(s3.read(dataset)), without_run_id(local.read(dataset))
        assert on_s3.count() == on_disk.count() > 0, dataset
        assert on_s3.exceptAll(on_disk).count() == 0 and on_disk.exceptAll(on_s3).count() == 0, dataset
    run_id = bank["report"].run_id
    assert {day: p.location for day, p in s3.published(DEAL_DATASET).items()} == {
        day.isoformat(): f"{bank['uri']}/{DEAL_DATASET}/{run_id}/as_of_date={day.isoformat()}"
        for day in (DAY1, DAY2)
    }
    # The commit records and the run's metadata are objects of their own, seen over the S3 API.
    listed = s3a_bucket.client.list_objects_v2(Bucket=s3a_bucket.name, Prefix="bank/_")["Contents"]
    assert sorted(item["Key"] for item in listed) == [
        f"bank/_commits/as_of_date={DAY1}/000001-{run_id}.json",
        f"bank/_commits/as_of_date={DAY2}/000001-{run_id}.json",
        f"bank/_runs/{run_id}.json",
    ]


@pytest.fixture(scope="module")
def built(spark, bank, monkeypatch_module):
    """dbt build on the local target with the lake on s3a://, recorded for `regcalc recalc` as `regcalc
    run` records it. The regulation's numbers only (no adjustment rules): the oracle has none."""
    monkeypatch_module.setenv("REGCALC_SCHEMA", SCHEMA)
    settings = Settings.from_env(lake=bank["uri"], target="local")
    load_lake(spark, settings, schema=LAKE_SCHEMA, dbt_vars={"apply_adjustments": False})
    invoke_dbt(["build"], settings, {"apply_adjustments": False, "lake_schema": LAKE_SCHEMA})
    save_state(settings, PROJECT_DIR, lake_runs(settings.lake, spark))
    return settings


def partition_location(spark, table: str, day: str) -> str:
    rows = spark.sql(f"describe formatted {table} partition (as_of_date='{day}')").collect()
    return next(row["data_type"] for row in rows if row["col_name"] == "Location")


def test_dbt_builds_the_lcr_from_the_lake_on_s3(spark, bank, built):
    lake = Lake(spark, bank["uri"])
    for dataset in LAKE_DATASETS:  # the lake tables are registered at the current versions' folders
        for day, partition in lake.published(dataset).items():
            assert partition_location(spark, f"{LAKE_SCHEMA}.{dataset}", day) == partition.location, dataset
    oracle = reference_lcr.evaluate(bank["work"] / "input").lcr_rows
    actual = {
        (row["entity_id"], row["as_of_date"].isoformat()): row.asDict()
        for row in spark.table(f"{SCHEMA}.fct_lcr").where(F.col("scenario") == "base").collect()
    }
    assert sorted(actual) == sorted((row["entity_id"], row["as_of_date"]) for row in oracle)
    for expected in oracle:
        got = actual[(expected["entity_id"], expected["as_of_date"])]
        for column in LCR_COLUMNS[2:]:
            tolerance = 2e-6 if column == "lcr" else 0.01
            assert float(got[column]) == pytest.approx(float(expected[column]), abs=tolerance), (
                expected,
                column,
            )


def test_a_rerun_of_one_date_on_s3_and_the_recalc_plan(spark, bank, built):
    lake = Lake(spark, bank["uri"])
    first = bank["report"].run_id
    assert lake_runs(bank["uri"], spark) == {DAY1.isoformat(): first, DAY2.isoformat(): first}

    rerun = run_jobs(spark, bank["uri"], bank["work"] / "input", as_of_dates=[DAY2], max_reject_rate=1.0)

    assert lake_runs(bank["uri"], spark) == {DAY1.isoformat(): first, DAY2.isoformat(): rerun.run_id}
    for dataset in LAKE_DATASETS:
        assert [p.run_id for p in lake.versions(dataset)[DAY2.isoformat()]] == [first, rerun.run_id], dataset
    day2 = without_run_id(lake.read(DEAL_DATASET, [DAY2]))
    local_day2 = without_run_id(Lake(spark, bank["local"]).read(DEAL_DATASET, [DAY2]))
    assert day2.count() == local_day2.count() and day2.exceptAll(local_day2).count() == 0
    plan = plan_recalc(built, extra_vars={"lake_schema": LAKE_SCHEMA}, spark=spark)
    assert plan.changes == [f"lake partition {DAY2.isoformat()}: rerun (run {rerun.run_id})"]
    assert (plan.dates, plan.full_refresh, plan.lake_unchanged) == ([DAY2.isoformat()], None, False)


def test_spectrum_registers_the_current_versions_read_from_s3(spark, bank, s3a_bucket):
    data_api = boto3.client(
        "redshift-data",
        endpoint_url=s3a_bucket.endpoint,
        region_name=s3a_bucket.region,
        **s3a_bucket.credentials,
    )
    statements = redshiftdata_backends[DEFAULT_ACCOUNT_ID][s3a_bucket.region].statements
    earlier = set(statements)

    def finish_all(**kwargs):  # moto executes no SQL and keeps statements STARTED
        for statement in statements.values():
            statement.status = "FINISHED"

    data_api.meta.events.register("before-call.redshift-data.DescribeStatement", finish_all)
    role = "arn:aws:iam::123456789012:role/regcalc-spectrum"

    dates = register_spectrum(
        bank["uri"],
        schema="regcalc_lake",
        catalog_database="regcalc_lake",
        iam_role=role,
        database="prod",
        cluster_identifier="regcalc-prod",
        secret_arn="arn:aws:secretsmanager:eu-west-1:123456789012:secret:regcalc",
        s3_client=s3a_bucket.client,
        data_api_client=data_api,
    )

    lake = Lake(spark, bank["uri"])  # the same versions read through S3A
    partitions = {
        dataset.name: {
            day: p.location.replace("s3a://", "s3://", 1) + "/"
            for day, p in lake.published(dataset.name).items()
            if day != NULL_PARTITION
        }
        for dataset in lake_datasets()
    }
    assert dates == {dataset: sorted(days) for dataset, days in partitions.items()}
    sent = [statements[key].query_string for key in statements if key not in earlier]
    assert sent == spectrum_statements(
        lake_datasets(),
        partitions,
        lake_uri=bank["uri"],
        schema="regcalc_lake",
        catalog_database="regcalc_lake",
        iam_role=role,
    )
    run_id = lake.published(DEAL_DATASET)[DAY1.isoformat()].run_id
    assert (
        f"partition (as_of_date='{DAY1.isoformat()}') location "
        f"'s3://{s3a_bucket.name}/bank/{DEAL_DATASET}/{run_id}/as_of_date={DAY1.isoformat()}/'"
    ) in next(
        statement
        for statement in sent
        if statement.startswith(f'alter table "regcalc_lake"."{DEAL_DATASET}"')
    )


# ------------------------------------------------------------------------------------------------
# regcalc as a process: settings from the environment, a kill mid-publish, no connector
# ------------------------------------------------------------------------------------------------
def regcalc_environment(tmp_path: Path, bucket=None, **extra: str) -> dict[str, str]:
    """The environment of a `regcalc` process of its own (state in tmp_path), on `bucket` as in the README."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("REGCALC_", "AWS_")) and key != "PYSPARK_SUBMIT_ARGS"
    }
    environment.update(
        REGCALC_HOME=str(tmp_path / "home"),
        REGCALC_SHUFFLE_PARTITIONS="2",
        REGCALC_DRIVER_MEMORY="1g",
        PYTHONPATH=os.pathsep.join(sys.path),
        **extra,
    )
    if bucket is not None:
        environment.update(
            REGCALC_S3_ENDPOINT=bucket.endpoint,
            REGCALC_S3_REGION=bucket.region,
            REGCALC_S3_PATH_STYLE="true",
            AWS_ACCESS_KEY_ID=bucket.credentials["aws_access_key_id"],
            AWS_SECRET_ACCESS_KEY=bucket.credentials["aws_secret_access_key"],
        )
    return environment


# Runs `regcalc run` twice in one process; the second run's process is killed (SIGKILL: no clean-up,
# no exception handler) just before the commit record of its second date would be written.
KILL_MID_PUBLISH = """
import os, signal, sys
from regcalc import lake
from regcalc.cli import main

lake_uri, first_input, second_input, killed_date = sys.argv[1:5]
assert main(["run", "--input", first_input, "--lake", lake_uri, "--skip-dbt"]) == 0
create = lake.HadoopFiles.create

def create_or_die(self, path, text):
    if path.startswith(f"{lake.COMMITS}/as_of_date={killed_date}/"):
        os.kill(os.getpid(), signal.SIGKILL)
    create(self, path, text)

lake.HadoopFiles.create = create_or_die
main(["run", "--input", second_input, "--lake", lake_uri, "--skip-dbt"])
"""


def test_regcalc_killed_in_the_middle_of_a_publish_on_s3_leaves_every_date_whole(spark, s3a_bucket, tmp_path):
    """The process reads the S3 settings from the environment (README), not from the test session."""
    uri = f"{s3a_bucket.uri}/killed"
    first = copy_case("multi_currency", tmp_path / "first")
    doubled = copy_case("multi_currency", tmp_path / "doubled", amount_factor=2.0)
    script = tmp_path / "kill_mid_publish.py"
    script.write_text(textwrap.dedent(KILL_MID_PUBLISH))

    process = subprocess.run(
        [sys.executable, str(script), uri, str(first), str(doubled), "2026-10-01"],
        env=regcalc_environment(tmp_path, s3a_bucket),
        capture_output=True,
        text=True,
        timeout=1800,
    )

    assert process.returncode == -signal.SIGKILL, process.stderr[-3000:]
    lake = Lake(spark, uri)
    runs = {day: [p.run_id for p in versions] for day, versions in lake.versions(DEAL_DATASET).items()}
    first_run, killed_run = runs["2026-09-30"]
    assert runs == {"2026-09-30": [first_run, killed_run], "2026-10-01": [first_run]}
    after = amounts(lake)
    first_amounts = {
        row["deal_id"]: row["amount"]
        for row in spark.read.parquet(lake.versions(DEAL_DATASET)["2026-09-30"][0].location).collect()
    }
    assert after["2026-09-30"] == {deal: (amount * 2, killed_run) for deal, amount in first_amounts.items()}
    assert {run for _, run in after["2026-10-01"].values()} == {first_run}
    assert len(after["2026-10-01"]) == 12
    # The killed run's unpublished version of 2026-10-01 is still in the bucket, and nobody reads it.
    assert lake.files.list(f"{DEAL_DATASET}/{killed_run}/as_of_date=2026-10-01")

    rerun = run_jobs(spark, uri, doubled)

    assert {day: {run for _, run in deals.values()} for day, deals in amounts(lake).items()} == {
        "2026-09-30": {rerun.run_id},
        "2026-10-01": {rerun.run_id},
    }
    assert amounts(lake)["2026-09-30"] == {
        deal: (amount * 2, rerun.run_id) for deal, amount in first_amounts.items()
    }


def test_without_the_s3a_connector_the_error_says_how_to_install_it(tmp_path):
    empty = tmp_path / "no_jars"
    empty.mkdir()
    source = copy_case("multi_currency", tmp_path / "in")
    process = subprocess.run(
        [sys.executable, "-m", "regcalc.cli", "run", "--input", str(source),
         "--lake", "s3a://regcalc-s3a-lake/nowhere", "--skip-dbt"],
        env=regcalc_environment(tmp_path, **{JARS_ENV: str(empty)}),
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip

    assert process.returncode == 1
    error = process.stderr[process.stderr.index("regcalc run: error:") :]
    version = hadoop_version()
    assert error == (
        "regcalc run: error: the lake s3a://regcalc-s3a-lake/nowhere needs Spark's S3A connector "
        f"(org.apache.hadoop:hadoop-aws:{version} and the AWS SDK bundle), which is not on Spark's classpath "
        f"({JARS_ENV}={empty}). Install it with `make jars` (Maven fetches it from Maven Central into "
        f"./jars), or point {JARS_ENV} at a folder holding those jars; on a cluster, use the cluster's own "
        f"(EMR has it) or spark-submit --packages org.apache.hadoop:hadoop-aws:{version}\n"
    )
    assert "Traceback" not in process.stderr and "Py4J" not in process.stderr


# ------------------------------------------------------------------------------------------------
# The settings: one list, in the profile and in --help
# ------------------------------------------------------------------------------------------------
def test_every_s3a_setting_is_read_by_the_profile(capsys):
    """(test_settings_visible.py checks that --help and the README show them with their defaults.)"""
    profile = (PROFILES_DIR / "profiles.yml").read_text()
    local = yaml.safe_load(profile)["regcalc"]["outputs"]["local"]["server_side_parameters"]
    read = {name for value in local.values() for name in re.findall(r"env_var\('(\w+)'", str(value))}
    s3a_settings = {setting.name for setting in ENVIRONMENT if setting.name.startswith("REGCALC_S3")}
    assert s3a_settings == {name for name in read if name.startswith("REGCALC_S3")}
    assert len(s3a_settings) == 5
    assert {key for key in local if "s3a" in key or "extraClassPath" in key} == {
        "spark.driver.extraClassPath",
        "spark.executor.extraClassPath",
        "spark.hadoop.fs.s3a.endpoint",
        "spark.hadoop.fs.s3a.endpoint.region",
        "spark.hadoop.fs.s3a.path.style.access",
        "spark.hadoop.fs.s3a.aws.credentials.provider",
    }
