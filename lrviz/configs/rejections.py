"""What a framework refuses at launch in a TrainingArguments / LLaMA-Factory file, found before the run.

Each ``Rejection`` carries the framework's own error (the exception and its text, as the framework prints it),
lrviz's explanation and the exact fix (the YAML to write). ``lrviz plot``, ``verify`` and ``check-run`` stop on
the first one (exit 2, one line: ``Rejection.line``); ``lrviz advise`` shows each as a finding with the same
message and fix, then advises on the schedule as the fix would make it. Nothing here is worded twice.

Sources:

* transformers ``hf_argparser.py::HfArgumentParser.parse_dict`` (``parse_yaml_file`` calls it):
  ``ValueError(f"Some keys are not used by the HfArgumentParser: {sorted(unused_keys)}")`` for a key no
  dataclass field takes. LLaMA-Factory (``src/llamafactory/hparams/parser.py::_parse_args``) parses the training
  YAML with ``parse_dict(args, allow_extra_keys=False)`` unless the environment sets ``ALLOW_EXTRA_ARGS``.
* transformers ``optimization.py::get_scheduler`` forwards ``lr_scheduler_kwargs`` to the scheduler function:
  a key it does not take is ``TypeError: <function>() got an unexpected keyword argument '<key>'``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

# The floor (and warmup start) keys of transformers' min-LR schedulers, which belong in lr_scheduler_kwargs.
FLOOR_KEYS = ("min_lr", "min_lr_rate", "warmup_lr_rate")
# Which scheduler takes each key (transformers 5.24 optimization.py signatures).
TAKES = {
    "min_lr": ("cosine_with_min_lr", "cosine_warmup_with_min_lr"),
    "min_lr_rate": ("cosine_with_min_lr", "cosine_warmup_with_min_lr"),
    "warmup_lr_rate": ("cosine_warmup_with_min_lr",),
}
# transformers optimization.py TYPE_TO_SCHEDULER_FUNCTION: the function a TypeError names.
SCHEDULER_FUNCTIONS = {
    "linear": "get_linear_schedule_with_warmup",
    "cosine": "get_cosine_schedule_with_warmup",
    "cosine_with_restarts": "get_cosine_with_hard_restarts_schedule_with_warmup",
    "polynomial": "get_polynomial_decay_schedule_with_warmup",
    "inverse_sqrt": "get_inverse_sqrt_schedule",
    "cosine_with_min_lr": "get_cosine_with_min_lr_schedule_with_warmup",
    "cosine_warmup_with_min_lr": "get_cosine_with_min_lr_schedule_with_warmup_lr_rate",
    "warmup_stable_decay": "get_wsd_schedule",
}


@dataclass(frozen=True)
class Rejection:
    """One thing the framework refuses at launch.

    code: ``unknown_keys`` (HfArgumentParser), ``misplaced_floor`` (a floor key outside lr_scheduler_kwargs),
    ``floor_not_accepted`` (a floor key the scheduler does not take: TypeError).
    where: ``file.yaml:key``; message: the framework's error and lrviz's explanation; fix: the YAML to write.
    moved: for ``misplaced_floor``, the kwargs (and scheduler) the fix gives, so advise can go on from there.
    """

    code: str
    where: str
    message: str
    fix: str
    kwargs: Mapping[str, Any] | None = None
    scheduler: str | None = None

    def line(self, path: str) -> str:
        """The one-line error of plot, verify and check-run."""
        return f"--config {path}: {self.message}; fix: {self.fix}"


def _yaml(value: Any) -> str:
    if isinstance(value, float):
        from ..advise.numbers import yaml_float

        return yaml_float(value)
    return str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else repr(value)


def _flow(mapping: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{key}: {_yaml(value)}" for key, value in mapping.items()) + "}"


def _scheduler_for(keys: list[str], current: str) -> str:
    """The scheduler that takes all of ``keys``: the current one if it does, else the closest min-LR cosine."""
    if all(current in TAKES[key] for key in keys):
        return current
    return "cosine_warmup_with_min_lr" if "warmup_lr_rate" in keys else "cosine_with_min_lr"


def _fix(kwargs: Mapping[str, Any], scheduler: str, current: str) -> str:
    text = f"lr_scheduler_kwargs: {_flow(kwargs)}"
    return text if scheduler == current else f"lr_scheduler_type: {scheduler} and {text}"


def find(name: str, data: Mapping[str, Any], flavor: str, accepted: frozenset[str] | None,
         scheduler: str, kwargs: Mapping[str, Any], scheduler_given: bool = True) -> list[Rejection]:
    """What transformers / LLaMA-Factory refuse in the parsed file ``data`` (``name``: its base name).

    ``accepted``: every key the framework's parser takes (LLaMA-Factory), None where lrviz does not know the full
    set (a TRL or plain TrainingArguments file: only the floor keys are checked there). ``scheduler`` and
    ``kwargs``: the file's lr_scheduler_type (or transformers' default, ``scheduler_given`` False) and
    lr_scheduler_kwargs.
    """
    found: list[Rejection] = []
    misplaced: dict[str, tuple[str, Any]] = {}  # floor key -> (where it is, value)
    for key, value in data.items():
        if key in FLOOR_KEYS:
            misplaced[key] = (str(key), value)
        elif isinstance(value, Mapping) and key not in ("lr_scheduler_kwargs", "deepspeed"):
            for inner, inner_value in value.items():
                if inner in FLOOR_KEYS:
                    misplaced.setdefault(inner, (f"{key}.{inner}", inner_value))
    unknown = sorted(str(key) for key in data if accepted is not None and str(key) not in accepted)
    if accepted is None:
        unknown = sorted(key for key in data if key in FLOOR_KEYS)
    owner = "LLaMA-Factory" if flavor == "llamafactory" else "transformers"
    error = f"ValueError: Some keys are not used by the HfArgumentParser: {unknown}"
    if misplaced:
        keys = list(misplaced)
        target = _scheduler_for(keys, scheduler)
        moved = dict(kwargs)
        if {"min_lr", "min_lr_rate"} & set(misplaced):  # one floor only (transformers: "Only one of min_lr or ...")
            moved.pop("min_lr", None)
            moved.pop("min_lr_rate", None)
        moved.update({key: value for key, (_, value) in misplaced.items()})
        spots = ", ".join(f"{where}: {_yaml(value)}" for where, value in misplaced.values())
        refused = [where.split(".")[0] for where, _ in misplaced.values() if where.split(".")[0] in unknown]
        if refused:
            said = f"{owner} refuses it at launch ({error})"
        else:
            said = f"{owner} reads it there but never passes it to the scheduler, so the floor is not set"
        belongs = "the floor" if keys != ["warmup_lr_rate"] else "the warmup start"
        message = (f"{spots} is outside lr_scheduler_kwargs: {said}; {belongs} of {target} goes in "
                   f"lr_scheduler_kwargs")
        first = next(iter(misplaced.values()))[0]
        found.append(Rejection("misplaced_floor", f"{name}:{first}", message, _fix(moved, target, scheduler), moved,
                               target))
        unknown = [key for key in unknown if key not in {where.split(".")[0] for where, _ in misplaced.values()}]
    if unknown and accepted is not None:
        close = _close(unknown, accepted)
        hint = f" (did you mean {close}?)" if close else ""
        found.append(Rejection(
            "unknown_keys", f"{name}:{unknown[0]}",
            f"{', '.join(unknown)} {'is not a key' if len(unknown) == 1 else 'are not keys'} of {owner}'s training "
            f"arguments{hint}: {owner} refuses the file at launch ({error} — unless ALLOW_EXTRA_ARGS=1, which drops "
            f"{'it' if len(unknown) == 1 else 'them'})",
            f"remove {', '.join(unknown)} or spell {'it' if len(unknown) == 1 else 'them'} as {owner} does"))
    shown = f"lr_scheduler_type: {scheduler}" if scheduler_given else f"no lr_scheduler_type (transformers' default {scheduler})"
    for key, value in kwargs.items():
        if "deepspeed" in data:
            break  # a DeepSpeed "scheduler" block may replace the Trainer's scheduler: lrviz.configs.deepspeed_run
        if key in FLOOR_KEYS and scheduler in SCHEDULER_FUNCTIONS and scheduler not in TAKES[key]:
            target = _scheduler_for([k for k in kwargs if k in FLOOR_KEYS], scheduler)
            function = SCHEDULER_FUNCTIONS[scheduler]
            found.append(Rejection(
                "floor_not_accepted", f"{name}:lr_scheduler_kwargs.{key}",
                f"lr_scheduler_kwargs.{key}: {_yaml(value)} with {shown}: transformers raises "
                f"TypeError at launch ({function}() got an unexpected keyword argument '{key}'): {scheduler} has no "
                f"{'floor' if key != 'warmup_lr_rate' else 'warmup start'} setting",
                f"lr_scheduler_type: {target}", dict(kwargs), target))
            break
    return found


def _close(unknown: list[str], accepted: frozenset[str]) -> str:
    import difflib

    for key in unknown:
        match = difflib.get_close_matches(key, sorted(accepted), n=1, cutoff=0.8)
        if match:
            return f"{match[0]} for {key}"
    return ""
