"""The documentation tells the truth: every command has help with examples, the README's commands are real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrviz.cli import cli
from lrviz.signatures import HF_SIGNATURES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help_with_examples(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.output
    assert f"lrviz {name}" in result.output


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_readme_documents_every_command(name):
    assert f"lrviz {name}" in README


def test_readme_lists_every_scheduler():
    for name in HF_SIGNATURES:
        assert f"`{name}`" in README, name


def test_ci_runs_the_readme_test_command():
    blocks = re.findall(r"```bash\n(.*?)\n```", README, flags=re.S)
    test_command = next(block for block in blocks if "pytest" in block)
    assert test_command.strip() in (ROOT / ".ci" / "run").read_text()


def test_readme_main_command_is_the_issue_one():
    assert "pip install -e . && lrviz plot --lr 2e-4 --min-lr 2e-6" in README


@pytest.mark.parametrize("args", [line for line in re.findall(r"^lrviz (plot [^\n#>]*)", README, flags=re.M)])
def test_readme_plot_examples_parse(args, tmp_path, monkeypatch):
    """Each README example runs (with files it would need written to tmp_path first)."""
    monkeypatch.chdir(tmp_path)
    for name in ("train_lora.yaml", "a.yaml", "b.yaml"):
        (tmp_path / name).write_text("stage: sft\nlearning_rate: 1.0e-4\nlr_scheduler_type: cosine\nmax_steps: 500\n")
    argv = [a.strip("'") for a in re.findall(r"'[^']*'|\S+", args)]
    result = CliRunner().invoke(cli, argv + ([] if "-o" in argv or "--no-file" in argv else ["--no-file"]))
    assert result.exit_code == 0, (args, result.output, result.stderr)


def test_bare_lrviz_shows_help_and_exits_0():
    result = CliRunner().invoke(cli, [])
    assert result.exit_code == 0, result.output + result.stderr
    assert "Usage: lrviz" in result.stdout and "plot" in result.stdout
    assert result.stderr == ""
