"""The DAG in Airflow's own virtualenv (.venv-airflow): it imports, has the expected tasks and dependencies
(one task per dbt seed and model, wired as the manifest's graph), and runs end to end with `dag.test()`.

Run by tests/test_airflow_dag.py (the project's test run), which deploys the DAG as README "Airflow"
says: the DAG file copied into a dags folder (AIRFLOW__CORE__DAGS_FOLDER, in a fresh AIRFLOW_HOME), and the
DAG's settings in the environment (REGCALC_PROJECT_DIR, REGCALC_DBT_MANIFEST, REGCALC_INPUT, REGCALC_TARGET,
REGCALC_LAKE, REGCALC_HOME, REGCALC_SCHEMA, REGCALC_WAREHOUSE_CONN_ID with the connection as
AIRFLOW_CONN_<ID>), plus REGCALC_DAG_TEST_DATES: the as-of dates to run, in order (a date may repeat: a
rerun). That test compares the results in the warehouse with the command line's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import DagRunState

DAG_FILE = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]) / "regcalc_lcr_daily.py"
PROJECT_DIR = Path(os.environ["REGCALC_PROJECT_DIR"])
DAG_ID = "regcalc_lcr_daily"
# Tasks besides the dbt nodes, with their upstream tasks.
STEPS = {
    "as_of_date": set(),
    "spark_jobs": {"as_of_date"},
    "load_lake": {"as_of_date", "spark_jobs"},
    "run_summary": {"dbt_docs", "spark_jobs"},
}


def load_dag():
    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.dags[DAG_ID]


@pytest.fixture(scope="module")
def dag():
    return load_dag()


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(Path(os.environ["REGCALC_DBT_MANIFEST"]).read_text())


def dbt_task_id(node: dict) -> str:
    """cosmos's task id of a seed or model with TestBehavior.BUILD, in the task group `dbt`."""
    return f"dbt.{node['name']}_{node['resource_type']}_build"


def test_every_seed_and_model_is_one_task_wired_as_the_manifest(dag, manifest):
    nodes = {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] in ("seed", "model") and node["package_name"] == "regcalc"
    }
    dbt_tasks = {task.task_id: task for task in dag.tasks if task.task_id.startswith("dbt.")}
    assert set(dbt_tasks) == {dbt_task_id(node) for node in nodes.values()}
    assert set(dag.task_ids) == set(dbt_tasks) | set(STEPS) | {"dbt_docs"}
    for unique_id, node in nodes.items():
        task = dbt_tasks[dbt_task_id(node)]
        parents = {
            dbt_task_id(nodes[parent]) for parent in node["depends_on"].get("nodes", []) if parent in nodes
        }
        assert task.upstream_task_ids == (parents or {"load_lake"}), unique_id
        ephemeral = node["config"]["materialized"] == "ephemeral"  # inlined by dbt: nothing to run
        assert type(task).__name__ == ("EmptyOperator" if ephemeral else "DbtBuildLocalOperator"), unique_id
        if not ephemeral:
            assert task.select == "fqn:" + ".".join(node["fqn"]), unique_id
    leaves = {task_id for task_id, task in dbt_tasks.items() if not task.downstream_task_ids - {"dbt_docs"}}
    assert dag.get_task("dbt_docs").upstream_task_ids == leaves
    for task_id, upstream in STEPS.items():
        assert dag.get_task(task_id).upstream_task_ids == upstream, task_id
    assert dag.get_task("run_summary").trigger_rule == "all_done"


def test_the_adjustment_points_are_tasks_of_their_own(dag):
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    points = project["vars"]["adjustment_points"]
    assert len(points) == 3
    for point in points.values():
        task = dag.get_task(f"dbt.{point['model']}__adjusted_model_build")
        assert f"dbt.{point['model']}_model_build" in task.upstream_task_ids


def test_the_jobs_task_runs_regcalc_or_spark_submit(monkeypatch):
    spec = importlib.util.spec_from_file_location("regcalc_lcr_daily", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bin_dir = PROJECT_DIR / ".venv" / "bin"
    arguments = ["run", "--skip-dbt", "--as-of", "2026-09-30", "--input", "/extracts/2026-09-30"]
    monkeypatch.setattr(module, "SPARK_SUBMIT_ARGS", [])
    assert module.jobs_command("2026-09-30", "/extracts/{as_of}") == [str(bin_dir / "regcalc"), *arguments]
    monkeypatch.setattr(module, "SPARK_SUBMIT_ARGS", ["--master", "yarn", "--deploy-mode", "client"])
    entry_point = PROJECT_DIR / "python" / "regcalc_submit.py"
    assert module.jobs_command("2026-09-30", "/extracts/{as_of}") == [
        str(bin_dir / "spark-submit"),
        "--master",
        "yarn",
        "--deploy-mode",
        "client",
        str(entry_point),
        *arguments,
    ]


def test_the_local_session_target_is_refused_with_a_reason(monkeypatch):
    monkeypatch.setenv("REGCALC_TARGET", "local")
    bag = DagBag(dag_folder=str(DAG_FILE))
    [error] = bag.import_errors.values()
    assert "REGCALC_TARGET='local'" in error and "one process at a time" in error


@pytest.fixture(scope="module")
def airflow_db():
    """Airflow's metadata database (SQLite in AIRFLOW_HOME), which dag.test() records the runs in."""
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)


def test_dag_runs_end_to_end(dag, airflow_db):
    """One dag.test() per date of REGCALC_DAG_TEST_DATES: every task succeeds, the docs site is kept."""
    import time

    dates = os.environ["REGCALC_DAG_TEST_DATES"].split(",")
    for day in dates:
        started = time.monotonic()
        run = dag.test(run_conf={"as_of": day})
        print(f"dag.test as_of {day}: {run.state} in {time.monotonic() - started:.1f} s", file=sys.stderr)
        failed = [ti.task_id for ti in run.get_task_instances() if ti.state != "success"]
        assert (run.state, failed) == (DagRunState.SUCCESS, []), day
    site = Path(os.environ["REGCALC_HOME"]) / "docs" / "static_index.html"
    assert "fct_lcr" in site.read_text()
