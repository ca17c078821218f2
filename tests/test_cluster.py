"""The jobs on a multi-process Spark: `regcalc run` submitted with spark-submit to `local-cluster[2,1,1024]`
(a standalone master, a worker and two executor JVMs, all from the pyspark wheel, no SPARK_HOME) writes
the same lake as local mode: every dataset, as-of date and row, and the published versions' run metadata,
all but the run id."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.testing import assertDataFrameEqual

from regcalc import contract
from regcalc.lake import Lake
from regcalc.pipeline import DEAL_DATASET
from regcalc.settings import PROJECT_DIR
from regcalc.spark_submit import log_tail, spark_submit, spark_submit_env

pytestmark = pytest.mark.cluster

MASTER = "local-cluster[2,1,1024]"  # 2 executors (separate JVMs), 1 core and 1024 MB each
ENTRY_POINT = PROJECT_DIR / "python" / "regcalc_submit.py"
RUN_SPECIFIC = ("run_id", "written_at")  # what differs between two runs of the same input
DATASETS = (DEAL_DATASET, *(dataset.name for dataset in contract.REFERENCE_DATASETS))


def events(event_dir: Path) -> list[dict]:
    """The Spark event log of the one application that wrote to `event_dir` (uncompressed, not rolled)."""
    (log,) = event_dir.iterdir()
    return [json.loads(line) for line in log.read_text().splitlines()]


def published(spark, lake: str) -> dict[str, dict[str, dict]]:
    """dataset -> as-of date -> its current version's run metadata, without what is specific to the run."""
    return {
        dataset: {
            day: {key: value for key, value in partition.metadata.items() if key not in RUN_SPECIFIC}
            for day, partition in Lake(spark, lake).published(dataset).items()
        }
        for dataset in DATASETS
    }


@pytest.fixture(scope="module")
def cluster_run(small_bank, tmp_path_factory):
    """`spark-submit --master local-cluster[...] python/regcalc_submit.py run --skip-dbt` on the small
    bank, with its own state folder (Derby admits one JVM) and an event log."""
    work = tmp_path_factory.mktemp("cluster")
    lake, event_dir = work / "lake", work / "events"
    event_dir.mkdir()
    command = spark_submit(
        "--master", MASTER,
        "--conf", "spark.eventLog.enabled=true",
        "--conf", f"spark.eventLog.dir={event_dir}",
        "--conf", "spark.eventLog.compress=false",
        "--conf", "spark.eventLog.rolling.enabled=false",
        # The driver runs this interpreter; the executors get no Python at all: the jobs are DataFrame
        # plans, so nothing of regcalc runs on them (README: no --py-files needed). A Python UDF would
        # start a Python worker there and fail this run.
        "--conf", f"spark.pyspark.driver.python={sys.executable}",
        "--conf", "spark.pyspark.python=/nonexistent/python-on-executors",
        str(ENTRY_POINT), "run", "--input", str(small_bank), "--lake", str(lake), "--skip-dbt",
    )  # fmt: skip
    env = spark_submit_env() | {"REGCALC_HOME": str(work / "home")}
    output = work / "spark-submit.log"
    with output.open("w") as handle:
        completed = subprocess.run(command, env=env, stdout=handle, stderr=subprocess.STDOUT, timeout=1200)
    assert completed.returncode == 0, f"spark-submit exited with {completed.returncode}:\n{log_tail(output)}"
    return {"lake": lake, "events": events(event_dir), "output": output.read_text()}


def test_spark_submit_keeps_its_master_and_runs_on_two_executor_jvms(cluster_run):
    (environment,) = [e for e in cluster_run["events"] if e["Event"] == "SparkListenerEnvironmentUpdate"]
    assert environment["Spark Properties"]["spark.master"] == MASTER
    assert f"master {MASTER}" in cluster_run["output"]  # what `regcalc run` reports
    added = {e["Executor ID"] for e in cluster_run["events"] if e["Event"] == "SparkListenerExecutorAdded"}
    ran_tasks = {
        e["Task Info"]["Executor ID"] for e in cluster_run["events"] if e["Event"] == "SparkListenerTaskEnd"
    }
    assert added == {"0", "1"}
    assert ran_tasks == added  # both executor JVMs did work, the driver none


def test_lake_equals_the_local_mode_lake(spark, cluster_run, small_bank_lake):
    local, cluster = small_bank_lake.settings.lake, str(cluster_run["lake"])
    expected_runs = published(spark, local)
    assert all(len(days) == 2 for days in expected_runs.values())  # the small bank's 2 as-of dates
    assert published(spark, cluster) == expected_runs
    for dataset in DATASETS:
        expected = Lake(spark, local).read(dataset)
        actual = Lake(spark, cluster).read(dataset)
        assert expected.count() > 0
        assertDataFrameEqual(actual.drop(*RUN_SPECIFIC), expected.drop(*RUN_SPECIFIC), checkRowOrder=False)
