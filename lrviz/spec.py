"""ScheduleSpec: the validated, frozen description of one LR schedule, with where each value came from.

Conventions (see DESIGN.md):

* ``total_steps`` is the number of optimizer updates of the run (HF ``num_training_steps``). Warmup counts
  *inside* it: a run of 1000 updates with 30 warmup updates decays over the remaining 970.
* ``warmup_steps`` is the resolved warmup length in updates (a ratio has already been turned into a count).
* Update index ``s = 0, 1, ...`` is the LR used by the ``(s+1)``-th ``optimizer.step()``.
* ``scheduler_kwargs`` are spelled exactly as the framework receives them (HF ``lr_scheduler_kwargs``).
"""

from __future__ import annotations

import difflib
import math
import numbers
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from .errors import SpecError
from .signatures import (
    FLOOR_LR_END,
    FLOOR_MIN_LR_OR_RATE,
    FLOOR_MIN_LR_RATIO,
    HF_WITHOUT_CLOSED_FORM,
    KWARG_HINTS,
    SIGNATURES,
    TRAINER_SUPPLIED_KWARGS,
    Signature,
)

# Update indices are exact in float64 (the frameworks compute `float(current_step)`) up to 2**53.
MAX_STEPS = 2**53

# Settings the run length is derived from; their values live in the provenance (``Source.value``).
RUN_LENGTH_KEYS = ("dataset_size", "batch_size", "grad_accum", "gpus", "epochs", "drop_last")


@dataclass(frozen=True)
class Source:
    """Where one resolved value came from: a flag, a file key, a default, or arithmetic."""

    kind: str  # "flag", "file", "default", "derived"
    where: str  # "--lr", "run.yaml:learning_rate", "lrviz", "transformers", ...
    detail: str = ""  # the arithmetic for derived values
    value: Any = field(default=None, compare=False)  # the value itself, for settings no spec field holds (batch size)

    def __str__(self) -> str:
        if self.kind == "flag":
            return f"flag {self.where}"
        if self.kind == "file":
            return self.where
        if self.kind == "default":
            return f"default ({self.where})"
        return f"derived: {self.detail}" if self.detail else f"derived ({self.where})"


@dataclass(frozen=True)
class ScheduleSpec:
    """One LR schedule as a framework will run it.

    Args:
        scheduler: the framework's scheduler name, e.g. ``"cosine_with_min_lr"``.
        peak_lr: the optimizer's ``lr`` (``optimizer.defaults["lr"]``), which warmup climbs to.
        total_steps: optimizer updates in the run (HF ``num_training_steps``); warmup is inside it.
        warmup_steps: warmup length in updates.
        scheduler_kwargs: the framework's scheduler keyword arguments (HF ``lr_scheduler_kwargs``).
        framework: whose semantics, ``"hf"`` (transformers, TRL, LLaMA-Factory).
        provenance: where each value came from, keyed by field name (``"kwargs.min_lr"`` for kwargs).
        notes: warnings collected while resolving the spec (config pitfalls, version differences).
    """

    scheduler: str
    peak_lr: float
    total_steps: int
    warmup_steps: int = 0
    scheduler_kwargs: Mapping[str, Any] = field(default_factory=dict)
    framework: str = "hf"
    provenance: Mapping[str, Source] = field(default_factory=dict, compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)
    framework_version: str | None = None  # None: the current release (see lrviz/frameworks/versions.py)

    def __post_init__(self) -> None:
        signature = _signature(self.framework, self.scheduler)
        _check_positive_float("peak_lr", self.peak_lr, flag="--lr")
        _check_count("total_steps", self.total_steps, minimum=1, flag="--steps")
        _check_count("warmup_steps", self.warmup_steps, minimum=0, flag="--warmup-steps")
        kwargs = _validated_kwargs(signature, dict(self.scheduler_kwargs))
        from .frameworks.versions import canonical_version

        object.__setattr__(self, "framework_version", canonical_version(self.framework, self.framework_version))
        _check_consistency(signature, self, kwargs)
        if self.framework != "hf":
            from .frameworks.catalog import check_spec

            check_spec(self, kwargs)
        object.__setattr__(self, "peak_lr", float(self.peak_lr))
        object.__setattr__(self, "total_steps", int(self.total_steps))
        object.__setattr__(self, "warmup_steps", int(self.warmup_steps))
        object.__setattr__(self, "scheduler_kwargs", MappingProxyType(kwargs))
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))
        object.__setattr__(self, "notes", tuple(self.notes))

    @property
    def signature(self) -> Signature:
        return SIGNATURES[self.framework][self.scheduler]

    def kwarg(self, name: str) -> Any:
        """A scheduler keyword argument, or the framework's default for it."""
        if name in self.scheduler_kwargs:
            return self.scheduler_kwargs[name]
        spec = self.signature.kwarg(name)
        return None if spec is None else spec.default

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary of the settings and their provenance."""
        return {
            "framework": self.framework,
            "scheduler": self.scheduler,
            "peak_lr": self.peak_lr,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "scheduler_kwargs": dict(self.scheduler_kwargs),
            "provenance": {key: str(source) for key, source in self.provenance.items()},
            "run_length": {key: self.provenance[key].value for key in RUN_LENGTH_KEYS
                           if key in self.provenance and self.provenance[key].value is not None},
            "notes": list(self.notes),
            **({"framework_version": self.framework_version} if self.framework_version is not None else {}),
        }


def _signature(framework: str, scheduler: str) -> Signature:
    if framework not in SIGNATURES:
        raise SpecError(f"--framework {framework!r} is not supported yet; use one of: {', '.join(SIGNATURES)}")
    known = SIGNATURES[framework]
    if scheduler in HF_WITHOUT_CLOSED_FORM and framework == "hf":
        raise SpecError(
            f"--scheduler {scheduler!r} depends on the training loss, so it has no curve to draw; "
            f"use one of: {', '.join(known)}",
            field="scheduler",
        )
    if scheduler not in known:
        guess = difflib.get_close_matches(str(scheduler), list(known), n=1)
        hint = f"did you mean {guess[0]!r}? " if guess else ""
        raise SpecError(f"--scheduler {scheduler!r} is not a {framework} scheduler; {hint}use one of: {', '.join(known)}",
                        field="scheduler")
    return known[scheduler]


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def describe_value(value: Any) -> str:
    """A value for a message: short even for an integer of thousands of digits or a long string."""
    if isinstance(value, str):
        return f"the string {value[:40]!r}" + (f" ({len(value):,} characters)" if len(value) > 40 else "")
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and abs(value) >= 10**30:
        return f"an integer of about {int(abs(int(value)).bit_length() * 0.30103) + 1:,} digits"
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e30:
        return f"{value:g}"
    return repr(value)


def is_finite_number(value: Any) -> bool:
    """A real number, not bool, finite as a float64 (an integer too large for float64 is not)."""
    if not _is_real(value):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _check_positive_float(name: str, value: Any, *, flag: str) -> None:
    if not is_finite_number(value) or value <= 0:
        raise SpecError(f"{flag} {describe_value(value)} ({name}) must be a finite number > 0, e.g. {flag} 2e-4", field=name)


def _check_count(name: str, value: Any, *, minimum: int, flag: str) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise SpecError(f"{flag} {describe_value(value)} ({name}) must be a whole number of optimizer updates", field=name)
    if not minimum <= value <= MAX_STEPS:
        raise SpecError(f"{flag} {describe_value(value)} ({name}) must be between {minimum} and 2**53 ({MAX_STEPS})",
                        field=name)


def _validated_kwargs(signature: Signature, kwargs: dict[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key, value in kwargs.items():
        accepted = signature.kwarg(key)
        if accepted is None:
            if not signature.kwargs_forwarded:
                # transformers' get_scheduler drops lr_scheduler_kwargs for this type: accepted, unused.
                checked[key] = value
                continue
            raise SpecError(_unknown_kwarg_message(signature, key))
        checked[key] = _checked_value(signature, key, accepted.kind, accepted.choices, value)
    for accepted in signature.kwargs:
        if accepted.required and accepted.name not in checked:
            raise SpecError(
                f"lr_scheduler_kwargs: {signature.name} needs {accepted.name!r} "
                f"(transformers raises TypeError without it); pass --scheduler-kwargs '{{\"{accepted.name}\": 100}}'"
            )
    return checked


def _unknown_kwarg_message(signature: Signature, key: str) -> str:
    if signature.framework != "hf":
        close = difflib.get_close_matches(key, list(signature.kwarg_names), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return (
            f"--scheduler-kwargs: {key!r} is not a setting of {signature.framework} {signature.name}; {hint}"
            f"it accepts: {', '.join(signature.kwarg_names) or 'none'} (run length and warmup: --steps, --warmup-steps)"
        )
    where = f"lr_scheduler_kwargs: {key!r} is not accepted by {signature.name}"
    if key in TRAINER_SUPPLIED_KWARGS:
        return f"{where}: the Trainer passes it itself (TypeError: got multiple values); remove it from the kwargs"
    accepted = signature.kwarg_names
    hint = KWARG_HINTS.get(key)
    if hint is None or hint not in accepted:
        close = difflib.get_close_matches(key, list(accepted), n=1, cutoff=0.6)
        hint = close[0] if close else hint
    if hint in accepted:
        return f"{where} (transformers raises TypeError); did you mean {hint!r}?"
    if key in ("min_lr", "min_lr_rate", "min_lr_ratio", "eta_min", "lr_min") or hint in ("min_lr", "min_lr_rate"):
        return (
            f"{where}: {signature.name} has no floor setting (transformers raises TypeError); "
            f"use --scheduler cosine_with_min_lr with min_lr or min_lr_rate"
        )
    allowed = ", ".join(accepted) if accepted else "none"
    return f"{where} (transformers raises TypeError); it accepts: {allowed}"


def _checked_value(signature: Signature, key: str, kind: str, choices: tuple[str, ...], value: Any) -> Any:
    where = f"lr_scheduler_kwargs: {key} = {describe_value(value)}"
    if value is None:
        accepted = signature.kwarg(key)
        if signature.framework != "hf" or (accepted.default is None and not accepted.required):
            return None  # the framework's own default (DeepSpeed: warmup_max_lr=None is each group's LR)
        fix = "(it is required)" if accepted.required else f"or remove the key to take the default, {accepted.default!r}"
        raise SpecError(f"lr_scheduler_kwargs: {key} is null; {signature.name} passes None on and fails on it: give a "
                        f"value {fix}")
    if kind == "bool":
        if not isinstance(value, bool):
            raise SpecError(f"{where} must be true or false (for {signature.name})")
        return value
    if kind == "choice":
        if value not in choices:
            raise SpecError(f"{where} is not one of {', '.join(choices)} (for {signature.name})")
        return value
    if isinstance(value, str):
        fix = "write it as a number"
        try:
            fix = f"write {float(value)!r}" if "e" in value.lower() and "." not in value else fix
        except ValueError:
            pass
        raise SpecError(f"{where} is text, not a number (transformers would fail on it); {fix}")
    if not is_finite_number(value):
        raise SpecError(f"{where} must be a finite number")
    if kind == "int":
        if value != int(value) or value < 0:
            raise SpecError(f"{where} must be a whole number of updates >= 0")
        return int(value)
    if key in ("min_lr", "min_lr_rate", "min_lr_ratio", "lr_end", "warmup_lr_rate") and value < 0:
        raise SpecError(f"{where} must be >= 0: a negative floor is not a learning rate")
    if key == "warmup_lr_rate" and value > 1:
        raise SpecError(f"{where} must lie in [0, 1]: it is the fraction of the peak that warmup starts at")
    return value


def _check_consistency(signature: Signature, spec: ScheduleSpec, kwargs: dict[str, Any]) -> None:
    if signature.floor == FLOOR_MIN_LR_OR_RATE:
        has_abs, has_rate = kwargs.get("min_lr") is not None, kwargs.get("min_lr_rate") is not None
        if has_abs and has_rate:
            raise SpecError(
                "Only one of min_lr or min_lr_rate should be set (transformers raises this ValueError); "
                "keep either --min-lr or --min-lr-rate"
            )
        if not has_abs and not has_rate:
            raise SpecError(
                f"{spec.scheduler} needs a floor: set --min-lr (absolute, e.g. 2e-6) or --min-lr-rate (fraction of "
                "--lr, e.g. 0.01), i.e. min_lr or min_lr_rate in lr_scheduler_kwargs (transformers raises "
                "ValueError without one)"
            )
    if signature.floor == FLOOR_LR_END:
        lr_end = kwargs.get("lr_end", signature.kwarg("lr_end").default)
        if not spec.peak_lr > lr_end:
            raise SpecError(
                f"lr_scheduler_kwargs: lr_end ({lr_end}) must be smaller than initial lr ({spec.peak_lr}) "
                "(transformers raises this ValueError); lower --min-lr"
            )
        if spec.warmup_steps == spec.total_steps:
            raise SpecError(
                f"--warmup-steps {spec.warmup_steps} equals --steps: transformers' polynomial schedule divides by "
                "zero at that update (ZeroDivisionError); use fewer warmup steps"
            )
        if kwargs.get("power", 1.0) < 0:
            raise SpecError(f"lr_scheduler_kwargs: power = {kwargs['power']} must be >= 0 (0**power divides by zero)")
    if signature.name == "inverse_sqrt" and kwargs.get("timescale") is not None and kwargs["timescale"] <= 0:
        raise SpecError(f"lr_scheduler_kwargs: timescale = {kwargs['timescale']} must be > 0")
    if signature.floor == FLOOR_MIN_LR_RATIO and "num_stable_steps" not in kwargs:
        stable = spec.total_steps - spec.warmup_steps - kwargs["num_decay_steps"]
        if stable < 0:
            raise SpecError(
                f"lr_scheduler_kwargs: num_decay_steps = {kwargs['num_decay_steps']} leaves no room: warmup "
                f"{spec.warmup_steps} + decay exceeds --steps {spec.total_steps} (stable phase {stable}); "
                "lower num_decay_steps or the warmup"
            )
