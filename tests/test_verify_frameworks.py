"""``lrviz verify --framework deepspeed|torch|timm|megatron|nemo``: the framework's own scheduler class drives the
optimizer of the tiny GPT, stepped as that framework's training loop steps it; the report names the class and the
package version. Where a package is missing (simulated here in a fresh interpreter whose import system refuses it) a
labelled stand-in runs, the verdict says the framework was not tested (exit 4), and ``--require-framework`` makes
that exit 3.
"""

from __future__ import annotations

import importlib.util
import json
from importlib.metadata import version

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from cli_helpers import invoke, lrviz_without  # noqa: E402

from lrviz.schedules import lr_at  # noqa: E402
from lrviz.spec import ScheduleSpec  # noqa: E402

pytestmark = pytest.mark.slow


def installed(module: str) -> bool:
    if module.startswith(("megatron", "nemo")):  # present is not enough: NeMo imports hydra, lightning, onnx, ...
        from lrviz.verify.megatron_nemo import importable

        return importable(module)
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def run(*args: str, exit_code: int = 0) -> dict:
    return json.loads(invoke(["verify", "--device", "cpu", "--json", *args], exit_code=exit_code).stdout)


def assert_matches_prediction(report: dict) -> None:
    settings = report["verified"]
    spec = ScheduleSpec(scheduler=settings["scheduler"], framework=settings["framework"], peak_lr=settings["peak_lr"],
                        total_steps=settings["total_steps"], warmup_steps=settings["warmup_steps"],
                        scheduler_kwargs=settings["scheduler_kwargs"])
    groups = report["lr_check"]["groups"]
    assert len({g["initial_lr"] for g in groups}) >= 2
    for group in groups:
        realized = np.array(group["realized"])
        predicted = lr_at(spec, np.arange(len(realized)), base_lr=group["initial_lr"])
        assert len(realized) == spec.total_steps
        assert np.all(np.abs(realized - predicted) <= np.maximum(1e-12 * np.abs(predicted), 1e-18)), group["name"]


CASES = {
    "deepspeed-WarmupDecayLR": ("deepspeed.runtime", "deepspeed", "WarmupDecayLR",
                                ["--framework", "deepspeed", "--scheduler", "WarmupDecayLR", "--warmup-steps", "5"]),
    "deepspeed-WarmupCosineLR": ("deepspeed.runtime", "deepspeed", "WarmupCosineLR",
                                 ["--framework", "deepspeed", "--scheduler", "WarmupCosineLR", "--warmup-steps", "5",
                                  "--scheduler-kwargs", '{"cos_min_ratio": 0.1, "warmup_type": "linear"}']),
    "deepspeed-OneCycle": ("deepspeed.runtime", "deepspeed", "OneCycle",
                           ["--framework", "deepspeed", "--scheduler", "OneCycle", "--scheduler-kwargs",
                            '{"cycle_min_lr": 1e-4, "cycle_max_lr": 1e-3, "cycle_first_step_size": 10, '
                            '"decay_step_size": 2, "decay_lr_rate": 0.1}']),
    "deepspeed-LRRangeTest": ("deepspeed.runtime", "deepspeed", "LRRangeTest",
                              ["--framework", "deepspeed", "--scheduler", "LRRangeTest", "--scheduler-kwargs",
                               '{"lr_range_test_min_lr": 1e-4, "lr_range_test_step_size": 5}']),
    "torch-SequentialLR": ("torch", "torch", "SequentialLR",
                           ["--framework", "torch", "--scheduler", "SequentialLR", "--warmup-steps", "5"]),
    "torch-CosineAnnealingLR": ("torch", "torch", "CosineAnnealingLR",
                                ["--framework", "torch", "--scheduler", "CosineAnnealingLR", "--min-lr", "1e-5"]),
    "timm-CosineLRScheduler": ("timm", "timm", "CosineLRScheduler",
                               ["--framework", "timm", "--scheduler", "CosineLRScheduler", "--warmup-steps", "5"]),
    "megatron-cosine": ("megatron.core.optimizer_param_scheduler", "megatron-core", "OptimizerParamScheduler",
                        ["--framework", "megatron", "--scheduler", "cosine", "--warmup-ratio", "0.1", "--min-lr", "1e-5",
                         "--scheduler-kwargs", '{"global_batch_size": 16}']),
    "megatron-WSD": ("megatron.core.optimizer_param_scheduler", "megatron-core", "OptimizerParamScheduler",
                     ["--framework", "megatron", "--scheduler", "WSD", "--warmup-steps", "3",
                      "--scheduler-kwargs", '{"lr_wsd_decay_iters": 10, "lr_wsd_decay_style": "cosine"}']),
    "nemo-CosineAnnealing": ("nemo.core.optim.lr_scheduler", "nemo_toolkit", "CosineAnnealing",
                             ["--framework", "nemo", "--scheduler", "CosineAnnealing", "--warmup-steps", "5",
                              "--min-lr", "1e-5"]),
    "nemo-WarmupAnnealing": ("nemo.core.optim.lr_scheduler", "nemo_toolkit", "WarmupAnnealing",
                             ["--framework", "nemo", "--scheduler", "WarmupAnnealing", "--warmup-ratio", "0.1"]),
}
SOURCES = {"deepspeed": "deepspeed.runtime.lr_schedules.", "torch": "torch.optim.", "timm": "timm.scheduler.",
           "megatron-core": "megatron.core.optimizer_param_scheduler.OptimizerParamScheduler(",
           "nemo_toolkit": "nemo.core.optim.lr_scheduler.prepare_lr_scheduler("}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_frameworks_own_class_drives_the_optimizer(case):
    module, package, class_name, args = CASES[case]
    if not installed(module):
        pytest.skip(f"{package} is not installed")
    report = run(*args, "--steps", "30", "--lr", "1e-3")
    assert report["passed"] is True and report["exit_code"] == 0 and report["framework_tested"] is True
    scheduler = report["scheduler"]
    assert scheduler["kind"] == "framework" and scheduler["class"] == class_name
    assert scheduler["version"] == (torch.__version__ if package == "torch" else version(package))
    assert scheduler["source"].startswith(SOURCES[package]) and scheduler["package"] == package
    assert report["lr_check"]["scheduler_index"] == list(range(30))
    assert_matches_prediction(report)
    text = " ".join(invoke(["verify", "--device", "cpu", *args, "--steps", "30", "--lr", "1e-3"]).stdout.split())
    assert f"the framework's own scheduler ({package} " in text and class_name in text


MEGATRON_SCRIPT = """#!/bin/bash
torchrun --nproc_per_node 8 pretrain_gpt.py \\
    --micro-batch-size 4 --global-batch-size 256 --train-iters 40 \\
    --lr 3e-4 --min-lr 3e-5 --lr-decay-style cosine --lr-warmup-iters 4 --lr-decay-iters 36
"""
NEMO_YAML = """\
trainer:
  max_steps: 40
model:
  optim:
    name: fused_adam
    lr: 3e-4
    sched:
      name: CosineAnnealing
      warmup_steps: 4
      constant_steps: 6
      min_lr: 3e-5
      max_steps: ${trainer.max_steps}
"""


@pytest.mark.parametrize("name, text, module, package, class_name", [
    ("pretrain.sh", MEGATRON_SCRIPT, "megatron.core.optimizer_param_scheduler", "megatron-core", "OptimizerParamScheduler"),
    ("nemo.yaml", NEMO_YAML, "nemo.core.optim.lr_scheduler", "nemo_toolkit", "CosineAnnealing"),
])
def test_a_config_file_is_verified_with_the_frameworks_own_class(tmp_path, name, text, module, package, class_name):
    if not installed(module):
        pytest.skip(f"{package} is not installed")
    path = tmp_path / name
    path.write_text(text)
    report = run("--config", str(path), "--steps", "40")
    scheduler = report["scheduler"]
    assert report["exit_code"] == 0 and scheduler["kind"] == "framework" and scheduler["class"] == class_name
    assert scheduler["package"] == package and scheduler["version"] == version(package)
    assert report["lr_check"]["scheduler_index"] == list(range(40))
    assert_matches_prediction(report)
    if package == "megatron-core":  # the configured global batch, not the verify run's, counts the samples
        assert "lr_warmup_steps=1024, lr_decay_steps=9216" in scheduler["source"] and "step(increment=256)" in scheduler["source"]
    else:
        assert "'constant_steps': 6" in scheduler["source"] and "'max_steps': 40" in scheduler["source"]




@pytest.mark.parametrize("framework, package, module", [("megatron", "megatron-core", "megatron"),
                                                        ("nemo", "nemo_toolkit", "nemo")])
def test_a_missing_framework_is_a_labelled_stand_in(framework, package, module):
    completed = lrviz_without(module, "verify", "--device", "cpu", "--json", "--framework", framework, "--steps", "30")
    assert completed.returncode == 4, completed.stdout + completed.stderr
    report = json.loads(completed.stdout)
    assert report["scheduler"]["kind"] == "lrviz-lambda" and report["framework_tested"] is False
    assert report["lr_check"]["matches"] is True and report["passed"] is False
    assert report["notes"][0].startswith(f"{package} is not installed")
    assert report["verdict"] == "stepping checked against lrviz's formula; the framework was not tested"
    required = lrviz_without(module, "verify", "--device", "cpu", "--framework", framework, "--steps", "30",
                             "--require-framework")
    assert required.returncode == 3, required.stdout + required.stderr
    assert required.stdout.strip().splitlines()[-1].endswith("the framework was not tested (--require-framework: exit 3)")


def test_a_broken_nemo_install_is_named_not_run():
    """nemo_toolkit installed without one of the packages its ``nemo.core`` imports: the stand-in says which."""
    if not installed("nemo.core.optim.lr_scheduler"):
        pytest.skip("nemo_toolkit is not installed or does not import")
    completed = lrviz_without("hydra", "verify", "--device", "cpu", "--json", "--framework", "nemo", "--steps", "20")
    assert completed.returncode == 4, completed.stdout + completed.stderr
    note = json.loads(completed.stdout)["notes"][0]
    assert note.startswith(f"nemo_toolkit {version('nemo_toolkit')} failed to import (ModuleNotFoundError: No module "
                           "named 'hydra')"), note


@pytest.mark.parametrize("name, text, module, scaled", [
    ("pretrain.sh", MEGATRON_SCRIPT.replace("--train-iters 40", "--train-iters 1000").replace("--lr-decay-iters 36",
                                                                                              "--lr-decay-iters 900"),
     "megatron.core.optimizer_param_scheduler", {"lr_decay_iters": (900, 36)}),
    ("nemo.yaml", NEMO_YAML.replace("max_steps: 40", "max_steps: 1000").replace("constant_steps: 6", "constant_steps: 150"),
     "nemo.core.optim.lr_scheduler", {"constant_steps": (150, 6)}),
])
def test_a_long_configured_run_is_compressed_with_its_lengths_and_verified_with_the_frameworks_class(
        tmp_path, name, text, module, scaled):
    """``--steps`` does not replace the file's run length (--train-iters, max_steps): a longer configured run is
    compressed to it, the framework's own lengths scaled with it (1000 → 40: × 0.04), and the framework's own class
    is built from the compressed lengths."""
    if not installed(module):
        pytest.skip(f"{module} is not installed")
    path = tmp_path / name
    path.write_text(text)
    report = run("--config", str(path), "--steps", "40")
    compression = report["compression"]
    assert compression["configured_steps"] == 1000 and compression["steps"] == 40 and compression["warmup"] == 1
    assert {key: (value["configured"], value["compressed"]) for key, value in compression["scaled_kwargs"].items()} == scaled
    assert report["exit_code"] == 0 and report["scheduler"]["kind"] == "framework"
    assert_matches_prediction(report)
    key, (_, compressed) = next(iter(scaled.items()))
    if key == "lr_decay_iters":  # Megatron counts samples: 36 iterations × global batch 256
        assert f"lr_decay_steps={compressed * 256}" in report["scheduler"]["source"]
    else:
        assert f"'constant_steps': {compressed}" in report["scheduler"]["source"]


@pytest.mark.parametrize("scheduler, params, scaled", [
    ("WarmupCosineLR", {"total_num_steps": 1000, "warmup_num_steps": 50, "cos_min_ratio": 0.01}, {}),
    ("OneCycle", {"cycle_min_lr": 1e-4, "cycle_max_lr": 1e-3, "cycle_first_step_size": 500, "decay_step_size": 50,
                  "decay_lr_rate": 0.1}, {"cycle_first_step_size": (500, 50), "decay_step_size": (50, 5)}),
])
def test_a_long_deepspeed_block_is_compressed_and_verified_with_deepspeeds_class(tmp_path, scheduler, params, scaled):
    """The block's total_num_steps is the configured length (OneCycle has none: lrviz's 1,000 updates); the verify
    run is 100 updates (--steps' default), and DeepSpeed's own class is built from the compressed lengths."""
    if not installed("deepspeed.runtime"):
        pytest.skip("deepspeed is not installed")
    path = tmp_path / "ds_config.json"
    path.write_text(json.dumps({"optimizer": {"type": "AdamW", "params": {"lr": 1e-3}},
                                "scheduler": {"type": scheduler, "params": params}}))
    report = run("--config", str(path))
    compression = report["compression"]
    assert compression["configured_steps"] == 1000 and compression["steps"] == 100
    assert {key: (value["configured"], value["compressed"]) for key, value in compression["scaled_kwargs"].items()} == scaled
    assert report["exit_code"] == 0 and report["scheduler"]["kind"] == "framework"
    assert report["scheduler"]["class"] == scheduler
    assert_matches_prediction(report)


@pytest.mark.parametrize("framework, scheduler, flags, scaled", [
    ("torch", "CosineAnnealingLR", ["--scheduler-kwargs", '{"T_max": 20000}'], {"T_max": (20000, 107)}),
    ("timm", "CosineLRScheduler", ["--warmup-steps", "500"], {}),
])
def test_torch_and_timm_runs_are_compressed_too(framework, scheduler, flags, scaled):
    """100,000 examples / (8 × 2) = 6,250 updates per epoch × 3 epochs = 18,750, compressed to 100 (× 100/18,750)."""
    if not installed(framework):
        pytest.skip(f"{framework} is not installed")
    report = run("--framework", framework, "--scheduler", scheduler, "--dataset-size", "100000", *flags)
    compression = report["compression"]
    assert compression["configured_steps"] == 18750 and compression["steps"] == 100
    assert {key: (value["configured"], value["compressed"]) for key, value in compression["scaled_kwargs"].items()} == scaled
    assert report["exit_code"] == 0 and report["scheduler"]["class"] == scheduler
    assert_matches_prediction(report)


def test_a_warmup_the_framework_takes_as_a_ratio_is_shown_as_that_ratio():
    if not installed("megatron.core.optimizer_param_scheduler"):
        pytest.skip("megatron-core is not installed")
    result = invoke(["verify", "--device", "cpu", "--framework", "megatron", "--scheduler", "cosine", "--steps", "20",
                     "--warmup-ratio", "0.1", "--no-file"], env={"COLUMNS": "200"})
    schedule = next(line for line in result.stdout.splitlines() if line.startswith("schedule"))
    assert schedule.rstrip().endswith("20 updates, warmup lr_warmup_fraction 0.1"), schedule
