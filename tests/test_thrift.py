"""dbt on a real Spark Thrift server: `regcalc run --target spark` runs the jobs in this process (local
session, its own lake) and `dbt build` through dbt-spark's thrift method on a server started from the
pyspark wheel, whose metastore learns the lake tables from the on-run-start hook register_lake_sources.
Its fct_lcr, read back over the HiveServer2 protocol, equals the local target's on the same bank, every
scenario, row for row; what the run prints at the end is the LCR table of the local target."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from pyhive import hive

from regcalc import contract, render
from regcalc.cli import main
from regcalc.lake import NULL_PARTITION, PARTITION_COLUMN, Lake
from regcalc.marts import LCR_COLUMNS, Marts, read_lcr
from regcalc.pipeline import DEAL_DATASET
from regcalc.settings import RegcalcError
from regcalc.spark_submit import start_thrift_server
from settings_env import use_settings

pytestmark = pytest.mark.cluster

KEY = ("scenario", "entity_id", "as_of_date")
RUN_SPECIFIC = ("run_id",)


def _plain(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    return float(value) if isinstance(value, Decimal) else value


def hive_rows(server, sql: str) -> list[dict]:
    """Rows of `sql` on the Thrift server, through PyHive (the driver dbt-spark's thrift method uses)."""
    connection = hive.connect(host=server.host, port=server.port, username="regcalc-test")
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        names = [column[0].split(".")[-1] for column in cursor.description]
        return [dict(zip(names, map(_plain, row), strict=True)) for row in cursor.fetchall()]
    finally:
        connection.close()


def keyed(rows: list[dict]) -> dict[tuple, dict]:
    """(scenario, entity_id, as_of_date) -> the row without its run id, in plain Python values."""
    return {
        tuple(_plain(row[k]) for k in KEY): {c: _plain(v) for c, v in row.items() if c not in RUN_SPECIFIC}
        for row in rows
    }


@pytest.fixture(scope="module")
def thrift_run(spark, small_bank, small_bank_marts, thrift_server, tmp_path_factory):
    """`regcalc run --input <small bank> --target spark`, as a user runs it, against the Thrift server
    (a lake of its own; the same schema name as the local marts, in the server's metastore)."""
    settings = replace(
        small_bank_marts.settings, lake=str(tmp_path_factory.mktemp("thrift_lake")), target="spark"
    )
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(printed):
        use_settings(env, settings)
        for name, value in thrift_server.profile_env.items():
            env.setenv(name, value)
        code = main(["run", "--input", str(small_bank), "--lake", settings.lake, "--target", "spark"])
    return {"code": code, "printed": printed.getvalue(), "settings": settings}


def test_fct_lcr_on_the_thrift_server_equals_the_local_targets(spark, thrift_run, thrift_server):
    assert thrift_run["code"] == 0
    schema = thrift_run["settings"].schema
    local = keyed([row.asDict() for row in spark.table(f"{schema}.fct_lcr").collect()])
    served = keyed(hive_rows(thrift_server, f"select * from {schema}.fct_lcr"))
    assert {key[0] for key in local} > {"base"}  # the shipped rules' scenarios are there too
    assert sorted(served) == sorted(local)
    for key, expected in local.items():  # exact decimals: equal to the last digit on both engines
        assert served[key] == expected, key


def test_the_servers_metastore_holds_the_lake_tables_the_hook_registered(spark, thrift_run, thrift_server):
    lake = Lake(spark, thrift_run["settings"].lake)
    tables = hive_rows(thrift_server, "show tables in regcalc_lake")
    # the lake datasets, and the commit log the hook reads their current versions from
    expected = [DEAL_DATASET, *(dataset.name for dataset in contract.REFERENCE_DATASETS), "lake_commits"]
    assert sorted(row["tableName"] for row in tables) == sorted(expected)
    describe = "describe formatted regcalc_lake.deal_liquidity"
    (location,) = [
        row["data_type"] for row in hive_rows(thrift_server, describe) if row["col_name"] == "Location"
    ]
    assert _path(location) == _path(f"{lake.uri}/{DEAL_DATASET}")
    served = hive_rows(thrift_server, "show partitions regcalc_lake.deal_liquidity")
    published = {day: part for day, part in lake.published(DEAL_DATASET).items() if day != NULL_PARTITION}
    assert sorted(row["partition"] for row in served) == [f"{PARTITION_COLUMN}={day}" for day in published]
    assert len(published) == 2
    for day, partition in published.items():  # each date at its current version's folder
        # the partition's own Location comes first, before the table's storage information
        location = next(
            row["data_type"]
            for row in hive_rows(thrift_server, f"{describe} partition (as_of_date='{day}')")
            if row["col_name"] == "Location"
        )
        assert _path(location) == _path(partition.location)


def test_the_run_prints_the_lcr_table_as_on_the_local_target(spark, thrift_run):
    with Marts(replace(thrift_run["settings"], target="local")) as marts:  # the local marts, same bank
        local = read_lcr(marts)
    assert len(local) == 4  # 2 entities x 2 dates
    assert thrift_run["printed"].strip() == render.rows(local, LCR_COLUMNS, "table")


def _path(location: str) -> str:
    """A local folder as the metastore or the lake spells it (file:, a trailing slash)."""
    return location.removeprefix("file:").rstrip("/")


def jvms_of(home: Path) -> list[int]:
    """Processes whose command line names `home` (the server's -Dderby.system.home): what would be left."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if f"-Dderby.system.home={home}".encode() in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:  # the process ended while we looked
            continue
    return pids


def test_a_server_that_cannot_start_is_reported_with_its_log(tmp_path):
    with pytest.raises(RegcalcError, match=r"(?s)exited with code \d+ before listening.*Master must either"):
        start_thrift_server(tmp_path, conf={"spark.master": "no-such-master"})
    assert jvms_of(tmp_path) == []


def test_a_server_that_does_not_listen_in_time_is_stopped_with_its_process_group(tmp_path):
    with pytest.raises(RegcalcError, match=r"did not listen on 127\.0\.0\.1:\d+ within 1s; its log"):
        start_thrift_server(tmp_path, timeout=1)
    assert jvms_of(tmp_path) == []
