"""Without PyTorch: ``lrviz verify`` exits 3 with one line that says how to install it, and every other command works.

Each case runs in a fresh interpreter whose import system refuses ``torch`` (a finder at the front of
``sys.meta_path``), which is what an environment without the ``verify`` extra looks like to lrviz.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cli_helpers import lrviz_without, python_without

from lrviz.cli import cli

pytestmark = pytest.mark.slow

def lrviz_without_torch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return lrviz_without("torch", *args, cwd=cwd, columns=120, timeout=60)


def test_the_finder_really_hides_torch(tmp_path):
    completed = python_without("torch", "import torch", cwd=tmp_path)
    assert completed.returncode == 1 and "ModuleNotFoundError: No module named 'torch'" in completed.stderr


def test_verify_exits_3_with_the_install_command(tmp_path):
    completed = lrviz_without_torch("verify", "--device", "cpu", cwd=tmp_path)
    assert completed.returncode == 3, completed.stderr
    assert completed.stdout == ""
    assert completed.stderr == (
        'Error: lrviz verify needs PyTorch, which is not installed; install it with: pip install "lrviz[verify]"\n'
    )


def test_verify_still_checks_the_input_first(tmp_path):
    completed = lrviz_without_torch("verify", "--lr", "-1", cwd=tmp_path)
    assert completed.returncode == 2 and "--lr" in completed.stderr


def test_plot_works_without_torch(tmp_path):
    completed = lrviz_without_torch("plot", "--no-file", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "cosine_with_min_lr: key updates" in completed.stdout
    completed = lrviz_without_torch("plot", "-o", str(tmp_path / "x.png"), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "x.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help_without_torch(name, tmp_path):
    completed = lrviz_without_torch(name, "--help", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert f"lrviz {name}" in completed.stdout
