"""The DeepSpeed scheduler that really runs: a DeepSpeed JSON alone, or referenced by a Trainer / Axolotl config.

When a training config's ``deepspeed:`` file has a ``scheduler`` block, transformers hands the optimizer a
``DummyScheduler`` and DeepSpeed builds its own scheduler from the block
(transformers ``integrations/deepspeed.py::deepspeed_optim_sched``), so ``lr_scheduler_type`` and
``lr_scheduler_kwargs`` are ignored. ``"auto"`` values are filled as transformers 5.24 ``HfTrainerDeepSpeedConfig``
fills them: ``warmup_min_lr = 0``, ``warmup_max_lr = learning_rate``, ``total_num_steps = T``,
``warmup_num_steps = max(1, get_warmup_steps(T))``; an explicit value that differs from the Trainer's is the
``ValueError`` transformers raises ("mismatch TrainingArguments"), so lrviz rejects it too (exit 2).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ConfigError, SpecError
from ..notes import Note, code_of
from ..options import Options
from ..resolve import HF_DEFAULTS, LRVIZ_DEFAULTS, _Resolver, _total_steps, _warmup_steps
from ..spec import ScheduleSpec, Source
from ..steps import hf_warmup_steps
from .deepspeed import DeepSpeedFile, follow_reference
from .hf import ConfigFile

def deepspeed_reference(config_path: str, value: Any) -> tuple[list[str], DeepSpeedFile | None] | None:
    """Notes and the DeepSpeed file a training config's ``deepspeed:`` value names (file None: not found)."""
    reference = follow_reference(config_path, value)
    if reference.file is None:
        return [reference.problem], None
    notes = [reference.note] if reference.note else []
    if reference.file.scheduler_type is None:
        notes.append(f"{reference.where} = {reference.file.name} has no \"scheduler\" block: the trainer's own scheduler "
                     "runs (DeepSpeed steps it after each optimizer step), as drawn")
    return notes, reference.file


# ------------------------------------------------------------------------------------------- DeepSpeed


@dataclass
class TrainerRun:
    """What the training framework (HF Trainer, Axolotl) that launches DeepSpeed fills "auto" values with."""

    peak: float  # learning_rate
    total: int  # the Trainer's num_training_steps
    warmup: int  # get_warmup_steps(total)
    provenance: dict[str, Source] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    described: dict[str, str] = field(default_factory=dict)  # where lr / total / warmup came from, for messages
    asked: str = ""  # "your lr_scheduler_type: cosine (run.yaml:lr_scheduler_type)"
    ignored: str = ""  # "; lr_scheduler_kwargs (min_lr) are ignored too"


class _Built:
    """Values, provenance and notes collected for one DeepSpeed spec."""

    def __init__(self, ds: DeepSpeedFile) -> None:
        self.ds = ds
        self.provenance: dict[str, Source] = {}
        self.notes: list[str] = list(ds.notes)

    def file(self, field: str, key: str) -> None:
        self.provenance[field] = Source("file", self.ds.where(key))

    def derived(self, field: str, text: str) -> None:
        self.provenance[field] = Source("derived", "", text)


def _label(ds: DeepSpeedFile) -> str:
    return f"--config {ds.path}" if ds.referenced_from is None or ds.prefix else f"--config {ds.path} (from {ds.referenced_from})"


def deepspeed_spec(options: Options, ds: DeepSpeedFile, hf: ConfigFile | TrainerRun | None = None) -> ScheduleSpec:
    """The DeepSpeed scheduler of ``ds``; ``hf`` is the training config that references it (fills "auto")."""
    from ..frameworks.deepspeed import describe
    from ..frameworks.versions import at_least, canonical_version

    b = _Built(ds)
    if ds.ignored:
        shown = ", ".join(ds.ignored[:8]) + (", ..." if len(ds.ignored) > 8 else "")
        b.notes.append(f"{ds.name}: used scheduler and optimizer.params.lr; keys that do not shape the LR were not read: {shown}")
    name = ds.scheduler_type
    params = ds.params
    label = _label(ds)
    version = canonical_version("deepspeed", options.framework_version)
    b.provenance["framework"] = Source("file", ds.where("scheduler"))
    b.file("scheduler", "scheduler.type")
    if options.framework not in (None, "deepspeed"):
        raise SpecError(f"--framework {options.framework}: {ds.where('scheduler')} is DeepSpeed's {name}; drop --framework")
    if options.num_cycles is not None:
        raise SpecError(f"--num-cycles: DeepSpeed's {name} ({ds.where('scheduler.type')}) has no num_cycles; drop the flag")

    if hf is None and (options.dataset_size is not None or options.dataset_sizes is not None):
        hf = command_line_trainer(ds)  # `deepspeed train.py --deepspeed ds.json --learning_rate ...`: flags are the Trainer's
    run = hf if isinstance(hf, TrainerRun) or hf is None else _trainer_run(options, hf, ds, params)
    if name in ("OneCycle", "LRRangeTest"):
        return _cyclic_spec(options, ds, run, b, version)
    if run is not None:
        if ds.optimizer_lr is not None and ds.optimizer_lr != "auto" and ds.optimizer_lr != run.peak:
            raise ConfigError(
                f"{label}: optimizer.params.lr = {ds.optimizer_lr!r} but the Trainer has learning_rate = {run.peak:g} "
                f"({run.described.get('lr', '')}): transformers raises ValueError (\"mismatch TrainingArguments\"); set it "
                "to \"auto\""
            )
        explicit_total = params.get("total_num_steps")
        if explicit_total not in (None, "auto") and explicit_total != run.total:
            raise ConfigError(_mismatch(label, "total_num_steps", explicit_total,
                                        f"{run.total} updates ({run.described.get('total', '')})"))
        peak, total, hf_warmup, trainer = run.peak, run.total, run.warmup, run.described
        b.provenance.update(run.provenance)
        b.provenance["framework"] = Source("file", ds.where("scheduler"))
        b.file("scheduler", "scheduler.type")
        b.notes.extend(run.notes)
    else:
        if options.scheduler is not None and options.scheduler != name:
            raise SpecError(f"--scheduler {options.scheduler}: {ds.where('scheduler.type')} = {name}; drop --scheduler")
        peak, total, hf_warmup, trainer = _standalone_values(options, ds, params, b), None, None, None
        total = _standalone_total(options, ds, params, b)

    kwargs: dict[str, Any] = {}
    for key, value in params.items():
        if key in ("total_num_steps", "warmup_num_steps", "last_batch_iteration"):
            continue
        where = ds.where(f"scheduler.params.{key}")
        if value == "auto":
            if key == "warmup_min_lr":
                kwargs[key] = 0
                b.derived(f"kwargs.{key}", f'{where} = "auto" → 0, as the HF Trainer fills it')
                if hf is None:
                    b.notes.append(f'{where} = "auto" is filled with 0 by the HF Trainer; a plain DeepSpeed launch fails on "auto"')
                continue
            if key == "warmup_max_lr":
                if hf is None and options.lr is None:
                    raise ConfigError(
                        f'{label}: scheduler.params.warmup_max_lr = "auto" is filled by the HF Trainer with learning_rate; '
                        "pass --lr, or the training config that references this file"
                    )
                kwargs[key] = peak
                b.derived(f"kwargs.{key}", f'{where} = "auto" → learning_rate = {peak:g}')
                continue
            raise ConfigError(
                f'{label}: scheduler.params.{key} = "auto" is not filled by transformers (only warmup_min_lr, '
                f"warmup_max_lr, total_num_steps and warmup_num_steps are); DeepSpeed would get the text \"auto\"; write a value"
            )
        if key == "warmup_type" and value not in ("log", "linear"):
            if name == "WarmupCosineLR" and not at_least(version, "0.19.4"):
                raise ConfigError(
                    f"{label}: scheduler.params.warmup_type = {value!r}: DeepSpeed {version} WarmupCosineLR crashes on it "
                    "(UnboundLocalError); write \"log\" or \"linear\""
                )
            b.notes.append(f"{where} = {value!r} is not log or linear: DeepSpeed warns and uses \"log\"")
            value = "log"
        if key == "warmup_max_lr" and trainer is not None and value != peak:
            raise ConfigError(_mismatch(label, "warmup_max_lr", value, f"learning_rate = {peak:g} ({trainer['lr']})"))
        kwargs[key] = value
        b.file(f"kwargs.{key}", f"scheduler.params.{key}")
    if name in ("WarmupLR", "WarmupDecayLR") and "warmup_max_lr" not in params:
        if name == "WarmupDecayLR":
            b.notes.append(
                f"{ds.where('scheduler.params')} has no warmup_max_lr: DeepSpeed's WarmupDecayLR default 0.001 is the "
                f"peak, not the optimizer's lr {peak:g} (the HF Trainer fills only \"auto\" values); add "
                "\"warmup_max_lr\": \"auto\""
            )
            b.provenance["kwargs.warmup_max_lr"] = Source("default", "DeepSpeed")
    if "warmup_type" not in params:
        b.provenance["kwargs.warmup_type"] = Source("default", "DeepSpeed: log")

    warmup = _warmup(options, ds, params, b, total, hf_warmup, trainer, label)
    if total is None:  # WarmupLR has no total: the run length is the Trainer's, a flag, or lrviz's default
        total = LRVIZ_DEFAULTS["steps"]
        b.provenance["total_steps"] = Source("default", "lrviz")

    kwargs.update(_floor_flags(options, name, peak, b, hf is not None))
    for key, value in (options.scheduler_kwargs or {}).items():
        kwargs[key] = value
        b.provenance[f"kwargs.{key}"] = Source("flag", "--scheduler-kwargs")

    try:
        spec = ScheduleSpec(scheduler=name, peak_lr=peak, total_steps=total, warmup_steps=warmup, scheduler_kwargs=kwargs,
                            framework="deepspeed", provenance=b.provenance, framework_version=version)
    except SpecError as error:
        raise SpecError(f"{label}: {error}") from None
    if run is not None:
        b.notes.insert(0, _override_warning(run, ds, spec, describe(spec)))
    return replace(spec, notes=tuple(b.notes))


def _cyclic_spec(options: Options, ds: DeepSpeedFile, run: TrainerRun | None, b: _Built, version: str | None) -> ScheduleSpec:
    """OneCycle and LRRangeTest (``lrviz.frameworks.deepspeed_cyclic``): absolute LRs from the block, no warmup, no
    total of their own (the run length is the Trainer's, --steps, or lrviz's default)."""
    from ..frameworks.deepspeed import describe

    name, label = ds.scheduler_type, _label(ds)
    if options.scheduler is not None and options.scheduler != name:
        raise SpecError(f"--scheduler {options.scheduler}: {ds.where('scheduler.type')} = {name}; drop --scheduler")
    for flag, value in (("--warmup-steps", options.warmup_steps), ("--warmup-ratio", options.warmup_ratio)):
        if value and run is None:
            raise SpecError(f"{flag} {value:g}: DeepSpeed's {name} has no warmup (its LR comes from {ds.where('scheduler.params')}); "
                            "drop the flag")
    if options.min_lr is not None or options.min_lr_rate is not None:
        raise SpecError(f"--min-lr / --min-lr-rate: DeepSpeed's {name} sets its LRs from {ds.where('scheduler.params')}; "
                        "drop the flag and edit the file")
    kwargs: dict[str, Any] = {}
    for key, value in ds.params.items():
        if key == "last_batch_iteration":
            continue
        if value == "auto":
            raise ConfigError(f'{label}: scheduler.params.{key} = "auto" is not filled by transformers (only warmup_min_lr, '
                              f"warmup_max_lr, total_num_steps and warmup_num_steps are); DeepSpeed would get the text "
                              "\"auto\"; write a value")
        kwargs[key] = value
        b.file(f"kwargs.{key}", f"scheduler.params.{key}")
    for key, value in (options.scheduler_kwargs or {}).items():
        kwargs[key] = value
        b.provenance[f"kwargs.{key}"] = Source("flag", "--scheduler-kwargs")
    if name == "OneCycle":
        peak_key, peak = "cycle_max_lr", kwargs.get("cycle_max_lr")
    else:
        peak_key, peak = "lr_range_test_min_lr", kwargs.get("lr_range_test_min_lr", 1e-3)
    if peak_key in kwargs:
        b.provenance["peak_lr"] = b.provenance[f"kwargs.{peak_key}"]
    else:
        b.provenance["peak_lr"] = Source("default", f"DeepSpeed: {peak_key} = {peak:g}")
    if options.lr is not None and run is None:
        raise SpecError(f"--lr {options.lr:g}: DeepSpeed's {name} overwrites the optimizer's lr with its own "
                        f"({ds.where('scheduler.params.' + peak_key)}); drop --lr")
    if run is not None:
        total = run.total
        b.provenance["total_steps"] = run.provenance.get("total_steps", Source("default", "transformers"))
        b.notes.extend(run.notes)
        b.notes.append(f"{run.asked.split(':')[0] if ':' in run.asked else run.asked} and learning_rate {run.peak:g} "
                       f"are overwritten by DeepSpeed's {name}")
    elif options.steps is not None:
        total = options.steps
        b.provenance["total_steps"] = Source("flag", "--steps")
    else:
        total = LRVIZ_DEFAULTS["steps"]
        b.provenance["total_steps"] = Source("default", "lrviz")
        b.notes.append(f"DeepSpeed's {name} has no run length of its own: lrviz draws {total} updates; pass --steps N")
    b.provenance["warmup_steps"] = Source("default", f"{name} has no warmup")
    try:
        spec = ScheduleSpec(scheduler=name, peak_lr=peak, total_steps=total, warmup_steps=0, scheduler_kwargs=kwargs,
                            framework="deepspeed", provenance=b.provenance, framework_version=version)
    except SpecError as error:
        raise SpecError(f"{label}: {error}") from None
    notes = list(b.notes)
    if name == "OneCycle" and kwargs.get("cycle_momentum", True):
        notes.append(f"{ds.name}: OneCycle also cycles Adam's beta1 between cycle_min_mom and cycle_max_mom "
                     "(cycle_momentum); lrviz draws the LR")
    if run is not None:
        notes.insert(0, _override_warning(run, ds, spec, describe(spec)))
    return replace(spec, notes=tuple(notes))


def command_line_trainer(ds: DeepSpeedFile) -> ConfigFile:
    """The HF Trainer launched from the command line with ``--deepspeed ds.json``: no training config file, its
    TrainingArguments are the flags (``--lr``, ``--dataset-size`` with ``--batch-size``, ``--grad-accum``,
    ``--gpus``, ``--epochs``, ``--warmup-*``) and transformers' defaults. It fills the block's "auto" values
    (``HfTrainerDeepSpeedConfig.trainer_config_process`` / ``trainer_config_finalize``) as for a config file."""
    return ConfigFile(ds.path, "hf", {}, {}, (Note("deepspeed.command_line_trainer",
                      f"{ds.name} with --dataset-size: read as launched by the HF Trainer from the command line "
                      "(deepspeed train.py --deepspeed ...): the flags are its TrainingArguments, which fill \"auto\""),))


def _mismatch(label: str, key: str, value: Any, trainer: str) -> str:
    return (
        f"{label}: scheduler.params.{key} = {value!r} but the Trainer has {trainer}: transformers raises ValueError "
        f"(\"DeepSpeed config values that mismatch TrainingArguments\"); set it to \"auto\""
    )


def _trainer_run(options: Options, hf: ConfigFile, ds: DeepSpeedFile, params: dict[str, Any]) -> TrainerRun:
    """learning_rate, T and get_warmup_steps(T) of the HF Trainer run, as ``lrviz.resolve`` derives them."""
    r = _Resolver(options, hf)
    peak = r.pick("peak_lr", "--lr", options.lr, "learning_rate", HF_DEFAULTS["learning_rate"])
    explicit_total = params.get("total_num_steps")
    try:
        total = _total_steps(r)
    except SpecError as error:
        if isinstance(explicit_total, int) and not isinstance(explicit_total, bool):
            total = int(explicit_total)
            r.provenance["total_steps"] = Source("file", ds.where("scheduler.params.total_num_steps"))
            r.notes.append(
                f"{os.path.basename(hf.path)} does not give the run length; lrviz takes {ds.where('scheduler.params.total_num_steps')} "
                f"= {total} (transformers raises ValueError unless the Trainer's run has as many updates)"
            )
        else:
            raise SpecError(f"--config {hf.path}: {error}") from None
    warmup = _warmup_steps(r, total)
    if options.scheduler is not None:
        asked = f"--scheduler {options.scheduler}"
    elif "lr_scheduler_type" in hf.values:
        asked = f"your lr_scheduler_type: {hf.values['lr_scheduler_type'].value} ({hf.where('lr_scheduler_type')})"
    else:
        asked = f"the Trainer's lr_scheduler_type (default {HF_DEFAULTS['lr_scheduler_type']})"
    ignored = f"; lr_scheduler_kwargs ({', '.join(hf.scheduler_kwargs)}) are ignored too" if hf.scheduler_kwargs else ""
    described = {"lr": str(r.provenance["peak_lr"]), "total": str(r.provenance["total_steps"]),
                 "warmup": str(r.provenance.get("warmup_steps", ""))}
    return TrainerRun(peak, total, warmup, dict(r.provenance), [n for n in r.notes if code_of(n) != "hf.deepspeed_unread"], described,
                      asked, ignored)


def _standalone_values(options: Options, ds: DeepSpeedFile, params: dict[str, Any], b: _Built) -> float:
    """The optimizer LR of a DeepSpeed run launched without a training config."""
    if options.lr is not None:
        b.provenance["peak_lr"] = Source("flag", "--lr")
        return options.lr
    if ds.optimizer_lr not in (None, "auto"):
        b.file("peak_lr", "optimizer.params.lr")
        return float(ds.optimizer_lr)
    maximum = params.get("warmup_max_lr")
    if ds.scheduler_type != "WarmupCosineLR" and maximum not in (None, "auto"):
        b.file("peak_lr", "scheduler.params.warmup_max_lr")
        return float(maximum)
    b.provenance["peak_lr"] = Source("default", "lrviz")
    b.notes.append(f"{ds.name} gives no optimizer lr (optimizer.params.lr): lrviz assumes --lr {LRVIZ_DEFAULTS['lr']:g}; pass --lr")
    return LRVIZ_DEFAULTS["lr"]


def _standalone_total(options: Options, ds: DeepSpeedFile, params: dict[str, Any], b: _Built) -> int | None:
    value = params.get("total_num_steps")
    if options.steps is not None:
        b.provenance["total_steps"] = Source("flag", "--steps")
        return options.steps
    if value == "auto":
        raise ConfigError(
            f'{_label(ds)}: scheduler.params.total_num_steps = "auto" is filled by the HF Trainer with its run length; '
            "pass --steps N, or the training config that references this file"
        )
    if value is None:
        return None
    b.file("total_steps", "scheduler.params.total_num_steps")
    return int(value)


def _warmup(options: Options, ds: DeepSpeedFile, params: dict[str, Any], b: _Built, total: int | None,
            hf_warmup: int | None, trainer: dict[str, str] | None, label: str) -> int:
    value = params.get("warmup_num_steps")
    where = ds.where("scheduler.params.warmup_num_steps")
    if trainer is not None:  # referenced from a training config: "auto" is filled, explicit values must match
        filled = max(1, hf_warmup)
        if value == "auto":
            b.derived("warmup_steps", f'{where} = "auto" → max(1, get_warmup_steps({total})) = max(1, {hf_warmup}) = {filled}')
            return filled
        if value is not None and value != filled:
            raise ConfigError(_mismatch(label, "warmup_num_steps", value,
                                        f"max(1, get_warmup_steps({total})) = {filled} ({trainer['warmup']})"))
        if value is not None:
            b.file("warmup_steps", "scheduler.params.warmup_num_steps")
            return int(value)
    else:
        if options.warmup_ratio is not None and options.warmup_steps is not None:
            raise SpecError("--warmup-ratio and --warmup-steps both set the warmup; give one of them")
        flagged = None
        if options.warmup_ratio is not None or options.warmup_steps is not None:
            if total is None:
                total = options.steps or LRVIZ_DEFAULTS["steps"]
            amount = options.warmup_steps if options.warmup_steps is not None else options.warmup_ratio
            flag = "--warmup-steps" if options.warmup_steps is not None else "--warmup-ratio"
            if options.warmup_ratio is not None and amount >= 1:
                raise SpecError(f"--warmup-ratio {amount} must lie in [0, 1) (a fraction of the run)")
            flagged = hf_warmup_steps(total, amount, where=flag)
            b.provenance["warmup_steps"] = Source("derived", "", f"{flagged.arithmetic} (from {flag})")
            if value == "auto":
                filled = max(1, flagged.value)
                b.derived("warmup_steps", f'{where} = "auto" → max(1, {flagged.value}) = {filled} (from {flag})')
                return filled
            return flagged.value
        if value == "auto":
            raise ConfigError(
                f'{label}: scheduler.params.warmup_num_steps = "auto" is filled by the HF Trainer; pass --warmup-steps N '
                "or --warmup-ratio R, or the training config that references this file"
            )
        if value is not None:
            b.file("warmup_steps", "scheduler.params.warmup_num_steps")
            return int(value)
    b.provenance["warmup_steps"] = Source("default", "DeepSpeed")
    b.notes.append(f"{ds.where('scheduler.params')} has no warmup_num_steps: DeepSpeed's default 1000 applies")
    return 1000


def _floor_flags(options: Options, name: str, peak: float, b: _Built, referenced: bool) -> dict[str, Any]:
    from ..signatures import FLOOR_ABSOLUTE, SIGNATURES

    if options.min_lr is None and options.min_lr_rate is None:
        return {}
    if options.min_lr is not None and options.min_lr_rate is not None:
        raise SpecError(f"--min-lr {options.min_lr} and --min-lr-rate {options.min_lr_rate} both set the floor; keep one")
    flag = "--min-lr" if options.min_lr is not None else "--min-lr-rate"
    value = options.min_lr if options.min_lr is not None else options.min_lr_rate
    signature = SIGNATURES["deepspeed"][name]
    if not signature.floor_kwarg:
        if referenced:
            b.notes.append(f"{flag} {value:g} is ignored: DeepSpeed's {name} has no floor")
            return {}
        raise SpecError(f"{flag} {value:g}: DeepSpeed's {name} has no floor (it warms up and stays at the peak); drop {flag}")
    key = signature.floor_kwarg
    absolute_flag = options.min_lr is not None
    if absolute_flag == (signature.floor == FLOOR_ABSOLUTE):
        b.provenance[f"kwargs.{key}"] = Source("flag", flag)
        return {key: value}
    converted = value / peak if absolute_flag else value * peak
    b.derived(f"kwargs.{key}", f"{key} = {value:g} {'/' if absolute_flag else '×'} {peak:g} (from {flag})")
    return {key: converted}


REPLACES_TRAINER = "deepspeed.replaces_trainer_scheduler"  # the note's code (lrviz.notes)


def _override_warning(run: TrainerRun, ds: DeepSpeedFile, spec: ScheduleSpec, shape: str) -> str:
    text = (f"{run.asked} is ignored: {ds.name}'s {spec.scheduler} runs instead (a DeepSpeed \"scheduler\" block replaces "
            f"the Trainer's scheduler): {shape}{run.ignored}")
    return Note(REPLACES_TRAINER, text + f". To run the Trainer's schedule, delete the \"scheduler\" block from {ds.name}")
