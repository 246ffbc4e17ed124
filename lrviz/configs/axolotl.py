"""Axolotl YAML configs, and Axolotl's own run-length and warmup arithmetic.

Source: axolotl 0.19.0 (PyPI wheel). The YAML is read with ``yaml.safe_load`` (so ``2e-6`` without a dot is a
string: pydantic turns it into a float for ``learning_rate`` and the ratio fields, but not inside
``lr_scheduler_kwargs``) and validated by a pydantic model that silently ignores keys it does not know — so
``lr_scheduler_type:`` (the transformers spelling) in an Axolotl config does nothing. lrviz rejects such keys.

* ``utils/trainer.py::calculate_total_num_steps`` (no sample packing):
  ``ceil(len(dataset) * num_epochs / batch_size)`` with ``batch_size = micro_batch_size * gradient_accumulation_steps
  * world_size``; ``utils/data/sft.py``: with ``max_steps`` it is ``min(that, max_steps)``, and the Trainer gets
  ``max_steps = cfg.max_steps or total_num_steps`` (``core/builders/base.py``).
* ``core/builders/base.py::_configure_warmup_and_logging``: ``warmup_steps`` as given; else
  ``int(warmup_ratio * total_num_steps)`` (floor; transformers rounds up); else ``min(int(0.03 * total_num_steps),
  100)`` even when no warmup was asked for; then ``warmup_steps == 1`` becomes 2. ``warmup_steps`` and
  ``warmup_ratio`` together are a ``ValueError``.
* ``lr_scheduler`` (default ``cosine``) becomes ``lr_scheduler_type``; ``cosine`` is Axolotl's own (see
  ``lrviz/frameworks/axolotl.py``), any other transformers name runs with transformers' semantics.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any


from ..errors import ConfigError, SpecError
from ..spec import describe_value, is_finite_number

# Keys only an Axolotl config has (detection with --config-flavor auto).
AXOLOTL_MARKERS = ("base_model", "micro_batch_size", "num_epochs", "sequence_len", "cosine_min_lr_ratio",
                   "sample_packing", "lr_scheduler")
NOT_AXOLOTL = ("lr_scheduler_type", "per_device_train_batch_size", "stage", "finetuning_type", "num_train_epochs")

SCHEDULE_KEYS: dict[str, str] = {
    "learning_rate": "float",
    "lr_scheduler": "str",
    "lr_scheduler_kwargs": "dict",
    "cosine_min_lr_ratio": "float",
    "cosine_constant_lr_ratio": "float",
    "lr_quadratic_warmup": "bool",
    "warmup_steps": "int",
    "warmup_ratio": "float",
    "max_steps": "int",
    "num_epochs": "float",
    "micro_batch_size": "int",
    "gradient_accumulation_steps": "int",
    "batch_size": "int",
    "sample_packing": "bool",
    "deepspeed": "any",
}
# Spellings from other frameworks that Axolotl silently ignores, with Axolotl's key.
FOREIGN_KEYS = {
    "lr_scheduler_type": "lr_scheduler",
    "num_train_epochs": "num_epochs",
    "per_device_train_batch_size": "micro_batch_size",
    "min_lr_ratio": "cosine_min_lr_ratio",
    "min_lr_rate": "cosine_min_lr_ratio",
    "min_lr": "cosine_min_lr_ratio (a fraction of learning_rate)",
    "lr_min": "cosine_min_lr_ratio (a fraction of learning_rate)",
    "num_warmup_steps": "warmup_steps",
    "lr_warmup_steps": "warmup_steps",
}
HF_TYPES = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
            "inverse_sqrt", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "warmup_stable_decay")
_TEXT_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


@dataclass(frozen=True)
class AxolotlFile:
    """The schedule-related values of an Axolotl YAML, each keyed by its Axolotl name."""

    path: str
    values: dict[str, Any]
    notes: tuple[str, ...] = ()
    ignored: tuple[str, ...] = field(default=(), compare=False)
    raw: dict[str, Any] = field(default_factory=dict, compare=False)  # the whole file (adapter, rl: advise's profile)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def where(self, key: str) -> str:
        return f"{self.name}:{key}"


def looks_like_axolotl(data: Any) -> bool:
    return (isinstance(data, dict) and any(key in data for key in AXOLOTL_MARKERS)
            and not any(key in data for key in NOT_AXOLOTL))


def read_axolotl(path: str, data: Any) -> AxolotlFile:
    """Validate the schedule keys of a parsed Axolotl YAML (``yaml.safe_load``) as Axolotl would read them."""
    label = f"--config {path}"
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: an Axolotl config is a YAML mapping, got {type(data).__name__} content")
    for key in data:
        hint = FOREIGN_KEYS.get(str(key))
        if hint is None and str(key) not in SCHEDULE_KEYS and any(part in str(key) for part in ("lr", "warmup", "cosine")):
            close = difflib.get_close_matches(str(key), list(SCHEDULE_KEYS), n=1, cutoff=0.85)
            hint = close[0] if close else None
        if hint is not None:
            raise ConfigError(
                f"{label}: {key} is not an Axolotl setting (Axolotl silently ignores it, so it would not change the "
                f"schedule); did you mean {hint}?"
            )
    values: dict[str, Any] = {}
    for key, kind in SCHEDULE_KEYS.items():
        if key in data and data[key] is not None:
            values[key] = _checked(label, key, kind, data[key])
    if "learning_rate" not in values:
        raise ConfigError(f"{label}: learning_rate is missing; Axolotl requires it (e.g. learning_rate: 2.0e-4)")
    if values.get("warmup_steps") and values.get("warmup_ratio"):
        raise ConfigError(f"{label}: warmup_steps and warmup_ratio are both set: Axolotl raises ValueError (\"mutually "
                          "exclusive\"); keep one")
    scheduler = values.get("lr_scheduler", "cosine")
    if scheduler in ("one_cycle", "rex"):
        raise ConfigError(f"{label}: lr_scheduler = {scheduler} is not modelled by lrviz yet; it reads cosine and the "
                          "transformers scheduler names")
    if scheduler not in HF_TYPES:
        guess = difflib.get_close_matches(str(scheduler), list(HF_TYPES), n=1)
        hint = f"did you mean {guess[0]!r}? " if guess else ""
        raise ConfigError(f"{label}: lr_scheduler = {scheduler!r} is not a scheduler name (transformers raises "
                          f"ValueError); {hint}use cosine or another transformers lr_scheduler_type")
    if values.get("lr_quadratic_warmup") and scheduler == "cosine":
        raise ConfigError(f"{label}: lr_quadratic_warmup is not modelled by lrviz yet; remove it to see the linear warmup")
    kwargs = values.get("lr_scheduler_kwargs") or {}
    for key, value in kwargs.items():
        if isinstance(value, str) and _TEXT_NUMBER.match(value):
            raise ConfigError(
                f"{label}: lr_scheduler_kwargs.{key} is the string '{value}' (PyYAML reads numbers like 2e-6 without a dot "
                f"as text, and Axolotl passes it on unchanged: transformers fails on it); write {float(value)!r}"
            )
    ignored = tuple(sorted(str(key) for key in data if key not in SCHEDULE_KEYS))
    return AxolotlFile(path, values, (), ignored, raw=data)


def _checked(label: str, key: str, kind: str, value: Any) -> Any:
    where = f"{label}: {key} = {value[:60]!r}" if isinstance(value, str) else f"{label}: {key} = {describe_value(value)}"
    if kind == "any":
        return value
    if kind == "dict":
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping")
        return {str(k): v for k, v in value.items()}
    if kind == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a scheduler name such as cosine")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false")
        return value
    if isinstance(value, str):  # pydantic (lax) and the learning_rate validator turn numeric text into numbers
        try:
            value = float(value)
        except ValueError:
            raise ConfigError(f"{where} must be a number") from None
    if isinstance(value, bool) or not is_finite_number(value):
        raise ConfigError(f"{label}: {key} = {describe_value(value)} must be a finite number")
    if kind == "int":
        if value != int(value) or value < 0:
            raise ConfigError(f"{where} must be a whole number >= 0")
        return int(value)
    return float(value)


# ------------------------------------------------------------------------------------------- resolution


def axolotl_spec(options: Any, config: AxolotlFile | None) -> Any:
    """The spec of the schedule Axolotl runs for ``options`` (+ ``config``), with Axolotl's step arithmetic."""
    from dataclasses import replace

    from ..frameworks.catalog import spec_notes
    from ..resolve import LRVIZ_DEFAULTS
    from ..spec import ScheduleSpec, Source

    values = config.values if config else {}
    provenance: dict[str, Source] = {}
    notes: list[str] = list(config.notes) if config else []
    if config is not None and config.ignored:
        shown = ", ".join(config.ignored[:8]) + (", ..." if len(config.ignored) > 8 else "")
        count = len(config.ignored)
        keys = "1 key that does" if count == 1 else f"{count} keys that do"
        notes.append(f"{config.name}: read {', '.join(values)}; {keys} not shape the LR were not read ({shown})")

    def pick(field_name: str, flag: str, flag_value: Any, key: str, default: Any, owner: str = "Axolotl") -> Any:
        if flag_value is not None:
            provenance[field_name] = Source("flag", flag)
            return flag_value
        if key in values:
            provenance[field_name] = Source("file", config.where(key))
            return values[key]
        provenance[field_name] = Source("default", owner if config else "lrviz")
        return default

    if options.framework_version is not None:
        raise SpecError(f"--framework-version {options.framework_version!r}: lrviz models axolotl 0.19.0 only; drop it")
    if options.num_cycles is not None:
        raise SpecError("--num-cycles: Axolotl's cosine has no num_cycles setting; drop the flag")
    peak = pick("peak_lr", "--lr", options.lr, "learning_rate", LRVIZ_DEFAULTS["lr"])
    scheduler = pick("scheduler", "--scheduler", options.scheduler, "lr_scheduler", "cosine")
    provenance["framework"] = Source("file", config.where("(Axolotl config)")) if config else Source("flag", "--framework")

    total, counted = _run_length(options, values, config, provenance, notes)
    warmup = _warmup(options, values, config, counted, provenance, notes)

    kwargs: dict[str, Any] = {}
    if scheduler == "cosine":
        for key in ("cosine_min_lr_ratio", "cosine_constant_lr_ratio"):
            if key in values:
                kwargs[key] = values[key]
                provenance[f"kwargs.{key}"] = Source("file", config.where(key))
        if options.min_lr is not None and options.min_lr_rate is not None:
            raise SpecError(f"--min-lr {options.min_lr} and --min-lr-rate {options.min_lr_rate} both set the floor; keep one")
        if options.min_lr_rate is not None:
            kwargs["cosine_min_lr_ratio"] = options.min_lr_rate
            provenance["kwargs.cosine_min_lr_ratio"] = Source("flag", "--min-lr-rate")
        elif options.min_lr is not None:
            kwargs["cosine_min_lr_ratio"] = options.min_lr / peak
            provenance["kwargs.cosine_min_lr_ratio"] = Source("derived", "", f"cosine_min_lr_ratio = {options.min_lr:g} / {peak:g}")
        if values.get("lr_scheduler_kwargs"):
            notes.append(f"{config.where('lr_scheduler_kwargs')} is not used by Axolotl's cosine (it takes "
                         "cosine_min_lr_ratio and cosine_constant_lr_ratio)")
        framework = "axolotl"
    else:  # another transformers type: transformers' own semantics with Axolotl's run length and warmup
        for key, value in (values.get("lr_scheduler_kwargs") or {}).items():
            kwargs[key] = value
            provenance[f"kwargs.{key}"] = Source("file", config.where(f"lr_scheduler_kwargs.{key}"))
        if options.min_lr is not None or options.min_lr_rate is not None:
            flag = "--min-lr" if options.min_lr is not None else "--min-lr-rate"
            key = "min_lr" if options.min_lr is not None else "min_lr_rate"
            kwargs[key] = options.min_lr if options.min_lr is not None else options.min_lr_rate
            provenance[f"kwargs.{key}"] = Source("flag", flag)
        for key in ("cosine_min_lr_ratio", "cosine_constant_lr_ratio"):
            if key in values:
                notes.append(f"{config.where(key)} only applies to lr_scheduler: cosine; with {scheduler} it is ignored")
        framework = "hf"
    for key, value in (options.scheduler_kwargs or {}).items():
        kwargs[key] = value
        provenance[f"kwargs.{key}"] = Source("flag", "--scheduler-kwargs")

    if config is not None and "deepspeed" in values:
        from .deepspeed_run import TrainerRun, deepspeed_reference

        reference = deepspeed_reference(config.path, values["deepspeed"])
        if reference is not None:
            found, file = reference
            notes.extend(found)
            if file is not None and file.scheduler_type is not None:
                asked = f"your lr_scheduler: {scheduler} ({config.where('lr_scheduler') if 'lr_scheduler' in values else 'Axolotl default'})"
                ignored = [key for key in ("cosine_min_lr_ratio", "cosine_constant_lr_ratio") if key in values]
                run = TrainerRun(peak, total, warmup, dict(provenance), notes,
                                 {"lr": str(provenance["peak_lr"]), "total": str(provenance["total_steps"]),
                                  "warmup": str(provenance["warmup_steps"])}, asked,
                                 f"; {', '.join(ignored)} are ignored too (Axolotl logs \"axolotl's cosine scheduler with min lr "
                                 "not used\")" if ignored else "")
                from .deepspeed_run import deepspeed_spec

                return deepspeed_spec(replace(options, framework=None, scheduler=None), file, run)
    try:
        spec = ScheduleSpec(scheduler=scheduler, peak_lr=peak, total_steps=total, warmup_steps=warmup,
                            scheduler_kwargs=kwargs, framework=framework, provenance=provenance)
    except SpecError as error:
        raise SpecError(f"--config {config.path}: {error}" if config else str(error)) from None
    return replace(spec, notes=tuple(notes) + spec_notes(spec))


def _run_length(options: Any, values: dict[str, Any], config: AxolotlFile | None, provenance: dict, notes: list) -> tuple[int, int]:
    """(the Trainer's max_steps, Axolotl's total_num_steps used for the warmup)."""
    from ..spec import Source

    data_steps = None
    if options.dataset_size is not None:
        if values.get("sample_packing"):
            raise SpecError(f"--dataset-size: {config.where('sample_packing')} is on, so Axolotl estimates the steps from "
                            "token counts, not from the number of examples; give --steps N")
        micro = options.batch_size or values.get("micro_batch_size") or 1
        if options.grad_accum is not None:
            accum = options.grad_accum
        elif "gradient_accumulation_steps" in values:
            accum = values["gradient_accumulation_steps"]
        elif "batch_size" in values:
            accum = values["batch_size"] // micro
        else:
            accum = 1
        gpus = options.gpus or 1
        epochs = options.epochs if options.epochs is not None else values.get("num_epochs", 1.0)
        batch = micro * accum * gpus
        data_steps = math.ceil(options.dataset_size * epochs / batch)
        arithmetic = f"total = ceil({options.dataset_size} × {epochs:g} / ({micro}×{accum}×{gpus})) = {data_steps} (Axolotl)"
        def source(flag_value: Any, flag: str, key: str, value: Any) -> Source:
            if flag_value is not None:
                return Source("flag", flag, value=value)
            if key in values:
                return Source("file", config.where(key), value=value)
            return Source("default", "Axolotl", value=value)

        provenance["dataset_size"] = Source("flag", "--dataset-size", value=options.dataset_size)
        provenance["batch_size"] = source(options.batch_size, "--batch-size", "micro_batch_size", micro)
        provenance["grad_accum"] = source(options.grad_accum, "--grad-accum", "gradient_accumulation_steps", accum)
        provenance["gpus"] = source(options.gpus, "--gpus", "(WORLD_SIZE)", gpus)
        provenance["epochs"] = source(options.epochs, "--epochs", "num_epochs", epochs)
    elif any(v is not None for v in (options.batch_size, options.grad_accum, options.gpus, options.epochs)):
        raise SpecError("--batch-size/--grad-accum/--gpus/--epochs only change the run length together with --dataset-size N")
    if options.steps is not None:
        provenance["total_steps"] = Source("flag", "--steps")
        counted = min(data_steps, options.steps) if data_steps else options.steps
        return options.steps, counted
    if values.get("max_steps"):
        provenance["total_steps"] = Source("file", config.where("max_steps"))
        if data_steps is None:
            notes.append(f"{config.where('max_steps')} = {values['max_steps']}: Axolotl counts the warmup from "
                         "min(steps from the data, max_steps); without --dataset-size lrviz assumes the data has at least as many")
            return values["max_steps"], values["max_steps"]
        return values["max_steps"], min(data_steps, values["max_steps"])
    if data_steps is not None:
        provenance["total_steps"] = Source("derived", "", arithmetic)
        return data_steps, data_steps
    if config is not None:
        raise SpecError(f"--config {config.path} sets no max_steps, so the run length depends on the dataset: add "
                        "--dataset-size N (training examples) or --steps N")
    provenance["total_steps"] = Source("default", "lrviz")
    return 1000, 1000


def _warmup(options: Any, values: dict[str, Any], config: AxolotlFile | None, counted: int, provenance: dict,
            notes: list) -> int:
    from ..spec import Source

    if options.warmup_ratio is not None and options.warmup_steps is not None:
        raise SpecError("--warmup-ratio and --warmup-steps both set the warmup; give one of them")
    if options.warmup_steps is not None:
        if options.warmup_steps != int(options.warmup_steps) or 0 < options.warmup_steps < 1:
            raise SpecError(f"--warmup-steps {options.warmup_steps}: Axolotl's warmup_steps is a whole number of updates; "
                            "for a fraction use --warmup-ratio")
        warmup, source = int(options.warmup_steps), Source("flag", "--warmup-steps")
    elif options.warmup_ratio is not None:
        warmup = max(int(options.warmup_ratio * counted), 0)
        source = Source("derived", "", f"warmup = int({options.warmup_ratio:g} × {counted}) = {warmup} (Axolotl floors)")
    elif values.get("warmup_steps") is not None:
        warmup, source = values["warmup_steps"], Source("file", config.where("warmup_steps"))
    elif values.get("warmup_ratio") is not None:
        ratio = values["warmup_ratio"]
        warmup = max(int(ratio * counted), 0)
        source = Source("derived", "", f"warmup = int({ratio:g} × {counted}) = {warmup} (from {config.where('warmup_ratio')}; "
                                       "Axolotl floors)")
    else:
        warmup = min(int(0.03 * counted), 100)
        source = Source("derived", "", f"warmup = min(int(0.03 × {counted}), 100) = {warmup} (Axolotl's default)")
        if config is not None:
            notes.append(f"{config.name} sets no warmup: Axolotl adds min(int(0.03 × {counted}), 100) = {warmup} warmup "
                         "updates anyway; write warmup_steps: 0 for none")
    if warmup == 1:
        notes.append("warmup_steps 1 becomes 2 in Axolotl")
        source = Source("derived", "", f"{source.detail or source.where}; 1 becomes 2 (Axolotl)")
        warmup = 2
    provenance["warmup_steps"] = source
    return warmup


# The interface every config format module has (lrviz.configs.pipeline).
looks_like = looks_like_axolotl
read = read_axolotl
to_spec = axolotl_spec
