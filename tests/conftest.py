"""Shared fixtures: one SparkSession for the whole test run (one JVM, one Derby metastore)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


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
