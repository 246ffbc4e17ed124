"""Without transformers, ``lrviz verify`` cannot test transformers' scheduler: it still checks the stepping against
lrviz's formula, and its last line and exit code (4; 3 with ``--require-framework``) say that the framework was not
tested, never "passed". Each case runs in a fresh interpreter whose import system refuses ``transformers``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cli_helpers import lrviz_without, python_without

pytest.importorskip("torch")

pytestmark = pytest.mark.slow

def lrviz_without_transformers(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return lrviz_without("transformers", *args, cwd=cwd, timeout=120)


def test_the_finder_really_hides_transformers(tmp_path):
    completed = python_without("transformers", "import transformers", cwd=tmp_path)
    assert completed.returncode == 1 and "No module named 'transformers'" in completed.stderr


def test_a_config_without_transformers_is_not_a_pass(tmp_path):
    config = tmp_path / "sft.yaml"
    config.write_text("learning_rate: 1.0e-4\nlr_scheduler_type: cosine_with_min_lr\nlr_scheduler_kwargs:\n"
                      "  min_lr_rate: 0.1\nwarmup_steps: 3\nmax_steps: 30\n")
    completed = lrviz_without_transformers("verify", "--device", "cpu", "--config", str(config), cwd=tmp_path)
    assert completed.returncode == 4, completed.stdout + completed.stderr
    last = completed.stdout.strip().splitlines()[-1]
    assert last == "! stepping checked against lrviz's formula; the framework was not tested"
    assert "verify passed" not in completed.stdout
    required = lrviz_without_transformers("verify", "--device", "cpu", "--config", str(config), "--require-framework",
                                          cwd=tmp_path)
    assert required.returncode == 3
    assert required.stdout.strip().splitlines()[-1].endswith("(--require-framework: exit 3)")
