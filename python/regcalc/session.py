"""The one SparkSession of a regcalc process, shared by the jobs and by dbt (run in-process)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from pyspark.sql import SparkSession

from regcalc.settings import RegcalcError, Settings, local_spark_conf

_LOCK_HANDLES: list = []


def lock_home(home: Path) -> None:
    """Take the state directory for this process.

    The embedded Derby metastore admits one JVM at a time; a second run would otherwise fail
    deep inside Spark with XSDB6. Fail early with a message that says what to do instead.
    """
    home.mkdir(parents=True, exist_ok=True)
    handle = open(home / "regcalc.lock", "w")  # noqa: SIM115 - held for the life of the process
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise RegcalcError(
            f"another regcalc process is using {home} (embedded metastore is single-user); "
            "wait for it to finish or set REGCALC_HOME to a different directory"
        ) from None
    handle.write(str(os.getpid()))
    handle.flush()
    _LOCK_HANDLES.append(handle)


def get_spark(settings: Settings, app_name: str = "regcalc") -> SparkSession:
    """Build (or return) the process's SparkSession with the same settings as the dbt profile.

    The master is left to Spark, which takes it from `spark-submit --master` (or the cluster manager
    that launched the driver: EMR, Kubernetes), else `PYSPARK_SUBMIT_ARGS`, `spark.master` in
    spark-defaults.conf or `MASTER`, else spark-submit's default `local[*]`; setting it here would
    override every one of them. The profile's settings apply everywhere; those that size the driver JVM
    (spark.driver.memory, spark.driver.extraJavaOptions) only when this call starts it, so under
    spark-submit they are spark-submit's options (--driver-memory, --driver-java-options).
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    lock_home(settings.home)
    builder = SparkSession.builder.appName(app_name)
    for key, value in local_spark_conf(settings).items():
        builder = builder.config(key, value)
    spark = builder.enableHiveSupport().getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
