"""Running ``lrviz`` in-process for tests, with failures that explain themselves."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
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


# A fresh interpreter whose import system refuses one package (its first argument), then runs lrviz with the rest.
WITHOUT = textwrap.dedent(
    """
    import sys

    HIDDEN = sys.argv.pop(1)

    class Hide:
        def find_spec(self, name, path=None, target=None):
            if name == HIDDEN or name.startswith(HIDDEN + "."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Hide())
    sys.argv = ["lrviz", *sys.argv[1:]]
    from lrviz.cli import main
    main()
    """
)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def lrviz_without(module: str, *args: str, cwd: Any = None, columns: int = 200,
                  timeout: int = 180) -> subprocess.CompletedProcess[str]:
    """``lrviz ARGS`` in a fresh interpreter where ``module`` (and its submodules) cannot be imported."""
    env = {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": str(columns),
           "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", WITHOUT, module, *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def python_without(module: str, code: str, cwd: Any = None) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter where ``module`` cannot be imported (to show the hiding works)."""
    script = WITHOUT.replace("from lrviz.cli import main\nmain()", code)
    return subprocess.run([sys.executable, "-c", script, module], cwd=cwd, capture_output=True, text=True, timeout=60)
