"""Shared fixtures: one SparkSession for the whole test run (one JVM, one Derby metastore); moto; one
PostgreSQL server and a Spark Thrift server, each started for the first test that needs it and stopped at
the end of the run; a small generated bank with its local-mode lake and marts, the baseline that runs on
other engines are compared with."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from settings_env import use_settings

AWS_REGION = "eu-west-1"  # the region of the AWS tests (test_aws.py, test_spectrum.py, the s3a tests)
S3A_BUCKET = "regcalc-s3a-lake"
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# The dbt targets on which the tests of the analyst commands (regcalc lcr, explain, rules impact: through
# the target's dbt adapter) run, each with the same expected output: test_explain.py builds its marts per
# target (fixture `built`), test_pipeline_e2e.py and test_adjustments.py on every one of them. A
# warehouse target (postgres) needs the module's lake loaded into it before that build.
MART_TARGETS = ("local",)
SMALL_BANK_SCHEMA = "small_bank"  # the schema of the small bank's marts, on every target


@pytest.fixture(scope="session")
def regcalc_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("regcalc_home")
    os.environ["REGCALC_HOME"] = str(home)
    # Small shuffle fan-out: test data is tiny and every partition costs a task.
    os.environ.setdefault("REGCALC_SHUFFLE_PARTITIONS", "2")
    os.environ.setdefault("REGCALC_DRIVER_MEMORY", "2g")
    return home


@pytest.fixture(scope="session")
def spark(regcalc_home):
    from regcalc.session import get_spark
    from regcalc.settings import Settings

    session = get_spark(Settings.from_env(lake=str(regcalc_home / "lake")))
    yield session
    session.stop()


@pytest.fixture(scope="module")
def monkeypatch_module():
    """monkeypatch for a module's fixtures (e.g. REGCALC_SCHEMA for one module's dbt builds)."""
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture
def aws(monkeypatch):
    """moto's AWS (every service) with dummy credentials in AWS_REGION: nothing reaches a real account."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", AWS_REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


@pytest.fixture(scope="session")
def moto_server():
    """moto in server mode on 127.0.0.1 and a free port: S3 and the Redshift Data API over HTTP.

    Its state is moto's in-process backends, which `mock_aws` (fixture `aws`) resets: a module that uses
    the server must not use `aws`, and creates what it needs itself (fixture `s3a_bucket`)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def s3a_bucket(spark, moto_server):
    """A bucket on the moto server, reached by the test session's S3A connector over the S3 protocol as
    production reaches S3 (path-style access, dummy credentials). The settings are S3A's per-bucket ones
    (fs.s3a.bucket.<name>.*), set on the running session: the other tests' settings stay as they are.
    `regcalc` started as a process gets the same from the environment (s3a_environment)."""
    client = boto3.client("s3", endpoint_url=moto_server, region_name=AWS_REGION, **DUMMY_CREDENTIALS)
    if S3A_BUCKET not in [bucket["Name"] for bucket in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=S3A_BUCKET, CreateBucketConfiguration={"LocationConstraint": AWS_REGION})
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in {
        "endpoint": moto_server,
        "endpoint.region": AWS_REGION,
        "path.style.access": "true",
        "aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "access.key": DUMMY_CREDENTIALS["aws_access_key_id"],
        "secret.key": DUMMY_CREDENTIALS["aws_secret_access_key"],
    }.items():
        hadoop.set(f"fs.s3a.bucket.{S3A_BUCKET}.{key}", value)
    return SimpleNamespace(
        name=S3A_BUCKET,
        uri=f"s3a://{S3A_BUCKET}",
        client=client,
        endpoint=moto_server,
        region=AWS_REGION,
        credentials=DUMMY_CREDENTIALS,
    )


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server set up like Redshift (regcalc.pgserver): free port, temporary
    folder, unprivileged user. Its REGCALC_POSTGRES_* settings (read by the `postgres` target of
    profiles/profiles.yml) are in the environment while it runs."""
    from regcalc import pgserver

    with pgserver.start() as server, pytest.MonkeyPatch.context() as patch:
        for name, value in server.environ().items():
            patch.setenv(name, value)
        yield server


@pytest.fixture(scope="session")
def small_bank(spark, tmp_path_factory) -> Path:
    """A small generated bank (input contract v1, CSV; 2 entities, 2 as-of dates): engines other than the
    local session (a cluster, a Thrift server) are slow, so they get few deals."""
    from regcalc.generate import generate_bank

    folder = tmp_path_factory.mktemp("small_bank") / "input"
    generate_bank(
        spark, folder, deals=600, entities=2, dates=2, seed=11, fmt="csv", first_date=dt.date(2026, 9, 30)
    )
    return folder


@dataclass(frozen=True)
class LocalRun:
    """The small bank's jobs run in the local session: its settings (lake, schema) and the jobs' run id."""

    settings: object  # regcalc.settings.Settings
    run_id: str


@pytest.fixture(scope="session")
def small_bank_lake(spark, small_bank, tmp_path_factory) -> LocalRun:
    """The jobs of `regcalc run` in local mode (this session) on the small bank: the baseline lake."""
    from regcalc.pipeline import run_jobs
    from regcalc.progress import Progress
    from regcalc.settings import Settings

    lake = tmp_path_factory.mktemp("small_bank_lake")
    settings = replace(Settings.from_env(lake=str(lake), target="local"), schema=SMALL_BANK_SCHEMA)
    report = run_jobs(spark, settings.lake, small_bank, progress=Progress(quiet=True))
    return LocalRun(settings, report.run_id)


@pytest.fixture(scope="session")
def small_bank_marts(small_bank_lake) -> LocalRun:
    """The dbt build of `regcalc run --target local` (shipped rules, every scenario) on the baseline lake,
    into schema small_bank of this session's warehouse."""
    from regcalc.dbt import invoke_dbt
    from regcalc.warehouse import load_lake

    settings = small_bank_lake.settings
    with pytest.MonkeyPatch.context() as env:
        use_settings(env, settings)
        # Its own lake schema: other tests point regcalc_lake's tables at their lakes.
        load_lake(
            None,
            settings,
            schema=f"{SMALL_BANK_SCHEMA}_lake",
            dbt_vars={"regcalc_run_id": small_bank_lake.run_id},
        )
        invoke_dbt(
            ["build", "--full-refresh"],
            settings,
            {"regcalc_run_id": small_bank_lake.run_id, "lake_schema": f"{SMALL_BANK_SCHEMA}_lake"},
        )
    return small_bank_lake


@pytest.fixture(scope="session")
def thrift_server(tmp_path_factory):
    """A Spark Thrift server on 127.0.0.1 (a free port) with its own metastore and warehouse, for dbt's
    `spark` target; started by the first test that asks for it, stopped (process group) at the end."""
    from regcalc.spark_submit import start_thrift_server

    server = start_thrift_server(
        tmp_path_factory.mktemp("thrift_server"),
        conf={"spark.master": "local[2]", "spark.driver.memory": "1g", "spark.sql.shuffle.partitions": "2"},
    )
    yield server
    server.stop()
