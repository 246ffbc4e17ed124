"""Running ``lrviz`` in-process for tests, with failures that explain themselves."""

from __future__ import annotations

import traceback
from typing import Any

from click.testing import CliRunner, Result

from lrviz.cli import cli


def invoke(args: list[Any], exit_code: int = 0, *, env: dict[str, str] | None = None) -> Result:
    """Run ``lrviz ARGS``; assert the exit code and that no traceback leaked, showing stdout, stderr and any exception."""
    runner = CliRunner(env=env)
    result = runner.invoke(cli, [str(arg) for arg in args], prog_name="lrviz", catch_exceptions=True)
    exception = ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        exception = "".join(traceback.format_exception(*result.exc_info))
    assert result.exit_code == exit_code, (
        f"lrviz {' '.join(map(str, args))}\n"
        f"exit code {result.exit_code}, expected {exit_code}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}\n--- exception ---\n{exception or 'none'}"
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result
