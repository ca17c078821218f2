"""Where things live: project directory, state directory, lake URI, dbt profile.

Everything has a default that works on a fresh clone (embedded Spark, ./lake) and can be
overridden by a CLI argument or an environment variable for production.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import jinja2
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROFILES_DIR = PROJECT_DIR / "profiles"
SEEDS_DIR = PROJECT_DIR / "seeds"


class RegcalcError(Exception):
    """An error with a message meant for the user: what is wrong and how to fix it."""


@dataclass(frozen=True)
class Settings:
    home: Path
    lake: str
    target: str
    schema: str

    @classmethod
    def from_env(cls, lake: str | None = None, target: str | None = None) -> Settings:
        home = Path(os.environ.get("REGCALC_HOME", PROJECT_DIR / ".regcalc")).resolve()
        lake_uri = lake or os.environ.get("REGCALC_LAKE", str(PROJECT_DIR / "lake"))
        return cls(
            home=home,
            lake=normalise_uri(lake_uri),
            target=target or os.environ.get("REGCALC_TARGET", "local"),
            schema=os.environ.get("REGCALC_SCHEMA", "regcalc"),
        )

    def environment(self) -> dict[str, str]:
        """The environment variables profiles.yml reads, as these settings set them."""
        return {
            "REGCALC_HOME": str(self.home),
            "REGCALC_LAKE": self.lake,
            "REGCALC_TARGET": self.target,
            "REGCALC_SCHEMA": self.schema,
        }

    def export(self) -> None:
        """Publish the settings to the environment read by profiles.yml (dbt runs in-process)."""
        os.environ.update(self.environment())


def normalise_uri(uri: str) -> str:
    """Local paths become absolute; object-store URIs (s3://, s3a://) pass through."""
    if "://" in uri:
        return uri.rstrip("/")
    return str(Path(uri).expanduser().resolve())


def _render(value: object) -> str:
    template = jinja2.Template(str(value))
    return template.render(env_var=lambda name, default=None: os.environ.get(name, default))


def local_spark_conf() -> dict[str, str]:
    """The `local` target's server_side_parameters, rendered: the one definition of the Spark settings."""
    profiles = yaml.safe_load((PROFILES_DIR / "profiles.yml").read_text())
    params = profiles["regcalc"]["outputs"]["local"]["server_side_parameters"]
    return {key: _render(value) for key, value in params.items()}
