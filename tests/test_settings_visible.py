"""Every REGCALC_* environment variable that the code, the profiles or the dbt project read is listed in
`regcalc --help` and in the README's settings table, with the default the code uses; nothing is listed
that nothing reads."""

from __future__ import annotations

import re

from regcalc.cli import build_parser
from regcalc.settings import ENVIRONMENT, PROJECT_DIR, Settings
from regcalc.spectrum import redshift_from_env

NAME = re.compile(r"\bREGCALC_[A-Z0-9_]*[A-Z0-9]\b")  # a whole name (REGCALC_REDSHIFT_* is a prefix)
REGISTRY = PROJECT_DIR / "python" / "regcalc" / "settings.py"  # where ENVIRONMENT lists them
README_ROW = re.compile(r"^\| `(REGCALC_[A-Z0-9_]+)` \| ([^|]+) \|", re.MULTILINE)


def read_by_the_project() -> set[str]:
    files = [
        *(PROJECT_DIR / "python").rglob("*.py"),
        *(PROJECT_DIR / "profiles").glob("*.yml"),
        *(PROJECT_DIR / "macros").rglob("*.sql"),
        *(PROJECT_DIR / "models").rglob("*.sql"),
        PROJECT_DIR / "dbt_project.yml",
        PROJECT_DIR / "Makefile",
    ]
    names = set()
    for path in files:
        text = path.read_text()
        if path == REGISTRY:  # the list itself does not count as a use
            text = text[: text.index("ENVIRONMENT = (")] + text[text.index("def environment_help") :]
        names |= set(NAME.findall(text))
    return names


def test_the_list_names_exactly_the_variables_the_project_reads():
    listed = [setting.name for setting in ENVIRONMENT]
    assert len(listed) == len(set(listed))
    read = read_by_the_project()
    assert read - set(listed) == set(), "read by the project but not listed in settings.ENVIRONMENT"
    assert set(listed) - read == set(), "listed in settings.ENVIRONMENT but read nowhere"


def test_help_lists_each_with_its_default():
    text = build_parser().format_help()
    for setting in ENVIRONMENT:
        shown = setting.name if setting.default is None else f"{setting.name}={setting.default}"
        assert re.search(rf"^  {re.escape(shown)}\s+\S", text, re.MULTILINE), shown
    assert "REGCALC_SPARK_MASTER" not in text and "spark-submit --master" in text


def test_readme_lists_each_with_its_default():
    rows = dict(README_ROW.findall((PROJECT_DIR / "README.md").read_text()))
    assert sorted(rows) == sorted(setting.name for setting in ENVIRONMENT)
    for setting in ENVIRONMENT:
        expected = {None: "none", "": "(empty)"}.get(setting.default, f"`{setting.default}`")
        assert rows[setting.name].strip() == expected, setting.name


def test_profile_defaults_are_the_listed_ones():
    text = (PROJECT_DIR / "profiles" / "profiles.yml").read_text()
    calls = re.findall(r"env_var\('(REGCALC_[A-Z0-9_]+)'(, '([^']*)')?\)", text)
    assert len(calls) >= 10
    defaults = {setting.name: setting.default for setting in ENVIRONMENT}
    for name, with_default, default in calls:
        assert (default if with_default else None) == defaults[name], name


def test_python_defaults_are_the_listed_ones(monkeypatch):
    defaults = {setting.name: setting.default for setting in ENVIRONMENT}
    for setting in ENVIRONMENT:
        monkeypatch.delenv(setting.name, raising=False)
    settings = Settings.from_env()
    assert settings.home == (PROJECT_DIR / defaults["REGCALC_HOME"]).resolve()
    assert settings.lake == str((PROJECT_DIR / defaults["REGCALC_LAKE"]).resolve())
    assert (settings.target, settings.schema) == (defaults["REGCALC_TARGET"], defaults["REGCALC_SCHEMA"])
    needed = ("REGCALC_REDSHIFT_DATABASE", "REGCALC_REDSHIFT_WORKGROUP", "REGCALC_SPECTRUM_IAM_ROLE")
    spectrum = redshift_from_env(dict.fromkeys(needed, "set"))
    assert spectrum["catalog_database"] == defaults["REGCALC_SPECTRUM_CATALOG_DATABASE"]
