"""The schedule options a user gave on the command line, built once from the parsed flags.

Every command (plot, advise, verify, check-run) turns its click parameters into one ``Options`` with
``Options.from_params`` and hands it, with the ``--config`` paths, to ``lrviz.configs.load``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping


@dataclass(frozen=True)
class Options:
    """The schedule options a user gave explicitly (None: not given)."""

    lr: float | None = None
    min_lr: float | None = None
    min_lr_rate: float | None = None
    scheduler: str | None = None
    framework: str | None = None
    steps: int | None = None
    dataset_size: int | None = None
    batch_size: int | None = None
    grad_accum: int | None = None
    gpus: int | None = None
    epochs: float | None = None
    drop_last: bool | None = None
    warmup_ratio: float | None = None
    warmup_steps: float | None = None
    num_cycles: float | None = None
    scheduler_kwargs: dict[str, Any] | None = None
    framework_version: str | None = None
    # --dataset-size NAME=N,...: the size of each dataset a LLaMA-Factory config names (None: one size or none)
    dataset_sizes: Mapping[str, int] | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "Options":
        """The options among a command's click parameters (absent ones stay None); ``--dataset-size NAME=N,...``
        (a mapping) becomes ``dataset_sizes``."""
        values = {f.name: params.get(f.name) for f in fields(cls)}
        if isinstance(values["dataset_size"], Mapping):
            values["dataset_sizes"], values["dataset_size"] = dict(values["dataset_size"]), None
        return cls(**values)

    def given(self) -> bool:
        """Whether any schedule option was given."""
        return any(getattr(self, f.name) is not None for f in fields(self))


OPTION_FIELDS = tuple(f.name for f in fields(Options))
