"""Without transformers, ``lrviz verify`` cannot test transformers' scheduler: it still checks the stepping against
lrviz's formula, and its last line and exit code (4; 3 with ``--require-framework``) say that the framework was not
tested, never "passed". Each case runs in a fresh interpreter whose import system refuses ``transformers``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("torch")

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

WITHOUT_TRANSFORMERS = textwrap.dedent(
    """
    import sys

    class NoTransformers:
        def find_spec(self, name, path=None, target=None):
            if name == "transformers" or name.startswith("transformers."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoTransformers())
    sys.argv = ["lrviz", *sys.argv[1:]]
    from lrviz.cli import main
    main()
    """
)


def lrviz_without_transformers(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": "200",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", WITHOUT_TRANSFORMERS, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_finder_really_hides_transformers(tmp_path):
    code = WITHOUT_TRANSFORMERS.replace("from lrviz.cli import main\nmain()", "import transformers")
    completed = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
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
