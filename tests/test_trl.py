"""TRL configs: read as TRL's command line reads them, predicted with the config class's own defaults, and verified
by TRL's own trainer (``trl.DPOTrainer``/``trl.SFTTrainer``, both ``transformers.Trainer`` subclasses).

The oracles are the installed trl: its ``TrlParser`` parses the same files, its config classes give the defaults,
and its trainers train a tiny Llama built in code while every param group's LR is recorded at every optimizer step
and compared here with transformers' own scheduler object and with lrviz's prediction.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import pytest

from cli_helpers import invoke, lrviz_without

from lrviz.configs import read
from lrviz.configs.trl import identify
from lrviz.configs.trl_keys import KEYS, LEARNING_RATE, RELEASES


# In the style of huggingface/alignment-handbook recipes/*/dpo/config_full.yaml and TRL's own
# examples/scripts/dpo.py usage (model/dataset arguments next to DPOConfig's), without their values.
DPO = """\
# Model arguments
model_name_or_path: my-org/my-sft-model
dataset_name: my-org/preference-pairs
# DPOConfig
beta: 0.05
loss_type: sigmoid
max_length: 1024
lr_scheduler_type: cosine_with_min_lr
lr_scheduler_kwargs:
  min_lr_rate: 0.1
warmup_steps: 0.1
num_train_epochs: 1
per_device_train_batch_size: 2
gradient_accumulation_steps: 4
gradient_checkpointing: true
bf16: true
output_dir: data/my-dpo
"""


def spec_of(path: Path, *flags: str):
    from lrviz.configs import load
    from lrviz.options import Options

    params = {"dataset_size": None, "steps": None}
    for flag, value in zip(flags[::2], flags[1::2]):
        params[flag.lstrip("-").replace("-", "_")] = int(value)
    return load(Options.from_params(params), [str(path)])[0].spec


def test_a_dpo_config_is_read_as_trl_dpoconfig(tmp_path):
    path = tmp_path / "config_full.yaml"
    path.write_text(DPO)
    config = read(str(path))
    assert config.flavor == "trl" and config.trl.name == "DPOConfig" and config.trl.trainer == "DPOTrainer"
    assert set(config.trl.keys) == {"beta", "loss_type", "max_length"}


def test_without_learning_rate_the_prediction_uses_dpoconfigs_default_not_transformers(tmp_path):
    path = tmp_path / "dpo.yaml"
    path.write_text(DPO)
    spec = spec_of(path, "--dataset-size", "6000")
    assert spec.peak_lr == 1e-6 and spec.provenance["peak_lr"].where == f"trl {RELEASES[0]} DPOConfig"
    assert any("DPOConfig's default since trl 0.14.0" in note for note in spec.notes)
    # 6000 / 2 = 3000 micro-batches / 4 = 750 updates; warmup ceil(0.1 × 750) = 75
    assert spec.total_steps == 750 and spec.warmup_steps == 75

    result = invoke(["plot", "--config", path, "--dataset-size", "6000", "--no-file"], exit_code=0)
    assert "learning_rate is not set: DPOTrainer trains at 1e-6" in " ".join(result.stderr.split())


def test_a_plain_trainingarguments_file_keeps_transformers_default(tmp_path):
    path = tmp_path / "args.yaml"
    path.write_text("lr_scheduler_type: cosine\nmax_steps: 100\n")
    assert read(str(path)).flavor == "hf" and spec_of(path).peak_lr == 5e-5


def _trl():
    return pytest.importorskip("trl")


@pytest.mark.parametrize("class_name", sorted(name for name in LEARNING_RATE if RELEASES[0] in LEARNING_RATE[name]))
def test_each_installed_trl_class_is_identified_and_its_default_is_trls(tmp_path, class_name):
    """Oracle: the installed trl's own class. A file with the keys that class has today, named after its trainer,
    is read as that class, and the learning rate lrviz predicts is the class's own default."""
    trl_module = _trl()
    if RELEASES[0] != trl_module.__version__:
        pytest.skip(f"trl_keys.py was generated from trl {RELEASES[0]}, trl {trl_module.__version__} is installed")
    installed = getattr(trl_module, class_name, None)
    if installed is None:
        pytest.skip(f"trl {trl_module.__version__} has no {class_name}")
    fields = {field.name for field in dataclasses.fields(installed)}
    keys = sorted(KEYS[class_name] & fields)
    path = tmp_path / f"{class_name[:-len('Config')].lower()}.yaml"
    path.write_text("".join(f"{key}: null\n" for key in keys) + "max_steps: 10\n")
    assert identify({key: None for key in keys}, str(path)).name == class_name
    default = next(field.default for field in dataclasses.fields(installed) if field.name == "learning_rate")
    assert spec_of(path).peak_lr == default


def test_2e_minus_6_is_a_number_to_trls_command_line_as_lrviz_reads_it(tmp_path):
    """Oracle: TRL's own TrlParser (trl dpo --config) on the same file."""
    trl_module = _trl()
    path = tmp_path / "dpo.yaml"
    path.write_text(DPO + "learning_rate: 2e-6\nuse_cpu: true\n")
    parser = trl_module.TrlParser((trl_module.ScriptArguments, trl_module.DPOConfig, trl_module.ModelConfig))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # transformers' FutureWarning on gradient_checkpointing
        parsed = parser.parse_args_and_config(["--config", str(path)], fail_with_unknown_args=False)
    training = next(item for item in parsed if isinstance(item, trl_module.DPOConfig))
    spec = spec_of(path, "--dataset-size", "100")
    assert spec.peak_lr == training.learning_rate == 2e-6
    assert any("TrlParser" in note and "2.0e-6" in note for note in spec.notes)


def test_2e_minus_7_inside_lr_scheduler_kwargs_stays_text_and_is_refused(tmp_path):
    """TrlParser converts top-level values only: the kwargs keep PyYAML's string, which the scheduler fails on."""
    path = tmp_path / "dpo.yaml"
    path.write_text(DPO.replace("min_lr_rate: 0.1", "min_lr: 2e-7"))
    result = invoke(["plot", "--config", path, "--dataset-size", "100", "--no-file"], exit_code=2)
    assert "lr_scheduler_kwargs.min_lr is the string '2e-7'" in result.stderr and "2.0e-7" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_sft_packing_with_a_dataset_size_is_refused_and_steps_work(tmp_path):
    path = tmp_path / "sft.yaml"
    path.write_text("dataset_text_field: text\npacking: true\nmax_length: 2048\nlearning_rate: 2.0e-5\n")
    result = invoke(["plot", "--config", path, "--dataset-size", "5000", "--no-file"], exit_code=2)
    assert "packing: true" in result.stderr and "--steps N" in result.stderr
    invoke(["plot", "--config", path, "--steps", "400", "--no-file"], exit_code=0)


def test_config_flavor_trl_is_a_choice(tmp_path):
    path = tmp_path / "sft_args.yaml"
    path.write_text("max_steps: 100\n")
    spec = spec_of(path)
    assert spec.peak_lr == 5e-5
    result = invoke(["plot", "--config", path, "--config-flavor", "trl", "--no-file", "--json"], exit_code=0)
    assert '"peak_lr": 2e-05' in result.stdout  # read as SFTConfig (named by the file): its default


# --- verify through TRL's own trainers -----------------------------------------------------------------------------

def _verify_json(path: Path, *extra: str, exit_code: int = 0) -> dict:
    from test_verify import strict_json

    return strict_json(invoke(["verify", "--device", "cpu", "--config", path, "--json", *extra], exit_code=exit_code).stdout)


@pytest.mark.slow
def test_verify_a_dpo_config_runs_dpotrainer_and_matches_at_every_update(tmp_path):
    trl_module = _trl()
    transformers = pytest.importorskip("transformers")
    from test_verify_trainer import assert_every_group_matches, transformers_lrs

    path = tmp_path / "dpo.yaml"
    path.write_text(DPO)
    report = _verify_json(path, "--dataset-size", "96")
    training = report["training"]
    assert training["runner"] == "trl.DPOTrainer.train() (a transformers.Trainer)"
    assert training["trainer_class"] == "DPOTrainer" and training["trl"] == trl_module.__version__
    assert training["transformers"] == transformers.__version__ and training["config_framework"] == "TRL DPOConfig"
    assert issubclass(trl_module.DPOTrainer, transformers.Trainer)
    assert report["scheduler"]["kind"] == "framework" and report["framework_tested"] is True
    # the LR no file key set: DPOConfig's own default, applied by trl's class in the run
    assert {group["initial_lr"] for group in report["lr_check"]["groups"]} == {1e-6}
    # 96 triples / batch 2 = 48 micro-batches / accumulation 4 = 12 updates; warmup ceil(0.1 × 12) = 2
    assert training["trainer_max_steps"] == 12 and report["verified"]["warmup_steps"] == 2
    assert_every_group_matches(report, transformers_lrs("cosine_with_min_lr", 1e-6, 2, 12, {"min_lr_rate": 0.1}, 12))
    assert any("not DPOConfig fields" in note and "model_name_or_path" in note for note in report["notes"])

    text = " ".join(invoke(["verify", "--device", "cpu", "--config", path, "--dataset-size", "96"]).stdout.split())
    assert f"DPOTrainer.train(), trl {trl_module.__version__}, transformers {transformers.__version__}" in text
    assert "✓ verify passed" in text


@pytest.mark.slow
def test_verify_an_sft_config_runs_sfttrainer(tmp_path):
    _trl()
    from test_verify_trainer import assert_every_group_matches, transformers_lrs

    path = tmp_path / "sft.yaml"
    path.write_text("dataset_text_field: text\nmax_length: 64\nlearning_rate: 3.0e-5\nlr_scheduler_type: "
                    "warmup_stable_decay\nlr_scheduler_kwargs: {num_decay_steps: 5, min_lr_ratio: 0.1}\n"
                    "warmup_steps: 3\nmax_steps: 16\nper_device_train_batch_size: 4\n")
    report = _verify_json(path)
    assert report["training"]["trainer_class"] == "SFTTrainer"
    assert_every_group_matches(report, transformers_lrs("warmup_stable_decay", 3e-5, 3, 16,
                                                        {"num_decay_steps": 5, "min_lr_ratio": 0.1}, 16))


@pytest.mark.slow
def test_verify_a_kto_config_trains_the_plain_trainer_with_ktoconfig_and_says_so(tmp_path):
    _trl()
    path = tmp_path / "kto.yaml"
    path.write_text("beta: 0.1\ndesirable_weight: 1.0\nundesirable_weight: 1.0\nmax_steps: 12\nwarmup_steps: 2\n"
                    "lr_scheduler_type: cosine\n")
    report = _verify_json(path)
    assert report["training"]["trainer_class"] == "Trainer"
    assert {group["initial_lr"] for group in report["lr_check"]["groups"]} == {1e-6}  # KTOConfig's default
    assert any("transformers.Trainer (which KTOTrainer subclasses)" in note for note in report["notes"])


@pytest.mark.slow
def test_a_dpo_config_trl_refuses_exits_2_with_trls_reason(tmp_path):
    trl_module = _trl()
    path = tmp_path / "dpo.yaml"
    path.write_text(DPO.replace("loss_type: sigmoid", "loss_type: [sigmoid, sft]\nloss_weights: [1.0]"))
    result = invoke(["verify", "--device", "cpu", "--config", path, "--dataset-size", "16"], exit_code=2)
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: trl {trl_module.__version__} DPOConfig refuses these training arguments")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_verify_of_a_trl_config_without_trl_exits_3_naming_it(tmp_path):
    pytest.importorskip("transformers")
    path = tmp_path / "dpo.yaml"
    path.write_text(DPO)
    completed = lrviz_without("trl", "verify", "--device", "cpu", "--config", path, "--dataset-size", "16", cwd=tmp_path)
    assert completed.returncode == 3, completed.stderr
    assert "TRL DPOConfig" in completed.stderr and "pip install trl datasets" in completed.stderr
    # plot needs no trl: the default comes from lrviz's recorded table
    completed = lrviz_without("trl", "plot", "--config", path, "--dataset-size", "16", "--no-file", cwd=tmp_path)
    assert completed.returncode == 0 and "1e-6" in completed.stdout


# --- the guard in a real DPOTrainer run ------------------------------------------------------------------------------

def _dpo_run(tmp_path: Path, guard, **arguments):
    """A real trl.DPOTrainer run of 12 updates on lrviz verify's data, with ``guard`` as its callback."""
    trl_module = _trl()
    from lrviz.verify.trainer import tiny_causal_lm
    from lrviz.verify.trl_run import quiet_datasets, trainer_keywords

    model, _ = tiny_causal_lm(0)
    settings = {"max_steps": 12, "warmup_steps": 2, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 2,
                "use_cpu": True, "bf16": False, "report_to": [], "save_strategy": "no", "disable_tqdm": True,
                **arguments}
    with warnings.catch_warnings(), quiet_datasets():
        warnings.simplefilter("ignore")
        args = trl_module.DPOConfig(output_dir=str(tmp_path / "run"), **settings)
        trainer = trl_module.DPOTrainer(args=args, callbacks=[guard], **trainer_keywords("DPOConfig", model, 32, 64, 0))
        trainer.train()
    return trainer


@pytest.mark.slow
def test_the_guard_rides_along_in_dpotrainer_silently(tmp_path, caplog):
    import logging

    from lrviz.integrations import LrGuard

    guard = LrGuard()
    with caplog.at_level(logging.WARNING, logger="lrviz.guard"):
        _dpo_run(tmp_path, guard, lr_scheduler_type="cosine_with_min_lr", lr_scheduler_kwargs={"min_lr_rate": 0.1})
    assert [r for r in caplog.records if r.name == "lrviz.guard"] == []
    import json

    report = json.loads((tmp_path / "run" / "lrviz_guard.json").read_text())
    assert report["ok"] is True and report["updates_checked"] == 12
    assert report["schedule"]["peak_lr"] == 1e-6  # DPOConfig's own default, as the Trainer's arguments hold it


@pytest.mark.slow
def test_the_guard_told_the_trl_yaml_finds_the_floor_lost_in_dpotrainer(tmp_path, caplog):
    """The guard is told the TRL YAML (cosine_with_min_lr, no learning_rate: DPOConfig's 1e-6); the DPOConfig was
    built with plain cosine. The first wrong update is computed from transformers' own scheduler objects."""
    import logging

    from test_verify_trainer import transformers_lrs

    from lrviz.integrations import LrGuard, causes

    intended = tmp_path / "dpo.yaml"
    intended.write_text("beta: 0.1\nlr_scheduler_type: cosine_with_min_lr\nlr_scheduler_kwargs:\n  min_lr_rate: 0.1\n"
                        "warmup_steps: 2\nper_device_train_batch_size: 2\ngradient_accumulation_steps: 2\n")
    with_floor = transformers_lrs("cosine_with_min_lr", 1e-6, 2, 12, {"min_lr_rate": 0.1}, 12)
    without = transformers_lrs("cosine", 1e-6, 2, 12, {}, 12)
    expected = int(next(i for i, (a, b) in enumerate(zip(with_floor, without)) if abs(a - b) > 1e-12 * abs(a)))
    guard = LrGuard(str(intended))
    with caplog.at_level(logging.WARNING, logger="lrviz.guard"):
        _dpo_run(tmp_path, guard, lr_scheduler_type="cosine")
    assert guard.first_deviation["update"] == expected and guard.first_deviation["cause"] == causes.FLOOR_MISSING
    messages = [r.getMessage() for r in caplog.records if r.name == "lrviz.guard"]
    assert len(messages) == 1 and messages[0].startswith(f"lrviz guard: update {expected} ")


@pytest.mark.slow
def test_a_handbook_style_dpo_config_with_warmup_ratio_is_refused_as_dpoconfig_refuses_it(tmp_path):
    """alignment-handbook's DPO recipes (2023–24) set warmup_ratio: 0.1, which TrainingArguments of transformers 5.24+
    and so DPOConfig no longer take; plot explains it, verify refuses it with TRL's own error."""
    trl_module = _trl()
    fields = {field.name for field in dataclasses.fields(trl_module.DPOConfig)}
    if "warmup_ratio" in fields:
        pytest.skip(f"trl {trl_module.__version__} DPOConfig still takes warmup_ratio")
    path = tmp_path / "config_full.yaml"
    path.write_text(DPO.replace("warmup_steps: 0.1", "warmup_ratio: 0.1") + "evaluation_strategy: steps\n")
    plotted = invoke(["plot", "--config", path, "--dataset-size", "640", "--no-file"], exit_code=0)
    assert "removed warmup_ratio" in plotted.stderr
    refused = invoke(["verify", "--device", "cpu", "--config", path, "--dataset-size", "16"], exit_code=2)
    assert "DPOConfig.__init__() got an unexpected keyword argument 'warmup_ratio'" in refused.stderr


def test_generic_key_names_alone_do_not_make_a_trl_config(tmp_path):
    """A training script's own dataclass may have max_length or temperature: such a file stays TrainingArguments
    (transformers' 5e-5 default), unless --config-flavor trl says otherwise."""
    path = tmp_path / "train.yaml"
    path.write_text("max_length: 512\ntemperature: 0.7\nmax_steps: 100\n")
    assert read(str(path)).flavor == "hf" and spec_of(path).peak_lr == 5e-5
    assert read(str(path), "trl").trl is not None
    path.write_text("max_length: 512\nbeta: 0.1\nmax_steps: 100\n")
    assert read(str(path)).flavor == "trl"
