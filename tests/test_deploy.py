"""deploy/: the systemd units, the env file and the alert rules say only what the program understands.

Cheap checks an admin would otherwise find at 2 a.m.: a unit that does not parse, an ExecStart naming a
command or option `matterline` does not have, a setting the program would refuse as unknown, an alert on a
metric nobody exports.
"""

from __future__ import annotations

import configparser
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import yaml
from sqlalchemy import Engine

from connector import metrics
from connector.cli import main
from connector.settings import setting_names
from tests.support.firm import settings
from webhooks.metrics import StoreCollector

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
SYSTEMD = DEPLOY / "systemd"
UNITS = sorted(p for p in SYSTEMD.iterdir() if p.suffix in (".service", ".timer"))
SERVICES = [p for p in UNITS if p.suffix == ".service"]
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
# prometheus_client's own variable, set by the units (README "Running as services"), not a Matterline setting.
NOT_SETTINGS = frozenset({"PROMETHEUS_MULTIPROC_DIR"})
_ASSIGNMENT = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)
_METRIC = re.compile(r"\bmatterline_[a-z0-9_]+")
_SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


class _MultiDict(dict[str, str]):
    """Keeps every value of a repeated key (systemd allows `Environment=` many times), joined by newlines."""

    def __setitem__(self, key: str, value: str | list[str]) -> None:  # type: ignore[override]
        if isinstance(value, list) and key in self:
            existing = super().__getitem__(key)
            if isinstance(existing, list):
                existing.extend(value)
                return
        super().__setitem__(key, value)  # type: ignore[assignment]


def parse_unit(path: Path) -> configparser.ConfigParser:
    """A unit file read as systemd would: case-sensitive keys, repeated keys kept, `%` literal."""
    parser = configparser.ConfigParser(
        strict=False, interpolation=None, dict_type=_MultiDict, empty_lines_in_values=False
    )
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return parser


def values(unit: configparser.ConfigParser, section: str, key: str) -> list[str]:
    if not unit.has_option(section, key):
        return []
    return [line for line in unit.get(section, key).splitlines() if line.strip()]


def test_there_are_units_for_the_web_app_the_workers_and_the_sync() -> None:
    names = {p.name for p in UNITS}
    assert {"matterline-web.service", "matterline-worker@.service", "matterline-sync.timer"} <= names


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_each_unit_parses_as_systemd_reads_it(path: Path) -> None:
    unit = parse_unit(path)
    assert unit.has_section("Unit")
    assert unit.get("Unit", "Description").strip()
    assert unit.has_section("Service" if path.suffix == ".service" else "Timer")


def _command_line(path: Path) -> list[str]:
    (exec_start,) = values(parse_unit(path), "Service", "ExecStart")
    return shlex.split(exec_start)


def _walk(argv: list[str]) -> Iterator[tuple[click.Command, str]]:
    """Each option of `argv` with the click command it is given to (groups walked down to the command)."""
    command: click.Command = main
    for word in argv:
        if isinstance(command, click.Group) and not word.startswith("-"):
            found = command.commands.get(word)
            assert found is not None, f"`matterline {word}`: no such command"
            command = found
        elif word.startswith("-"):
            yield command, word.split("=", 1)[0]
    assert not isinstance(command, click.Group), f"`matterline {' '.join(argv)}` names a group, not a command"


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_each_service_runs_a_matterline_command_that_exists(path: Path) -> None:
    argv = _command_line(path)
    assert Path(argv[0]).name == "matterline"
    for command, option in _walk(argv[1:]):
        known = {name for param in command.params for name in (*param.opts, *param.secondary_opts)}
        assert option in known, f"{path.name}: `{command.name}` has no option {option}"


def test_the_web_unit_serves_several_processes_behind_the_proxy_and_does_not_migrate() -> None:
    unit = parse_unit(SYSTEMD / "matterline-web.service")
    argv = _command_line(SYSTEMD / "matterline-web.service")
    assert argv[1:] == ["serve", "--workers", "2", "--host", "127.0.0.1", "--port", "8080"]
    assert not any("init" in line for line in values(unit, "Service", "ExecStartPre"))


def _variables_named_in_deploy() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in SERVICES:
        for line in values(parse_unit(path), "Service", "Environment"):
            for assignment in shlex.split(line):
                found[assignment.split("=", 1)[0]] = path.name
    for name in _ASSIGNMENT.findall((SYSTEMD / "matterline.env.example").read_text(encoding="utf-8")):
        found[name] = "matterline.env.example"
    return found


def test_every_variable_in_deploy_is_a_setting_the_program_reads() -> None:
    found = _variables_named_in_deploy()
    assert "MATTERLINE_SECRET_KEY" in found
    assert "PROMETHEUS_MULTIPROC_DIR" in found
    unknown = {name: where for name, where in found.items() if name not in setting_names() and name not in NOT_SETTINGS}
    assert unknown == {}


def test_web_and_workers_share_one_metrics_directory_and_read_the_env_file() -> None:
    for name in ("matterline-web.service", "matterline-worker@.service"):
        unit = parse_unit(SYSTEMD / name)
        assert values(unit, "Service", "EnvironmentFile") == ["/etc/matterline/matterline.env"]
        assert "PROMETHEUS_MULTIPROC_DIR=/run/matterline/metrics" in values(unit, "Service", "Environment")
        assert "/run/matterline/metrics" in unit.get("Service", "ReadWritePaths").split()
    tmpfiles = (SYSTEMD / "matterline-tmpfiles.conf").read_text(encoding="utf-8")
    assert re.search(r"^d /run/matterline/metrics \d{4} matterline matterline -$", tmpfiles, re.MULTILINE)


def _exported_metric_names(engine: Engine) -> set[str]:
    """Every family /metrics can carry: the process's registered metrics and the store collector's gauges."""
    names = {family.name for family in metrics.REGISTRY.collect()}
    names |= {family.name for family in StoreCollector(engine, settings()).collect()}
    return {name for name in names if name.startswith("matterline_")}


def _family(name: str, exported: set[str]) -> str | None:
    if name in exported:
        return name
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and name.removesuffix(suffix) in exported:
            return name.removesuffix(suffix)
    return None


def test_the_alert_rules_parse_and_name_only_metrics_matterline_exports(sqlite_engine: Engine) -> None:
    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert len({rule["alert"] for rule in rules}) == len(rules)
    for rule in rules:
        assert rule["expr"].strip()
        assert rule["annotations"]["summary"]
    exported = _exported_metric_names(sqlite_engine)
    named = {name for rule in rules for name in _METRIC.findall(rule["expr"])}
    assert len(named) >= 9
    assert {name for name in named if _family(name, exported) is None} == set()
