"""Spark's S3A connector, for a lake at s3a://bucket/prefix: its jars and its settings.

The pyspark wheel ships Hadoop's client but neither hadoop-aws nor the AWS SDK. `make jars` fetches
hadoop-aws at the wheel's Hadoop version, with the AWS SDK bundle its POM asks for, from Maven Central
(maven/pom.xml) into ./jars (git-ignored). The `local` profile (profiles/profiles.yml, the one definition
of the Spark settings) puts that folder on the driver's and executors' classpath and maps the
REGCALC_S3_* variables (settings.ENVIRONMENT) to S3A's settings, so the jobs and dbt on the local target
read and write s3a:// alike.

    python -m regcalc.s3a     prints the Hadoop version of the pyspark wheel (what `make jars` fetches)
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Mapping
from pathlib import Path

from regcalc.settings import PROJECT_DIR

JARS_ENV = "REGCALC_S3A_JARS"
DEFAULT_JARS_DIR = PROJECT_DIR / "jars"
_HADOOP_CLIENT = re.compile(r"^hadoop-client-api-(?P<version>[\d.]+)\.jar$")


def hadoop_version() -> str:
    """The Hadoop version bundled with pyspark (e.g. '3.5.0'), read from its hadoop-client-api jar."""
    spec = importlib.util.find_spec("pyspark")
    jars = Path(next(iter(spec.submodule_search_locations))) / "jars"
    versions = [match["version"] for path in jars.glob("*.jar") if (match := _HADOOP_CLIENT.match(path.name))]
    if len(versions) != 1:
        raise RuntimeError(f"{jars}: expected one hadoop-client-api jar, found {versions}")
    return versions[0]


def jars_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the connector jars are: $REGCALC_S3A_JARS, else ./jars of the project (absolute)."""
    return Path(environ.get(JARS_ENV) or DEFAULT_JARS_DIR).expanduser().resolve()


def connector_missing(uri: str) -> str:
    """What to do when Spark has no S3A connector for the lake `uri`."""
    version = hadoop_version()
    return (
        f"the lake {uri} needs Spark's S3A connector (org.apache.hadoop:hadoop-aws:{version} and the AWS SDK "
        f"bundle), which is not on Spark's classpath ({JARS_ENV}={jars_dir()}). Install it with `make jars` "
        f"(Maven fetches it from Maven Central into ./jars), or point {JARS_ENV} at a folder holding those "
        f"jars; on a cluster, use the cluster's own (EMR has it) or "
        f"spark-submit --packages org.apache.hadoop:hadoop-aws:{version}"
    )


if __name__ == "__main__":
    print(hadoop_version())
