"""Running `matterline` in-process, as a user would from a shell, for the CLI tests."""

from __future__ import annotations

from click.testing import CliRunner

from connector.cli import main


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """`matterline ARGS` with exactly `env` as its MATTERLINE_* settings; (exit code, stdout, stderr)."""
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr
