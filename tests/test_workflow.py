"""The scheduled production workflow (.github/workflows/nightly-lcr.yml) cannot run here; what can be
checked is that it calls commands that exist, with options they accept, and that every setting it
passes is one the project reads."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from regcalc.cli import build_parser
from regcalc.settings import PROJECT_DIR

WORKFLOW = PROJECT_DIR / ".github" / "workflows" / "nightly-lcr.yml"


@pytest.fixture(scope="module")
def job() -> dict:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow[True]["schedule"][0]["cron"]  # yaml reads the key `on` as True
    return workflow["jobs"]["lcr"]


def commands(job: dict, program: str) -> list[list[str]]:
    """The arguments of each call of `program`, GitHub expressions replaced by example values."""
    lines = [line.strip() for step in job["steps"] for line in step.get("run", "").splitlines()]
    lines = [re.sub(r"\$\{\{[^}]*as_of[^}]*\}\}", "2026-09-30", line) for line in lines]
    lines = [re.sub(r"\$\{\{[^}]*\}\}", "example", line) for line in lines]
    return [shlex.split(line)[1:] for line in lines if line.startswith(program + " ")]


def test_every_regcalc_command_parses(job, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "input").mkdir()  # the extract the workflow fetches; --input must be a folder
    calls = commands(job, ".venv/bin/regcalc")
    assert [call[0] for call in calls] == ["run", "publish"]
    for call in calls:
        build_parser().parse_args(call)  # exits (SystemExit) on an unknown command or option


def test_every_make_target_exists(job):
    targets = set(re.findall(r"^([a-z0-9-]+):", (PROJECT_DIR / "Makefile").read_text(), re.MULTILINE))
    used = [target for call in commands(job, "make") for target in call]
    assert used == ["setup", "jars", "redshift-check"] and set(used) <= targets


def test_every_setting_is_read_by_the_project(job):
    read = "".join(
        path.read_text()
        for pattern in ("python/regcalc/*.py", "profiles/profiles.yml")
        for path in PROJECT_DIR.glob(pattern)
    )
    settings = [name for name in job["env"] if name.startswith("REGCALC_")]
    assert len(settings) >= 10
    assert [name for name in settings if name not in read] == []
