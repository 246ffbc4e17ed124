"""Regenerate ``deepspeed_warmuplr_trainer_state.json``: the real transformers.Trainer driven by DeepSpeed's own WarmupLR.

Not run by the test suite (DeepSpeed is not a test dependency). How the fixture was made:

    pip install --no-deps --target /tmp/dsenv deepspeed==0.19.8 hjson einops msgpack
    PYTHONPATH=/tmp/dsenv python tests/data/make_deepspeed_warmuplr_log.py

The scheduler is ``deepspeed.runtime.lr_schedules.WarmupLR`` with the values transformers' DeepSpeed integration fills
for ``"auto"`` (``warmup_min_lr=0``, ``warmup_max_lr=learning_rate``, ``warmup_num_steps=get_warmup_steps(T)``) and no
``warmup_type``, so DeepSpeed's default ``"log"`` applies: the case of QwenLM/Qwen-VL #183 and LLaVA's zero3 configs.
The DeepSpeed engine is not used (no GPU, no launcher); the Trainer steps the scheduler after each optimizer step,
as the engine does, so update s uses DeepSpeed's ``last_batch_iteration = s - 1``.
"""

from __future__ import annotations

import os
import sys
import tempfile

import torch
import transformers
from deepspeed.runtime.lr_schedules import WarmupLR

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from check_run_trainer import PairDataset, TinyRegressor  # noqa: E402

LEARNING_RATE = 1e-5
WARMUP_STEPS = 15


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        args = transformers.TrainingArguments(
            output_dir=tmp, learning_rate=LEARNING_RATE, num_train_epochs=3, per_device_train_batch_size=4,
            gradient_accumulation_steps=3, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True, seed=0,
            disable_tqdm=True,
        )
        model = TinyRegressor()
        optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
        scheduler = WarmupLR(optimizer, warmup_min_lr=0, warmup_max_lr=LEARNING_RATE, warmup_num_steps=WARMUP_STEPS)
        trainer = transformers.Trainer(model=model, args=args, train_dataset=PairDataset(150), optimizers=(optimizer, scheduler))
        trainer.train()
        target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "deepspeed_warmuplr_trainer_state.json")
        trainer.state.save_to_json(target)
        print("wrote", target, "max_steps", trainer.state.max_steps)


if __name__ == "__main__":
    main()
