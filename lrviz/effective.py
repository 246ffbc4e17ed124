"""Kept for imports written before ``lrviz.configs`` existed: the pipeline now lives there."""

from __future__ import annotations

from .configs.deepspeed_run import TrainerRun, deepspeed_reference, deepspeed_spec
from .configs.pipeline import read as read_launch_config
from .configs.pipeline import to_spec as effective_spec

__all__ = ["TrainerRun", "deepspeed_reference", "deepspeed_spec", "effective_spec", "read_launch_config"]
