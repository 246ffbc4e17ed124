"""What each scheduler accepts: the keyword arguments, their defaults, and where the floor goes.

Pure data, read from the framework's own source. For ``hf`` this is transformers 5.24.0,
``src/transformers/optimization.py``: the keyword arguments of each ``get_*_schedule*`` function that
``get_scheduler`` forwards from ``lr_scheduler_kwargs`` (``scheduler_specific_kwargs``).
"""

from __future__ import annotations

from .signature_types import (  # noqa: F401  (re-exported: the names signatures.py has always had)
    FLOOR_ABSOLUTE,
    FLOOR_LR_END,
    FLOOR_MIN_LR_OR_RATE,
    FLOOR_MIN_LR_RATIO,
    FLOOR_NONE,
    FLOOR_RATIO,
    FLOOR_ZERO,
    Kwarg,
    Signature,
)

_NUM_CYCLES = Kwarg("num_cycles", "float", 0.5)
_MIN_LR = Kwarg("min_lr", "float")
_MIN_LR_RATE = Kwarg("min_lr_rate", "float")
_SHAPES = ("linear", "cosine", "1-sqrt")

HF_SIGNATURES: dict[str, Signature] = {
    s.name: s
    for s in (
        Signature("hf", "linear", (), FLOOR_ZERO, "linear warmup, then linear decay to 0 at the last update"),
        Signature("hf", "cosine", (_NUM_CYCLES,), FLOOR_ZERO, "linear warmup, then cosine decay to 0"),
        Signature(
            "hf",
            "cosine_with_restarts",
            (Kwarg("num_cycles", "float", 1),),
            FLOOR_ZERO,
            "linear warmup, then num_cycles hard-restarted cosine decays to 0",
        ),
        Signature(
            "hf",
            "polynomial",
            (Kwarg("lr_end", "float", 1e-7), Kwarg("power", "float", 1.0)),
            FLOOR_LR_END,
            "linear warmup, then polynomial decay to lr_end",
        ),
        Signature("hf", "constant", (), FLOOR_NONE, "the peak LR at every update", kwargs_forwarded=False),
        Signature(
            "hf",
            "constant_with_warmup",
            (),
            FLOOR_NONE,
            "linear warmup, then the peak LR",
            kwargs_forwarded=False,
        ),
        Signature(
            "hf",
            "inverse_sqrt",
            (Kwarg("timescale", "int", None),),
            FLOOR_NONE,
            "linear warmup, then 1/sqrt decay",
        ),
        Signature(
            "hf",
            "cosine_with_min_lr",
            (_NUM_CYCLES, _MIN_LR, _MIN_LR_RATE),
            FLOOR_MIN_LR_OR_RATE,
            "linear warmup from 0, then cosine decay to the floor (reached after the last update)",
        ),
        Signature(
            "hf",
            "cosine_warmup_with_min_lr",
            (_NUM_CYCLES, _MIN_LR, _MIN_LR_RATE, Kwarg("warmup_lr_rate", "float", None)),
            FLOOR_MIN_LR_OR_RATE,
            "linear warmup that starts above 0, then cosine decay reaching the floor at the last update",
        ),
        Signature(
            "hf",
            "warmup_stable_decay",
            (
                Kwarg("num_decay_steps", "int", required=True),
                Kwarg("num_stable_steps", "int", None),
                Kwarg("warmup_type", "choice", "linear", choices=_SHAPES),
                Kwarg("decay_type", "choice", "cosine", choices=_SHAPES),
                Kwarg("min_lr_ratio", "float", 0.0),
                _NUM_CYCLES,
            ),
            FLOOR_MIN_LR_RATIO,
            "warmup, a stable phase at the peak, then a decay to min_lr_ratio x peak",
        ),
    )
}

# Scheduler types transformers knows but that have no closed form over update indices.


HF_WITHOUT_CLOSED_FORM = ("reduce_lr_on_plateau", "greedy")

# Keys users pass that belong to another scheduler or framework, with what to write instead.
KWARG_HINTS: dict[str, str] = {
    "eta_min": "min_lr",  # torch CosineAnnealingLR
    "lr_min": "min_lr",  # timm
    "min_lr_ratio": "min_lr_rate",  # WSD / verl spelling, on cosine_with_min_lr
    "min_lr_rate": "min_lr_ratio",  # cosine_with_min_lr spelling, on warmup_stable_decay
    "cos_min_ratio": "min_lr_rate",  # DeepSpeed WarmupCosineLR
    "cosine_min_lr_ratio": "min_lr_rate",  # Axolotl
    "final_lr": "min_lr",
    "end_lr": "lr_end",
    "num_cycle": "num_cycles",
    "cycles": "num_cycles",
    "decay_steps": "num_decay_steps",
    "stable_steps": "num_stable_steps",
}

# Keys that get_scheduler passes itself: putting them in lr_scheduler_kwargs is a TypeError
# ("got multiple values for keyword argument").
TRAINER_SUPPLIED_KWARGS = ("num_warmup_steps", "num_training_steps", "optimizer", "last_epoch")


SIGNATURES: dict[str, dict[str, Signature]] = {"hf": HF_SIGNATURES}

# The other frameworks (DeepSpeed, PyTorch, timm, ...): lrviz/frameworks/catalog.py.
from .frameworks.catalog import signatures as _framework_signatures  # noqa: E402

SIGNATURES.update(_framework_signatures())
