"""Turn command-line options and a config file into one ScheduleSpec, recording where each value came from.

Precedence: an explicit flag, then the config file, then a default. Without a config file the defaults
are lrviz's (a cosine to 10% of a 2e-4 peak over 1000 updates with 3% warmup); with one they are the
framework's own (transformers: ``linear``, ``5e-5``, no warmup), because those are what the run will use.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from .configs.hf import ConfigFile
from .errors import SpecError
from .notes import Note
from .options import Options
from .schedules import floor_lr
from .signatures import (
    FLOOR_ABSOLUTE,
    FLOOR_LR_END,
    FLOOR_MIN_LR_OR_RATE,
    FLOOR_MIN_LR_RATIO,
    FLOOR_RATIO,
    SIGNATURES,
)
from .spec import ScheduleSpec, Source
from .steps import Derived, hf_total_steps, hf_warmup_steps

LRVIZ_DEFAULTS = {
    "lr": 2e-4,
    "scheduler": "cosine_with_min_lr",
    "steps": 1000,
    "warmup_ratio": 0.03,
    "min_lr_rate": 0.1,
}

# transformers 5.24.0 TrainingArguments defaults for the fields lrviz reads.
HF_DEFAULTS = {
    "learning_rate": 5e-5,
    "lr_scheduler_type": "linear",
    "warmup_steps": 0,
    "num_train_epochs": 3.0,
    "per_device_train_batch_size": 8,
    "gradient_accumulation_steps": 1,
    "max_steps": -1,
    "dataloader_drop_last": False,
}

_FLOOR_KEYS = ("min_lr", "min_lr_rate", "min_lr_ratio", "lr_end")


class _Resolver:
    """Collects values and their sources for one spec."""

    def __init__(self, options: Options, config: ConfigFile | None) -> None:
        self.options = options
        self.config = config
        self.provenance: dict[str, Source] = {}
        self.notes: list[str] = list(config.notes) if config else []

    def pick(self, field: str, flag: str, flag_value: Any, key: str | None, default: Any, owner: str | None = None) -> Any:
        """The flag's value if given, else the file's, else the default (``owner``'s); its source is recorded."""
        if flag_value is not None:
            self.provenance[field] = Source("flag", flag, value=flag_value)
            return flag_value
        if self.config is not None and key is not None and key in self.config.values:
            value = self.config.values[key].value
            self.provenance[field] = Source("file", self.config.where(key), value=value)
            return value
        owner = owner or ("transformers" if self.config is not None else "lrviz")
        self.provenance[field] = Source("default", owner, value=default)
        return default

    def derived(self, field: str, result: Derived) -> int:
        self.provenance[field] = Source("derived", "", result.arithmetic)
        return result.value


def resolve(
    options: Options,
    config: ConfigFile | None = None,
    *,
    scheduler: str | None = None,
    extra_kwargs: dict[str, Any] | None = None,
    lenient: bool = False,
) -> ScheduleSpec:
    """Build the spec for ``options`` (+ ``config``).

    For comparisons, ``scheduler`` overrides the type, ``extra_kwargs`` are added to its kwargs, and
    ``lenient`` drops the shared settings that this scheduler does not accept (a floor flag, --num-cycles,
    other kwargs) with a note instead of failing, so that one set of flags can be compared across types.
    """
    resolver = _Resolver(options, config)
    try:
        return _resolve(resolver, scheduler, extra_kwargs or {}, lenient)
    except SpecError as error:
        if config is None:
            raise
        raise SpecError(_blamed(str(error), error.field, resolver.provenance, config.path), field=error.field) from None


def _blamed(message: str, field: str | None, provenance: dict[str, Source], path: str) -> str:
    """The message with the one who gave the value in front: the flag, or the file and its key; never the file for
    a flag's value, nor a flag for the file's."""
    import re

    def owner(source: Source | None) -> str | None:
        if source is None or source.kind == "default" or source.kind == "derived":
            return None
        if source.kind == "flag":
            return source.where
        return f"--config {path} ({source.where.split(':', 1)[1]})"

    about = None
    kwarg = re.match(r"lr_scheduler_kwargs: '?(\w+)'?", message)
    if kwarg:
        about = provenance.get(f"kwargs.{kwarg.group(1)}")
    elif "needs a floor" in message:
        about = provenance.get("scheduler")
    elif field is not None:
        about = provenance.get(field)
    blamed = owner(about)
    if blamed is None:
        return message
    scheduler = provenance.get("scheduler")
    if scheduler is not None and scheduler.kind != about.kind and scheduler.kind in ("flag", "file") and (kwarg or "needs a floor" in message):
        message += f" (the scheduler: {owner(scheduler)})"
    if about.kind == "flag" and message.startswith(about.where):
        return message
    return f"{blamed}: {message}"


def _peak_lr(r: _Resolver) -> float:
    """--lr, the file's learning_rate, or the default: lrviz's without a config, transformers' with one, and the
    config class's own for a TRL config (DPOConfig: 1e-6), with a note naming it."""
    config = r.config
    trl_class = getattr(config, "trl", None)
    if trl_class is None or trl_class.learning_rate is None:
        return r.pick("peak_lr", "--lr", r.options.lr, "learning_rate",
                      HF_DEFAULTS["learning_rate"] if config is not None else LRVIZ_DEFAULTS["lr"])
    peak_lr = r.pick("peak_lr", "--lr", r.options.lr, "learning_rate", trl_class.learning_rate,
                     f"trl {trl_class.release} {trl_class.name}")
    if r.provenance["peak_lr"].kind == "default":
        from .formatting import format_lr

        text = (f"{config.where('learning_rate')} is not set: {trl_class.trainer} trains at {format_lr(peak_lr)}, "
                f"{trl_class.default_text()}")
        differ = trl_class.others_with_another_default()
        if differ:
            text += (f"; the keys ({', '.join(trl_class.keys[:4])}) also fit {', '.join(differ[:3])}, whose default "
                     "differs: set learning_rate to be sure")
        r.notes.append(Note("trl.default_lr", text))
    return peak_lr


def _resolve(r: _Resolver, scheduler: str | None, extra_kwargs: dict[str, Any], lenient: bool) -> ScheduleSpec:
    options, config = r.options, r.config
    has_config = config is not None
    framework = r.pick("framework", "--framework", options.framework, None, "hf")
    if scheduler is not None:
        r.provenance["scheduler"] = Source("flag", "--compare")
    else:
        default_scheduler = HF_DEFAULTS["lr_scheduler_type"] if has_config else LRVIZ_DEFAULTS["scheduler"]
        if framework != "hf":
            from .frameworks import DEFAULT_SCHEDULERS

            default_scheduler = DEFAULT_SCHEDULERS.get(framework, default_scheduler)
        scheduler = r.pick("scheduler", "--scheduler", options.scheduler, "lr_scheduler_type", default_scheduler)
    peak_lr = _peak_lr(r)

    total_steps = _total_steps(r)
    warmup_steps = _warmup_steps(r, total_steps)
    signature = SIGNATURES.get(framework, {}).get(scheduler)
    if signature is not None and not signature.warmup and warmup_steps:
        if options.warmup_ratio is not None or options.warmup_steps is not None:
            flag = "--warmup-ratio" if options.warmup_ratio is not None else "--warmup-steps"
            raise SpecError(f"{flag}: {framework} {scheduler} has no warmup; drop the flag, or use a scheduler with one")
        warmup_steps = 0
        r.provenance["warmup_steps"] = Source("default", f"{scheduler} has no warmup")
    kwargs = _scheduler_kwargs(r, signature, peak_lr, total_steps, warmup_steps, lenient)
    for key, value in extra_kwargs.items():
        kwargs[key] = value
        r.provenance[f"kwargs.{key}"] = Source("flag", "--compare")

    if signature is not None and not signature.kwargs_forwarded:
        if warmup_steps and scheduler == "constant":
            r.notes.append(
                f"constant ignores warmup (transformers builds it without num_warmup_steps): the {warmup_steps} "
                "warmup updates are not applied; use constant_with_warmup"
            )
        if kwargs:
            r.notes.append(f"transformers drops lr_scheduler_kwargs for {scheduler}: {', '.join(kwargs)} have no effect")
    if warmup_steps >= total_steps:
        r.notes.append(Note(
            "warmup_not_shorter",
            f"warmup ({warmup_steps} updates) is not shorter than the run ({total_steps} updates): the decay never starts"
        ))
    spec = ScheduleSpec(
        scheduler=scheduler,
        peak_lr=peak_lr,
        total_steps=total_steps,
        warmup_steps=warmup_steps,
        scheduler_kwargs=kwargs,
        framework=framework,
        provenance=r.provenance,
        notes=tuple(r.notes),
        framework_version=options.framework_version,
    )
    from .frameworks.catalog import spec_notes

    return replace(spec, notes=tuple(r.notes) + _floor_notes(spec) + spec_notes(spec))


def _total_steps(r: _Resolver) -> int:
    o, config = r.options, r.config
    dataset_flags = {
        "--batch-size": o.batch_size,
        "--grad-accum": o.grad_accum,
        "--gpus": o.gpus,
        "--epochs": o.epochs,
        "--drop-last": o.drop_last,
    }
    if o.steps is not None:
        if o.dataset_size is not None:
            raise SpecError(
                f"--steps {o.steps} and --dataset-size {o.dataset_size} both set the run length; give one of them"
            )
        r.provenance["total_steps"] = Source("flag", "--steps")
        return o.steps
    file_max_steps = config.values["max_steps"].value if config and "max_steps" in config.values else -1
    if file_max_steps > 0:
        if o.dataset_size is not None:
            r.notes.append(
                f"{config.where('max_steps')} = {file_max_steps} overrides the epochs, as in the Trainer: "
                f"--dataset-size {o.dataset_size} does not change the run length"
            )
        r.provenance["total_steps"] = Source("file", config.where("max_steps"))
        return file_max_steps
    if o.dataset_size is None:
        given = [flag for flag, value in dataset_flags.items() if value is not None]
        if given:
            raise SpecError(f"{given[0]} only changes the run length together with --dataset-size N; add it or use --steps")
        if config is not None:
            raise SpecError(
                f"--config {config.path} sets no max_steps, so the run length depends on the dataset: add "
                "--dataset-size N (training examples) or --steps N"
            )
        r.provenance["total_steps"] = Source("default", "lrviz")
        return LRVIZ_DEFAULTS["steps"]
    batch_size = r.pick("batch_size", "--batch-size", o.batch_size, "per_device_train_batch_size", HF_DEFAULTS["per_device_train_batch_size"])
    grad_accum = r.pick("grad_accum", "--grad-accum", o.grad_accum, "gradient_accumulation_steps", HF_DEFAULTS["gradient_accumulation_steps"])
    gpus = r.pick("gpus", "--gpus", o.gpus, None, 1)
    epochs = r.pick("epochs", "--epochs", o.epochs, "num_train_epochs", HF_DEFAULTS["num_train_epochs"])
    drop_last = r.pick("drop_last", "--drop-last", o.drop_last, "dataloader_drop_last", False)
    r.provenance["dataset_size"] = Source("flag", "--dataset-size", value=o.dataset_size)
    result = hf_total_steps(
        dataset_size=o.dataset_size,
        batch_size=batch_size,
        grad_accum=grad_accum,
        gpus=gpus,
        epochs=epochs,
        drop_last=drop_last,
    )
    return r.derived("total_steps", result)


def _warmup_steps(r: _Resolver, total_steps: int) -> int:
    o, config = r.options, r.config
    if o.warmup_ratio is not None and o.warmup_steps is not None:
        raise SpecError(
            f"--warmup-ratio {o.warmup_ratio} and --warmup-steps {o.warmup_steps} both set the warmup; give one of them"
        )
    if o.warmup_ratio is not None:
        return r.derived("warmup_steps", _ratio_warmup(total_steps, o.warmup_ratio, "--warmup-ratio"))
    if o.warmup_steps is not None:
        return r.derived("warmup_steps", hf_warmup_steps(total_steps, o.warmup_steps))
    if config is None:
        return r.derived("warmup_steps", _ratio_warmup(total_steps, LRVIZ_DEFAULTS["warmup_ratio"], "--warmup-ratio"))
    ratio = config.values.get("warmup_ratio")
    steps = config.values.get("warmup_steps")
    if ratio is not None:
        from .configs.hf import warmup_ratio_finding

        counted = _ratio_warmup(total_steps, ratio.value, config.where("warmup_ratio")).value
        message, fix = warmup_ratio_finding(config.where("warmup_ratio"), ratio.value, config.flavor, counted)
        r.notes.append(Note("hf.warmup_ratio_key", f"{message}; fix: {fix}"))
        if steps is not None:
            r.notes.append(Note(
                "hf.both_warmup_keys", f"{config.where('warmup_ratio')} and warmup_steps are both set: transformers 5.x uses warmup_ratio, "
                "4.x used warmup_steps; keep one"
            ))
        result = _ratio_warmup(total_steps, ratio.value, config.where("warmup_ratio"))
        return r.derived("warmup_steps", result)
    if steps is not None:
        result = hf_warmup_steps(total_steps, steps.value, where=f"--config {config.path}: warmup_steps")
        r.provenance["warmup_steps"] = Source("file", config.where("warmup_steps"), result.arithmetic)
        if steps.value >= 1:
            return result.value
        return r.derived("warmup_steps", Derived(result.value, f"{result.arithmetic} (from {config.where('warmup_steps')})"))
    r.provenance["warmup_steps"] = Source("default", "transformers")
    return HF_DEFAULTS["warmup_steps"]


def _ratio_warmup(total_steps: int, ratio: float, where: str) -> Derived:
    if not 0 <= ratio <= 1:
        raise SpecError(f"{where} {ratio} must lie in [0, 1] (a fraction of the run); for a count use --warmup-steps")
    count = math.ceil(total_steps * ratio)
    return Derived(count, f"warmup = ceil({ratio:g} × {total_steps}) = {count}")


def _scheduler_kwargs(r, signature, peak_lr, total_steps, warmup_steps, lenient) -> dict[str, Any]:
    o, config = r.options, r.config
    kwargs: dict[str, Any] = {}
    if config is not None:
        for key, item in config.scheduler_kwargs.items():
            kwargs[key] = item.value
            r.provenance[f"kwargs.{key}"] = Source("file", config.where(item.key))
    for key, value in (o.scheduler_kwargs or {}).items():
        kwargs[key] = value
        r.provenance[f"kwargs.{key}"] = Source("flag", "--scheduler-kwargs")
    if signature is None:
        return kwargs  # ScheduleSpec names the unknown scheduler
    if o.num_cycles is not None:
        if signature.kwarg("num_cycles") is None:
            if not lenient:
                raise SpecError(f"--num-cycles: {signature.name} has no num_cycles setting; drop the flag")
        else:
            kwargs["num_cycles"] = o.num_cycles
            r.provenance["kwargs.num_cycles"] = Source("flag", "--num-cycles")

    if o.min_lr is not None and o.min_lr_rate is not None:
        raise SpecError(
            "Only one of min_lr or min_lr_rate should be set (transformers raises this ValueError); "
            f"keep either --min-lr {o.min_lr} or --min-lr-rate {o.min_lr_rate}"
        )
    flag = "--min-lr" if o.min_lr is not None else "--min-lr-rate" if o.min_lr_rate is not None else None
    if flag is not None:
        absolute = o.min_lr is not None
        value = o.min_lr if absolute else o.min_lr_rate
        for key in _FLOOR_KEYS:
            if key in kwargs:
                del kwargs[key]
                r.provenance.pop(f"kwargs.{key}", None)
        floor = signature.floor
        if floor == FLOOR_MIN_LR_OR_RATE:
            key = "min_lr" if absolute else "min_lr_rate"
            kwargs[key] = value
            r.provenance[f"kwargs.{key}"] = Source("flag", flag)
        elif floor == FLOOR_MIN_LR_RATIO:
            if absolute:
                kwargs["min_lr_ratio"] = value / peak_lr
                r.provenance["kwargs.min_lr_ratio"] = Source("derived", "", f"min_lr_ratio = {value:g} / {peak_lr:g}")
            else:
                kwargs["min_lr_ratio"] = value
                r.provenance["kwargs.min_lr_ratio"] = Source("flag", flag)
        elif floor == FLOOR_LR_END:
            if absolute:
                kwargs["lr_end"] = value
                r.provenance["kwargs.lr_end"] = Source("flag", flag)
            else:
                kwargs["lr_end"] = value * peak_lr
                r.provenance["kwargs.lr_end"] = Source("derived", "", f"lr_end = {value:g} × {peak_lr:g}")
        elif floor in (FLOOR_ABSOLUTE, FLOOR_RATIO):
            key = signature.floor_kwarg
            if absolute == (floor == FLOOR_ABSOLUTE):
                kwargs[key] = value
                r.provenance[f"kwargs.{key}"] = Source("flag", flag)
            elif absolute:
                kwargs[key] = value / peak_lr
                r.provenance[f"kwargs.{key}"] = Source("derived", "", f"{key} = {value:g} / {peak_lr:g}")
            else:
                kwargs[key] = value * peak_lr
                r.provenance[f"kwargs.{key}"] = Source("derived", "", f"{key} = {value:g} × {peak_lr:g}")
        elif not lenient:
            raise SpecError(
                f"{flag} {value:g}: {signature.name} has no floor setting (it ends at "
                f"{'0' if signature.floor == 'zero' else 'no floor'}); use --scheduler cosine_with_min_lr"
            )
    elif signature.floor == FLOOR_MIN_LR_OR_RATE and config is None and not ({"min_lr", "min_lr_rate"} & set(kwargs)):
        kwargs["min_lr_rate"] = LRVIZ_DEFAULTS["min_lr_rate"]
        r.provenance["kwargs.min_lr_rate"] = Source("default", "lrviz")

    if lenient and signature.kwargs_forwarded:
        dropped = [key for key in kwargs if signature.kwarg(key) is None]
        for key in dropped:
            del kwargs[key]
            r.provenance.pop(f"kwargs.{key}", None)
        if dropped:
            r.notes.append(f"{signature.name} does not take {', '.join(dropped)}: left out of this curve")

    if signature.name == "warmup_stable_decay" and config is not None and config.flavor == "llamafactory":
        remaining = total_steps - warmup_steps
        stable = remaining // 3
        for key, value, text in (
            ("num_stable_steps", stable, f"LLaMA-Factory: ({total_steps} - {warmup_steps}) // 3 = {stable}"),
            ("num_decay_steps", remaining - stable, f"LLaMA-Factory: {remaining} - {stable} = {remaining - stable}"),
        ):
            if key not in kwargs:
                kwargs[key] = value
                r.provenance[f"kwargs.{key}"] = Source("derived", "", text)
    return kwargs


def _floor_notes(spec: ScheduleSpec) -> tuple[str, ...]:
    floor = floor_lr(spec)
    if floor is not None and floor > spec.peak_lr:
        source = next((spec.provenance[key] for key in ("kwargs.min_lr", "kwargs.min_lr_rate", "kwargs.lr_end")
                       if key in spec.provenance), None)
        fix = (f"lower {source.where}" if source is not None and source.kind in ("flag", "file")
               else "lower the floor")
        return (Note(
            "floor_above_peak", f"the floor {floor:g} is above the peak {spec.peak_lr:g}: transformers accepts this and "
            f"the 'decay' climbs; {fix} below {spec.peak_lr:g}"),
        )
    return ()
