"""LLaMA-Factory configs as LLaMA-Factory launches them (hiyouga/LLaMA-Factory ff6d4d12eeb0).

* The training-set size: ``max_samples`` per dataset (``data/loader.py::_load_single_dataset``), ``val_size`` out
  of the training set (``data/data_utils.py::split_dataset`` with datasets' ``train_test_split``: ``ceil`` for a
  fraction), one ``--dataset-size`` per dataset; then the HF Trainer's arithmetic. Expected numbers are worked
  out by hand in each test from those rules.
* What LLaMA-Factory refuses at launch: an unknown key (transformers' ``HfArgumentParser.parse_dict``, whose
  real error text is checked against the installed transformers), a floor outside ``lr_scheduler_kwargs``, a
  floor key under a scheduler without one (transformers' ``get_scheduler``: TypeError) — the same line in
  ``plot``, ``verify`` and ``check-run``, the same message and fix in ``advise``.
* The guide lrviz grew out of, walked line by line.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import invoke

from lrviz.cli import cli

BASE = ("stage: sft\nfinetuning_type: lora\ntemplate: qwen3\nlearning_rate: 1.0e-4\n"
        "lr_scheduler_type: cosine_with_min_lr\nlr_scheduler_kwargs: {min_lr: 1.0e-5}\n"
        "per_device_train_batch_size: 2\ngradient_accumulation_steps: 4\nnum_train_epochs: 3.0\n")


def write(tmp_path: Path, text: str, name: str = "lf.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def settings(*args: Any) -> dict[str, Any]:
    return json.loads(invoke(["plot", *args, "--json", "--no-file"]).stdout)["schedules"][0]["settings"]


def trainer_updates(examples: int, batch: int = 2, accumulation: int = 4, epochs: float = 3.0) -> int:
    """transformers Trainer (5.8 and 5.24, trainer.py ``_inner_training_loop``; one process, no drop_last):
    ceil(epochs * ceil(len_dataloader / accumulation)) with len_dataloader = ceil(n / batch)."""
    return math.ceil(epochs * max(1, math.ceil(math.ceil(examples / batch) / accumulation)))


# ----------------------------------------------------------------------------------- training-set size


def test_max_samples_caps_the_dataset(tmp_path: Path) -> None:
    config = write(tmp_path, BASE + "dataset: alpaca_en\nmax_samples: 1000\n")
    found = settings("--config", config, "--dataset-size", 52002)
    assert found["total_steps"] == trainer_updates(1000) == 375  # not trainer_updates(52002) = 19,503
    assert "alpaca_en min(52002, max_samples 1000) = 1000" in found["provenance"]["dataset_size"]


def test_max_samples_above_the_dataset_size_changes_nothing(tmp_path: Path) -> None:
    config = write(tmp_path, BASE + "dataset: identity\nmax_samples: 1000\n")
    assert settings("--config", config, "--dataset-size", 91)["total_steps"] == trainer_updates(91)


@pytest.mark.parametrize("val_size, train", [
    ("0.1", 999 - 100),  # ceil(0.1 * 999) = ceil(99.9) = 100 go to the eval split
    ("0.05", 999 - 50),  # ceil(49.95) = 50
    ("50", 999 - 50),  # an int above 1 is a count
    ("1", 999 - 1),  # YAML's int 1 is not > 1, so LLaMA-Factory passes test_size=1 (an int): one example
])
def test_val_size_is_taken_out_of_the_training_set(tmp_path: Path, val_size: str, train: int) -> None:
    config = write(tmp_path, BASE + f"dataset: alpaca_en\nval_size: {val_size}\n")
    found = settings("--config", config, "--dataset-size", 999)
    assert found["total_steps"] == trainer_updates(train)
    assert f"→ {train}" in found["provenance"]["dataset_size"]


def test_val_size_one_as_a_fraction_is_refused_as_datasets_refuses_it(tmp_path: Path) -> None:
    config = write(tmp_path, BASE + "dataset: alpaca_en\nval_size: 1.0\n")
    result = invoke(["plot", "--config", config, "--dataset-size", 999, "--no-file"], 2)
    assert "val_size = 1" in result.stderr and "train_test_split" in result.stderr


def test_one_size_per_dataset_with_max_samples(tmp_path: Path) -> None:
    config = write(tmp_path, BASE + "dataset: identity,alpaca_en_demo\nmax_samples: 500\nval_size: 0.1\n")
    found = settings("--config", config, "--dataset-size", "identity=91,alpaca_en_demo=1000")
    # 91 + min(1000, 500) = 591; eval split ceil(59.1) = 60; 531 train
    assert found["total_steps"] == trainer_updates(531)
    text = found["provenance"]["dataset_size"]
    assert "identity min(91, max_samples 500) = 91 + alpaca_en_demo min(1000, max_samples 500) = 500 = 591" in text
    assert "591 - ceil(0.1 × 591) = 60 → 531" in text


def test_one_size_for_two_capped_datasets_asks_for_each(tmp_path: Path) -> None:
    config = write(tmp_path, BASE + "dataset: identity,alpaca_en_demo\nmax_samples: 500\n")
    result = invoke(["plot", "--config", config, "--dataset-size", 1091, "--no-file"], 2)
    assert result.stderr.count("\n") == 1
    assert "--dataset-size identity=N,alpaca_en_demo=N" in result.stderr


@pytest.mark.parametrize("sizes, says", [
    ("identity=91", "no size for alpaca_en_demo"),
    ("identity=91,alpaca_en_demo=10,alpaca=3", "alpaca is not a dataset of"),
    ("identity=91,alpaca_en_demo", "is not NAME=N"),
    ("identity=91,identity=3", "identity is given twice"),
    ("identity=x", "is not a whole number"),
])
def test_bad_sizes_per_dataset(tmp_path: Path, sizes: str, says: str) -> None:
    config = write(tmp_path, BASE + "dataset: identity,alpaca_en_demo\nmax_samples: 500\n")
    result = invoke(["plot", "--config", config, "--dataset-size", sizes, "--no-file"], 2)
    assert says in result.stderr and result.stderr.count("\n") == 1


def test_sizes_per_dataset_without_a_llamafactory_config(tmp_path: Path) -> None:
    result = invoke(["plot", "--dataset-size", "a=1,b=2", "--no-file"], 2)
    assert "one size per dataset is for a LLaMA-Factory config" in result.stderr


@pytest.mark.parametrize("extra, says", [
    ("packing: true\n", "packing: true"),
    ("", "stage: pt packs by default"),
])
def test_packed_runs_are_refused_with_the_way_out(tmp_path: Path, extra: str, says: str) -> None:
    text = BASE + "dataset: c4_demo\n" + extra
    if not extra:
        text = text.replace("stage: sft", "stage: pt")
    config = write(tmp_path, text)
    result = invoke(["plot", "--config", config, "--dataset-size", 1000, "--no-file"], 2)
    assert says in result.stderr and "--steps N" in result.stderr
    assert settings("--config", config, "--steps", 800)["total_steps"] == 800


def test_max_steps_wins_over_the_dataset(tmp_path: Path) -> None:
    config = write(tmp_path, BASE + "dataset: alpaca_en\nmax_samples: 1000\nmax_steps: 321\n")
    assert settings("--config", config, "--dataset-size", 5000)["total_steps"] == 321


# ------------------------------------------------------------------------------- what LLaMA-Factory refuses


def hf_argparser_error(extra: dict[str, Any]) -> str:
    """The ValueError transformers' HfArgumentParser.parse_dict raises for keys no dataclass takes (installed copy)."""
    transformers = pytest.importorskip("transformers")
    parser = transformers.HfArgumentParser(transformers.TrainingArguments)
    with pytest.raises(ValueError) as raised:
        parser.parse_dict({"output_dir": "out", **extra})
    return str(raised.value)


def test_an_unknown_key_is_the_error_llamafactory_gives(tmp_path: Path) -> None:
    config = write(tmp_path, BASE + "dataset: alpaca_en\nmax_steps: 100\nlora_rnak: 8\n")
    result = invoke(["plot", "--config", config, "--no-file"], 2)
    assert hf_argparser_error({"lora_rnak": 8}) in result.stderr  # "Some keys are not used by the HfArgumentParser: [...]"
    assert "did you mean lora_rank for lora_rnak?" in result.stderr
    assert result.stderr.count("\n") == 1


def test_every_key_of_the_real_llamafactory_examples_is_accepted() -> None:
    from realworld import REAL_CONFIGS, real_files

    from lrviz.configs.pipeline import read

    for path in real_files(REAL_CONFIGS / "llamafactory", "*.yaml"):
        assert read(str(path)).rejections == (), path


def test_a_file_of_another_llamafactory_launcher_is_not_checked_key_by_key(tmp_path: Path) -> None:
    config = write(tmp_path, BASE + "dataset: alpaca_en\nmax_steps: 100\ntensor_model_parallel_size: 2\n")
    found = settings("--config", config)
    assert any("another LLaMA-Factory launcher" in note for note in found["notes"])


MISPLACED = [
    # (the file's scheduler lines, the floor line, the fix lrviz gives, the kwargs the fix gives)
    ("lr_scheduler_type: cosine_with_min_lr\n", "min_lr: 1.0e-5\n", "lr_scheduler_kwargs: {min_lr: 1.0e-5}",
     {"min_lr": 1e-5}),
    ("lr_scheduler_type: cosine\n", "min_lr: 1.0e-5\n",
     "lr_scheduler_type: cosine_with_min_lr and lr_scheduler_kwargs: {min_lr: 1.0e-5}", {"min_lr": 1e-5}),
    ("lr_scheduler_type: cosine_with_min_lr\n", "min_lr_rate: 0.1\n", "lr_scheduler_kwargs: {min_lr_rate: 0.1}",
     {"min_lr_rate": 0.1}),
    ("lr_scheduler_type: cosine_warmup_with_min_lr\nlr_scheduler_kwargs: {min_lr: 1.0e-5}\n", "warmup_lr_rate: 0.1\n",
     "lr_scheduler_kwargs: {min_lr: 1.0e-5, warmup_lr_rate: 0.1}", {"min_lr": 1e-5, "warmup_lr_rate": 0.1}),
    ("lr_scheduler_type: cosine_with_min_lr\n", "scheduler_kwargs:\n  min_lr: 1.0e-5\n",
     "lr_scheduler_kwargs: {min_lr: 1.0e-5}", {"min_lr": 1e-5}),
]

FLOOR_HEAD = "stage: sft\nfinetuning_type: lora\ndataset: alpaca_en\nlearning_rate: 1.0e-4\nmax_steps: 200\n"


def four_commands(config: Path, tmp_path: Path) -> tuple[list[str], dict[str, Any]]:
    """The error line of plot, verify and check-run, and advise's JSON, for one config."""
    log = tmp_path / "log.csv"
    log.write_text("step,lr\n1,1.0e-5\n2,2.0e-5\n", encoding="utf-8")
    lines = [invoke(["plot", "--config", config, "--no-file"], 2).stderr,
             invoke(["check-run", log, "--config", config], 2).stderr]
    from lrviz.commands.verify import verify_inputs
    from lrviz.errors import LrvizError

    context = cli.commands["verify"].make_context("verify", ["--config", str(config)])
    with pytest.raises(LrvizError) as raised:
        verify_inputs(context.params)
    lines.append(f"Error: {' '.join(str(raised.value).split())}\n")
    advice = json.loads(invoke(["advise", "--config", config, "--json"], 1).stdout)
    return lines, advice


@pytest.mark.parametrize("scheduler, floor, fix, kwargs", MISPLACED)
def test_a_misplaced_floor_is_the_same_error_in_every_command(tmp_path: Path, scheduler: str, floor: str, fix: str,
                                                              kwargs: dict[str, float]) -> None:
    config = write(tmp_path, FLOOR_HEAD + scheduler + floor)
    lines, advice = four_commands(config, tmp_path)
    assert lines[0] == lines[1] == lines[2] and lines[0].count("\n") == 1
    key = floor.split(":")[0]
    assert hf_argparser_error({key: 1}) in lines[0]  # LLaMA-Factory's launch error, word for word
    assert lines[0].rstrip().endswith(f"; fix: {fix}")
    (finding,) = [f for f in advice["findings"] if f["rule"] == "T09"]
    assert finding["severity"] == "error" and finding["fix"] == fix
    assert f"Error: --config {config}: {finding['message'].split(': ', 1)[1]}; fix: {fix}\n" == lines[0]
    # advise goes on with the fix applied: the floor is where the fix puts it
    assert advice["schedule"]["scheduler_kwargs"] == kwargs


def test_a_floor_under_a_scheduler_without_one_is_the_typeerror_transformers_raises(tmp_path: Path) -> None:
    config = write(tmp_path, FLOOR_HEAD + "lr_scheduler_type: cosine\nlr_scheduler_kwargs: {min_lr: 1.0e-5}\n")
    lines, advice = four_commands(config, tmp_path)
    assert lines[0] == lines[1] == lines[2]
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-4)
    with pytest.raises(TypeError) as raised:
        transformers.get_scheduler("cosine", optimizer, num_warmup_steps=0, num_training_steps=10,
                                   scheduler_specific_kwargs={"min_lr": 1e-5})
    assert str(raised.value) in lines[0]
    assert lines[0].rstrip().endswith("; fix: lr_scheduler_type: cosine_with_min_lr")
    (finding,) = [f for f in advice["findings"] if f["rule"] == "T09"]
    assert finding["fix"] == "lr_scheduler_type: cosine_with_min_lr"
    assert not [f for f in advice["findings"] if f["rule"] == "T03"]  # said once
    assert advice["schedule"]["scheduler"] == "cosine_with_min_lr"


def test_a_scheduler_flag_replaces_the_files_and_its_floor_is_then_accepted(tmp_path: Path) -> None:
    config = write(tmp_path, FLOOR_HEAD + "lr_scheduler_type: cosine\nlr_scheduler_kwargs: {min_lr: 1.0e-5}\n")
    found = settings("--config", config, "--scheduler", "cosine_with_min_lr")
    assert found["scheduler_kwargs"] == {"min_lr": 1e-5} and found["provenance"]["scheduler"] == "flag --scheduler"


def test_a_top_level_floor_in_a_trainingarguments_file(tmp_path: Path) -> None:
    config = write(tmp_path, "learning_rate: 1.0e-4\nlr_scheduler_type: cosine_with_min_lr\nmin_lr: 1.0e-5\nmax_steps: 100\n",
                   "train.yaml")
    result = invoke(["plot", "--config", config, "--no-file"], 2)
    assert "transformers refuses it at launch" in result.stderr
    assert hf_argparser_error({"min_lr": 1e-5}) in result.stderr
    assert result.stderr.rstrip().endswith("fix: lr_scheduler_kwargs: {min_lr: 1.0e-5}")


# ------------------------------------------------------------------------------------------ the guide


GUIDE = ("stage: sft\nfinetuning_type: lora\ndataset: alpaca_en\nlearning_rate: 1.0e-4\n"
         "lr_scheduler_type: cosine_with_min_lr\n{floor}\nwarmup_steps: {warmup}\nmax_steps: 1000\n")


def advice_for(tmp_path: Path, floor: str, warmup: str = "0.03", peak: str = "1.0e-4") -> dict[str, Any]:
    config = write(tmp_path, GUIDE.format(floor=floor, warmup=warmup).replace("1.0e-4", peak))
    return json.loads(_advise(config))


def _advise(config: Path) -> str:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["advise", "--config", str(config), "--json"])
    assert result.exit_code in (0, 1), result.stderr
    return result.stdout


def rules(document: dict[str, Any]) -> set[str]:
    return {finding["rule"] for finding in document["findings"] if finding["severity"] != "info"}


def test_the_guide_line_by_line(tmp_path: Path) -> None:
    # "for cosine_with_min_lr in LLaMA-Factory, put the floor in lr_scheduler_kwargs: {"min_lr": 1e-5}"
    written = advice_for(tmp_path, 'lr_scheduler_kwargs: {"min_lr": 1.0e-5}')
    assert written["schedule"]["scheduler_kwargs"] == {"min_lr": 1e-5}
    assert rules(written) == set()  # LLaMA-Factory launches it; the floor and warmup satisfy every rule
    drawn = settings("--config", tmp_path / "lf.yaml")
    assert drawn["scheduler_kwargs"] == {"min_lr": 1e-5}

    # ... and the guide's own mistake, the floor next to lr_scheduler_type instead of inside the kwargs
    misplaced = advice_for(tmp_path, "min_lr: 1.0e-5")
    assert "T09" in rules(misplaced)
    (finding,) = [f for f in misplaced["findings"] if f["rule"] == "T09"]
    assert "LLaMA-Factory refuses it at launch" in finding["message"]
    assert finding["fix"] == "lr_scheduler_kwargs: {min_lr: 1.0e-5}"

    # "1/10 to 1/100 of the peak"
    assert "F07" in rules(advice_for(tmp_path, "lr_scheduler_kwargs: {min_lr: 5.0e-5}"))  # 1/2 of the peak
    assert "F08" in rules(advice_for(tmp_path, "lr_scheduler_kwargs: {min_lr: 1.0e-7}"))  # 1/1000
    assert not {"F07", "F08"} & rules(advice_for(tmp_path, "lr_scheduler_kwargs: {min_lr: 5.0e-6}"))  # 1/20

    # "1e-6 to 1e-5 for LLM fine-tuning" (a LoRA fine-tune here): 2e-5 is inside 1/10–1/100 of 2e-4 but above 1e-5
    above = advice_for(tmp_path, "lr_scheduler_kwargs: {min_lr: 2.0e-5}", peak="2.0e-4")
    assert rules(above) == {"F09"}

    # "combine with warmup": a run without one is pointed out (W03, at info level for a fine-tune)
    cold = advice_for(tmp_path, "lr_scheduler_kwargs: {min_lr: 1.0e-5}", warmup="0")
    assert cold["schedule"]["warmup_steps"] == 0
    (w03,) = [f for f in cold["findings"] if f["rule"] == "W03"]
    assert w03["message"].startswith("warmup 0 updates is shorter than")
