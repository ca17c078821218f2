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
        from regcalc.s3a import JARS_ENV, jars_dir  # s3a imports this module

        # Absolute: the profile's relative default (./jars) only holds when run from the project dir.
        os.environ[JARS_ENV] = str(jars_dir())


def normalise_uri(uri: str) -> str:
    """Local paths become absolute; object-store URIs (s3://, s3a://) pass through."""
    if "://" in uri:
        return uri.rstrip("/")
    return str(Path(uri).expanduser().resolve())


def _env_var(name: str, default: str | None = None) -> str:
    if name in os.environ:
        return os.environ[name]
    if default is None:
        raise RegcalcError(f"environment variable {name} is not set (profiles/profiles.yml needs it)")
    return default


# profiles.yml as dbt renders it: env_var() and dbt's type filters (a value with as_number / as_bool
# becomes a number / boolean once rendered).
_PROFILE_JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined)
_PROFILE_JINJA.filters.update({name: (lambda value: value) for name in ("as_number", "as_bool", "as_text")})


def _render(value: object) -> object:
    if isinstance(value, dict):
        return {key: _render(item) for key, item in value.items()}
    if not isinstance(value, str):
        return value
    rendered = _PROFILE_JINJA.from_string(value).render(env_var=_env_var)
    return yaml.safe_load(rendered) if "as_number" in value or "as_bool" in value else rendered


def _outputs() -> dict:
    return yaml.safe_load((PROFILES_DIR / "profiles.yml").read_text())["regcalc"]["outputs"]


def target_type(target: str) -> str:
    """The adapter type of a target of profiles/profiles.yml: spark, postgres or redshift."""
    outputs = _outputs()
    if target not in outputs:
        raise RegcalcError(
            f"no target {target!r} in {PROFILES_DIR / 'profiles.yml'}: one of {', '.join(outputs)}"
        )
    return outputs[target]["type"]


def target_profile(target: str) -> dict:
    """A target of profiles/profiles.yml rendered as dbt renders it (credentials from the environment)."""
    target_type(target)  # a clear error for an unknown target
    return _render(_outputs()[target])


def local_spark_conf() -> dict[str, str]:
    """The `local` target's server_side_parameters, rendered: the one definition of the Spark settings."""
    return {key: str(value) for key, value in target_profile("local")["server_side_parameters"].items()}
