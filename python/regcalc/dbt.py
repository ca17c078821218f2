"""dbt, invoked in-process so that it reuses the jobs' SparkSession (one JVM per run)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from regcalc.monitoring import FAILED_STATUSES, DbtProgress
from regcalc.progress import Progress
from regcalc.settings import PROFILES_DIR, PROJECT_DIR, RegcalcError, Settings


class DbtError(RegcalcError):
    """A dbt command failed; the message lists the failing nodes."""


def copy_project(dest: Path) -> Path:
    """A copy of the dbt project (configuration, models, macros, seeds, data tests) to build with
    other seed values, e.g. a changed rule, without touching the project's own CSVs."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_DIR / "dbt_project.yml", dest / "dbt_project.yml")
    for folder in ("models", "macros", "seeds", "tests/dbt"):
        shutil.copytree(PROJECT_DIR / folder, dest / folder)
    return dest


def dbt_vars(settings: Settings, extra: dict | None = None) -> dict:
    """The vars of a dbt invocation: the lake, the settings profiles.yml reads, then `extra`."""
    return {"lake_uri": settings.lake, **settings.profile_vars(), **(extra or {})}


def _dbt_args(
    command: Sequence[str],
    settings: Settings,
    extra_vars: dict | None = None,
    project_dir: Path = PROJECT_DIR,
) -> list[str]:
    """dbt's command line for the project on the settings' target (profiles.yml reads them as vars)."""
    return [
        *command,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(PROFILES_DIR),
        "--target",
        settings.target,
        "--vars",
        json.dumps(dbt_vars(settings, extra_vars)),
    ]


def invoke_dbt(
    command: Sequence[str],
    settings: Settings,
    extra_vars: dict | None = None,
    project_dir: Path = PROJECT_DIR,
    progress: Progress | None = None,
):
    """Run one dbt command (e.g. ["build"]) against the project; raise DbtError on failure.

    `project_dir` lets tests build a copy of the project with their own rule seeds. With `progress`,
    dbt's console output is reduced to errors and each node reports one concise progress line
    instead (dbt's full log stays in logs/dbt.log).
    """
    from dbt.cli.main import dbtRunner  # imported late: dbt's import is slow and not always needed

    args = _dbt_args(command, settings, extra_vars, project_dir)
    callbacks = []
    if progress is not None:
        callbacks.append(DbtProgress(progress))
        args.append("--quiet")
    result = dbtRunner(callbacks=callbacks).invoke(args)
    if result.success:
        return result
    if result.exception is not None:
        raise DbtError(f"dbt {' '.join(command)} failed: {result.exception}")
    failures = []
    for node_result in getattr(result.result, "results", []) or []:
        if str(node_result.status) in FAILED_STATUSES:
            message = brief_error(node_result.message or "")
            failures.append(f"{node_result.node.unique_id}: {node_result.status}: {message}")
    detail = "\n  ".join(failures) if failures else "see the dbt output above and logs/dbt.log"
    raise DbtError(f"dbt {' '.join(command)} failed:\n  {detail}")


def brief_error(message: str) -> str:
    """A dbt or database error for the user: every line of a compilation error (e.g. all adjustment
    rule problems), the first lines of a runtime error, which say what failed (the engine's query
    plan and stack trace after them run to pages)."""
    lines = [line for line in message.strip().splitlines() if line.strip()]
    keep = len(lines) if "Compilation Error" in (lines[0] if lines else "") else 8
    return "\n    ".join(lines[:keep] + (["..."] if len(lines) > keep else []))
