"""DeepSpeed, as far as advise needs it: find a referenced ds_config's ``scheduler`` block, and DeepSpeed's own
``WarmupCosineLR`` curve (to say honestly how it differs from the HF schedule it stands in for).

Semantics from DeepSpeed 0.19.8 ``deepspeed/runtime/lr_schedules.py`` (``WarmupCosineLR``):
the constructor sets LR 0 and the engine steps the scheduler after each ``optimizer.step()``, so update ``s``
uses ``last_batch_iteration = s - 1``; linear warmup ``i / W``; ``W = max(2, warmup_num_steps)``; cosine
``progress = (i - W + 1) / max(1, T - W)`` clamped at 1 (0.19.5 and later).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..configs import ConfigFile
from ..errors import ConfigError
from ..textfile import parse_json, read_text_file
from ..configs.deepspeed import candidate_paths
from ..schedules import lr_at
from ..spec import ScheduleSpec


@dataclass(frozen=True)
class DeepSpeedConfig:
    """What the training config says about DeepSpeed, and what the referenced file holds."""

    where: str  # "run.yaml:deepspeed"
    reference: str  # the path as written, or "(inline mapping)"
    path: str | None  # the file that was read; None for an inline mapping or when not found
    scheduler: dict[str, Any] | None  # the "scheduler" block, if any
    problem: str | None = None  # why the file could not be checked


def referenced_deepspeed(config: ConfigFile | None) -> DeepSpeedConfig | None:
    """The DeepSpeed config a training config points to (``deepspeed:``), read if possible; None if it has none."""
    if config is None or "deepspeed" not in config.values:
        return None
    value = config.values["deepspeed"].value
    where = config.where("deepspeed")
    if isinstance(value, dict):
        block = value.get("scheduler")
        return DeepSpeedConfig(where, "(inline mapping)", None, block if isinstance(block, dict) else None)
    if not isinstance(value, str) or not value.strip():
        return DeepSpeedConfig(where, repr(value), None, None, f"{where} = {value!r} is not a file name")
    reference = value.strip()
    for candidate in candidate_paths(config.path, reference):
        if os.path.isfile(candidate):
            try:
                text = read_text_file(candidate, label=candidate, expected="a DeepSpeed JSON file", error=ConfigError)
                data = parse_json(text, label=candidate, error=ConfigError)
            except ConfigError as error:
                return DeepSpeedConfig(where, reference, candidate, None, f"cannot read {candidate} as JSON ({error})")
            if not isinstance(data, dict):
                return DeepSpeedConfig(where, reference, candidate, None, f"{candidate} is not a JSON object")
            block = data.get("scheduler")
            return DeepSpeedConfig(where, reference, candidate, block if isinstance(block, dict) else None)
    return DeepSpeedConfig(where, reference, None, None, f"{reference} was not found (looked in the current folder and next to {os.path.basename(config.path)})")


def warmup_cosine_lr(steps: np.ndarray, peak: float, total: int, warmup: int, cos_min_ratio: float,
                     warmup_min_ratio: float = 0.0) -> np.ndarray:
    """LR of DeepSpeed's ``WarmupCosineLR(warmup_type="linear")`` (current release) at update indices ``steps``."""
    spec = ScheduleSpec(
        framework="deepspeed", scheduler="WarmupCosineLR", peak_lr=peak, total_steps=total,
        warmup_steps=max(1, int(warmup)),  # DeepSpeed raises on 0; it runs max(2, W) either way
        scheduler_kwargs={"cos_min_ratio": cos_min_ratio, "warmup_min_ratio": warmup_min_ratio, "warmup_type": "linear"},
    )
    return lr_at(spec, steps)
