"""The config formats, as ``--config-flavor`` names them (pure data: the CLI reads its choices here)."""

from __future__ import annotations

FLAVORS = ("hf", "llamafactory", "trl", "deepspeed", "axolotl", "megatron", "nemo")
