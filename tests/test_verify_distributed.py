"""``torchrun --nproc_per_node 2 -m lrviz verify --device cpu``: DDP over gloo, two real processes.

Each rank records the LRs its own optimizer used; rank 0 reports that both applied the same schedule, that each
trained on its own half of the data, and that the update count accounts for the world size.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
if not (torch.distributed.is_available() and torch.distributed.is_gloo_available()):  # pragma: no cover
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), "COLUMNS": "120"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
               "--master_port", str(free_port()), "-m", "lrviz", "verify", "--device", "cpu", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_two_ranks_apply_the_same_schedule_and_split_the_data(tmp_path):
    completed = torchrun("--json", "--steps", "40", "-o", str(tmp_path / "ddp.png"), cwd=tmp_path)
    shown = f"rc {completed.returncode}\n--- stdout ---\n{completed.stdout}\n--- stderr ---\n{completed.stderr}"
    assert completed.returncode == 0, shown
    report = json.loads(completed.stdout)  # only rank 0 writes to stdout: exactly one document
    assert report["command"] == "verify" and report["passed"] is True, shown
    ranks = report["distributed"]
    assert ranks["world_size"] == 2 and ranks["backend"] == "gloo"
    assert ranks["all_ranks_same_lr"] is True and ranks["first_disagreeing_rank"] is None
    assert ranks["updates_per_rank"] == [40, 40] and ranks["expected_updates"] == 40
    # global batch = 8 per micro-batch × 2 micro-batches × 2 ranks = 32; one epoch of 40 × 32 = 1280 sequences
    training = report["training"]
    assert training["world_size"] == 2 and training["global_batch"] == 32 and training["dataset_size"] == 1280
    assert ranks["sequences_per_rank"] == [640, 640] and ranks["shards_disjoint"] is True
    assert ranks["step_arithmetic"] == "total = ceil(1 × ceil(ceil(1280 / (8×2)) / 2)) = 40"
    assert report["lr_check"]["first_diverging_update"] is None
    assert all(g["max_rel_error"] <= 1e-12 for g in report["lr_check"]["groups"])
    assert (tmp_path / "ddp.png").read_bytes().startswith(b"\x89PNG")


def test_a_wrong_stepping_fails_on_every_rank(tmp_path):
    completed = torchrun("--steps", "20", "--stepping", "per-micro-batch", cwd=tmp_path)
    assert completed.returncode != 0  # torchrun reports the ranks' exit code 1 as a failure
    assert completed.stdout.count("✗ verify failed") == 1  # rank 0 reports, rank 1 stays quiet
    assert "first diverges at update 0" in " ".join(completed.stdout.split())


LLAMAFACTORY_DDP = """\
stage: sft
do_train: true
finetuning_type: lora
lora_target: all
dataset: alpaca_en_demo
template: llama3
output_dir: saves/llama3/lora/sft
per_device_train_batch_size: 2
gradient_accumulation_steps: 4
learning_rate: 1.0e-4
num_train_epochs: 2.0
lr_scheduler_type: cosine_with_min_lr
lr_scheduler_kwargs:
  min_lr_rate: 0.1
warmup_steps: 0.1
"""


def test_the_real_trainer_under_ddp_reports_every_rank_and_the_world_size(tmp_path):
    """LLaMA-Factory YAML, cosine_with_min_lr, gradient accumulation 4, two processes: the real Trainer.train()."""
    config = tmp_path / "lf.yaml"
    config.write_text(LLAMAFACTORY_DDP)
    completed = torchrun("--config", str(config), "--dataset-size", "96", "--json", cwd=tmp_path)
    shown = f"rc {completed.returncode}\n--- stdout ---\n{completed.stdout}\n--- stderr ---\n{completed.stderr}"
    assert completed.returncode == 0, shown
    report = json.loads(completed.stdout)
    assert report["passed"] is True and report["framework_tested"] is True, shown
    training = report["training"]
    assert training["runner"] == "transformers.Trainer.train()" and training["world_size"] == 2
    # 96 examples over 2 ranks = 48 each; / batch 2 = 24 micro-batches; / 4 = 6 updates per epoch; 2 epochs = 12
    assert training["trainer_max_steps"] == 12 and training["global_batch"] == 16
    assert training["step_arithmetic"] == "total = ceil(2 × ceil(ceil(96 / (2×2)) / 4)) = 12"
    ranks = report["distributed"]
    assert ranks["updates_per_rank"] == [12, 12] and ranks["all_ranks_same_lr"] is True
    assert ranks["sequences_per_rank"] == [48, 48] and ranks["shards_disjoint"] is True
    assert [r["scheduler_index"] for r in training["ranks"]] == [list(range(12))] * 2
    assert report["lr_check"]["first_diverging_update"] is None
    assert all(g["max_rel_error"] <= 1e-12 for g in report["lr_check"]["groups"])
