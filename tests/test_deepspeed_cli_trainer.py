"""A DeepSpeed JSON with "auto" values, launched by the HF Trainer from the command line.

``deepspeed train.py --deepspeed ds_config.json --learning_rate 1e-5 --per_device_train_batch_size 2 ...``: no
training config file; the flags are the Trainer's ``TrainingArguments``. transformers fills the "auto" values
(``integrations/deepspeed.py::HfTrainerDeepSpeedConfig.trainer_config_process`` and
``trainer_config_finalize``) and DeepSpeed builds the scheduler from the filled block. Here the real
``HfTrainerDeepSpeedConfig`` fills the block from real ``TrainingArguments``, the real DeepSpeed class runs it,
and lrviz's curve for the same flags must equal it at every update.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import invoke
from realworld import REAL_CONFIGS

QWEN = REAL_CONFIGS / "deepspeed" / "qwen_finetune_ds_zero2_auto.json"  # WarmupLR, every value "auto"

OWN = {
    "optimizer": {"type": "AdamW", "params": {"lr": "auto"}},
    "scheduler": {"type": "WarmupDecayLR", "params": {"warmup_min_lr": "auto", "warmup_max_lr": "auto",
                                                     "warmup_num_steps": "auto", "total_num_steps": "auto"}},
}


def trainer_updates(examples: int, batch: int, accumulation: int, epochs: float) -> int:
    """transformers 5.24 trainer.py (one process, no drop_last): ceil(epochs * ceil(ceil(n / batch) / accumulation))."""
    return math.ceil(epochs * max(1, math.ceil(math.ceil(examples / batch) / accumulation)))


def transformers_fill(ds: dict[str, Any], tmp_path: Path, *, lr: float, batch: int, accumulation: int, epochs: float,
                      warmup: float, examples: int) -> dict[str, Any]:
    """The scheduler block as the HF Trainer hands it to DeepSpeed (the real HfTrainerDeepSpeedConfig)."""
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    args = transformers.TrainingArguments(output_dir=str(tmp_path / "out"), learning_rate=lr,
                                          per_device_train_batch_size=batch, gradient_accumulation_steps=accumulation,
                                          num_train_epochs=epochs, warmup_steps=warmup, report_to=[])
    config = HfTrainerDeepSpeedConfig(copy.deepcopy(ds))
    config.trainer_config_process(args)

    class Model:  # what trainer_config_finalize reads for ZeRO's "auto" bucket sizes
        class config:
            hidden_size = 64

    config.trainer_config_finalize(args, Model(), trainer_updates(examples, batch, accumulation, epochs))
    return config.config["scheduler"]


def deepspeed_lrs(block: dict[str, Any], peak: float, updates: int) -> list[float]:
    torch = pytest.importorskip("torch")
    lr_schedules = pytest.importorskip("deepspeed.runtime.lr_schedules")
    logging.getLogger("DeepSpeed").setLevel(logging.ERROR)
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=peak)
    scheduler = getattr(lr_schedules, block["type"])(optimizer, **block["params"])
    lrs = []
    for _ in range(updates):
        lrs.append(optimizer.param_groups[0]["lr"])
        scheduler.step()
    return lrs


@pytest.mark.parametrize("which", ["qwen", "own"])
@pytest.mark.parametrize("lr, batch, accumulation, epochs, warmup, examples", [
    (1e-5, 2, 4, 3.0, 10, 1000),
    (2e-4, 8, 1, 1.5, 0.05, 777),  # a warmup ratio (HF 5.x: < 1 is a ratio, rounded up)
    (3e-5, 4, 8, 2.0, 0, 5000),  # no warmup: transformers fills max(1, 0) = 1
])
def test_command_line_trainer_fills_auto_as_transformers_does(tmp_path: Path, which: str, lr: float, batch: int,
                                                              accumulation: int, epochs: float, warmup: float,
                                                              examples: int) -> None:
    if which == "qwen":
        if not QWEN.is_file():
            pytest.skip("../shared/real-world is not beside the repository")
        path, ds = QWEN, json.loads(QWEN.read_text(encoding="utf-8"))
    else:
        path = tmp_path / "ds_auto.json"
        path.write_text(json.dumps(OWN), encoding="utf-8")
        ds = OWN
    flags = ["--config", path, "--dataset-size", examples, "--batch-size", batch, "--grad-accum", accumulation,
             "--epochs", epochs, "--warmup-steps", warmup, "--lr", lr]
    block = transformers_fill(ds, tmp_path, lr=lr, batch=batch, accumulation=accumulation, epochs=epochs, warmup=warmup,
                              examples=examples)
    total = trainer_updates(examples, batch, accumulation, epochs)
    expected = deepspeed_lrs(block, lr, total)

    settings = json.loads(invoke(["plot", *flags, "--json", "--no-file"]).stdout)["schedules"][0]["settings"]
    assert settings["total_steps"] == total
    assert settings["warmup_steps"] == block["params"]["warmup_num_steps"]
    assert settings["provenance"]["peak_lr"] == "flag --lr"  # the flag, never the file
    drawn = invoke(["plot", *flags, "--format", "csv", "-o", "-"]).stdout.strip().splitlines()[1:]
    lrs = [float(line.split(",")[1]) for line in drawn]
    assert len(lrs) == total
    for update, (got, want) in enumerate(zip(lrs, expected)):
        assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-300), (update, got, want)


def test_an_explicit_total_that_differs_from_the_trainers_is_the_mismatch_transformers_raises(tmp_path: Path) -> None:
    ds = copy.deepcopy(OWN)
    ds["scheduler"]["params"]["total_num_steps"] = 123
    path = tmp_path / "ds.json"
    path.write_text(json.dumps(ds), encoding="utf-8")
    result = invoke(["plot", "--config", path, "--dataset-size", 1000, "--batch-size", 2, "--no-file"], 2)
    assert "total_num_steps = 123" in result.stderr and "mismatch TrainingArguments" in result.stderr
