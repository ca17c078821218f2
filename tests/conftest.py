"""Shared fixtures: one SparkSession for the whole test run (one JVM, one Derby metastore)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from moto import mock_aws

AWS_REGION = "eu-west-1"  # the region of the AWS tests (test_aws.py, test_spectrum.py)
# The dbt targets on which the tests of the analyst commands (regcalc lcr, explain, rules impact: through
# the target's dbt adapter) run, each with the same expected output: test_explain.py builds its marts per
# target (fixture `built`), test_pipeline_e2e.py and test_adjustments.py on every one of them. A
# warehouse target (postgres) needs the module's lake loaded into it before that build.
MART_TARGETS = ("local",)


@pytest.fixture(scope="session")
def regcalc_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("regcalc_home")
    os.environ["REGCALC_HOME"] = str(home)
    # Small shuffle fan-out: test data is tiny and every partition costs a task.
    os.environ.setdefault("REGCALC_SHUFFLE_PARTITIONS", "2")
    os.environ.setdefault("REGCALC_DRIVER_MEMORY", "2g")
    return home


@pytest.fixture(scope="session")
def spark(regcalc_home):
    from regcalc.session import get_spark
    from regcalc.settings import Settings

    session = get_spark(Settings.from_env(lake=str(regcalc_home / "lake")))
    yield session
    session.stop()


@pytest.fixture
def aws(monkeypatch):
    """moto's AWS (every service) with dummy credentials in AWS_REGION: nothing reaches a real account."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", AWS_REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield
