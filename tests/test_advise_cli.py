"""``lrviz advise`` from the command line: the issue's must-show cases, the exit-code contract, ``--json``,
``--profile auto``, the framework traps read from real config files, bad input, the figure, and start-up imports.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_helpers import invoke
from click.testing import CliRunner

from lrviz.advise.profiles import infer_profile
from lrviz.cli import cli

USER_RULES = ("F01", "F06", "F07", "F08", "F09")
WIDE = {"COLUMNS": "200"}


def run_json(args: list, code: int = 0, env: dict | None = None) -> dict:
    result = invoke(["advise", *args, "--json"], code, env=env)
    document = json.loads(result.stdout)  # exactly one JSON document on stdout
    assert document["command"] == "advise" and "lrviz_version" in document
    assert document["exit_code"] == code
    return document


def by_rule(document: dict, rule: str) -> list[dict]:
    return [f for f in document["findings"] if f["rule"] == rule]


def loud(document: dict) -> set[str]:
    return {f["rule"] for f in document["findings"] if f["severity"] in ("error", "warning")}


# ------------------------------------------------------------------------------------- the must-show list


@pytest.mark.parametrize("profile", ["auto", "full", "lora"])
def test_min_lr_2e6_at_2e4_passes_the_three_user_rules(profile):
    document = run_json(["--lr", "2e-4", "--min-lr", "2e-6", "--profile", profile], 0)
    assert not loud(document) & set(USER_RULES), document["findings"]
    assert document["counts"]["error"] == 0


def test_min_lr_2e6_plain_command_exits_0():
    result = invoke(["advise", "--lr", "2e-4", "--min-lr", "2e-6"], 0, env=WIDE)
    assert "0 errors" in result.stdout


def test_floor_above_peak_exits_1_with_an_error_naming_both_values():
    document = run_json(["--lr", "2e-4", "--min-lr", "3e-4"], 1)
    (finding,) = by_rule(document, "F01")
    assert finding["severity"] == "error"
    assert "3e-4" in finding["message"] and "2e-4" in finding["message"]
    table = invoke(["advise", "--min-lr", "3e-4"], 1, env=WIDE).stdout
    assert "error" in table and "F01" in table and "floor 3e-4 is above the peak 2e-4" in table


def test_tiny_floor_warns_it_is_1_in_20000_of_the_peak():
    document = run_json(["--lr", "2e-4", "--min-lr", "1e-8"], 0)
    (finding,) = by_rule(document, "F08")
    assert finding["severity"] == "warning" and "1/20000 of the peak" in finding["message"]
    assert "1/20000" in invoke(["advise", "--min-lr", "1e-8"], 0, env=WIDE).stdout


def test_strict_fails_on_warnings():
    run_json(["--min-lr", "1e-8", "--strict"], 1)
    run_json(["--min-lr", "2e-6", "--strict"], 0)


# ------------------------------------------------------------------------------------------- the output


def test_bare_advise_verbose_shows_the_defaults_the_phase_table_and_every_snippet():
    result = invoke(["advise", "--verbose"], 0, env=WIDE)
    out = result.stdout
    assert "cosine_with_min_lr" in out and "peak 2e-4" in out and "floor 2e-5 (1/10 of the peak)" in out
    assert "Usual settings per training phase" in out
    for title in ("LLaMA-Factory YAML", "TrainingArguments(", "command line", "Axolotl YAML", "WarmupCosineLR"):
        assert title in out, title
    assert result.stderr == ""


def test_bare_advise_fits_one_screen_at_80_columns():
    """Issue 12: a bare `lrviz advise` was 149 lines at 80 columns; now the phase table and the snippets of an
    unchanged schedule wait for --verbose, and the findings take a few lines each."""
    out = invoke(["advise"], 0, env={"COLUMNS": "80"}).stdout
    lines = out.splitlines()
    assert len(lines) <= 40, out
    assert max(len(line) for line in lines) <= 80, out
    assert "Usual settings per training phase" not in out and "--verbose" in out
    assert "LLaMA-Factory YAML" not in out and "--snippets all" in out
    assert "W03" in out and "T08" in out  # the findings are still all there


def test_findings_layout_is_compact_rule_then_indented_fix_and_evidence():
    out = invoke(["advise", "--min-lr", "3e-4"], 1, env={"COLUMNS": "80"}).stdout
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if line.split()[:2] == ["error", "F01"])
    block = []
    for line in lines[first + 1:]:
        if not line.startswith(" "):
            break
        block.append(line)
    indent = len(lines[first]) - len(lines[first].split(" ", 2)[2])
    assert all(line[:indent].strip() == "" for line in block), block  # fix and evidence indented under the message
    assert any(line.strip().startswith("fix: ") for line in block) and any("evidence (logic)" in line for line in block)
    assert "┃" not in "\n".join(lines[first - 1:first + len(block) + 1])  # no table cells


def test_changed_schedule_still_prints_the_snippets_by_default():
    out = invoke(["advise", "--min-lr", "1e-8", "--profile", "lora"], 0, env=WIDE).stdout
    assert "LLaMA-Factory YAML" in out and "Recommended schedule" in out


def test_json_document_shape():
    document = run_json([], 0)
    for key in ("profile", "schedule", "findings", "counts", "recommendation", "rules", "notes"):
        assert key in document
    rec = document["recommendation"]
    assert set(rec["snippets"]) == {"llamafactory", "trainingarguments", "cli", "axolotl", "deepspeed"}
    for finding in document["findings"]:
        assert {"rule", "severity", "message", "fix", "source", "strength"} <= set(finding)
    assert {rule["id"] for rule in document["rules"]} == {f["rule"] for f in document["findings"]}


def test_snippets_option_selects_targets():
    document = run_json(["--snippets", "axolotl,cli"], 0)
    assert set(document["recommendation"]["snippets"]) == {"axolotl", "cli"}
    out = invoke(["advise", "--snippets", "none"], 0, env=WIDE).stdout
    assert "Axolotl YAML" not in out and "LLaMA-Factory YAML" not in out


def test_recommendation_and_which_rule_wins():
    document = run_json(["--lr", "5e-4", "--min-lr", "5e-5", "--profile", "lora"], 0)
    (change,) = document["recommendation"]["changes"]
    assert change["setting"] == "floor" and change["after"].startswith("1e-5") and change["rules"] == ["F09"]
    (conflict,) = document["recommendation"]["conflicts"]
    assert "5e-6 – 1e-5" in conflict and "1/10 of the peak (5e-5)" in conflict
    dpo = run_json(["--lr", "5e-7", "--min-lr", "5e-8", "--profile", "dpo"], 0)
    assert by_rule(dpo, "F09")[0]["severity"] == "info"
    assert any("the ratio rules win" in text for text in dpo["recommendation"]["conflicts"])


def test_figure_before_and_after(tmp_path):
    png = tmp_path / "advice.png"
    result = invoke(["advise", "--min-lr", "1e-8", "-o", png], 0, env=WIDE)
    assert png.read_bytes().startswith(b"\x89PNG") and f"wrote {png}" in result.stdout
    svg = tmp_path / "advice.svg"
    run_json(["-o", svg], 0)
    assert b"<svg" in svg.read_bytes()[:400]
    assert sorted(os.listdir(tmp_path)) == ["advice.png", "advice.svg"]


# ------------------------------------------------------------------------------ configs and framework traps


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


LF_LORA = """\
stage: sft
finetuning_type: lora
dataset: alpaca_en_demo
per_device_train_batch_size: 1
gradient_accumulation_steps: 8
learning_rate: 1.0e-4
num_train_epochs: 3.0
lr_scheduler_type: cosine
warmup_ratio: 0.1
"""


def test_llamafactory_lora_config(tmp_path):
    config = write(tmp_path, "lora.yaml", LF_LORA)
    document = run_json(["--config", config, "--dataset-size", "1000"], 0)
    assert document["profile"]["name"] == "lora" and "finetuning_type: lora" in document["profile"]["why"]
    # 1000 examples, batch 1, GA 8: 125 updates per epoch × 3 = 375; warmup ceil(0.1 × 375) = 38
    assert document["schedule"]["total_steps"] == 375 and document["schedule"]["warmup_steps"] == 38
    assert by_rule(document, "T05")[0]["severity"] == "warning"
    assert by_rule(document, "F06")  # cosine decays to 0
    assert not any("removed warmup_ratio" in note for note in document["notes"])  # T05 says it
    rec = document["recommendation"]["schedule"]
    assert rec["scheduler"] == "cosine_with_min_lr" and rec["scheduler_kwargs"] == {"min_lr": 1e-6}  # 1/100 of 1e-4
    text = document["recommendation"]["snippets"]["llamafactory"]["text"]
    assert "warmup_steps: 38" in text and "warmup_ratio" not in text and "num_train_epochs: 3.0" in text


HF_TRAPS = """\
learning_rate: 2.0e-4
lr_scheduler_type: cosine_with_min_lr
lr_scheduler_kwargs:
  min_lr: 2e-6
  min_lr_rate: 0.01
  eta_min: 1.0e-6
warmup_ratio: 0.03
warmup_steps: 10
max_steps: 500
deepspeed: ds.json
loraplus_lr_ratio: 16
"""

DS_WARMUP_LR = '{"scheduler": {"type": "WarmupLR", "params": {"warmup_max_lr": "auto", "warmup_num_steps": "auto"}}}'


def test_hf_config_with_every_trap(tmp_path):
    write(tmp_path, "ds.json", DS_WARMUP_LR)
    config = write(tmp_path, "traps.yaml", HF_TRAPS)
    document = run_json(["--config", config], 1)
    rules = {f["rule"]: f for f in document["findings"]}
    assert rules["T01"]["severity"] == "error" and "min_lr_rate (0.01)" in rules["T01"]["message"]
    assert rules["T03"]["severity"] == "error" and "eta_min" in rules["T03"]["message"]
    assert rules["T04"]["severity"] == "error" and "written 2e-6" in rules["T04"]["message"] and rules["T04"]["fix"] == "write 2.0e-6"
    assert rules["T06"]["severity"] == "error" and "WarmupLR" in rules["T06"]["message"]
    assert rules["W05"]["severity"] == "warning" and rules["T05"]["severity"] == "warning"
    # LoRA+: the B matrices train at 16 × 2e-4 = 3.2e-3 and end at 3.2e-3 × 0.01 = 3.2e-5
    assert "ends at 3.2e-5, not 2e-6" in rules["T07"]["message"]
    assert document["profile"]["name"] == "lora"
    rec = document["recommendation"]["schedule"]
    assert rec["scheduler_kwargs"] == {"min_lr_rate": 0.01}
    assert rec["warmup_steps"] == 15  # ceil(0.03 × 500): transformers 5.x lets warmup_ratio win


def test_cosine_with_min_lr_config_without_a_floor(tmp_path):
    config = write(tmp_path, "nofloor.yaml", "learning_rate: 2.0e-5\nlr_scheduler_type: cosine_with_min_lr\nmax_steps: 100\n")
    document = run_json(["--config", config], 1)
    (finding,) = by_rule(document, "T02")
    assert "sets neither" in finding["message"] and "min_lr_rate: 0.1" in finding["message"]


def test_quoted_number_in_kwargs_and_a_plain_one_in_llamafactory(tmp_path):
    config = write(tmp_path, "lf.yaml", "stage: sft\nfinetuning_type: lora\nlearning_rate: 2e-4\nlr_scheduler_type: cosine_with_min_lr\n"
                                        "lr_scheduler_kwargs:\n  min_lr: '2.0e-6'\nmax_steps: 100\n")
    document = run_json(["--config", config], 1)
    severities = sorted((f["severity"], f["message"].split(" is ")[0]) for f in by_rule(document, "T04"))
    assert severities == [("error", "lf.yaml:lr_scheduler_kwargs.min_lr"), ("warning", "lf.yaml:learning_rate")]


def test_scheduler_kwargs_flag_with_a_wrong_floor_key():
    document = run_json(["--scheduler", "cosine", "--scheduler-kwargs", '{"eta_min": 1e-6}'], 1)
    (finding,) = by_rule(document, "T03")
    assert "--scheduler-kwargs eta_min" in finding["message"] and "cosine_with_min_lr with min_lr: 1.0e-6" in finding["fix"]


@pytest.mark.parametrize("ds, severity", [
    ('{"scheduler": {"type": "WarmupCosineLR", "params": {"warmup_type": "linear"}}}', "warning"),
    ('{"zero_optimization": {"stage": 2}}', None),
])
def test_deepspeed_reference(tmp_path, ds, severity):
    if ds is not None:
        write(tmp_path, "ds.json", ds)
    config = write(tmp_path, "run.yaml", "learning_rate: 2.0e-4\nlr_scheduler_type: cosine\nmax_steps: 100\ndeepspeed: ds.json\n")
    document = run_json(["--config", config], 1 if severity == "error" else 0)
    found = by_rule(document, "T06")
    assert [f["severity"] for f in found] == ([severity] if severity else [])
    assert not any("points to a DeepSpeed config" in note for note in document["notes"])


def test_a_malformed_referenced_deepspeed_file_is_bad_input_in_advise_as_in_plot(tmp_path):
    write(tmp_path, "ds.json", "{not json")
    config = write(tmp_path, "run.yaml", "learning_rate: 2.0e-4\nlr_scheduler_type: cosine\nmax_steps: 100\ndeepspeed: ds.json\n")
    errors = [invoke([command, "--config", config, "--no-file"] if command == "plot" else [command, "--config", config], 2).stderr
              for command in ("advise", "plot")]
    assert errors[0] == errors[1] and "ds.json: invalid JSON at line 1" in errors[0] and len(errors[0].splitlines()) == 1


@pytest.mark.parametrize("raw, flavor, expected", [
    ({"stage": "dpo", "finetuning_type": "lora"}, "llamafactory", "dpo-lora"),
    ({"stage": "dpo", "finetuning_type": "full"}, "llamafactory", "dpo"),
    ({"stage": "pt"}, "llamafactory", "pretrain"),
    ({"stage": "sft", "finetuning_type": "full"}, "llamafactory", "full"),
    ({"stage": "sft"}, "llamafactory", "lora"),  # LLaMA-Factory's default finetuning_type is lora
    ({"stage": "kto", "finetuning_type": "lora"}, "llamafactory", "dpo-lora"),
    ({"adapter": "qlora"}, "hf", "lora"),
    ({"rl": "dpo"}, "hf", "dpo"),
    ({"learning_rate": 1e-5}, "hf", "generic"),
])
def test_profile_auto(raw, flavor, expected):
    profile, why = infer_profile(raw, flavor, "x.yaml")
    assert profile.name == expected and why.startswith("auto")


def test_profile_flag_overrides_the_config(tmp_path):
    config = write(tmp_path, "lora.yaml", LF_LORA)
    document = run_json(["--config", config, "--dataset-size", "1000", "--profile", "full"], 0)
    assert document["profile"]["name"] == "full" and by_rule(document, "P02")  # 1e-4 is high for full FT


# ------------------------------------------------------------------------------------------- bad input


BAD = [
    (["--min-lr", "2e-6", "--min-lr-rate", "0.01"], ("--min-lr", "--min-lr-rate")),
    (["--config", "{in}/a.yaml", "--config", "{in}/a.yaml"], ("--config", "2 times")),
    (["--snippets", "yaml"], ("--snippets", "'yaml'", "llamafactory")),
    (["-o", "{out}/advice.csv"], ("advice.csv", ".png")),
    (["-o", "{out}"], ("is a directory",)),
    (["-o", "{out}/missing/advice.png"], ("does not exist",)),
    (["-o", "-"], ("-o", "--json")),
    (["--adam-beta2", "1"], ("--adam-beta2", "below 1")),
    (["--profile", "sft"], ("--profile", "sft")),
    (["--config", "{in}/nope.yaml"], ("nope.yaml", "no such file")),
    (["--config", "{in}/a.yaml"], ("--dataset-size",)),  # no max_steps: the run length is unknown
    (["--scheduler", "warmup_stable_decay"], ("num_decay_steps",)),
    (["--group-lr", "-1"], ("--group-lr",)),
]


@pytest.mark.parametrize("args, expect", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, expect):
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir(), out.mkdir()
    (inputs / "a.yaml").write_text("learning_rate: 2.0e-4\nlr_scheduler_type: cosine\n")
    argv = [a.replace("{in}", str(inputs)).replace("{out}", str(out)) for a in args]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    runner = CliRunner()
    result = runner.invoke(cli, ["advise", *argv], catch_exceptions=True)
    assert result.exit_code == 2, (result.output, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.stderr, result.stderr
    for text in expect:
        assert text in lines[0], (text, lines[0])
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written, no temporaries


# ------------------------------------------------------------------------------------------ start-up cost


@pytest.mark.slow
def test_advise_imports_neither_torch_nor_matplotlib_unless_a_figure_is_asked(tmp_path):
    from test_imports import cli_imports

    modules = cli_imports(tmp_path, "advise", "--json")
    assert not modules["torch"] and not modules["matplotlib"] and not modules["transformers"], modules
    modules = cli_imports(tmp_path, "advise", "--min-lr", "1e-8", "--profile", "lora", "--snippets", "none")
    assert not modules["torch"] and not modules["matplotlib"] and not modules["transformers"], modules
    modules = cli_imports(tmp_path, "advise", "-o", str(tmp_path / "a.png"))
    assert modules["matplotlib"] and not modules["torch"] and not modules["transformers"], modules


def test_docs_example_is_the_real_output():
    page = (Path(__file__).resolve().parent.parent / "docs" / "advise.md").read_text()
    command = "lrviz advise --lr 2e-4 --min-lr 1e-8 --profile lora --snippets llamafactory,cli"
    block = page.split(f"$ {command}\n", 1)[1].split("\n```", 1)[0]
    result = invoke(command.split()[1:], 0, env={"COLUMNS": "100"})
    actual = "\n".join(line.rstrip() for line in result.stdout.strip("\n").splitlines())
    assert actual == block.strip("\n")


def test_deepspeed_json_alone_is_advised_with_deepspeed_semantics(tmp_path):
    config = write(tmp_path, "ds.json", '{"train_batch_size": 128, "scheduler": {"type": "WarmupDecayLR", "params": '
                                        '{"warmup_min_lr": 0, "warmup_max_lr": 2e-5, "warmup_num_steps": 2000, '
                                        '"total_num_steps": 100000}}}')
    document = run_json(["--config", config], 0)
    assert document["schedule"]["framework"] == "deepspeed" and document["schedule"]["scheduler"] == "WarmupDecayLR"
    assert "WarmupDecayLR is set to decay to 0 (warmup_min_lr = 0)" in by_rule(document, "F06")[0]["message"]
    # the floor moves to 1/100 of the 2e-5 peak in DeepSpeed's own (absolute) setting
    assert document["recommendation"]["schedule"]["scheduler_kwargs"]["warmup_min_lr"] == 2e-7
    assert all(s["text"] is None for s in document["recommendation"]["snippets"].values())


def test_inline_deepspeed_mapping(tmp_path):
    config = write(tmp_path, "run.yaml", "learning_rate: 2.0e-5\nlr_scheduler_type: cosine\nmax_steps: 100\n"
                                         "deepspeed: {scheduler: {type: WarmupLR}}\n")
    (finding,) = by_rule(run_json(["--config", config], 1), "T06")
    assert finding["severity"] == "error" and "run.yaml:deepspeed (inline mapping)" in finding["message"]
