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
class EnvironmentSetting:
    """A REGCALC_* environment variable that changes what regcalc (or dbt through profiles.yml) does."""

    name: str
    default: str | None  # None: no default (needed only where `meaning` says)
    meaning: str


# Every REGCALC_* variable read by python/, profiles/ or the dbt project, with its default: the source of
# `regcalc --help`'s list; README "Settings" shows the same (tests/test_settings_visible.py checks both).
# Relative paths are relative to the project folder. The Spark master is not one of them: spark-submit's.
ENVIRONMENT = (
    EnvironmentSetting("REGCALC_HOME", ".regcalc", "state: Spark warehouse, Derby metastore, recalc state"),
    EnvironmentSetting("REGCALC_LAKE", "lake", "lake URI: a folder or s3a://bucket/prefix (--lake wins)"),
    EnvironmentSetting("REGCALC_TARGET", "local", "dbt target: local, spark or redshift (--target wins)"),
    EnvironmentSetting("REGCALC_SCHEMA", "regcalc", "schema of the dbt models"),
    EnvironmentSetting("REGCALC_DRIVER_MEMORY", "6g", "Spark driver memory (spark-submit: --driver-memory)"),
    EnvironmentSetting("REGCALC_SHUFFLE_PARTITIONS", "8", "spark.sql.shuffle.partitions"),
    EnvironmentSetting("REGCALC_SPARK_HOST", None, "target spark: Thrift server host (required)"),
    EnvironmentSetting("REGCALC_SPARK_PORT", "10000", "target spark: Thrift server port"),
    EnvironmentSetting("REGCALC_SPARK_USER", "", "target spark: user name"),
    EnvironmentSetting("REGCALC_REDSHIFT_HOST", None, "target redshift: endpoint (required)"),
    EnvironmentSetting("REGCALC_REDSHIFT_PORT", "5439", "target redshift: port"),
    EnvironmentSetting("REGCALC_REDSHIFT_DATABASE", None, "target redshift, Spectrum: database (required)"),
    EnvironmentSetting("REGCALC_REDSHIFT_USER", None, "target redshift (required), Spectrum: user"),
    EnvironmentSetting("REGCALC_REDSHIFT_METHOD", "database", "target redshift: database (password) or iam"),
    EnvironmentSetting("REGCALC_REDSHIFT_PASSWORD", "", "target redshift, method database: password"),
    EnvironmentSetting("REGCALC_REDSHIFT_CLUSTER_ID", "", "method iam, Spectrum: provisioned cluster id"),
    EnvironmentSetting("REGCALC_REDSHIFT_WORKGROUP", None, "Spectrum: Redshift Serverless workgroup"),
    EnvironmentSetting("REGCALC_REDSHIFT_SECRET_ARN", None, "Spectrum: Data API secret (else the user's)"),
    EnvironmentSetting("REGCALC_SPECTRUM_IAM_ROLE", None, "Spectrum: role that reads S3 and Glue (required)"),
    EnvironmentSetting("REGCALC_SPECTRUM_CATALOG_DATABASE", "regcalc_lake", "Spectrum: Glue database"),
    EnvironmentSetting("REGCALC_REDSHIFT_LAKE_LOAD", "spectrum", "load-lake on redshift: spectrum or copy"),
    EnvironmentSetting("REGCALC_POSTGRES_HOST", "localhost", "target postgres: host"),
    EnvironmentSetting("REGCALC_POSTGRES_PORT", "5432", "target postgres: port"),
    EnvironmentSetting("REGCALC_POSTGRES_USER", None, "target postgres: user (required)"),
    EnvironmentSetting("REGCALC_POSTGRES_PASSWORD", "", "target postgres: password"),
    EnvironmentSetting("REGCALC_POSTGRES_DATABASE", None, "target postgres: database (required)"),
    EnvironmentSetting("REGCALC_POSTGRES_SSLMODE", "prefer", "target postgres: libpq sslmode"),
    EnvironmentSetting("REGCALC_POSTGRES_BIN", None, "folder of initdb for pgserver (Debian's newest)"),
    EnvironmentSetting("REGCALC_S3A_JARS", "jars", "folder of Spark's S3A connector jars (make jars)"),
    EnvironmentSetting("REGCALC_S3_ENDPOINT", "", "fs.s3a.endpoint (empty: AWS S3 of the region)"),
    EnvironmentSetting("REGCALC_S3_REGION", None, "fs.s3a.endpoint.region (else AWS_REGION)"),
    EnvironmentSetting("REGCALC_S3_PATH_STYLE", "false", "fs.s3a.path.style.access (true: MinIO, moto)"),
    EnvironmentSetting("REGCALC_S3_CREDENTIALS_PROVIDER", "", "fs.s3a.aws.credentials.provider"),
)


def environment_help() -> str:
    """The settings as `regcalc --help` lists them: NAME=default (NAME alone: no default), meaning."""
    assignments = [
        setting.name if setting.default is None else f"{setting.name}={setting.default}"
        for setting in ENVIRONMENT
    ]
    width = max(len(assignment) for assignment in assignments)
    lines = ["environment (NAME=default; relative paths are in the project folder):"]
    lines += [
        f"  {assignment:<{width}}  {setting.meaning}"
        for assignment, setting in zip(assignments, ENVIRONMENT, strict=True)
    ]
    lines.append(
        "Spark master: spark-submit --master, PYSPARK_SUBMIT_ARGS, spark.master or MASTER; else local[*]"
    )
    return "\n".join(lines)


def default(name: str) -> str | None:
    """The default of a REGCALC_* setting, as ENVIRONMENT declares it."""
    return next(setting.default for setting in ENVIRONMENT if setting.name == name)


@dataclass(frozen=True)
class Settings:
    """The settings of one run, passed explicitly: to dbt as vars (profiles.yml reads them with var(),
    the environment only as the fallback of a dbt run by hand) and to the Spark session's conf. Read
    from the environment once, by from_env, with the defaults of ENVIRONMENT."""

    home: Path
    lake: str
    target: str
    schema: str

    @classmethod
    def from_env(cls, lake: str | None = None, target: str | None = None) -> Settings:
        home = Path(os.environ.get("REGCALC_HOME", PROJECT_DIR / default("REGCALC_HOME"))).resolve()
        lake_uri = lake or os.environ.get("REGCALC_LAKE", str(PROJECT_DIR / default("REGCALC_LAKE")))
        return cls(
            home=home,
            lake=normalise_uri(lake_uri),
            target=target or os.environ.get("REGCALC_TARGET", default("REGCALC_TARGET")),
            schema=os.environ.get("REGCALC_SCHEMA", default("REGCALC_SCHEMA")),
        )

    def environment(self) -> dict[str, str]:
        """The environment variables these settings stand for (for dbt's invocation context)."""
        return {
            "REGCALC_HOME": str(self.home),
            "REGCALC_LAKE": self.lake,
            "REGCALC_TARGET": self.target,
            "REGCALC_SCHEMA": self.schema,
        }

    def profile_vars(self) -> dict[str, str]:
        """The vars profiles.yml reads before the environment: the state folder, the schema and the
        S3A connector's folder (absolute: the profile's relative default only holds in the project)."""
        from regcalc.s3a import jars_dir  # s3a imports this module

        return {
            "regcalc_home": str(self.home),
            "regcalc_schema": self.schema,
            "regcalc_s3a_jars": str(jars_dir()),
        }


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


# profiles.yml as dbt renders it: var() (the vars of the run), env_var() and dbt's type filters (a value
# with as_number / as_bool becomes a number / boolean once rendered).
_PROFILE_JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined)
_PROFILE_JINJA.filters.update({name: (lambda value: value) for name in ("as_number", "as_bool", "as_text")})


def _render(value: object, variables: dict[str, str]) -> object:
    if isinstance(value, dict):
        return {key: _render(item, variables) for key, item in value.items()}
    if not isinstance(value, str):
        return value
    rendered = _PROFILE_JINJA.from_string(value).render(
        env_var=_env_var, var=lambda name, fallback=None: variables.get(name, fallback)
    )
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


def target_profile(target: str, settings: Settings | None = None) -> dict:
    """A target of profiles/profiles.yml rendered as dbt renders it for `settings` (credentials from
    the environment; without settings, what the environment says)."""
    target_type(target)  # a clear error for an unknown target
    return _render(_outputs()[target], settings.profile_vars() if settings else {})


def local_spark_conf(settings: Settings | None = None) -> dict[str, str]:
    """The `local` target's server_side_parameters, rendered for `settings`: the one definition of the
    Spark settings."""
    parameters = target_profile("local", settings)["server_side_parameters"]
    return {key: str(value) for key, value in parameters.items()}
