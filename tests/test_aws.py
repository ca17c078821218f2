"""regcalc.aws against moto's S3 and Redshift Data API (botocore's Stubber where moto cannot go)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import sqlglot
from botocore.exceptions import ClientError, NoCredentialsError
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID
from moto.redshiftdata.models import redshiftdata_backends
from sqlglot import exp

from regcalc.aws import (
    AwsError,
    copy_statement,
    publish_directory,
    run_redshift_statements,
)

REGION = "eu-west-1"  # = conftest.AWS_REGION, where the aws fixture runs moto
BUCKET = "regcalc-test-lake"
STATEMENT_ID = "6f3b8a52-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


@pytest.fixture
def s3(aws):
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


LAKE_FILES = {
    "deal_liquidity/as_of_date=2026-09-30/part-00000.parquet": b"PAR1\x00\x01\xff binary" * 50,
    "deal_liquidity/as_of_date=2026-09-30/part-00001.parquet": b"PAR1 second",
    "entities/as_of_date=2026-09-30/part-00000.parquet": b"",
    "_SUCCESS": b"",
}


def stored(client, prefix: str = "") -> dict[str, bytes]:
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {item["Key"]: client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read() for item in listing}


def fail_nth_final_copy(monkeypatch, client, n: int, code: str = "AccessDenied") -> None:
    """Make the n-th copy to a final (non-staging) key raise `code`, once."""
    real_copy = client.copy_object
    seen = {"final": 0}

    def copy_object(**kwargs):
        if "/_staging/" not in kwargs["Key"]:
            seen["final"] += 1
            if seen["final"] == n:
                raise ClientError({"Error": {"Code": code, "Message": "Access Denied"}}, "CopyObject")
        return real_copy(**kwargs)

    monkeypatch.setattr(client, "copy_object", copy_object)


# --- publish_directory ----------------------------------------------------------------------------------


def test_publish_writes_every_file_with_its_bytes_and_a_manifest_last(s3, tmp_path):
    source = write_tree(tmp_path / "lake", LAKE_FILES)

    keys = publish_directory(source, f"s3://{BUCKET}/lake/run-1/")  # the default client, from the env

    expected = {f"lake/run-1/{relative}": data for relative, data in sorted(LAKE_FILES.items())}
    objects = stored(s3)
    manifest = json.loads(objects.pop("lake/run-1/manifest.json"))
    assert objects == expected
    assert keys == [*expected, "lake/run-1/manifest.json"]
    assert manifest["files"] == [{"key": key, "size": len(data)} for key, data in expected.items()]
    assert stored(s3, "lake/run-1/_staging/") == {}


def test_publish_a_single_file_without_manifest(s3, tmp_path):
    page = tmp_path / "static_index.html"
    page.write_text("<html>lineage</html>")

    keys = publish_directory(page, f"s3://{BUCKET}/docs", client=s3, manifest_name=None)

    assert keys == ["docs/static_index.html"]
    assert stored(s3) == {"docs/static_index.html": b"<html>lineage</html>"}


def test_publish_to_a_missing_bucket_says_so_and_writes_nothing(s3, tmp_path):
    source = write_tree(tmp_path / "lake", LAKE_FILES)

    with pytest.raises(AwsError, match="bucket does not exist") as raised:
        publish_directory(source, "s3://no-such-bucket-here/lake", client=s3)

    assert "no-such-bucket-here" in str(raised.value)
    assert [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]] == [BUCKET]
    assert stored(s3) == {}


def test_access_denied_midway_leaves_no_final_and_no_staging_keys(s3, tmp_path, monkeypatch):
    source = write_tree(tmp_path / "lake", LAKE_FILES)
    fail_nth_final_copy(monkeypatch, s3, n=2)

    with pytest.raises(AwsError) as raised:
        publish_directory(source, f"s3://{BUCKET}/lake", client=s3)

    message = str(raised.value)
    assert "AccessDenied" in message and "s3:PutObject" in message
    assert "Nothing was published" in message
    assert stored(s3) == {}


def test_access_denied_while_staging_uploads_is_explained_and_cleaned_up(s3, tmp_path):
    # boto3's managed upload wraps the ClientError in S3UploadFailedError: the cause is still found.
    puts = []

    def deny_second_put(**kwargs):
        puts.append(kwargs)
        if len(puts) == 2:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject")

    s3.meta.events.register("before-call.s3.PutObject", deny_second_put)
    with pytest.raises(AwsError, match=r"\(uploading to the staging prefix\) failed: AccessDenied") as raised:
        publish_directory(write_tree(tmp_path / "lake", LAKE_FILES), f"s3://{BUCKET}/lake", client=s3)

    assert "s3:PutObject" in str(raised.value)
    assert stored(s3) == {}


def test_failed_republish_puts_the_previous_publication_back(s3, tmp_path, monkeypatch):
    publish_directory(
        write_tree(tmp_path / "v1", {"a.parquet": b"v1-a", "b.parquet": b"v1-b"}),
        f"s3://{BUCKET}/lake",
        client=s3,
    )
    before = stored(s3)
    source = write_tree(tmp_path / "v2", {"a.parquet": b"v2-a", "b.parquet": b"v2-b", "c.parquet": b"v2-c"})
    fail_nth_final_copy(monkeypatch, s3, n=3)

    with pytest.raises(AwsError, match="Nothing was published"):
        publish_directory(source, f"s3://{BUCKET}/lake", client=s3)

    assert stored(s3) == before


def test_mirror_removes_keys_the_source_no_longer_has(s3, tmp_path):
    uri = f"s3://{BUCKET}/lake"
    publish_directory(
        write_tree(tmp_path / "v1", {"p/part-old.parquet": b"old"}), uri, client=s3, manifest_name=None
    )

    publish_directory(
        write_tree(tmp_path / "v2", {"p/part-new.parquet": b"new"}),
        uri,
        client=s3,
        manifest_name=None,
        mirror=True,
    )

    assert stored(s3) == {"lake/p/part-new.parquet": b"new"}


def test_missing_credentials_are_explained(s3, tmp_path, monkeypatch):
    def no_credentials(**kwargs):
        raise NoCredentialsError()

    monkeypatch.setattr(s3, "head_bucket", no_credentials)
    with pytest.raises(AwsError, match="no AWS credentials found: set AWS_PROFILE"):
        publish_directory(write_tree(tmp_path / "lake", LAKE_FILES), f"s3://{BUCKET}/lake", client=s3)


def test_publish_rejects_a_uri_that_is_not_s3(tmp_path):
    with pytest.raises(AwsError, match="not an S3 URI"):
        publish_directory(tmp_path, "/local/lake")


# --- Redshift Data API ------------------------------------------------------------------------------------


@pytest.fixture
def data_api(aws):
    return boto3.client("redshift-data", region_name=REGION)


def moto_statements():
    return list(redshiftdata_backends[DEFAULT_ACCOUNT_ID][REGION].statements.values())


def test_statements_run_one_after_the_other_until_finished(data_api):
    # moto keeps every statement STARTED: finish them after each poll, so the first poll sees STARTED.
    polls = []

    def finish_all(**kwargs):
        polls.append(kwargs["parsed"]["Status"])
        for statement in moto_statements():
            statement.status = "FINISHED"

    data_api.meta.events.register("after-call.redshift-data.DescribeStatement", finish_all)
    statements = [
        'REFRESH MATERIALIZED VIEW "regcalc"."mv_lcr"',
        'REFRESH MATERIALIZED VIEW "regcalc"."mv_hqla"',
    ]

    results = run_redshift_statements(
        statements,
        cluster_identifier="regcalc",
        database="dev",
        db_user="loader",
        client=data_api,
        poll_seconds=0,
    )

    assert [result["Status"] for result in results] == ["FINISHED", "FINISHED"]
    assert polls == ["STARTED", "FINISHED", "STARTED", "FINISHED"]
    assert [(s.query_string, s.cluster_identifier, s.db_user) for s in moto_statements()] == [
        (sql, "regcalc", "loader") for sql in statements
    ]


def test_a_statement_that_does_not_finish_in_time_is_cancelled(data_api):
    with pytest.raises(AwsError, match="still STARTED after 0 s, cancelled"):
        run_redshift_statements(
            ["select 1"],
            workgroup_name="regcalc",
            database="dev",
            client=data_api,
            poll_seconds=0,
            timeout_seconds=0,
        )

    assert [statement.status for statement in moto_statements()] == ["ABORTED"]


def test_a_failed_transaction_names_the_failing_statement_and_its_error(data_api):
    # moto has no BatchExecuteStatement and never reports FAILED: botocore's Stubber plays Redshift.
    sqls = [
        "delete from regcalc.adjustments where rule_id = 'R1'",
        "insert into regcalc.adjustments values (1, 'x')",
    ]
    error = 'ERROR: column "x" is of type integer but expression is of type character varying'
    with Stubber(data_api) as stub:
        stub.add_response(
            "batch_execute_statement",
            {"Id": STATEMENT_ID},
            {"Sqls": sqls, "ClusterIdentifier": "regcalc", "Database": "dev", "SecretArn": "arn:secret"},
        )
        stub.add_response(
            "describe_statement",
            {
                "Id": STATEMENT_ID,
                "Status": "FAILED",
                "Error": error,
                "SubStatements": [
                    {"Id": f"{STATEMENT_ID}:1", "Status": "FINISHED", "QueryString": sqls[0]},
                    {"Id": f"{STATEMENT_ID}:2", "Status": "FAILED", "QueryString": sqls[1], "Error": error},
                ],
            },
            {"Id": STATEMENT_ID},
        )
        with pytest.raises(AwsError) as raised:
            run_redshift_statements(
                sqls,
                cluster_identifier="regcalc",
                database="dev",
                secret_arn="arn:secret",
                transaction=True,
                client=data_api,
                poll_seconds=0,
            )
        stub.assert_no_pending_responses()

    message = str(raised.value)
    assert f"SQL: {sqls[1]}" in message
    assert f"Error: {error}" in message
    assert "rolled back: none took effect" in message


def test_a_failed_statement_stops_the_sequence_and_says_what_was_committed(data_api):
    sqls = ["copy a from 's3://x/a/'", "copy b from 's3://x/b/'", "refresh materialized view mv"]
    with Stubber(data_api) as stub:
        for number, status in ((1, "FINISHED"), (2, "FAILED")):
            statement_id = STATEMENT_ID[:-1] + str(number)
            stub.add_response("execute_statement", {"Id": statement_id})
            response = {"Id": statement_id, "Status": status, "QueryString": sqls[number - 1]}
            if status == "FAILED":
                response["Error"] = "ERROR: Spectrum Scan Error: S3 access denied"
            stub.add_response("describe_statement", response, {"Id": statement_id})
        with pytest.raises(AwsError) as raised:
            run_redshift_statements(
                sqls, cluster_identifier="c", database="dev", client=data_api, poll_seconds=0
            )
        stub.assert_no_pending_responses()

    message = str(raised.value)
    assert "SQL: copy b from 's3://x/b/'" in message
    assert "Error: ERROR: Spectrum Scan Error: S3 access denied" in message
    assert "1 statement(s) before it were committed; 1 after it not run" in message


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ({}, "exactly one of cluster_identifier"),
        ({"cluster_identifier": "c", "workgroup_name": "w"}, "exactly one of cluster_identifier"),
        ({"cluster_identifier": "c", "db_user": "u", "secret_arn": "s"}, "not both"),
        ({"workgroup_name": "w", "db_user": "u"}, "provisioned cluster only"),
    ],
)
def test_the_data_api_target_is_checked_before_any_call(target, problem):
    with pytest.raises(AwsError, match=problem):
        run_redshift_statements(["select 1"], database="dev", client=object(), **target)


# --- COPY -----------------------------------------------------------------------------


def test_copy_statement_text():
    sql = copy_statement(
        "regcalc.adjustment_rows",
        "s3a://regcalc-lake/staging/adj/",
        "arn:aws:iam::123456789012:role/RedshiftCopy",
    )

    assert sql == (
        'COPY "regcalc"."adjustment_rows" FROM \'s3://regcalc-lake/staging/adj/\' '
        "IAM_ROLE 'arn:aws:iam::123456789012:role/RedshiftCopy' FORMAT AS PARQUET"
    )
    assert isinstance(sqlglot.parse_one(sql, read="redshift"), exp.Copy)


def test_copy_statement_quotes_hostile_names():
    sql = copy_statement(("db", 'we"ird', "t;drop"), "s3://regcalc-lake/x'y", "default")

    assert (
        sql
        == 'COPY "db"."we""ird"."t;drop" FROM \'s3://regcalc-lake/x\'\'y\' IAM_ROLE default FORMAT AS PARQUET'
    )
    assert isinstance(sqlglot.parse_one(sql, read="redshift"), exp.Copy)


@pytest.mark.parametrize(
    ("table", "uri", "role", "problem"),
    [
        ("a.b.c.d", "s3://bucket/p", "default", "not a table name"),
        ("t", "/local/path", "default", "not an S3 URI"),
        ("t", "s3://bucket/p", "arn:aws:iam::123:role/x' --", "not an IAM role ARN"),
    ],
)
def test_copy_statement_rejects_bad_input(table, uri, role, problem):
    with pytest.raises(AwsError, match=problem):
        copy_statement(table, uri, role)
