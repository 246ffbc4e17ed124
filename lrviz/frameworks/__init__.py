"""Exact LR schedules of frameworks other than transformers: DeepSpeed, PyTorch, timm, Axolotl, ...

Each module holds one framework's math as vectorized numpy functions of update indices, read from that
framework's own source (named in the module). ``catalog`` holds their accepted settings (``Signature``s),
``versions`` the releases whose behaviour differs. The registries in ``lrviz.signatures`` and
``lrviz.schedules`` pull these in when they load; the modules import them lazily, so they can be imported
in any order.
"""

from __future__ import annotations

from typing import Any

# The registry: every framework, hf included, and its module in this package, in the order the CLI lists them.
# Each module exposes schedule_defs() (its math), check_spec() and spec_notes(); its settings (Signatures) are in
# its module (hf) or in catalog.py. Adding a framework: its module, its reader in lrviz/configs/, one line here
# (and its default scheduler below).
FRAMEWORKS: dict[str, str] = {
    "hf": "hf",
    "deepspeed": "deepspeed",
    "torch": "torch_sched",
    "timm": "timm",
    "axolotl": "axolotl",
    "megatron": "megatron",
    "nemo": "nemo",
}

# The scheduler used when --scheduler is not given.
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


def framework_module(name: str) -> Any:
    """The module of a registered framework (``lrviz.frameworks.<module>``)."""
    from importlib import import_module

    return import_module(f"{__name__}.{FRAMEWORKS[name]}")


def schedule_defs() -> dict[tuple[str, str], Any]:
    """Every framework's ``ScheduleDef``s, keyed like ``lrviz.schedules.SCHEDULES``."""
    defs: dict[tuple[str, str], Any] = {}
    for name in FRAMEWORKS:
        defs.update(framework_module(name).schedule_defs())
    return defs
