"""DeepSpeed JSON configs: the ``scheduler`` block (and the optimizer LR), validated as DeepSpeed would.

DeepSpeed 0.19.8 builds the scheduler in ``DeepSpeedEngine._scheduler_from_config``:
``getattr(lr_schedules, config["scheduler"]["type"])(optimizer, **config["scheduler"]["params"])``, falling back
to ``torch.optim.lr_scheduler`` names. So an unknown ``type`` fails at launch, a missing ``params`` is a
``TypeError`` (``**None``), and a key the class does not take is a ``TypeError`` too: lrviz rejects all three
(exit 2, naming the file and key). Everything outside ``scheduler`` and ``optimizer.params.lr`` does not shape
the LR and is listed as ignored.

A DeepSpeed config is read alone (``--config ds_config.json``) or through the ``deepspeed:`` key of a Trainer /
LLaMA-Factory config. transformers (accelerate ``HfDeepSpeedConfig``) opens that path as given, i.e. relative
to the folder training is launched from; lrviz looks there first and then next to the config file (with a
note), so that it works both from the launch folder and from anywhere else.
"""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..textfile import parse_json, read_text_file

# Keys of a DeepSpeed config that mark a JSON file as one (and that no TrainingArguments file has).
DEEPSPEED_KEYS = (
    "scheduler", "zero_optimization", "train_batch_size", "train_micro_batch_size_per_gpu", "optimizer", "fp16",
    "bf16", "gradient_clipping", "steps_per_print", "zero_allow_untested_optimizer", "wall_clock_breakdown",
)

# The parameters each modelled scheduler class accepts besides the optimizer (deepspeed 0.19.8 signatures).
PARAMETERS: dict[str, tuple[str, ...]] = {
    "WarmupLR": ("warmup_min_lr", "warmup_max_lr", "warmup_num_steps", "warmup_type", "last_batch_iteration"),
    "WarmupDecayLR": ("total_num_steps", "warmup_min_lr", "warmup_max_lr", "warmup_num_steps", "warmup_type",
                      "last_batch_iteration"),
    "WarmupCosineLR": ("total_num_steps", "warmup_min_ratio", "warmup_num_steps", "cos_min_ratio", "warmup_type",
                       "last_batch_iteration"),
    "OneCycle": ("cycle_min_lr", "cycle_max_lr", "decay_lr_rate", "cycle_first_step_size", "cycle_second_step_size",
                 "cycle_first_stair_count", "cycle_second_stair_count", "decay_step_size", "cycle_momentum",
                 "cycle_min_mom", "cycle_max_mom", "decay_mom_rate", "last_batch_iteration"),
    "LRRangeTest": ("lr_range_test_min_lr", "lr_range_test_step_size", "lr_range_test_step_rate",
                    "lr_range_test_staircase", "last_batch_iteration"),
}
REQUIRED = {"WarmupDecayLR": ("total_num_steps",), "WarmupCosineLR": ("total_num_steps",), "OneCycle": ("cycle_min_lr", "cycle_max_lr")}
NOT_MODELLED: tuple[str, ...] = ()
# torch.optim.lr_scheduler names DeepSpeed also accepts as a "type" (lrviz does not model them run by DeepSpeed).
TORCH_NAMES = (
    "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR", "SequentialLR",
    "PolynomialLR", "CosineAnnealingLR", "ChainedScheduler", "ReduceLROnPlateau", "CyclicLR", "CosineAnnealingWarmRestarts",
    "OneCycleLR",
)


@dataclass(frozen=True)
class DeepSpeedFile:
    """The LR-related contents of one DeepSpeed config."""

    path: str  # the file read (for an inline mapping: the training config that holds it)
    scheduler_type: str | None  # None: no "scheduler" block
    params: dict[str, Any]  # scheduler.params as written ("auto" kept)
    optimizer_lr: Any = None  # optimizer.params.lr as written, or None
    prefix: str = ""  # "deepspeed." for a mapping inside a training config
    referenced_from: str | None = None  # "run.yaml:deepspeed"
    notes: tuple[str, ...] = ()
    ignored: tuple[str, ...] = field(default=(), compare=False)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def where(self, key: str) -> str:
        return f"{self.name}:{self.prefix}{key}"


def looks_like_deepspeed(data: Any) -> bool:
    """A JSON mapping with DeepSpeed's keys and none of the TrainingArguments schedule keys."""
    if not isinstance(data, dict):
        return False
    hf_keys = ("learning_rate", "lr_scheduler_type", "num_train_epochs", "max_steps", "per_device_train_batch_size")
    return any(key in data for key in DEEPSPEED_KEYS) and not any(key in data for key in hf_keys)


def load_json(path: str, *, option: str = "--config") -> Any:
    text = read_text_file(path, label=f"{option} {path}", expected="the DeepSpeed JSON file", error=ConfigError)
    return parse_json(text, label=f"{option} {path}", error=ConfigError, fix="DeepSpeed fails on it too: fix the file")


def read_deepspeed(path: str, *, data: Any = None, prefix: str = "", referenced_from: str | None = None,
                   option: str = "--config") -> DeepSpeedFile:
    """Read and validate the scheduler block of a DeepSpeed config file (or of ``data``, already parsed)."""
    if data is None:
        data = load_json(path, option=option)
    label = f"{option} {path}" if not prefix else f"--config {path}: {prefix.rstrip('.')}"
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: a DeepSpeed config is a JSON object, got {type(data).__name__} content")
    name = os.path.basename(path)

    def where(key: str) -> str:
        return f"{name}:{prefix}{key}"

    block = data.get("scheduler")
    ignored = tuple(sorted(key for key in data if key not in ("scheduler", "optimizer")))
    optimizer_lr = None
    optimizer = data.get("optimizer")
    if isinstance(optimizer, dict) and isinstance(optimizer.get("params"), dict):
        optimizer_lr = optimizer["params"].get("lr")
        if optimizer_lr is not None and optimizer_lr != "auto" and not _is_number(optimizer_lr):
            raise ConfigError(f"{label}: optimizer.params.lr = {optimizer_lr!r} must be a number or \"auto\"")
    if block is None:
        return DeepSpeedFile(path, None, {}, optimizer_lr, prefix, referenced_from, (), ignored)
    if not isinstance(block, dict):
        raise ConfigError(f"{label}: scheduler = {block!r} must be an object like {{\"type\": \"WarmupLR\", \"params\": {{...}}}}")
    scheduler_type = block.get("type")
    if scheduler_type is None:
        raise ConfigError(f"{label}: scheduler has no \"type\"; add one of {', '.join(PARAMETERS)}")
    if not isinstance(scheduler_type, str):
        raise ConfigError(f"{label}: scheduler.type = {scheduler_type!r} must be a name such as WarmupCosineLR")
    if scheduler_type in NOT_MODELLED or scheduler_type in TORCH_NAMES:
        kind = "DeepSpeed's" if scheduler_type in NOT_MODELLED else "the torch.optim.lr_scheduler"
        raise ConfigError(
            f"{label}: scheduler.type = {scheduler_type} ({kind} class) is not modelled by lrviz yet; lrviz reads "
            f"{', '.join(PARAMETERS)}"
        )
    if scheduler_type not in PARAMETERS:
        guess = difflib.get_close_matches(scheduler_type, list(PARAMETERS) + list(NOT_MODELLED), n=1)
        hint = f"did you mean {guess[0]!r}? " if guess else ""
        raise ConfigError(
            f"{label}: scheduler.type = {scheduler_type!r} is not a DeepSpeed scheduler (DeepSpeed fails at launch: "
            f"\"does not recognize LR scheduler\"); {hint}use one of {', '.join(PARAMETERS)}"
        )
    extra = sorted(key for key in block if key not in ("type", "params"))
    params = block.get("params")
    if params is None:
        raise ConfigError(
            f"{label}: scheduler.params is missing (DeepSpeed calls {scheduler_type}(optimizer, **params) and fails "
            f"with TypeError); add \"params\": {{...}} with {', '.join(REQUIRED.get(scheduler_type, ('warmup_num_steps',)))}"
        )
    if not isinstance(params, dict):
        raise ConfigError(f"{label}: scheduler.params = {params!r} must be an object")
    accepted = PARAMETERS[scheduler_type]
    for key, value in params.items():
        if key not in accepted:
            guess = difflib.get_close_matches(key, list(accepted), n=1, cutoff=0.6)
            hint = f"did you mean {guess[0]!r}? " if guess else ""
            raise ConfigError(
                f"{label}: scheduler.params.{key} is not a parameter of {scheduler_type} (DeepSpeed raises TypeError: "
                f"unexpected keyword argument); {hint}it accepts: {', '.join(accepted[:-1])}"
            )
        _check_param(label, scheduler_type, key, value)
    for key in REQUIRED.get(scheduler_type, ()):
        if key not in params:
            raise ConfigError(
                f"{label}: scheduler.params.{key} is missing ({scheduler_type} has no default for it; DeepSpeed raises "
                f"TypeError); add \"{key}\": " + ("\"auto\" (filled by the HF Trainer) or a number of updates"
                                                  if key == "total_num_steps" else "a learning rate")
            )
    notes = []
    if extra:
        notes.append(f"{where('scheduler')} keys {', '.join(extra)} are ignored by DeepSpeed (only type and params are read)")
    return DeepSpeedFile(path, scheduler_type, dict(params), optimizer_lr, prefix, referenced_from, tuple(notes), ignored)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_param(label: str, scheduler_type: str, key: str, value: Any) -> None:
    where = f"{label}: scheduler.params.{key} = {value!r}"
    if value == "auto":
        return
    if key == "warmup_type":
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be \"log\" or \"linear\"")
        return
    if key in ("cycle_momentum", "lr_range_test_staircase"):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false")
        return
    if key == "last_batch_iteration":
        if value != -1:
            raise ConfigError(f"{where}: resuming a schedule mid-way is not modelled by lrviz; remove the key (default -1)")
        return
    if isinstance(value, (list, tuple)):
        raise ConfigError(f"{where}: per-param-group lists are not modelled by lrviz; give one number for every group")
    if not _is_number(value):
        raise ConfigError(f"{where} must be a number or \"auto\"")
    if key in ("total_num_steps", "warmup_num_steps") and value != int(value):
        raise ConfigError(f"{where} must be a whole number of updates")


# ------------------------------------------------------------------------------- from a training config


@dataclass(frozen=True)
class Reference:
    """What the ``deepspeed:`` key of a training config points to."""

    where: str  # "run.yaml:deepspeed"
    file: DeepSpeedFile | None  # None: not found
    problem: str | None = None  # why it was not read (a warning, not an error: the file may live elsewhere)
    note: str | None = None  # how it was found


def candidate_paths(config_path: str, reference: str) -> list[str]:
    """Where a ``deepspeed:`` path may be: relative to the launch folder (where the Trainer opens it), then
    next to the config file."""
    if os.path.isabs(reference):
        return [reference]
    return [reference, os.path.join(os.path.dirname(os.path.abspath(config_path)), reference)]


def follow_reference(config_path: str, value: Any) -> Reference:
    """Read the DeepSpeed config the ``deepspeed:`` key names (a path, an inline mapping, or a JSON string)."""
    name = os.path.basename(config_path)
    where = f"{name}:deepspeed"
    if isinstance(value, dict):
        return Reference(where, read_deepspeed(config_path, data=value, prefix="deepspeed.", referenced_from=where))
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"--config {config_path}: deepspeed = {value!r} must be the path of a DeepSpeed JSON file")
    reference = value.strip()
    if reference.startswith("{"):
        data = parse_json(reference, label=f"--config {config_path}: deepspeed (a JSON string)", error=ConfigError)
        return Reference(where, read_deepspeed(config_path, data=data, prefix="deepspeed.", referenced_from=where))
    for index, candidate in enumerate(candidate_paths(config_path, reference)):
        if os.path.isfile(candidate):
            note = None
            if index == 1:
                note = (f"{where} = {reference} was found next to {name}, not in the current folder: the Trainer opens "
                        "it relative to the folder you launch training from")
            file = read_deepspeed(candidate, referenced_from=where, option=f"--config {config_path}: deepspeed =")
            return Reference(where, file, note=note)
    return Reference(
        where, None,
        problem=(f"{where} = {reference} was not found (looked in the current folder, where the Trainer opens it, and "
                 f"next to {name}): transformers raises ValueError at launch (accelerate HfDeepSpeedConfig: \"Expected a "
                 "string path to an existing deepspeed config, or a dictionary, or a base64 encoded string\"); run lrviz "
                 "from the folder you launch training from, or fix the path"),
    )


# The interface every config format module has (lrviz.configs.pipeline); to_spec is deepspeed_run.deepspeed_spec.
looks_like = looks_like_deepspeed
read = read_deepspeed
