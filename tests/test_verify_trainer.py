"""``lrviz verify --config``: the real ``transformers.Trainer.train()`` with the config's training arguments.

Each run trains a tiny Llama built in code on CPU (a few seconds). The LR every param group used at every
optimizer step is compared here again, independently of the report's own numbers, with transformers' own
scheduler object built from the same settings (stepped on a throw-away optimizer) and with lrviz's prediction.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from cli_helpers import invoke  # noqa: E402
from realworld import REAL_CONFIGS, requires_real_world  # noqa: E402
from test_verify import spec_from, strict_json  # noqa: E402  (the same JSON and spec helpers as the tiny-GPT verify tests)

from lrviz.schedules import lr_at  # noqa: E402

pytestmark = pytest.mark.slow

REL_TOL = 1e-12

LLAMAFACTORY = """\
### model
model_name_or_path: meta-llama/Llama-3.2-1B-Instruct
### method
stage: sft
do_train: true
finetuning_type: lora
lora_target: all
### dataset
dataset: alpaca_en_demo
template: llama3
cutoff_len: 1024
### output
output_dir: saves/llama3-1b/lora/sft
logging_steps: 10
save_steps: 500
report_to: none
### train
per_device_train_batch_size: 2
gradient_accumulation_steps: 4
learning_rate: 1.0e-4
num_train_epochs: 3.0
lr_scheduler_type: cosine_with_min_lr
lr_scheduler_kwargs:
  min_lr_rate: 0.1
warmup_steps: 0.1
bf16: true
"""


def transformers_lrs(name: str, lr: float, warmup: int, total: int, kwargs: dict, count: int) -> np.ndarray:
    """transformers' own scheduler object, stepped ``count`` times on a throw-away optimizer."""
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = transformers.get_scheduler(name, optimizer, num_warmup_steps=warmup, num_training_steps=total,
                                           scheduler_specific_kwargs=kwargs)
    values = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(count):
            values.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
    return np.array(values)


def assert_every_group_matches(report: dict, reference: np.ndarray | None = None) -> None:
    check = report["lr_check"]
    assert check["first_diverging_update"] is None and check["matches"] is True
    spec = spec_from(report["verified"])
    updates = check["updates"]
    assert updates == spec.total_steps == report["training"]["trainer_max_steps"]
    for group in check["groups"]:
        realized = np.array(group["realized"])
        assert len(realized) == updates
        predicted = lr_at(spec, np.arange(updates), base_lr=group["initial_lr"])
        assert np.all(np.abs(realized - predicted) <= np.maximum(REL_TOL * np.abs(predicted), 1e-18)), group["name"]
        if reference is not None:
            assert np.all(np.abs(realized - reference) <= np.maximum(REL_TOL * np.abs(reference), 1e-18)), group["name"]


def assert_real_trainer(report: dict) -> None:
    training = report["training"]
    assert training["runner"] == "transformers.Trainer.train()"
    assert training["trainer_class"] == "Trainer" and training["transformers"] == transformers.__version__
    assert report["scheduler"]["kind"] == "framework" and report["framework_tested"] is True


def test_llamafactory_cosine_with_min_lr_and_accumulation_4(tmp_path):
    config = tmp_path / "llama3_lora_sft.yaml"
    config.write_text(LLAMAFACTORY)
    result = invoke(["verify", "--device", "cpu", "--config", config, "--dataset-size", "40", "--json"], exit_code=0)
    report = strict_json(result.stdout)
    assert_real_trainer(report)
    # 40 examples / batch 2 = 20 micro-batches; / 4 = 5 updates per epoch; 3 epochs = 15; warmup ceil(0.1 × 15) = 2
    assert report["training"]["trainer_max_steps"] == 15 and report["verified"]["warmup_steps"] == 2
    assert report["training"]["grad_accum"] == 4 and report["compression"] is None
    assert report["training"]["config_framework"] == "LLaMA-Factory"
    assert_every_group_matches(report, transformers_lrs("cosine_with_min_lr", 1e-4, 2, 15, {"min_lr_rate": 0.1}, 15))
    assert any("not TrainingArguments fields" in note and "finetuning_type" in note for note in report["notes"])

    text = " ".join(invoke(["verify", "--device", "cpu", "--config", config, "--dataset-size", "40"]).stdout.split())
    assert f"Trainer.train(), transformers {transformers.__version__}" in text
    assert text.endswith("drove the optimizer and matched lrviz's prediction at every update")
    assert "✓ verify passed: the framework's own scheduler (transformers" in text


def test_hf_json_warmup_stable_decay(tmp_path):
    config = tmp_path / "training_args.json"
    config.write_text(json.dumps({"learning_rate": 3e-4, "lr_scheduler_type": "warmup_stable_decay",
                                  "lr_scheduler_kwargs": {"num_decay_steps": 6, "min_lr_ratio": 0.1},
                                  "warmup_steps": 4, "max_steps": 24, "per_device_train_batch_size": 4,
                                  "gradient_accumulation_steps": 2, "output_dir": "out"}))
    report = strict_json(invoke(["verify", "--device", "cpu", "--config", config, "--json"], exit_code=0).stdout)
    assert_real_trainer(report)
    assert report["training"]["config_framework"] == "HF TrainingArguments"
    reference = transformers_lrs("warmup_stable_decay", 3e-4, 4, 24, {"num_decay_steps": 6, "min_lr_ratio": 0.1}, 24)
    assert_every_group_matches(report, reference)


def test_a_long_configured_run_is_compressed_and_full_runs_it_whole(tmp_path):
    config = tmp_path / "long.json"
    config.write_text(json.dumps({"learning_rate": 1e-4, "lr_scheduler_type": "cosine", "warmup_steps": 100,
                                  "max_steps": 1000, "per_device_train_batch_size": 2}))
    report = strict_json(invoke(["verify", "--device", "cpu", "--config", config, "--steps", "20", "--json"]).stdout)
    assert report["compression"]["configured_steps"] == 1000 and report["compression"]["steps"] == 20
    assert report["training"]["trainer_max_steps"] == 20 and report["verified"]["warmup_steps"] == 2
    assert_every_group_matches(report, transformers_lrs("cosine", 1e-4, 2, 20, {}, 20))

    short = tmp_path / "short.json"
    short.write_text(json.dumps({"learning_rate": 1e-4, "lr_scheduler_type": "linear", "warmup_steps": 3,
                                 "max_steps": 30, "per_device_train_batch_size": 2}))
    report = strict_json(invoke(["verify", "--device", "cpu", "--config", short, "--steps", "10", "--full",
                                 "--json"]).stdout)
    assert report["compression"] is None and report["training"]["trainer_max_steps"] == 30
    assert_every_group_matches(report, transformers_lrs("linear", 1e-4, 3, 30, {}, 30))


AXOLOTL = """\
base_model: NousResearch/Llama-3.2-1B
sequence_len: 512
micro_batch_size: 2
gradient_accumulation_steps: 2
num_epochs: 2
learning_rate: 0.0002
optimizer: adamw_bnb_8bit
lr_scheduler: cosine
warmup_steps: 3
"""


def test_axolotl_yaml_with_transformers_cosine(tmp_path):
    config = tmp_path / "axolotl.yaml"
    config.write_text(AXOLOTL)
    report = strict_json(invoke(["verify", "--device", "cpu", "--config", config, "--dataset-size", "32", "--json"],
                                exit_code=0).stdout)
    assert_real_trainer(report)
    # Axolotl: ceil(32 × 2 / (2 × 2 × 1)) = 16 updates, passed to the Trainer as max_steps
    assert report["training"]["config_framework"] == "Axolotl" and report["training"]["trainer_max_steps"] == 16
    assert report["training"]["training_arguments"]["optim"] == "adamw_torch"
    assert any("optim adamw_bnb_8bit is replaced by adamw_torch" in note for note in report["notes"])
    assert_every_group_matches(report, transformers_lrs("cosine", 2e-4, 3, 16, {}, 16))


def test_axolotl_own_cosine_is_a_labelled_stand_in_with_an_honest_verdict(tmp_path):
    """Axolotl's cosine_min_lr_ratio runs Axolotl's own scheduler function, which is not installed here: the real
    Trainer trains, but LambdaLR over lrviz's formula drives the optimizer, and the verdict says so."""
    config = tmp_path / "axolotl_min_lr.yaml"
    config.write_text(AXOLOTL + "cosine_min_lr_ratio: 0.1\n")
    args = ["verify", "--device", "cpu", "--config", config, "--dataset-size", "32"]
    result = invoke(args, exit_code=4)
    last = result.stdout.strip().splitlines()[-1]
    assert "stepping checked against lrviz's formula; the framework was not tested" in last
    assert "verify passed" not in result.stdout
    report = strict_json(invoke([*args, "--json"], exit_code=4).stdout)
    assert report["passed"] is False and report["framework_tested"] is False and report["lr_check"]["matches"] is True
    assert report["scheduler"]["kind"] == "lrviz-lambda"
    required = invoke([*args, "--require-framework"], exit_code=3)
    assert "(--require-framework: exit 3)" in required.stdout


@requires_real_world
def test_a_config_the_installed_transformers_refuses_exits_2_with_its_reason():
    """LLaMA-Factory's own example (warmup_ratio): transformers 5.x TrainingArguments has no warmup_ratio."""
    path = REAL_CONFIGS / "llamafactory" / "lf_qwen3_lora_sft.yaml"
    fields = {f.name for f in __import__("dataclasses").fields(transformers.TrainingArguments)}
    if "warmup_ratio" in fields:
        pytest.skip(f"transformers {transformers.__version__} still accepts warmup_ratio")
    result = invoke(["verify", "--device", "cpu", "--config", path, "--dataset-size", "identity=8,alpaca_en_demo=8"],
                    exit_code=2)
    assert result.stdout == "" and "passed" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"transformers {transformers.__version__} refuses these training arguments" in lines[0]
    assert "warmup_ratio" in lines[0]


def test_a_floor_key_at_the_top_level_is_refused(tmp_path):
    config = tmp_path / "guide.yaml"
    config.write_text(LLAMAFACTORY.replace("lr_scheduler_kwargs:\n  min_lr_rate: 0.1\n", "min_lr: 1.0e-5\n")
                      .replace("cosine_with_min_lr", "cosine"))
    result = invoke(["verify", "--device", "cpu", "--config", config, "--dataset-size", "16"], exit_code=2)
    assert "min_lr" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "passed" not in result.stdout + result.stderr


def test_model_that_is_not_a_model_folder_exits_2(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(LLAMAFACTORY)
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "missing"):
        result = invoke(["verify", "--device", "cpu", "--config", config, "--model", folder], exit_code=2)
        assert "not a Hugging Face model folder" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    result = invoke(["verify", "--device", "cpu", "--model", tmp_path / "empty"], exit_code=2)
    assert "--model" in result.stderr


def test_a_local_model_folder_is_trained(tmp_path):
    from lrviz.verify.trainer import tiny_causal_lm

    model, _ = tiny_causal_lm(1)
    model.save_pretrained(tmp_path / "tiny")
    config = tmp_path / "c.yaml"
    config.write_text(LLAMAFACTORY)
    report = strict_json(invoke(["verify", "--device", "cpu", "--config", config, "--model", tmp_path / "tiny",
                                 "--dataset-size", "16", "--json"], exit_code=0).stdout)
    assert report["training"]["model"] == f"LlamaForCausalLM from {tmp_path / 'tiny'}"
    assert_every_group_matches(report)


def test_the_trainer_run_leaves_no_files_behind(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text(LLAMAFACTORY)
    invoke(["verify", "--device", "cpu", "--config", config, "--dataset-size", "16"], exit_code=0)
    assert sorted(os.listdir(tmp_path)) == ["c.yaml"]  # output_dir saves/... was a temporary folder


def test_cuda_without_cuda_exits_3_for_a_config_too(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    config = tmp_path / "c.yaml"
    config.write_text(LLAMAFACTORY)
    result = invoke(["verify", "--device", "cuda", "--config", config], exit_code=3)
    assert result.stderr.startswith("Error: --device cuda:") and len(result.stderr.strip().splitlines()) == 1


@pytest.fixture(autouse=True)
def _quiet_transformers():
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    yield
    transformers.logging.set_verbosity(verbosity)


def test_missing_model_path_is_checked_before_training(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(LLAMAFACTORY)
    result = invoke(["verify", "--device", "cpu", "--config", config, "--model", Path("/nonexistent/model")], exit_code=2)
    assert "--model /nonexistent/model" in result.stderr


def test_a_deepspeed_scheduler_block_runs_deepspeeds_own_class_in_the_trainer(tmp_path):
    """The LLaMA-Factory config names a DeepSpeed JSON with a WarmupDecayLR block ("auto" values): that class, not
    the config's cosine_with_min_lr, drives the optimizer; without a GPU the engine is not used, and the report says so."""
    lr_schedules = pytest.importorskip("deepspeed.runtime.lr_schedules")
    (tmp_path / "ds.json").write_text(json.dumps({
        "zero_optimization": {"stage": 2},
        "scheduler": {"type": "WarmupDecayLR", "params": {"warmup_min_lr": "auto", "warmup_max_lr": "auto",
                                                          "warmup_num_steps": "auto", "total_num_steps": "auto"}}}))
    config = tmp_path / "lf.yaml"
    config.write_text("stage: sft\nfinetuning_type: full\nper_device_train_batch_size: 2\ngradient_accumulation_steps: 2\n"
                      "learning_rate: 1.0e-4\nnum_train_epochs: 2.0\nlr_scheduler_type: cosine_with_min_lr\n"
                      "lr_scheduler_kwargs:\n  min_lr_rate: 0.1\nwarmup_steps: 3\ndeepspeed: ds.json\n")
    report = strict_json(invoke(["verify", "--device", "cpu", "--config", config, "--dataset-size", "40", "--json"],
                                exit_code=0).stdout)
    assert report["scheduler"]["kind"] == "framework" and report["scheduler"]["class"] == "WarmupDecayLR"
    assert report["framework_tested"] is True and "DeepSpeed engine is not used" in report["scheduler"]["note"]
    # 40 / 2 = 20 micro-batches, / 2 = 10 updates per epoch, 2 epochs = 20 updates; "auto" = the Trainer's values
    assert report["training"]["trainer_max_steps"] == 20

    def deepspeed_lrs(optimizer_lr: float) -> np.ndarray:
        optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=optimizer_lr)
        scheduler = lr_schedules.WarmupDecayLR(optimizer, total_num_steps=20, warmup_min_lr=0.0, warmup_max_lr=1e-4,
                                               warmup_num_steps=3)
        values = []
        for _ in range(20):
            values.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        return np.array(values)

    assert_every_group_matches(report, deepspeed_lrs(1e-4))


def test_run_shape_flags_override_the_config_and_schedule_flags_are_refused(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(LLAMAFACTORY)
    report = strict_json(invoke(["verify", "--device", "cpu", "--config", config, "--dataset-size", "48",
                                 "--grad-accum", "2", "--epochs", "1", "--json"], exit_code=0).stdout)
    # 48 / 2 = 24 micro-batches, / 2 = 12 updates, 1 epoch
    assert report["training"]["grad_accum"] == 2 and report["training"]["trainer_max_steps"] == 12
    assert_every_group_matches(report)
    result = invoke(["verify", "--device", "cpu", "--config", config, "--lr", "1e-3"], exit_code=2)
    assert "--lr with --config" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_trainer_that_fails_on_the_arguments_exits_2_in_one_line(tmp_path):
    """HfArgumentParser and TrainingArguments keep adam_epsilon "1e-8" (a PyYAML/JSON string) as text; torch's AdamW
    then refuses it when the Trainer builds the optimizer."""
    config = tmp_path / "args.json"
    config.write_text(json.dumps({"learning_rate": 1e-4, "max_steps": 5, "adam_epsilon": "1e-8"}))
    result = invoke(["verify", "--device", "cpu", "--config", config], exit_code=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Trainer failed with these training arguments: TypeError" in lines[0]
    assert result.stdout == ""


@requires_real_world
def test_axolotls_own_example_config_runs_compressed():
    """axolotl examples/archived/pythia-12b/config.yml: lr_scheduler cosine, adamw_bnb_8bit, 5 epochs, no warmup key
    (Axolotl adds min(int(0.03 × T), 100)); 256 examples → 1280 updates, compressed to 30."""
    path = REAL_CONFIGS / "axolotl" / "axo_archived_pythia12b.yml"
    report = strict_json(invoke(["verify", "--device", "cpu", "--config", path, "--steps", "30", "--json"],
                                exit_code=0).stdout)
    assert_real_trainer(report)
    assert report["configured"]["total_steps"] == 1280 and report["configured"]["warmup_steps"] == 38
    assert report["compression"]["steps"] == 30 and report["verified"]["warmup_steps"] == 1
    assert_every_group_matches(report, transformers_lrs("cosine", 3e-5, 1, 30, {}, 30))


def test_the_real_deepspeed_engine_path(tmp_path):
    """On a GPU a DeepSpeed config runs the real engine; DeepSpeed 0.19.8 also runs on this CPU, so the same path is
    tested here (``deepspeed_engine="any"``): the engine builds WarmupDecayLR from the block and steps it inside
    backward, and every update's LR matches the prediction."""
    pytest.importorskip("deepspeed")
    from lrviz.verify.predict import config_params, predict_from_config, read_launch_config
    from lrviz.verify.trainer import TrainerOptions, run_trainer_verify

    (tmp_path / "ds.json").write_text(json.dumps({
        "zero_optimization": {"stage": 0}, "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto", "train_batch_size": "auto",
        "scheduler": {"type": "WarmupDecayLR", "params": {"warmup_min_lr": "auto", "warmup_max_lr": "auto",
                                                          "warmup_num_steps": "auto", "total_num_steps": "auto"}}}))
    config = tmp_path / "lf.yaml"
    config.write_text("stage: sft\nper_device_train_batch_size: 2\ngradient_accumulation_steps: 2\nlearning_rate: 1.0e-4\n"
                      "num_train_epochs: 1.0\nlr_scheduler_type: cosine\nwarmup_steps: 3\ndeepspeed: ds.json\n")
    environment = dict(os.environ)
    spec = predict_from_config(config_params(str(config), dataset_size=48))
    report = run_trainer_verify(spec, read_launch_config(str(config)),
                                TrainerOptions(device="cpu", dataset_size=48, deepspeed_engine="any"))
    assert dict(os.environ) == environment  # nothing of the engine's set-up is left behind
    assert report.implementation["source"].startswith("deepspeed.DeepSpeedEngine with the config's scheduler block")
    assert report.implementation["class"] == "WarmupDecayLR" and report.exit_code == 0, report.problems()
    assert report.training["trainer_max_steps"] == 12 and report.recorded == 12  # 48 / 2 / 2 = 12 updates
    steps = np.arange(12)
    for group in report.groups:
        np.testing.assert_allclose(group.realized, lr_at(report.spec, steps, base_lr=group.initial_lr), rtol=1e-12, atol=1e-18)
