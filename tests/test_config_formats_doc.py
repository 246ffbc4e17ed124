"""docs/config-formats.md tells the truth: every file it shows is written out, every ``lrviz`` command it shows runs,
with the exit code the page gives (``# exit N``, else 0), and every arithmetic it quotes is what lrviz derives."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_helpers import invoke

DOC = (Path(__file__).resolve().parent.parent / "docs" / "config-formats.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w+)\n(.*?)\n```", DOC, flags=re.S)
COMMANDS = [line for kind, text in BLOCKS if kind == "bash" and not text.startswith("# file:")
            for line in text.splitlines() if line.startswith("lrviz ")]


def _files(folder: Path) -> None:
    for kind, text in BLOCKS:
        first = text.splitlines()[0]
        if first.startswith("# file: "):
            (folder / first[len("# file: "):].strip()).write_text(text, encoding="utf-8")
        elif kind == "json":
            (folder / "ds_auto.json").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_runs(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _files(tmp_path)
    line, _, comment = command.partition("#")
    expected = int(re.search(r"exit (\d)", comment).group(1)) if "exit" in comment else 0
    invoke(line.split()[1:], expected)


def test_the_page_shows_commands_and_files() -> None:
    assert len(COMMANDS) >= 5 and sum(text.startswith("# file:") for _, text in BLOCKS) >= 4


def test_the_quoted_arithmetic_is_lrvizs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _files(tmp_path)
    settings = json.loads(invoke(["plot", "--config", "two_datasets.yaml", "--dataset-size",
                                  "identity=91,alpaca_en_demo=52002", "--json", "--no-file"]).stdout)["schedules"][0]["settings"]
    quoted = re.search(r"`(identity min\(91.*?)`\.", " ".join(DOC.split())).group(1)
    assert quoted in settings["provenance"]["dataset_size"]
