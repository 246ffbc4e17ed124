"""Readers for the config files users launch with: HF ``TrainingArguments`` dictionaries and LLaMA-Factory YAML.

A reader returns the schedule-related values it found, each with the key it came from, plus notes about
pitfalls; turning them into a ``ScheduleSpec`` is ``resolve``'s job.

* HF: a JSON or YAML mapping as passed to ``TrainingArguments(**d)`` or ``HfArgumentParser.parse_yaml_file``
  (PyYAML: ``2e-6`` without a dot is a *string*, and transformers keeps it as one).
* LLaMA-Factory: the same keys, read through OmegaConf, whose YAML loader does read ``2e-6`` as a float.
  ``lr_scheduler_kwargs`` may be a mapping or a JSON string.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import yaml

from ..errors import ConfigError
from ..notes import Note
from ..textfile import parse_json, parse_yaml, read_text_file

# TrainingArguments fields that shape the schedule, with the kind of value each takes.
SCHEDULE_KEYS: dict[str, str] = {
    "learning_rate": "float",
    "lr_scheduler_type": "str",
    "lr_scheduler_kwargs": "kwargs",
    "warmup_steps": "float",
    "warmup_ratio": "float",
    "max_steps": "int",
    "num_train_epochs": "float",
    "per_device_train_batch_size": "int",
    "gradient_accumulation_steps": "int",
    "dataloader_drop_last": "bool",
    "deepspeed": "any",
}

# Keys only a LLaMA-Factory training YAML has (its own hparams dataclasses).
_LLAMAFACTORY_KEYS = ("stage", "finetuning_type", "template", "dataset", "cutoff_len", "lora_rank", "lora_target")

# A plain YAML scalar that YAML 1.2 (and OmegaConf) read as a float but PyYAML reads as a string: 2e-6, 1E5.
_PYYAML_STRING_FLOAT = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)[eE][-+]?\d+$")

FLAVORS = ("hf", "llamafactory", "trl")

# Keys whose explicit null the framework passes on and then fails on (a missing key takes the default instead).
_NOT_NULL = {
    "learning_rate": "transformers passes None to the optimizer (AdamW: lr=None), which fails",
    "lr_scheduler_type": "transformers fails on it (SchedulerType(None): None is not a valid SchedulerType)",
}


@dataclass(frozen=True)
class ConfigValue:
    """A value read from a config file, and the key path it was read from."""

    value: Any
    key: str


@dataclass(frozen=True)
class ConfigFile:
    """The schedule-related contents of one config file."""

    path: str
    flavor: str  # "hf", "llamafactory" or "trl"
    values: dict[str, ConfigValue]
    scheduler_kwargs: dict[str, ConfigValue]
    notes: tuple[str, ...] = ()
    # The whole parsed file (stage, finetuning_type, adam_beta2, ... for ``lrviz advise``).
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)
    # Keys whose number PyYAML reads as text (``2e-6``), with that text; filled in every flavor.
    text_numbers: Mapping[str, str] = field(default_factory=dict, compare=False)
    # What the framework refuses at launch (lrviz.configs.rejections); the pipeline raises the first one.
    rejections: tuple[Any, ...] = field(default=(), compare=False)
    # A TRL config: the config class it is read as (lrviz.configs.trl), whose defaults apply.
    trl: Any = field(default=None, compare=False)

    def where(self, key: str) -> str:
        return f"{os.path.basename(self.path)}:{key}"


def read_config(path: str, flavor: str = "auto", *, lenient_numbers: bool = False) -> ConfigFile:
    """Read the schedule settings of an HF TrainingArguments or LLaMA-Factory config file.

    ``lenient_numbers``: read a number PyYAML takes as text (``2e-6``) as a float in the ``hf`` flavor too,
    instead of failing; it is listed in ``text_numbers`` either way (``lrviz advise`` reports it).
    """
    text = _read_text(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".json":
        data, plain_floats = _load_json(path, text), {}
    else:
        data, plain_floats = _load_yaml(path, text)
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "empty"
        raise ConfigError(f"--config {path}: expected a mapping of TrainingArguments keys, got {kind} content")
    if flavor == "auto":
        from . import trl

        flavor = "llamafactory" if any(key in data for key in _LLAMAFACTORY_KEYS) else "trl" if trl.looks_like(data) else "hf"
    if flavor not in FLAVORS:
        raise ConfigError(f"--config-flavor {flavor!r} is not one of: auto, {', '.join(FLAVORS)}")
    if flavor == "llamafactory" and suffix != ".json":
        refuse_duplicate_key(path, text, "LLaMA-Factory")
    return _extract(path, flavor, data, plain_floats, lenient_numbers)


def _read_text(path: str) -> str:
    return read_text_file(path, label=f"--config {path}", expected="the YAML or JSON file you launch with", error=ConfigError)


def _load_json(path: str, text: str) -> Any:
    return parse_json(text, label=f"--config {path}", error=ConfigError)


def _load_yaml(path: str, text: str) -> tuple[Any, dict[str, str]]:
    """Parse YAML as PyYAML does, noting plain scalars like ``2e-6`` that PyYAML turns into strings."""
    document = parse_yaml(text, label=f"--config {path}", error=ConfigError)
    plain_floats: dict[str, str] = {}
    _find_plain_floats(document.node, "", plain_floats)
    return document.data, plain_floats


def refuse_duplicate_key(path: str, text: str, framework: str) -> None:
    """OmegaConf (LLaMA-Factory, NeMo) refuses a mapping with a key twice; PyYAML silently keeps the last."""
    duplicate = parse_yaml(text, label=f"--config {path}", error=ConfigError).duplicate_key
    if duplicate is not None:
        key, line = duplicate
        raise ConfigError(f"--config {path}: found duplicate key {key} at line {line}; {framework} reads the YAML with "
                          "OmegaConf, which refuses it at launch: keep one")


def _find_plain_floats(node: Any, prefix: str, found: dict[str, str]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{prefix}{key_node.value}"
            if isinstance(value_node, yaml.ScalarNode):
                if not value_node.style and value_node.tag.endswith(":str") and _PYYAML_STRING_FLOAT.match(value_node.value):
                    found[key] = value_node.value
            else:
                _find_plain_floats(value_node, key + ".", found)


def _extract(path: str, flavor: str, data: dict[str, Any], plain_floats: dict[str, str], lenient_numbers: bool = False) -> ConfigFile:
    notes: list[str] = []
    name = os.path.basename(path)
    text_numbers: dict[str, str] = {}

    def number_pitfall(key: str, text: str) -> float:
        fixed = _dotted(text)
        text_numbers[key] = text
        if flavor == "trl" and "." not in key:
            notes.append(Note(
                "trl.text_number", f"{name}:{key} is written {text}: TRL's command line (TrlParser: trl dpo|sft|... --config) "
                f"reads it as {float(text)!r}, but PyYAML and HfArgumentParser.parse_yaml_file read it as the string "
                f"'{text}'; write {fixed} to be safe"
            ))
            return float(text)
        if flavor == "llamafactory":
            notes.append(Note(
                "llamafactory.text_number", f"{name}:{key} is written {text}: LLaMA-Factory (OmegaConf) reads it as {float(text)!r}, but PyYAML "
                f"and HfArgumentParser read it as the string '{text}'; write {fixed} to be safe"
            ))
            return float(text)
        if lenient_numbers:
            return float(text)
        raise ConfigError(
            f"--config {path}: {key} is the string '{text}' (PyYAML reads {text} without a dot as text and "
            f"transformers keeps it, then fails); write {fixed}"
        )

    values: dict[str, ConfigValue] = {}
    for key in _NOT_NULL:
        if key in data and data[key] is None:
            raise ConfigError(f"--config {path}: {key} is null; {_NOT_NULL[key]}: give a value or remove the key")
    for key, kind in SCHEDULE_KEYS.items():
        if key not in data or data[key] is None or kind == "kwargs":
            continue
        value = data[key]
        if key in plain_floats:
            value = number_pitfall(key, plain_floats[key])
        values[key] = ConfigValue(_checked(path, key, kind, value), key)

    kwargs: dict[str, ConfigValue] = {}
    raw_kwargs = data.get("lr_scheduler_kwargs")
    if isinstance(raw_kwargs, str):
        raw_kwargs = _kwargs_from_json(path, raw_kwargs)
    if raw_kwargs is not None and not isinstance(raw_kwargs, dict):
        raise ConfigError(
            f"--config {path}: lr_scheduler_kwargs must be a mapping or a JSON object string, got {raw_kwargs!r}"
        )
    for key, value in (raw_kwargs or {}).items():
        full_key = f"lr_scheduler_kwargs.{key}"
        if full_key in plain_floats:
            value = number_pitfall(full_key, plain_floats[full_key])
        kwargs[str(key)] = ConfigValue(value, full_key)

    if "deepspeed" in values:
        notes.append(Note(
            "hf.deepspeed_unread", f"{name}:deepspeed points to a DeepSpeed config; if it has a \"scheduler\" block, DeepSpeed's scheduler "
            "replaces this one. lrviz does not read DeepSpeed configs yet: check that file by hand"
        ))
    from .llamafactory import accepted_keys
    from .rejections import find

    accepted = accepted_keys(data, notes, name) if flavor == "llamafactory" else None
    scheduler = values["lr_scheduler_type"].value if "lr_scheduler_type" in values else "linear"
    found = find(name, data, flavor, accepted, scheduler, {key: item.value for key, item in kwargs.items()},
                 scheduler_given="lr_scheduler_type" in values)
    trl_class = None
    if flavor == "trl":
        from .trl import identify

        trl_class = identify(data, path)
    return ConfigFile(path, flavor, values, kwargs, tuple(notes), raw=data, text_numbers=text_numbers,
                      rejections=tuple(found), trl=trl_class)


def _dotted(text: str) -> str:
    mantissa, _, exponent = text.lower().partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}e{exponent}"


def _kwargs_from_json(path: str, text: str) -> dict[str, Any]:
    """transformers' ``__post_init__``: a string starting with '{' is JSON, then simple strings are converted."""
    if not text.startswith("{"):
        raise ConfigError(
            f"--config {path}: lr_scheduler_kwargs is the string {text!r}; transformers only parses strings that start "
            "with '{' as JSON"
        )
    loaded = parse_json(text, label=f"--config {path}: lr_scheduler_kwargs", error=ConfigError, invalid=" is not valid JSON",
                        fix="write it like '{\"min_lr\": 2.0e-6}' with double quotes")
    return _convert_str_dict(loaded)


def _convert_str_dict(values: dict[str, Any]) -> dict[str, Any]:
    """transformers ``_convert_str_dict``: 'true'/'false', digits and simple decimals become values; '2e-6' stays text."""
    converted: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            value = _convert_str_dict(value)
        elif isinstance(value, str):
            if value.lower() in ("true", "false"):
                value = value.lower() == "true"
            elif value.isdigit():
                value = int(value)
            elif value.replace(".", "", 1).isdigit():
                value = float(value)
        converted[key] = value
    return converted


def _checked(path: str, key: str, kind: str, value: Any) -> Any:
    from ..spec import describe_value, is_finite_number

    shown = repr(value[:60]) if isinstance(value, str) else describe_value(value)  # short, even for 4,000 digits
    where = f"--config {path}: {key}"
    if kind == "any":
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{where} = {shown} must be a scheduler name such as cosine_with_min_lr")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where} = {shown} must be true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where} = {shown} must be a number")
    if not is_finite_number(value):
        raise ConfigError(f"{where} = {shown} must be a finite number")
    if kind == "int":
        if value != int(value):
            raise ConfigError(f"{where} = {shown} must be a whole number")
        return int(value)
    return value


def warmup_ratio_finding(where: str, ratio: Any, flavor: str | None, count: int) -> tuple[str, str]:
    """The one wording (message, fix) of a ``warmup_ratio`` key, for plot's note and advise's T05 alike.

    transformers 5.24 ``TrainingArguments`` has no ``warmup_ratio`` field; 5.0-5.8 map it onto ``warmup_steps``
    (a value below 1 there is a ratio); LLaMA-Factory ff6d4d12eeb0 requires transformers <= 5.8.
    """
    message = (f"{where} = {ratio}: transformers 5.24 removed warmup_ratio (TrainingArguments raises TypeError on the "
               f"key); 5.0–5.8 treat it as warmup_steps = {ratio}, 4.x as a ratio")
    if flavor == "llamafactory":
        message += "; LLaMA-Factory pins transformers ≤ 5.8, where it still works (deprecated)"
    fix = (f"warmup_steps: {ratio} (transformers 5.x reads a value below 1 as a ratio) or the count warmup_steps: "
           f"{count} (any version)")
    return message, fix


def looks_like(data: Any) -> bool:
    """Any mapping is read as TrainingArguments keys: this format is the fallback."""
    return isinstance(data, dict)


read_text = _read_text
load_yaml = _load_yaml
read = read_config
