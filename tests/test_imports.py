"""Start-up cost: which heavy packages each kind of ``lrviz`` invocation imports, checked in a fresh interpreter.

``lrviz --help`` must not import torch, matplotlib or numpy; ``lrviz plot`` without an image must not import
torch or matplotlib; writing an image imports matplotlib but never torch (torch is only for verification).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HEAVY = ("torch", "matplotlib", "numpy", "transformers")
MARKER = "LRVIZ-IMPORTS "

# Runs the click group in-process (standalone_mode=False), then reports the exit code and sys.modules membership.
RUN_CLI = textwrap.dedent(
    f"""
    import json, sys
    from lrviz.cli import cli
    code = "returned"
    try:
        cli.main(sys.argv[1:], prog_name="lrviz", standalone_mode=False)
    except SystemExit as exit:
        code = exit.code
    sys.stdout.flush()
    loaded = sorted(sys.modules)
    print({MARKER!r} + json.dumps({{"code": code, "modules": {{name: name in loaded for name in {HEAVY!r}}}}}))
    """
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONSTARTUP", None)
    env["MPLBACKEND"] = "Agg"
    env["COLUMNS"] = "120"
    return env


def run_python(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=120)


def cli_imports(tmp_path: Path, *args: str) -> dict[str, bool]:
    completed = run_python(RUN_CLI, *args, cwd=tmp_path)
    shown = f"lrviz {' '.join(args)}\nrc {completed.returncode}\n--- stdout ---\n{completed.stdout}\n--- stderr ---\n{completed.stderr}"
    reports = [line for line in completed.stdout.splitlines() if line.startswith(MARKER)]
    assert completed.returncode == 0 and reports, shown
    report = json.loads(reports[-1][len(MARKER):])
    assert report["code"] in (0, None, "returned"), shown
    return report["modules"]


def test_import_lrviz_cli_is_light(tmp_path: Path) -> None:
    code = f"import json, sys, lrviz.cli; print(json.dumps({{n: n in sorted(sys.modules) for n in {HEAVY!r}}}))"
    completed = run_python(code, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    loaded = json.loads(completed.stdout.strip().splitlines()[-1])
    assert loaded == dict.fromkeys(HEAVY, False)


@pytest.mark.parametrize("args", [["--help"], ["plot", "--help"]], ids=["lrviz --help", "lrviz plot --help"])
def test_help_imports_no_heavy_package(tmp_path: Path, args: list[str]) -> None:
    assert cli_imports(tmp_path, *args) == dict.fromkeys(HEAVY, False)


def test_json_export_imports_neither_torch_nor_matplotlib(tmp_path: Path) -> None:
    modules = cli_imports(tmp_path, "plot", "--format", "json", "-o", str(tmp_path / "x.json"))
    assert (tmp_path / "x.json").is_file()
    assert not modules["torch"] and not modules["matplotlib"] and not modules["transformers"], modules


def test_no_file_imports_neither_torch_nor_matplotlib(tmp_path: Path) -> None:
    modules = cli_imports(tmp_path, "plot", "--no-file")
    assert os.listdir(tmp_path) == []
    assert not modules["torch"] and not modules["matplotlib"] and not modules["transformers"], modules


def test_png_imports_matplotlib_but_not_torch(tmp_path: Path) -> None:
    modules = cli_imports(tmp_path, "plot", "-o", str(tmp_path / "x.png"))
    assert (tmp_path / "x.png").read_bytes().startswith(b"\x89PNG")
    assert modules["matplotlib"], modules
    assert not modules["torch"] and not modules["transformers"], modules


def test_console_script_help(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "lrviz"
    if not script.exists():
        pytest.skip("the lrviz console script is not installed next to this interpreter")
    completed = subprocess.run([str(script), "--help"], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert "Usage:" in completed.stdout and "plot" in completed.stdout
    assert completed.stderr == ""


def test_python_m_lrviz_version(tmp_path: Path) -> None:
    completed = subprocess.run([sys.executable, "-m", "lrviz", "--version"], cwd=tmp_path, env=_env(),
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    expected = version("lrviz")
    assert completed.stdout.strip() == f"lrviz, version {expected}", completed.stdout
    import lrviz

    assert lrviz.__version__ == expected
