"""Exact LR schedules of frameworks other than transformers: DeepSpeed, PyTorch, timm, Axolotl, ...

Each module holds one framework's math as vectorized numpy functions of update indices, read from that
framework's own source (named in the module). ``catalog`` holds their accepted settings (``Signature``s),
``versions`` the releases whose behaviour differs. The registries in ``lrviz.signatures`` and
``lrviz.schedules`` pull these in when they load; the modules import them lazily, so they can be imported
in any order.
"""

from __future__ import annotations

from typing import Any

# Framework names in the order the CLI lists them, with the scheduler used when --scheduler is not given.
DEFAULT_SCHEDULERS: dict[str, str] = {
    "hf": "cosine_with_min_lr",
    "deepspeed": "WarmupCosineLR",
    "torch": "SequentialLR",
    "timm": "CosineLRScheduler",
    "axolotl": "cosine",
    "megatron": "linear",  # Megatron's own default --lr-decay-style
    "nemo": "CosineAnnealing",
}

# Frameworks whose warmup ratio is not turned into a count the way transformers does it (ceil): the ratio is passed
# on as this kwarg and the framework does its own arithmetic (Megatron: a fraction of the decay span, unrounded;
# NeMo: int(ratio * max_steps)).
WARMUP_RATIO_KWARG: dict[str, str] = {"megatron": "lr_warmup_fraction", "nemo": "warmup_ratio"}


def schedule_defs() -> dict[tuple[str, str], Any]:
    """Every framework's ``ScheduleDef``s, keyed like ``lrviz.schedules.SCHEDULES``."""
    from . import axolotl, deepspeed, megatron, nemo, timm, torch_sched

    defs: dict[tuple[str, str], Any] = {}
    for module in (deepspeed, torch_sched, timm, axolotl, megatron, nemo):
        defs.update(module.schedule_defs())
    return defs
