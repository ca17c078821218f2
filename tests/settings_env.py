"""Tests that run regcalc on settings of their own also put those in the environment (the fallback of
profiles.yml and Settings.from_env) through a MonkeyPatch, which puts back the others'."""

from __future__ import annotations

import pytest

from regcalc.settings import Settings


def use_settings(env: pytest.MonkeyPatch, settings: Settings) -> None:
    """Put `settings` in the environment through `env`; leaving `env` restores what was there."""
    env.setenv("REGCALC_HOME", str(settings.home))
    env.setenv("REGCALC_LAKE", settings.lake)
    env.setenv("REGCALC_TARGET", settings.target)
    env.setenv("REGCALC_SCHEMA", settings.schema)
