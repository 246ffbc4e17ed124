"""Config files users launch with, one module per format, and the one pipeline every command uses.

Formats (each module: ``looks_like``, ``read`` keeping where every value came from, ``to_spec``):
``hf`` (transformers ``TrainingArguments`` / TRL and LLaMA-Factory YAML or JSON), ``llamafactory`` (LLaMA-Factory's
own keys and checks, applied by ``hf``), ``deepspeed`` (+ ``deepspeed_run``: the scheduler block, alone or under a
Trainer), ``axolotl``, ``megatron``, ``nemo``.

The public entry point is ``load(options, paths, flavor)`` (``lrviz.configs.pipeline``); ``read`` and ``to_spec``
are its two stages. Importing this package is light (no YAML parser, no numpy): the names below load on first use,
and stay importable from ``lrviz.configs`` as before the package existed.
"""

from __future__ import annotations

from typing import Any

from .formats import FLAVORS

_FROM_PIPELINE = ("load", "read", "to_spec", "Loaded", "flavor_of")
_FROM_HF = ("SCHEDULE_KEYS", "ConfigFile", "ConfigValue", "read_config", "_read_text", "_load_yaml")

__all__ = ["FLAVORS", "SCHEDULE_KEYS", "ConfigFile", "ConfigValue", "Loaded", "load", "read", "read_config", "to_spec"]


def __getattr__(name: str) -> Any:
    if name in _FROM_PIPELINE:
        from . import pipeline

        return getattr(pipeline, name)
    if name in _FROM_HF:
        from . import hf

        return getattr(hf, name)
    raise AttributeError(f"module 'lrviz.configs' has no attribute {name!r}")
