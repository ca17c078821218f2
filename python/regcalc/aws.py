"""AWS helpers for the production target: publish to S3, run SQL through the Redshift Data API, COPY.

Every failure is raised as AwsError (a RegcalcError) saying what failed and how to fix it.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

from regcalc.settings import RegcalcError

logger = logging.getLogger(__name__)

T = TypeVar("T")

COPY_OBJECT_MAX_BYTES = 5 * 1024**3  # larger objects need a multipart copy (client.copy)
STAGING_DIR = "_staging"  # Spark and Redshift Spectrum skip paths that start with '_'
DATA_API_TERMINAL = ("FINISHED", "FAILED", "ABORTED")

_AWS_ERRORS = (ClientError, BotoCoreError, S3UploadFailedError)
_HINTS = {
    "NoSuchBucket": "the bucket does not exist: create it, or fix the bucket name in the URI",
    "AccessDenied": "access denied: the AWS identity in use lacks a permission (IAM or bucket policy)",
    "AccessDeniedException": "access denied: the AWS identity in use lacks a permission (see its IAM policy)",
    "AllAccessDisabled": "all access to this bucket has been disabled: ask its owner",
    "InvalidAccessKeyId": "the AWS access key is not valid: check AWS_ACCESS_KEY_ID / AWS_PROFILE",
    "SignatureDoesNotMatch": "the AWS secret key does not match the access key: check the credentials",
    "ExpiredToken": "the AWS session token expired: refresh the credentials (e.g. aws sso login)",
    "ExpiredTokenException": "the AWS session token expired: refresh the credentials (e.g. aws sso login)",
    "UnrecognizedClientException": "the AWS credentials are not valid: check AWS_PROFILE / the access key",
    "ResourceNotFoundException": "the cluster, workgroup, secret or statement was not found: check the names "
    "and the AWS region (AWS_DEFAULT_REGION)",
    "ValidationException": "the request was rejected as invalid: check the cluster / workgroup, database, "
    "user or secret",
    "ActiveStatementsExceededException": "too many statements are running: retry later",
}
_STATUS_HINTS = {"404": "NoSuchBucket", "403": "AccessDenied"}
S3_PERMISSIONS = "s3:ListBucket on the bucket and s3:PutObject, s3:GetObject, s3:DeleteObject on the prefix"
DATA_API_PERMISSIONS = (
    "redshift-data:ExecuteStatement, BatchExecuteStatement, DescribeStatement, CancelStatement, and "
    "redshift:GetClusterCredentials (db_user), secretsmanager:GetSecretValue (secret_arn) or "
    "redshift-serverless:GetCredentials (workgroup)"
)


class AwsError(RegcalcError):
    """An AWS call failed; the message says what was being done and how to fix it."""


def _client_error(error: BaseException) -> ClientError | None:
    """The ClientError behind `error` (boto3's managed transfers wrap it)."""
    while error is not None:
        if isinstance(error, ClientError):
            return error
        error = error.__cause__ or error.__context__
    return None


def _explain(action: str, error: BaseException, permissions: str) -> AwsError:
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        hint = (
            "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or run with an instance / task role"
        )
        return AwsError(f"{action} failed: {hint}")
    client_error = _client_error(error)
    if client_error is None:
        return AwsError(f"{action} failed: {error}")
    details = client_error.response.get("Error", {})
    code = str(details.get("Code", ""))
    code = _STATUS_HINTS.get(code, code)
    hint = _HINTS.get(code, "see the AWS message")
    if code.startswith("AccessDenied"):
        hint += f"; it needs {permissions}"
    return AwsError(f"{action} failed: {code}: {details.get('Message') or client_error}. Fix: {hint}.")


def aws_call(action: str, permissions: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return function(*args, **kwargs)
    except _AWS_ERRORS as error:
        raise _explain(action, error, permissions) from error


# --- S3 ---------------------------------------------------------------------------------------------

_S3_URI = re.compile(r"^s3a?://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>.*))?$")


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """'s3://bucket/some/prefix/' -> ('bucket', 'some/prefix'); s3a:// (Spark's scheme) is accepted."""
    match = _S3_URI.match(uri)
    if match is None:
        raise AwsError(f"{uri!r} is not an S3 URI: expected s3://bucket/prefix (a valid bucket name)")
    return match["bucket"], (match["prefix"] or "").strip("/")


def _key(*parts: str) -> str:
    return "/".join(part.strip("/") for part in parts if part.strip("/"))


def _local_files(source: Path) -> dict[str, Path]:
    """Relative key -> file: every file under a folder, or a single file under its own name."""
    if source.is_file():
        return {source.name: source}
    if not source.is_dir():
        raise AwsError(f"nothing to publish: {source} does not exist")
    files = {
        path.relative_to(source).as_posix(): path for path in sorted(source.rglob("*")) if path.is_file()
    }
    if not files:
        raise AwsError(f"nothing to publish: {source} holds no files")
    return files


def _list_keys(client: Any, bucket: str, prefix: str) -> dict[str, int]:
    """Key -> size of every object under `prefix`."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {item["Key"]: item["Size"] for page in pages for item in page.get("Contents", [])}


class S3Files:
    """The files under an s3:// (or s3a://) URI through boto3, read-only (regcalc.lake.ReadableFiles):
    a lake's commit records read without Spark, for the Spectrum registration."""

    def __init__(self, client: Any, uri: str):
        self.client, self.uri = client, uri
        self.bucket, self.prefix = parse_s3_uri(uri)

    def _key(self, path: str) -> str:
        return _key(self.prefix, path)

    def list(self, folder: str) -> list[str]:
        start = len(self.prefix) + 1 if self.prefix else 0
        keys = aws_call(
            f"list s3://{self.bucket}/{self._key(folder)}/",
            S3_PERMISSIONS,
            _list_keys,
            self.client,
            self.bucket,
            self._key(folder) + "/",
        )
        return sorted(key[start:] for key in keys)

    def read(self, path: str) -> str:
        key = self._key(path)
        response = aws_call(
            f"read s3://{self.bucket}/{key}",
            S3_PERMISSIONS,
            self.client.get_object,
            Bucket=self.bucket,
            Key=key,
        )
        return response["Body"].read().decode("utf-8")


def _delete_keys(client: Any, bucket: str, keys: Sequence[str]) -> None:
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        response = client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        if response.get("Errors"):
            first = response["Errors"][0]
            raise ClientError(
                {"Error": {"Code": first.get("Code"), "Message": first.get("Message")}}, "DeleteObjects"
            )


def _copy(client: Any, bucket: str, source_key: str, target_key: str, size: int) -> None:
    source = {"Bucket": bucket, "Key": source_key}
    if size <= COPY_OBJECT_MAX_BYTES:
        client.copy_object(Bucket=bucket, Key=target_key, CopySource=source)
    else:
        client.copy(source, bucket, target_key)


def publish_directory(
    local_dir: str | Path,
    s3_uri: str,
    *,
    client: Any = None,
    manifest_name: str | None = "manifest.json",
    mirror: bool = False,
) -> list[str]:
    """Publish the files under `local_dir` (or one file) to `s3_uri` all together or not at all.

    Everything is uploaded under `<prefix>/_staging/<uuid>/new/` first; only then are the objects
    copied to their final keys, `manifest_name` (keys and sizes; None for no manifest) last. Keys the
    publish overwrites (and, with `mirror=True`, keys under the prefix that `local_dir` no longer has,
    which are then deleted) are first kept under `_staging/<uuid>/previous/`. On any failure the
    final keys are put back as they were, the staging prefix is deleted, and AwsError is raised.
    S3 has no multi-key transaction: readers listing the prefix during the copy phase can see a mix.

    Returns the final keys written, manifest last.
    """
    source = Path(local_dir)
    bucket, prefix = parse_s3_uri(s3_uri)
    files = _local_files(source)
    if manifest_name is not None and manifest_name in files:
        raise AwsError(
            f"{source} already holds {manifest_name}: pass another manifest_name (or None for no manifest)"
        )
    s3 = client or boto3.client("s3")
    where = f"s3://{bucket}/{prefix}"
    aws_call(
        f"publish {source} to {where}: checking bucket {bucket!r}",
        S3_PERMISSIONS,
        s3.head_bucket,
        Bucket=bucket,
    )

    staging = _key(prefix, STAGING_DIR, uuid.uuid4().hex)
    sizes = {relative: path.stat().st_size for relative, path in files.items()}
    final = {relative: _key(prefix, relative) for relative in files}
    body = _manifest(final, sizes) if manifest_name is not None else b""
    if manifest_name is not None:
        final[manifest_name] = _key(prefix, manifest_name)
        sizes[manifest_name] = len(body)

    written: list[str] = []  # final keys changed so far, in order
    previous: dict[str, tuple[str, int]] = {}  # final key -> (its backup under staging, size)
    step = "uploading to the staging prefix"
    try:
        for relative, path in files.items():
            s3.upload_file(str(path), bucket, _key(staging, "new", relative))
        if manifest_name is not None:
            s3.put_object(Bucket=bucket, Key=_key(staging, "new", manifest_name), Body=body)

        step = "keeping a copy of the objects it replaces"
        stale = _keep_previous(s3, bucket, (prefix, staging), set(final.values()), mirror, previous)

        step = "copying from the staging prefix to the final keys"
        for relative, key in final.items():
            written.append(key)
            _copy(s3, bucket, _key(staging, "new", relative), key, sizes[relative])
        if stale:
            step = "deleting the keys the source no longer has"
            written.extend(stale)
            _delete_keys(s3, bucket, stale)
    except _AWS_ERRORS as error:
        left = _roll_back(s3, bucket, staging, written, previous)
        raise _publish_failure(f"publish {source} to {where} ({step})", error, left) from error

    try:
        _delete_keys(s3, bucket, list(_list_keys(s3, bucket, staging + "/")))
    except _AWS_ERRORS as error:  # published all the same; the leftovers are hidden from readers ('_')
        logger.warning(
            "published, but could not delete s3://%s/%s/ (%s): delete it by hand", bucket, staging, error
        )
    logger.info("published %d files from %s to %s", len(files), source, where)
    return list(final.values())


def _publish_failure(what: str, error: Exception, left: Sequence[str]) -> AwsError:
    """The error of a failed publish: what failed and why, then what the roll-back left, if anything."""
    failure = str(_explain(what, error, S3_PERMISSIONS))
    if left:
        return AwsError(failure + "\nThe roll-back is incomplete; fix by hand: " + "; ".join(left))
    return AwsError(failure + "\nNothing was published: the destination is as it was before.")


def _manifest(final: Mapping[str, str], sizes: Mapping[str, int]) -> bytes:
    """The manifest of a publish: when, and every final key with its size."""
    entries = [{"key": key, "size": sizes[relative]} for relative, key in final.items()]
    published_at = datetime.now(UTC).isoformat(timespec="seconds")
    return json.dumps({"published_at": published_at, "files": entries}, indent=2).encode()


def _keep_previous(
    client: Any,
    bucket: str,
    prefixes: tuple[str, str],
    targets: set[str],
    mirror: bool,
    previous: dict[str, tuple[str, int]],
) -> list[str]:
    """Copy every object under the publish's prefix that it overwrites (and, with `mirror`, every one it
    no longer has: returned, to be deleted) to `<staging>/previous/`, recording each in `previous`.
    `prefixes`: the destination prefix and the staging prefix of this publish."""
    prefix, staging = prefixes
    staging_root = _key(prefix, STAGING_DIR) + "/"
    existing = {
        key: size
        for key, size in _list_keys(client, bucket, prefix + "/" if prefix else "").items()
        if not key.startswith(staging_root)
    }
    stale = [key for key in existing if key not in targets] if mirror else []
    for key in [key for key in existing if key in targets] + stale:
        previous[key] = (_key(staging, "previous", key), existing[key])
        _copy(client, bucket, key, previous[key][0], existing[key])
    return stale


def _roll_back(
    client: Any, bucket: str, staging: str, written: Sequence[str], previous: Mapping[str, tuple[str, int]]
) -> list[str]:
    """Undo a failed publish: restore or delete each changed key, drop the staging prefix. Returns what
    could not be undone."""
    left = []
    for key in reversed(written):
        try:
            if key in previous:
                _copy(client, bucket, previous[key][0], key, previous[key][1])
            else:
                client.delete_object(Bucket=bucket, Key=key)
        except _AWS_ERRORS as error:
            left.append(f"s3://{bucket}/{key} could not be restored ({error})")
    try:
        _delete_keys(client, bucket, list(_list_keys(client, bucket, staging + "/")))
    except _AWS_ERRORS as error:
        left.append(f"delete s3://{bucket}/{staging}/ ({error})")
    return left


# --- Redshift -----------------------------------------------------------------------------------------


def quote_identifier(name: str) -> str:
    if not name or len(name.encode()) > 127 or re.search(r"[\x00-\x1f]", name):
        raise AwsError(f"{name!r} is not a valid Redshift identifier (1-127 bytes, no control characters)")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    if re.search(r"[\x00-\x1f]", value):
        raise AwsError(f"{value!r} contains control characters: not allowed in a SQL string literal")
    # Redshift treats a backslash in a string literal as an escape character.
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


_IAM_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")


def copy_statement(table: str | Sequence[str], s3_uri: str, iam_role: str) -> str:
    """COPY of the parquet files under `s3_uri` into `table` ('schema.table', or its name parts).

    `iam_role` is a role ARN, a comma-separated chain of role ARNs, or 'default' (the cluster's default
    role). Every object under the prefix is loaded (end a folder with '/'). Parquet columns load by
    position: the table's columns must be in the files' column order, and a partition column that lives
    only in the folder names (e.g. as_of_date=...) is not loaded.
    """
    parts = table.split(".") if isinstance(table, str) else list(table)
    if not 1 <= len(parts) <= 3:
        raise AwsError(f"{table!r} is not a table name: expected [database.][schema.]table")
    bucket, prefix = parse_s3_uri(s3_uri)
    roles = [role.strip() for role in iam_role.split(",")]
    if iam_role.strip().lower() == "default":
        credentials = "IAM_ROLE default"
    elif all(_IAM_ROLE_ARN.match(role) for role in roles):
        credentials = f"IAM_ROLE {quote_literal(','.join(roles))}"
    else:
        raise AwsError(
            f"{iam_role!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>), a comma-separated "
            "chain of them, or 'default'"
        )
    target = ".".join(quote_identifier(part) for part in parts)
    # A folder keeps its trailing '/': the prefix 'x/as_of_date=2026-09-30' would also match '...-30b/'.
    folder = "/" if s3_uri.endswith("/") else ""
    source = quote_literal(f"s3://{bucket}/{prefix}{folder}" if prefix else f"s3://{bucket}/")
    return f"COPY {target} FROM {source} {credentials} FORMAT AS PARQUET"


def _data_api_target(
    database: str,
    cluster_identifier: str | None,
    workgroup_name: str | None,
    db_user: str | None,
    secret_arn: str | None,
) -> dict[str, str]:
    if (cluster_identifier is None) == (workgroup_name is None):
        raise AwsError("name exactly one of cluster_identifier (provisioned) or workgroup_name (serverless)")
    if db_user is not None and secret_arn is not None:
        raise AwsError("give db_user (temporary credentials) or secret_arn (Secrets Manager), not both")
    if db_user is not None and workgroup_name is not None:
        raise AwsError(
            "db_user works with a provisioned cluster only: use secret_arn, or neither, for serverless"
        )
    fields = {
        "Database": database,
        "ClusterIdentifier": cluster_identifier,
        "WorkgroupName": workgroup_name,
        "DbUser": db_user,
        "SecretArn": secret_arn,
    }
    return {name: value for name, value in fields.items() if value is not None}


def _short(sql: str, limit: int = 500) -> str:
    sql = " ".join(sql.split())
    return sql if len(sql) <= limit else sql[: limit - 3] + "..."


def run_redshift_statements(
    statements: Sequence[str],
    *,
    database: str,
    cluster_identifier: str | None = None,
    workgroup_name: str | None = None,
    db_user: str | None = None,
    secret_arn: str | None = None,
    transaction: bool = False,
    client: Any = None,
    poll_seconds: float = 2.0,
    timeout_seconds: float = 3600.0,
) -> list[dict]:
    """Run SQL through the Redshift Data API and wait for it; return each final DescribeStatement.

    By default the statements run one after the other, each committed before the next starts (needed
    for REFRESH MATERIALIZED VIEW, which runs as a transaction of its own and does not see uncommitted
    rows); the first failure stops the run. `transaction=True` sends them in one BatchExecuteStatement:
    one transaction, all or nothing. `timeout_seconds` applies to each call; on timeout the statement is
    cancelled.
    """
    sqls = list(statements)
    if not sqls or any(not sql.strip() for sql in sqls):
        raise AwsError("run_redshift_statements needs a non-empty list of non-blank SQL statements")
    target = _data_api_target(database, cluster_identifier, workgroup_name, db_user, secret_arn)
    data_api = client or boto3.client("redshift-data")
    where = f"Redshift {cluster_identifier or workgroup_name}/{database}"
    groups = [sqls] if transaction and len(sqls) > 1 else [[sql] for sql in sqls]

    results = []
    for done, group in enumerate(groups):
        action = f"run on {where}: {_short(group[0], 200)}"
        if len(group) == 1:
            started = aws_call(
                action, DATA_API_PERMISSIONS, data_api.execute_statement, Sql=group[0], **target
            )
        else:
            started = aws_call(
                action, DATA_API_PERMISSIONS, data_api.batch_execute_statement, Sqls=group, **target
            )
        described = _wait(data_api, started["Id"], action, poll_seconds, timeout_seconds)
        if described["Status"] != "FINISHED":
            raise AwsError(_failure(described, group, where, committed=done, total=len(groups)))
        results.append(described)
    return results


def _wait(data_api: Any, statement_id: str, action: str, poll_seconds: float, timeout_seconds: float) -> dict:
    deadline = time.monotonic() + timeout_seconds
    while True:
        described = aws_call(action, DATA_API_PERMISSIONS, data_api.describe_statement, Id=statement_id)
        if described["Status"] in DATA_API_TERMINAL:
            return described
        if time.monotonic() >= deadline:
            try:
                data_api.cancel_statement(Id=statement_id)
            except _AWS_ERRORS as error:
                logger.warning("could not cancel statement %s: %s", statement_id, error)
            raise AwsError(
                f"{action}: still {described['Status']} after {timeout_seconds:g} s, cancelled (statement "
                f"{statement_id}). Raise timeout_seconds, or check the cluster's queue (STV_WLM_QUERY_STATE)."
            )
        time.sleep(poll_seconds)


def _failure(described: dict, group: Sequence[str], where: str, *, committed: int, total: int) -> str:
    status = described["Status"]
    failing_sql, error = group[0], described.get("Error") or ""
    for sub in described.get("SubStatements") or []:
        if sub.get("Status") in ("FAILED", "ABORTED"):
            failing_sql, error = sub.get("QueryString") or failing_sql, sub.get("Error") or error
            break
    lines = [
        f"Redshift statement {status} on {where} (statement id {described.get('Id')}):",
        f"  SQL: {_short(failing_sql)}",
        f"  Error: {error or ('cancelled by a user or the cluster' if status == 'ABORTED' else '?')}",
    ]
    if len(group) > 1:
        lines.append(f"  The transaction of {len(group)} statements was rolled back: none took effect.")
    elif total > 1:
        lines.append(
            f"  {committed} statement(s) before it were committed; {total - committed - 1} after it not run."
        )
    return "\n".join(lines)
