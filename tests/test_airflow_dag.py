"""The Airflow DAG (orchestration/regcalc_lcr_daily.py) run end to end, compared with the command line.

Airflow lives in its own virtualenv (.venv-airflow, `make airflow`, a prerequisite of `make test`), so this
test prepares the run here and starts Airflow's side as a process: orchestration/tests (pytest in
.venv-airflow) imports the DAG, checks its tasks against the dbt manifest, and runs `dag.test()` once per
as-of date. The run is the production shape on one machine: the jobs through the wheel's spark-submit
(master local[2]), the lake loaded into a PostgreSQL server of this test's own (regcalc.pgserver), whose
address and password reach the tasks only as an Airflow connection (REGCALC_WAREHOUSE_CONN_ID), and every dbt
model built by its own task in a subprocess of the project's dbt.

The small bank's first date is run, then run again (a rerun: the first run built every model from scratch,
the rerun replaces the date in the incremental models). The DAG's fct_lcr must then equal, row for row, the
LCR that `regcalc run` (jobs and dbt build in one process, local Spark target: fixture small_bank_marts)
built from the same extract for that date, every column but the run id, which must be the rerun's: the one
that published the date's current lake version, the second. Two runs because each costs minutes (a
process per dbt model); the date the DAG does not run is left out of the comparison.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import psycopg2.extras
import pytest

from conftest import SMALL_BANK_SCHEMA
from regcalc import pgserver
from regcalc.lake import Lake
from regcalc.settings import PROFILES_DIR, PROJECT_DIR
from test_postgres import KEYS, assert_same_table

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

AIRFLOW_VENV = PROJECT_DIR / ".venv-airflow"
DAG_FILE = PROJECT_DIR / "orchestration" / "regcalc_lcr_daily.py"
SCHEMA = "airflow_dag"
CONNECTION_ID = "regcalc_warehouse"


def _environment(tmp_path: Path, server: pgserver.PostgresServer, small_bank: Path, dates: list[str]) -> dict:
    """The Airflow process's environment: this one's, less every regcalc and Airflow setting, plus the
    DAG's settings. The warehouse's address and password are only in the Airflow connection."""
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith(("REGCALC_", "AIRFLOW_"))
    }
    connection = {"conn_type": "postgres", "login": server.user, "schema": server.database}
    connection.update(host=server.host, port=server.port, password=server.password)
    environment.update(
        {
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "airflow" / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
            "AIRFLOW__COSMOS__CACHE_DIR": str(tmp_path / "cosmos"),  # dbt's partial parse, per test run
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "false",  # no network: nothing to send usage to
            f"AIRFLOW_CONN_{CONNECTION_ID.upper()}": json.dumps(connection),
            "REGCALC_WAREHOUSE_CONN_ID": CONNECTION_ID,
            "REGCALC_PROJECT_DIR": str(PROJECT_DIR),
            "REGCALC_DBT_MANIFEST": str(tmp_path / "manifest" / "manifest.json"),
            "REGCALC_INPUT": str(small_bank),
            "REGCALC_TARGET": "postgres",
            "REGCALC_SCHEMA": SCHEMA,
            "REGCALC_LAKE": str(tmp_path / "lake"),
            "REGCALC_HOME": str(tmp_path / "home"),
            "REGCALC_SPARK_SUBMIT_ARGS": "--master local[2] --driver-memory 1g",
            "REGCALC_SHUFFLE_PARTITIONS": "2",
            "REGCALC_DAG_TEST_DATES": ",".join(dates),
        }
    )
    return environment


def _parse_project(environment: dict) -> None:
    """The manifest the DAG renders its dbt tasks from (what `make airflow-manifest` writes)."""
    target_path = Path(environment["REGCALC_DBT_MANIFEST"]).parent
    command = [str(PROJECT_DIR / ".venv" / "bin" / "dbt"), "parse", "--project-dir", str(PROJECT_DIR)]
    command += ["--profiles-dir", str(PROFILES_DIR), "--target", "local", "--target-path", str(target_path)]
    command += ["--log-path", str(target_path / "logs")]
    subprocess.run(command, check=True, capture_output=True, env=environment, cwd=PROJECT_DIR)


def test_the_dag_builds_the_lcr_of_the_command_line(spark, small_bank, small_bank_marts, tmp_path):
    if not (AIRFLOW_VENV / "bin" / "python").exists():
        pytest.fail(f"no {AIRFLOW_VENV}: run `make airflow` (a prerequisite of `make test`)")
    cli = [row.asDict() for row in spark.sql(f"select * from {SMALL_BANK_SCHEMA}.fct_lcr").collect()]
    day = min(row["as_of_date"] for row in cli)
    expected = [row for row in cli if row["as_of_date"] == day]
    with pgserver.start() as server:
        environment = _environment(tmp_path, server, small_bank, [str(day), str(day)])
        _parse_project(environment)
        dags = Path(environment["AIRFLOW__CORE__DAGS_FOLDER"])  # the deployment: the DAG file alone
        dags.mkdir(parents=True)
        shutil.copy(DAG_FILE, dags)
        log = tmp_path / "airflow.log"
        started = time.monotonic()
        with log.open("w") as output:
            finished = subprocess.run(
                [str(AIRFLOW_VENV / "bin" / "python"), "-m", "pytest", "-p", "no:cacheprovider", "-v"]
                + [f"--basetemp={tmp_path / 'airflow-pytest'}", str(PROJECT_DIR / "orchestration" / "tests")],
                env=environment,
                cwd=PROJECT_DIR,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        print(
            f"\nAirflow side (import checks, 2 dag.test() runs) {time.monotonic() - started:.0f} s; log {log}"
        )
        lines = log.read_text(errors="replace").splitlines()
        print("\n".join(line for line in lines if "dag.test as_of" in line), file=sys.stderr)
        assert finished.returncode == 0, "\n".join(lines[-80:])

        with (
            psycopg2.connect(**server.connection()) as db,
            db.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur,
        ):
            cur.execute(f"select * from {SCHEMA}.fct_lcr")
            actual = [dict(row) for row in cur.fetchall()]

    versions = Lake(spark, environment["REGCALC_LAKE"]).versions("deal_liquidity")
    assert len(versions[str(day)]) == 2  # the rerun published a second version of the date
    not_run = {str(row["as_of_date"]) for row in cli} - {str(day)}
    assert not_run and not_run.isdisjoint(versions)
    for row in actual:
        assert row.pop("run_id") == versions[str(day)][-1].run_id
    for row in expected:
        row.pop("run_id")
    assert_same_table(expected, actual, KEYS["fct_lcr"], "fct_lcr")
