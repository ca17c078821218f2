"""Shared fixtures: one SparkSession for the whole test run (one JVM, one Derby metastore), moto, and
one PostgreSQL server (started for the first test that needs it, stopped at the end of the run)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

AWS_REGION = "eu-west-1"  # the region of the AWS tests (test_aws.py, test_spectrum.py, the s3a tests)
S3A_BUCKET = "regcalc-s3a-lake"
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# The dbt targets on which the tests of the analyst commands (regcalc lcr, explain, rules impact: through
# the target's dbt adapter) run, each with the same expected output: test_explain.py builds its marts per
# target (fixture `built`), test_pipeline_e2e.py and test_adjustments.py on every one of them. A
# warehouse target (postgres) needs the module's lake loaded into it before that build.
MART_TARGETS = ("local",)


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
