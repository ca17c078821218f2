"""The lake: parquet datasets under one URI (a local folder, or s3a:// in production).

Writes are staged and then published partition by partition: a run writes every dataset under
`<lake>/_staging/<run_id>/`, checks it, and only then swaps each as-of partition into place. A
failed or refused run leaves the published lake exactly as it was, and rerunning a date replaces
that date only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from regcalc.settings import RegcalcError

PARTITION_COLUMN = "as_of_date"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"  # where Spark writes rows whose partition value is null
RUN_FILE = "_regcalc_run.json"  # the lineage metadata of a published partition


class Lake:
    def __init__(self, spark: SparkSession, uri: str):
        self.spark = spark
        self.uri = uri.rstrip("/")
        jvm = spark.sparkContext._jvm
        self._Path = jvm.org.apache.hadoop.fs.Path
        self._fs = self._Path(self.uri).getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())

    def path(self, dataset: str) -> str:
        return f"{self.uri}/{dataset}"

    def staging_path(self, run_id: str, dataset: str | None = None) -> str:
        base = f"{self.uri}/_staging/{run_id}"
        return f"{base}/{dataset}" if dataset else base

    def stage(self, frame: DataFrame, run_id: str, dataset: str) -> str:
        path = self.staging_path(run_id, dataset)
        frame.write.mode("overwrite").partitionBy(PARTITION_COLUMN).parquet(path)
        return path

    def read_staged(self, run_id: str, dataset: str) -> DataFrame:
        return self.spark.read.parquet(self.staging_path(run_id, dataset))

    def read(self, dataset: str, dates: Sequence[date] | None = None) -> DataFrame:
        """The published rows of `dataset`: the current version of each as-of date, with its
        `as_of_date` column (DateType). `dates`: only those as-of dates; None: every date, and the
        rows whose as_of_date could not be read (null). The one way to read the published lake.

        Raises RegcalcError when the dataset has never been published.
        """
        root = self.path(dataset)
        if not self._fs.exists(self._Path(root)):
            raise RegcalcError(f"the lake {self.uri} has no dataset {dataset!r}: run the jobs (regcalc run)")
        # basePath: as_of_date stays a column even when the filter leaves a single partition folder.
        frame = self.spark.read.option("basePath", root).parquet(root)
        frame = frame.withColumn(PARTITION_COLUMN, F.col(PARTITION_COLUMN).cast("date"))
        if dates is not None:
            frame = frame.where(F.col(PARTITION_COLUMN).isin(*dates))
        return frame

    def publish(
        self, run_id: str, datasets: list[str], metadata: dict | None = None, replace_undated: bool = True
    ) -> list[str]:
        """Swap every staged partition into the lake; return the partitions published.

        Rows whose as_of_date could not be read sit in Spark's null partition; it is replaced only
        when `replace_undated` (a run over every date), else the published one is kept.
        """
        published = []
        for dataset in datasets:
            staged = self._Path(self.staging_path(run_id, dataset))
            target_root = self._Path(self.path(dataset))
            self._fs.mkdirs(target_root)
            for status in self._fs.listStatus(staged):
                name = status.getPath().getName()
                if not status.isDirectory() or not name.startswith(f"{PARTITION_COLUMN}="):
                    continue
                if name == f"{PARTITION_COLUMN}={NULL_PARTITION}" and not replace_undated:
                    continue
                if metadata is not None:
                    self._write_text(self._Path(status.getPath(), RUN_FILE), json.dumps(metadata))
                target = self._Path(target_root, name)
                if self._fs.exists(target):
                    self._fs.delete(target, True)
                if not self._fs.rename(status.getPath(), target):
                    raise OSError(f"could not move {status.getPath()} to {target}")
                published.append(f"{dataset}/{name}")
        self.discard(run_id)
        return published

    def discard(self, run_id: str) -> None:
        self._fs.delete(self._Path(self.staging_path(run_id)), True)
        staging_root = self._Path(f"{self.uri}/_staging")
        if self._fs.exists(staging_root) and not self._fs.listStatus(staging_root):
            self._fs.delete(staging_root, False)

    def published_runs(self, dataset: str) -> dict[str, dict]:
        """As-of date (yyyy-mm-dd) -> the RUN_FILE metadata of each published partition of `dataset`."""
        prefix = f"{PARTITION_COLUMN}="
        root = self._Path(self.path(dataset))
        runs = {}
        if not self._fs.exists(root):
            return runs
        for status in self._fs.listStatus(root):
            name, run_file = status.getPath().getName(), self._Path(status.getPath(), RUN_FILE)
            if name.startswith(prefix) and self._fs.exists(run_file):
                runs[name[len(prefix) :]] = json.loads(self._read_text(run_file))
        return dict(sorted(runs.items()))

    def _read_text(self, path) -> str:
        stream = self._fs.open(path)
        try:
            io_utils = self.spark.sparkContext._jvm.org.apache.commons.io.IOUtils
            return bytes(io_utils.toByteArray(stream)).decode("utf-8")
        finally:
            stream.close()

    def _write_text(self, path, text: str) -> None:
        stream = self._fs.create(path, True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()
