"""Airflow 3 DAG `regcalc_lcr_daily`: the daily LCR of one as-of date, one task per step and per dbt model.

    as_of_date -> spark_jobs -> load_lake -> dbt (one task per seed and model, with its tests) -> dbt_docs
               -> run_summary

* as_of_date: the run's as-of date: param `as_of`, else the day before the run's date (the previous
  business day's extract, as in .github/workflows/nightly-lcr.yml).
* spark_jobs: `regcalc run --skip-dbt --as-of DATE --input DIR` (the jobs of `regcalc run`, no dbt) in the
  project's virtual environment; with REGCALC_SPARK_SUBMIT_ARGS set, the same command through the wheel's
  spark-submit and python/regcalc_submit.py on the master those arguments name (a cluster in production).
  The jobs publish a new version of the date in the lake, or nothing; its last stdout line, the jobs' run
  id, is the task's XCom.
* load_lake: `regcalc load-lake --as-of DATE` for the target: Spectrum registration or COPY on Redshift,
  COPY FROM STDIN on PostgreSQL (replacing that date's rows), external tables on Spark.
* dbt: astronomer-cosmos renders the dbt project from its manifest (`make airflow-manifest`): one task per
  seed and model (`dbt build --select <node>`: the node and its data and unit tests), the adjustment
  points `int_*__adjusted` among them, wired as dbt's graph. Each runs the project's `dbt` executable as a
  subprocess with vars regcalc_run_id (run log), lake_uri and recalc_dates = the as-of date: the
  incremental models rewrite only that date (insert_overwrite / delete+insert), so a rerun of a date
  replaces what the previous run wrote. Param `full_refresh` rebuilds every date (needed after the
  adjustment rules changed a point's columns; `regcalc recalc --plan` says when).
* dbt_docs: `dbt docs generate --static`; the site is copied to $REGCALC_HOME/docs/static_index.html and,
  with REGCALC_DOCS_URI set (s3://bucket/prefix), published there by `regcalc publish` (all or nothing).
* run_summary (runs whatever happened before it): `regcalc run-summary` of the jobs' run id, from the run
  log every dbt task appended to; it fails when a node failed, so the DAG run's state is the build's.

Failure handling: a failed dbt node fails its task, and the tasks downstream of it do not run; the lake's
published versions and the marts other tasks wrote stay as they are (a model's table is replaced only by
its own successful build). The jobs and the load are safe to retry (a new version / the same rows);
dbt tasks are not retried: a failing data test fails again until the data or the rules change.

Everything comes from the environment of the Airflow worker, read when the DAG file is parsed (nothing
from files besides the project itself): REGCALC_PROJECT_DIR (the regcalc checkout after `make setup`),
REGCALC_VENV (its virtualenv, default <project>/.venv), REGCALC_INPUT (the extract folder; `{as_of}` in
it becomes the date), REGCALC_DBT_MANIFEST (default <project>/target/airflow/manifest.json),
REGCALC_SPARK_SUBMIT_ARGS, REGCALC_DOCS_URI, REGCALC_WAREHOUSE_CONN_ID, and the variables of the command
line (REGCALC_TARGET, REGCALC_LAKE, REGCALC_SCHEMA, REGCALC_HOME, credentials: `regcalc --help`), which
reach every task's process. With REGCALC_WAREHOUSE_CONN_ID the target's host, port, user, password and
database come from that Airflow connection instead (WAREHOUSE_CONNECTION_SETTINGS). README "Airflow".

This file imports Airflow and cosmos only: regcalc and dbt run in the project's own virtual environment.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pendulum
from airflow.sdk import DAG, Param, TriggerRule, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior, TestIndirectSelection
from cosmos.operators.local import DbtDocsLocalOperator

DAG_ID = "regcalc_lcr_daily"
# The nightly workflow's schedule: Tuesday to Saturday, for the previous business day.
SCHEDULE = "30 2 * * 2-6"
# dbt targets (profiles/profiles.yml) whose dbt tasks can run as separate processes. `local` cannot: it is
# a Spark session inside the dbt process, with an embedded Derby metastore that admits one JVM.
TARGETS = ("postgres", "redshift", "spark")
# REGCALC_WAREHOUSE_CONN_ID: the target's settings (profiles/profiles.yml) taken from an Airflow
# connection, by target: setting -> the connection's attribute.
WAREHOUSE_CONNECTION_SETTINGS = {
    "postgres": {
        "REGCALC_POSTGRES_HOST": "host",
        "REGCALC_POSTGRES_PORT": "port",
        "REGCALC_POSTGRES_USER": "login",
        "REGCALC_POSTGRES_PASSWORD": "password",
        "REGCALC_POSTGRES_DATABASE": "schema",
    },
    "redshift": {
        "REGCALC_REDSHIFT_HOST": "host",
        "REGCALC_REDSHIFT_PORT": "port",
        "REGCALC_REDSHIFT_USER": "login",
        "REGCALC_REDSHIFT_PASSWORD": "password",
        "REGCALC_REDSHIFT_DATABASE": "schema",
    },
    "spark": {"REGCALC_SPARK_HOST": "host", "REGCALC_SPARK_PORT": "port", "REGCALC_SPARK_USER": "login"},
}
JOBS_TASK = "spark_jobs"
AS_OF_TASK = "as_of_date"


class DagConfigurationError(RuntimeError):
    """A setting the DAG needs is missing or wrong; shown as the DAG's import error."""


def _project_dir() -> Path:
    configured = os.environ.get("REGCALC_PROJECT_DIR")
    project = Path(configured) if configured else Path(__file__).resolve().parents[1]
    if not (project / "dbt_project.yml").is_file():
        raise DagConfigurationError(
            f"no regcalc project at {project} (no dbt_project.yml): set REGCALC_PROJECT_DIR to the regcalc "
            "checkout on the Airflow workers (after `make setup airflow-manifest`)"
        )
    return project.resolve()


PROJECT_DIR = _project_dir()
BIN = Path(os.environ.get("REGCALC_VENV", PROJECT_DIR / ".venv")) / "bin"
MANIFEST = Path(os.environ.get("REGCALC_DBT_MANIFEST", PROJECT_DIR / "target" / "airflow" / "manifest.json"))
TARGET = os.environ.get("REGCALC_TARGET", "local")
# The CLI's defaults (regcalc.settings), made absolute: cosmos runs dbt in a copy of the project.
HOME = Path(os.environ.get("REGCALC_HOME", PROJECT_DIR / ".regcalc")).resolve()
LAKE = os.environ.get("REGCALC_LAKE", str(PROJECT_DIR / "lake"))
DOCS_URI = os.environ.get("REGCALC_DOCS_URI", "")
SPARK_SUBMIT_ARGS = shlex.split(os.environ.get("REGCALC_SPARK_SUBMIT_ARGS", ""))
WAREHOUSE_CONN_ID = os.environ.get("REGCALC_WAREHOUSE_CONN_ID", "")

if TARGET not in TARGETS:
    raise DagConfigurationError(
        f"REGCALC_TARGET={TARGET!r}: the DAG builds on one of {', '.join(TARGETS)} (each dbt task is its own "
        "process; the local Spark session target admits one process at a time: use `regcalc run` there)"
    )
for executable in ("regcalc", "dbt"):
    if not (BIN / executable).is_file():
        raise DagConfigurationError(
            f"no {BIN / executable}: run `make setup` in {PROJECT_DIR} (or set REGCALC_VENV)"
        )
if WAREHOUSE_CONN_ID and not WAREHOUSE_CONN_ID.isidentifier():
    raise DagConfigurationError(
        f"REGCALC_WAREHOUSE_CONN_ID={WAREHOUSE_CONN_ID!r}: a connection id of letters, digits and _ "
        "(templates read it as conn.<id>)"
    )
if not MANIFEST.is_file():
    raise DagConfigurationError(
        f"no dbt manifest at {MANIFEST}: run `make airflow-manifest` in {PROJECT_DIR}"
    )


def task_environment() -> dict[str, str]:
    """What every task's process gets on top of the worker's environment: the CLI's paths made absolute,
    and with REGCALC_WAREHOUSE_CONN_ID the target's settings as templates over that Airflow connection
    (rendered when the task runs; Airflow masks the password in logs and rendered fields)."""
    environment = {"REGCALC_HOME": str(HOME), "REGCALC_LAKE": LAKE, "REGCALC_TARGET": TARGET}
    if WAREHOUSE_CONN_ID:
        for name, attribute in WAREHOUSE_CONNECTION_SETTINGS[TARGET].items():
            environment[name] = f"{{{{ conn.{WAREHOUSE_CONN_ID}.{attribute} }}}}"
    return environment


def jobs_command(as_of: str, input_dir: str) -> list[str]:
    """The jobs of one as-of date: `regcalc run --skip-dbt` in the project's virtualenv (a local Spark
    session), or with REGCALC_SPARK_SUBMIT_ARGS its spark-submit on python/regcalc_submit.py."""
    arguments = ["run", "--skip-dbt", "--as-of", as_of, "--input", input_dir.replace("{as_of}", as_of)]
    if not SPARK_SUBMIT_ARGS:
        return [str(BIN / "regcalc"), *arguments]
    entry_point = PROJECT_DIR / "python" / "regcalc_submit.py"
    return [str(BIN / "spark-submit"), *SPARK_SUBMIT_ARGS, str(entry_point), *arguments]


def publish_docs(project_dir: str, **_context) -> None:
    """cosmos callback of dbt_docs (in the task's copy of the project): keep the site in $REGCALC_HOME/docs,
    and publish it to REGCALC_DOCS_URI when set."""
    site = Path(project_dir) / "target" / "static_index.html"
    kept = HOME / "docs" / site.name
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(site, kept)
    if DOCS_URI:
        subprocess.run([str(BIN / "regcalc"), "publish", str(kept), DOCS_URI], check=True)


ENVIRONMENT = task_environment()
# spark-submit's driver runs python/regcalc_submit.py with the virtualenv's Python, which has pyspark and
# regcalc (the wheel's launcher would take `python3` from PATH); the executors run no Python.
JOBS_ENVIRONMENT = {
    **ENVIRONMENT,
    "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", str(BIN / "python")),
    "PYSPARK_DRIVER_PYTHON": os.environ.get("PYSPARK_DRIVER_PYTHON", str(BIN / "python")),
}
RETRY_DELAY = dt.timedelta(minutes=2)
RUN_ID = f"{{{{ ti.xcom_pull(task_ids={JOBS_TASK!r}) }}}}"
AS_OF = f"{{{{ ti.xcom_pull(task_ids={AS_OF_TASK!r}) }}}}"
# Every dbt invocation: the run log's run id, the lake, and the one date the incremental models rewrite.
DBT_VARS = {"regcalc_run_id": RUN_ID, "lake_uri": LAKE, "recalc_dates": AS_OF}
DBT_PROFILE = ProfileConfig(
    profile_name="regcalc",
    target_name=TARGET,
    profiles_yml_filepath=PROJECT_DIR / "profiles" / "profiles.yml",
)
DBT_EXECUTION = ExecutionConfig(
    execution_mode=ExecutionMode.LOCAL,
    invocation_mode=InvocationMode.SUBPROCESS,  # dbt lives in the project's virtualenv, not Airflow's
    dbt_executable_path=BIN / "dbt",
    # A test of several models (relationships, keys_preserved, the audit checks) runs in the task of the
    # last of them to be built: dbt's default (eager) would run it with the first, before the others exist.
    test_indirect_selection=TestIndirectSelection.BUILDABLE,
)

with DAG(
    dag_id=DAG_ID,
    description="Basel III LCR of one as-of date: Spark jobs, lake loading, dbt build per model, docs",
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,  # runs share the marts: one date at a time, as the nightly workflow
    params={
        "as_of": Param(
            "", type="string", description="as-of date yyyy-mm-dd (empty: the day before the run)"
        ),
        "input": Param(
            os.environ.get("REGCALC_INPUT", ""),
            type="string",
            minLength=1,
            description="extract folder (input contract v1); {as_of} in it becomes the as-of date",
        ),
        "full_refresh": Param(False, type="boolean", description="rebuild every date (dbt --full-refresh)"),
    },
    default_args={"retries": 0},
    tags=["regcalc", "lcr"],
    doc_md=__doc__,
) as dag:

    @task(task_id=AS_OF_TASK)
    def as_of_date(params=None, dag_run=None) -> str:
        """The as-of date (yyyy-mm-dd) of this run."""
        if params["as_of"]:
            try:
                return dt.date.fromisoformat(params["as_of"]).isoformat()
            except ValueError:
                raise ValueError(f"param as_of: {params['as_of']!r} is not a date (yyyy-mm-dd)") from None
        run_day = (dag_run.logical_date or dag_run.run_after).date()
        return (run_day - dt.timedelta(days=1)).isoformat()

    @task.bash(task_id=JOBS_TASK, env=JOBS_ENVIRONMENT, append_env=True, retries=1, retry_delay=RETRY_DELAY)
    def spark_jobs(as_of: str, params=None) -> str:
        """The Spark jobs; the last line it prints is their run id (stdout of regcalc; progress is stderr)."""
        jobs = shlex.join(jobs_command(as_of, params["input"]))
        return f"set -o pipefail; run_id=$({jobs} | tail -n 1) && echo $run_id"

    @task.bash(env=ENVIRONMENT, append_env=True, retries=2, retry_delay=RETRY_DELAY)
    def load_lake(as_of: str) -> str:
        """The lake's current version of the date into the target."""
        return shlex.join([str(BIN / "regcalc"), "load-lake", "--as-of", as_of])

    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            PROJECT_DIR,
            manifest_path=MANIFEST,
            project_name="regcalc",
            env_vars=ENVIRONMENT,
        ),
        profile_config=DBT_PROFILE,
        execution_config=DBT_EXECUTION,
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.BUILD),
        operator_args={
            "vars": DBT_VARS,
            "append_env": True,
            "full_refresh": "{{ params.full_refresh }}",
            "emit_datasets": False,
        },
    )

    docs = DbtDocsLocalOperator(
        task_id="dbt_docs",
        project_dir=PROJECT_DIR,
        profile_config=DBT_PROFILE,
        dbt_executable_path=BIN / "dbt",
        invocation_mode=InvocationMode.SUBPROCESS,
        dbt_cmd_flags=["--static"],
        vars=DBT_VARS,
        env=ENVIRONMENT,
        append_env=True,
        callback=publish_docs,
    )

    @task.bash(env=ENVIRONMENT, append_env=True, trigger_rule=TriggerRule.ALL_DONE)
    def run_summary(regcalc_run_id: str) -> str:
        """The run log of every dbt task of this run; fails when one of them failed."""
        return shlex.join([str(BIN / "regcalc"), "run-summary", "--run-id", regcalc_run_id])

    as_of = as_of_date()
    regcalc_run_id = spark_jobs(as_of)  # not `run_id`: Airflow's name for the DAG run's id
    regcalc_run_id >> load_lake(as_of) >> dbt >> docs >> run_summary(regcalc_run_id)
