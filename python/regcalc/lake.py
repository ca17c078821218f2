"""The lake: parquet datasets under one URI (a local folder, or s3a://bucket/prefix in production),
published per as-of date by an atomic commit, with every published version kept.

Layout, relative to the lake URI:

    <dataset>/<run_id>/as_of_date=<D>/part-*.parquet   a version: run <run_id>'s rows of date D, never changed
    _runs/<run_id>.json                                the run's metadata (RUN_FILE: lineage)
    _commits/as_of_date=<D>/<version>-<run_id>.json    the commit record of version <version> of date D

A run writes its output once, where it stays (its version folders, invisible to readers), checks it,
writes its metadata, then commits date by date: one new commit record per as-of date, created in one
step (a single PUT on S3, a rename on a local disk), listing the folder of the date's new
version for each dataset. A date's current version is the one of its highest-numbered record. Every
reader follows the records (Lake.read and Lake.published, the dbt macro register_lake_sources, the
Spectrum registration) and never lists data folders, so it sees the old or the new version of a date,
never none and never a mix of both; a crash before a date's record is written leaves its old version
current. Nothing is renamed or deleted in place (on S3 a rename is a copy plus deletes), and every
version ever published stays readable, with the run that wrote it.

Rows whose as_of_date could not be read (rejects) sit in Spark's null partition; it is committed like a
date under the name NULL_PARTITION.

Commit records are JSON lines, one per dataset of the version:
    {"as_of_date": "2026-09-30" or null, "version": 2, "run_id": ..., "committed_at": ..., "dataset": ...,
     "location": "<dataset>/<run_id>/as_of_date=2026-09-30"}   (location relative to the lake URI)
The dbt macro register_lake_sources reads these fields as a table; tests/test_lake_s3.py proves it
registers the locations Lake.published returns.

One writer at a time per lake (the nightly run; the embedded metastore's lock within one REGCALC_HOME):
two concurrent publications of one date would both be kept, and could take the same number; the current
version is then the one with the higher (version, run_id), run ids starting with their UTC start time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from regcalc.settings import RegcalcError

PARTITION_COLUMN = "as_of_date"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"  # where Spark writes rows whose partition value is null
COMMITS = "_commits"
RUNS = "_runs"
RUN_FILE = RUNS + "/{run_id}.json"  # the lineage metadata of a run, written before its first commit
LAKE_COLUMNS = "lake_columns"  # the RUN_FILE entry: dataset -> the columns the run wrote (Lake.check_columns)
# S3 (Spark's s3a://, EMRFS's s3://): a new object appears whole, or not at all, when its single PUT ends.
OBJECT_STORE_SCHEMES = ("s3a", "s3")
_COMMIT_NAME = re.compile(r"^(?P<version>\d{6,})-(?P<run_id>[^/]+)\.json$")
_VERSION_FOLDER = re.compile(rf"^(?P<folder>[^/]+/[^/]+/{PARTITION_COLUMN}=(?P<day>[^/]+))/[^/]+$")


class LakeError(RegcalcError):
    """The lake cannot be read or written; the message names the lake and what to do."""


@dataclass(frozen=True)
class PublishedPartition:
    """One published version of one dataset on one as-of date."""

    location: (
        str  # URI of its folder of parquet files (no as_of_date column inside: the folder name holds it)
    )
    run_id: str  # the run that wrote it
    version: int  # the date's commit number: 1 for its first publication, then 2, 3, ...
    metadata: dict  # the run's RUN_FILE: run_id, code_version, parameters_digest, inputs, rows, written_at


@dataclass(frozen=True)
class Commit:
    """One commit record: version `version` of date `as_of_date`, by run `run_id`."""

    as_of_date: str  # yyyy-mm-dd, or NULL_PARTITION
    version: int
    run_id: str
    committed_at: str  # ISO 8601, UTC
    locations: dict[str, str]  # dataset -> version folder, relative to the lake URI

    @property
    def path(self) -> str:
        return commit_path(self.as_of_date, self.version, self.run_id)


def commit_path(as_of_date: str, version: int, run_id: str) -> str:
    """Where the record of a version lives, relative to the lake URI."""
    return f"{COMMITS}/{PARTITION_COLUMN}={as_of_date}/{version:06d}-{run_id}.json"


def commit_record(commit: Commit) -> str:
    """The text of a commit record: JSON lines, one per dataset (see the module docstring)."""
    as_of_date = None if commit.as_of_date == NULL_PARTITION else commit.as_of_date
    return "".join(
        json.dumps(
            {
                "as_of_date": as_of_date,
                "version": commit.version,
                "run_id": commit.run_id,
                "committed_at": commit.committed_at,
                "dataset": dataset,
                "location": location,
            }
        )
        + "\n"
        for dataset, location in sorted(commit.locations.items())
    )


def parse_commit(path: str, text: str) -> Commit:
    """A commit record read back; LakeError if it is not one."""
    try:
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        first = lines[0]
        commit = Commit(
            first["as_of_date"] or NULL_PARTITION,
            int(first["version"]),
            first["run_id"],
            first["committed_at"],
            {line["dataset"]: line["location"] for line in lines},
        )
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise LakeError(f"{path}: not a commit record of the lake ({error})") from None
    if commit.path != path:
        raise LakeError(f"{path}: its record says version {commit.version} of {commit.as_of_date}")
    return commit


class ReadableFiles(Protocol):
    """What reading the commit records needs, paths relative to the lake URI."""

    def list(self, folder: str) -> list[str]:
        """Paths of every file under `folder`, recursively, sorted; [] if there is none."""

    def read(self, path: str) -> str: ...


class Files(ReadableFiles, Protocol):
    """What publishing needs besides."""

    def create(self, path: str, text: str) -> None:
        """Write a new file that readers see whole or not at all."""

    def delete(self, path: str) -> None:
        """Delete a file or a folder with everything under it; nothing if it does not exist."""


class LocalFiles:
    """A lake in a local folder, through the OS (no JVM: `regcalc recalc --plan` reads the commits)."""

    def __init__(self, root: Path):
        self.root = root

    def list(self, folder: str) -> list[str]:
        base = self.root / folder
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())

    def read(self, path: str) -> str:
        return (self.root / path).read_text(encoding="utf-8")

    def create(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")  # hidden from every reader
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)  # rename(2): atomic

    def delete(self, path: str) -> None:
        target = self.root / path
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


class HadoopFiles:
    """A lake on S3 through Spark's Hadoop filesystem (the jobs' S3A connector and settings)."""

    def __init__(self, spark: SparkSession, uri: str):
        from py4j.protocol import Py4JJavaError

        self._error = Py4JJavaError
        self.uri = uri
        jvm = spark.sparkContext._jvm
        self._Path = jvm.org.apache.hadoop.fs.Path
        self._io = jvm.org.apache.commons.io.IOUtils
        try:
            self._fs = self._Path(uri).getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
            self._fs.exists(self._Path(uri))  # reach the store now: a wrong bucket or key fails here, clearly
        except Py4JJavaError as error:
            raise self._lake_error("open", error) from None

    def _lake_error(self, action: str, error) -> LakeError:
        text = str(error.java_exception)
        if "S3AFileSystem not found" in text:
            from regcalc.s3a import connector_missing

            return LakeError(connector_missing(self.uri))
        if "No FileSystem for scheme" in text:
            scheme = urlparse(self.uri).scheme
            return LakeError(
                f"the lake {self.uri}: Spark has no filesystem for {scheme}://; use s3a://bucket/prefix"
            )
        first = text.splitlines()[0] if text else repr(error)
        return LakeError(f"the lake {self.uri}: cannot {action}: {first}")

    def _call(self, action: str, function, *args):
        try:
            return function(*args)
        except self._error as error:
            raise self._lake_error(action, error) from None

    def _path(self, path: str):
        return self._Path(f"{self.uri}/{path}")

    def list(self, folder: str) -> list[str]:
        def listing() -> list[str]:
            base = self._path(folder)
            if not self._fs.exists(base):
                return []
            files, found = self._fs.listFiles(base, True), []
            while files.hasNext():
                found.append(files.next().getPath().toString()[len(self.uri) + 1 :])
            return sorted(found)

        return self._call(f"list {folder}", listing)

    def read(self, path: str) -> str:
        def reading() -> str:
            stream = self._fs.open(self._path(path))
            try:
                return bytes(self._io.toByteArray(stream)).decode("utf-8")
            finally:
                stream.close()

        return self._call(f"read {path}", reading)

    def create(self, path: str, text: str) -> None:
        def creating() -> None:
            stream = self._fs.create(self._path(path), False)
            try:
                stream.write(bytearray(text.encode("utf-8")))
            finally:
                stream.close()  # the single PUT: the object appears now, whole

        self._call(f"write {path}", creating)

    def delete(self, path: str) -> None:
        self._call(f"delete {path}", self._fs.delete, self._path(path), True)


def lake_files(spark: SparkSession | None, uri: str) -> Files:
    """The file operations for a lake URI: a local folder (also file://) or S3."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return LocalFiles(Path(parsed.path if parsed.scheme else uri))
    if parsed.scheme not in OBJECT_STORE_SCHEMES:
        raise LakeError(
            f"the lake {uri}: a lake is a local folder or s3a://bucket/prefix, not {parsed.scheme}://"
        )
    if spark is None:
        raise LakeError(f"reading the lake {uri} needs Spark (its S3A connector and settings)")
    return HadoopFiles(spark, uri)


class CommitLog:
    """The commit records of a lake: which version of each as-of date is current, and which were.
    Reading needs ReadableFiles (e.g. regcalc.aws.S3Files); `commit` needs Files."""

    def __init__(self, files: ReadableFiles):
        self.files = files

    def names(self) -> dict[str, list[tuple[int, str]]]:
        """As-of date -> (version, run_id) of each of its commit records, in that order (the current one
        last); from one listing."""
        records: dict[str, list[tuple[int, str]]] = {}
        prefix = f"{COMMITS}/{PARTITION_COLUMN}="
        for path in self.files.list(COMMITS):
            folder, _, name = path.rpartition("/")
            match = _COMMIT_NAME.match(name)
            if match and folder.startswith(prefix):  # temporary files start with '.'
                records.setdefault(folder[len(prefix) :], []).append((int(match["version"]), match["run_id"]))
        return {day: sorted(versions) for day, versions in sorted(records.items())}

    def read(self, as_of_date: str, version: int, run_id: str) -> Commit:
        path = commit_path(as_of_date, version, run_id)
        return parse_commit(path, self.files.read(path))

    def current(self) -> dict[str, Commit]:
        """As-of date -> its current version (the highest-numbered record); one read per date."""
        return {day: self.read(day, *versions[-1]) for day, versions in self.names().items()}

    def history(self) -> dict[str, list[Commit]]:
        """As-of date -> every version published, oldest first (the current one last)."""
        return {day: [self.read(day, *v) for v in versions] for day, versions in self.names().items()}

    def commit(self, as_of_date: str, version: int, run_id: str, locations: Mapping[str, str]) -> Commit:
        """Make `locations` (dataset -> version folder) version `version` of `as_of_date`: one new record."""
        commit = Commit(as_of_date, version, run_id, datetime.now(UTC).isoformat(), dict(locations))
        self.files.create(commit.path, commit_record(commit))
        return commit


def _date_key(day: date | str | None) -> str:
    if day is None:
        return NULL_PARTITION
    return day.isoformat() if isinstance(day, date) else str(day)


def _undated_last(day: str) -> tuple[bool, str]:
    return day == NULL_PARTITION, day


class Lake:
    """A lake at `uri`. `spark` may be None for a local lake when only its commits are read."""

    def __init__(self, spark: SparkSession | None, uri: str):
        self.spark = spark
        self.uri = uri.rstrip("/")
        self.files = lake_files(spark, self.uri)
        self.commits = CommitLog(self.files)
        self._staged_columns: dict[str, dict[str, list[str]]] = {}  # run_id -> dataset -> columns written

    def location(self, relative: str) -> str:
        return f"{self.uri}/{relative}"

    def run_path(self, run_id: str, dataset: str) -> str:
        """Where run `run_id` writes `dataset` (its version folders are the as_of_date= folders below)."""
        return self.location(f"{dataset}/{run_id}")

    def stage(self, frame: DataFrame, run_id: str, dataset: str) -> str:
        """Write a run's rows of `dataset`, partitioned by as-of date, where they stay (not yet published)."""
        path = self.run_path(run_id, dataset)
        # errorifexists: a version is written once, and straight to its folder (no dynamic-overwrite staging)
        frame.write.mode("errorifexists").partitionBy(PARTITION_COLUMN).parquet(path)
        written = [column for column in frame.columns if column != PARTITION_COLUMN]
        self._staged_columns.setdefault(run_id, {})[dataset] = written
        return path

    def read_staged(self, run_id: str, dataset: str) -> DataFrame:
        return self.spark.read.parquet(self.run_path(run_id, dataset))

    def _run_folders(self, run_id: str, datasets: Iterable[str]) -> dict[str, dict[str, str]]:
        """As-of date -> {dataset: version folder} of what run `run_id` wrote."""
        folders: dict[str, dict[str, str]] = {}
        for dataset in datasets:
            for path in self.files.list(f"{dataset}/{run_id}"):
                match = _VERSION_FOLDER.match(path)
                if match:
                    folders.setdefault(match["day"], {})[dataset] = match["folder"]
        return folders

    def publish(
        self, run_id: str, datasets: list[str], metadata: dict, replace_undated: bool = True
    ) -> list[str]:
        """Commit every as-of date run `run_id` staged; return `<dataset>/as_of_date=<D>` of each published.

        The run's metadata is written first, with the columns of each dataset this Lake staged for the run
        (`lake_columns`, read by check_columns), then one commit record per date (the undated rejects last).
        A failure part-way leaves the dates committed so far at the new version and the others at the old
        one, each readable whole. Rows whose as_of_date could not be read sit in Spark's null partition:
        it is published only when `replace_undated` (a run over every date), else the published one is kept.
        """
        staged = self._run_folders(run_id, datasets)
        if not replace_undated:
            staged.pop(NULL_PARTITION, None)
        metadata = {**metadata, LAKE_COLUMNS: self._staged_columns.get(run_id, {})}
        self.files.create(RUN_FILE.format(run_id=run_id), json.dumps(metadata, indent=2, sort_keys=True))
        latest = {day: versions[-1][0] for day, versions in self.commits.names().items()}
        days = sorted(staged, key=_undated_last)
        for day in days:
            self.commits.commit(day, latest.get(day, 0) + 1, run_id, staged[day])
        self.discard(run_id, datasets)  # the undated rows that a run over some dates does not publish
        return [
            f"{dataset}/{PARTITION_COLUMN}={day}"
            for dataset in datasets
            for day in days
            if dataset in staged[day]
        ]

    def discard(self, run_id: str, datasets: Iterable[str]) -> None:
        """Delete what run `run_id` wrote and did not commit (refused or failed); committed dates stay."""
        committed = {
            day for day, versions in self.commits.names().items() if any(r == run_id for _, r in versions)
        }
        datasets = list(datasets)
        if not committed:
            for dataset in datasets:
                self.files.delete(f"{dataset}/{run_id}")
            self.files.delete(RUN_FILE.format(run_id=run_id))
            return
        for day, folders in self._run_folders(run_id, datasets).items():
            if day not in committed:
                for folder in folders.values():
                    self.files.delete(folder)

    def _partitions(
        self, dataset: str, commits: dict[str, list[Commit]]
    ) -> dict[str, list[PublishedPartition]]:
        runs: dict[str, dict] = {}

        def metadata(run_id: str) -> dict:
            if run_id not in runs:
                runs[run_id] = json.loads(self.files.read(RUN_FILE.format(run_id=run_id)))
            return runs[run_id]

        return {
            day: [
                PublishedPartition(
                    self.location(c.locations[dataset]), c.run_id, c.version, metadata(c.run_id)
                )
                for c in versions
                if dataset in c.locations
            ]
            for day, versions in commits.items()
            if any(dataset in c.locations for c in versions)
        }

    def published(self, dataset: str) -> dict[str, PublishedPartition]:
        """As-of date (yyyy-mm-dd, or NULL_PARTITION for the undated rejects) -> the current version of
        `dataset` on it, in date order (NULL_PARTITION last)."""
        current = {day: [commit] for day, commit in self.commits.current().items()}
        return {day: versions[-1] for day, versions in self._partitions(dataset, current).items()}

    def check_columns(self, declared: Mapping[str, Iterable[str]]) -> None:
        """Refuse a lake whose current version of a dataset lacks a column the readers declare
        (`declared`: dataset -> columns, from the sources YAML): a date published before the lake's
        columns changed, which a reader would see as nulls. Raises LakeError naming the dataset, the dates,
        the regcalc version that wrote them and the missing columns, and how to publish them again."""
        problems = []
        for dataset, columns in declared.items():
            stale: dict[tuple[str, str], list[str]] = {}
            for day, partition in self.published(dataset).items():
                written = partition.metadata.get(LAKE_COLUMNS, {}).get(dataset)
                if written is None:
                    missing = "no record of its columns (written before regcalc recorded them)"
                else:
                    absent = [column for column in columns if column not in written]
                    if not absent:
                        continue
                    missing = "no column " + ", ".join(absent)
                version = partition.metadata.get("code_version", "an unknown version")
                stale.setdefault((missing, version), []).append(day)
            for (missing, version), days in stale.items():
                problems.append(f"{dataset} on {', '.join(days)} (regcalc {version}) has {missing}")
        if problems:
            raise LakeError(
                f"the lake {self.uri} holds dates published before its columns changed:\n  "
                + "\n  ".join(problems)
                + "\nPublish those dates again with this version (`regcalc run --input DIR --as-of DATE`); "
                "the versions they replace stay in the lake."
            )

    def versions(self, dataset: str) -> dict[str, list[PublishedPartition]]:
        """As-of date -> every version of `dataset` published on it, oldest first (the current one last)."""
        return self._partitions(dataset, self.commits.history())

    def read(self, dataset: str, dates: Iterable[date | str | None] | None = None) -> DataFrame:
        """The current version of `dataset` on each of `dates` (default: every published date, the
        undated rejects included), with its as_of_date column (date; null for the undated rejects) last.

        Raises LakeError naming the dates that are not published."""
        published = self.published(dataset)
        if dates is not None:
            wanted = list(dict.fromkeys(_date_key(day) for day in dates))
            missing = [day for day in wanted if day not in published]
            if missing:
                raise LakeError(
                    f"the lake {self.uri} has no published {dataset} for {', '.join(missing)} "
                    f"(published: {', '.join(published) or 'none'})"
                )
            published = {day: published[day] for day in wanted}
        if not published:
            raise LakeError(f"the lake {self.uri} has no published {dataset}: run `regcalc run` first")
        frame = self.spark.read.parquet(*[partition.location for partition in published.values()])
        # Each version folder is named as_of_date=<D>, as Spark names partitions (null: NULL_PARTITION).
        folder = F.regexp_extract(F.col("_metadata.file_path"), rf"/{PARTITION_COLUMN}=([^/]+)/[^/]+$", 1)
        as_of_date = F.when(folder != F.lit(NULL_PARTITION), F.to_date(folder))
        return frame.withColumn(PARTITION_COLUMN, as_of_date)
