"""The one way every command reaches its schedule: read the ``--config`` files, then build the spec that will run.

``load(options, paths, flavor)`` is called by ``plot``, ``advise``, ``verify`` and ``check-run`` alike, so the same
inputs give the identical ``ScheduleSpec`` everywhere. Each config format is one module of this package with the
same small interface (``looks_like``, ``read``, ``to_spec``); ``FORMATS`` lists them in the order ``auto`` tries
them. When several sources compete, the schedule that really runs wins:

* A DeepSpeed JSON alone (``--config ds_config.json``): its ``scheduler`` block, with DeepSpeed semantics.
* A Trainer / LLaMA-Factory config whose ``deepspeed:`` file has a ``scheduler`` block: DeepSpeed's scheduler
  replaces the Trainer's (``lrviz.configs.deepspeed_run``).
* Otherwise the training config's own scheduler (``lrviz.resolve`` for transformers semantics).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

from ..errors import ConfigError, SpecError
from ..notes import code_of
from ..options import Options
from ..resolve import LRVIZ_DEFAULTS, resolve
from ..spec import ScheduleSpec, Source
from . import axolotl, deepspeed, hf, megatron, nemo
from .axolotl import AxolotlFile
from .deepspeed import DeepSpeedFile, follow_reference
from .deepspeed_run import deepspeed_spec
from .hf import ConfigFile
from .megatron import MegatronArgs
from .nemo import NemoFile

from .formats import FLAVORS

Config = Any  # ConfigFile | DeepSpeedFile | AxolotlFile | MegatronArgs | NemoFile


@dataclass(frozen=True)
class Loaded:
    """One schedule as a command gets it: the file it came from (None: flags only), what was read, the spec."""

    path: str | None
    config: Config | None
    spec: ScheduleSpec

    @property
    def label(self) -> str:
        return os.path.basename(self.path) if self.path else self.spec.scheduler

    @property
    def flavor(self) -> str | None:
        return flavor_of(self.config)


def flavor_of(config: Config | None) -> str | None:
    """The format name of a read config (None for no config)."""
    if config is None:
        return None
    if isinstance(config, ConfigFile):
        return config.flavor
    for name, kind in (("deepspeed", DeepSpeedFile), ("axolotl", AxolotlFile), ("megatron", MegatronArgs),
                       ("nemo", NemoFile)):
        if isinstance(config, kind):
            return name
    raise TypeError(type(config).__name__)


def load(options: Options, paths: Sequence[str] = (), flavor: str = "auto", *, command: str | None = None,
         adjust: Callable[[Options, Config | None], Options] | None = None,
         compare: Sequence[tuple[str, dict[str, Any]]] = (), lenient_numbers: bool = False,
         missing_reference_ok: bool = False) -> list[Loaded]:
    """The schedules for ``options`` and the ``--config`` ``paths``: one per path, or one from the flags alone.

    ``command``: the name of a command that checks one schedule (more than one path is then bad input).
    ``adjust``: a command's own change to the options once the config is read (verify: the run length of the
    verify run; check-run: the run length from the log).
    ``compare``: extra curves (``plot --compare``), one per (scheduler type, kwargs), built on the first config.
    ``lenient_numbers``: see ``read``. ``missing_reference_ok``: a ``deepspeed:`` file that is not there is a note,
    not an error (check-run: the run already happened, and its log shows which scheduler ran).
    """
    if command is not None and len(paths) > 1:
        raise SpecError(f"--config is given {len(paths)} times: lrviz {command} checks one schedule; give one --config "
                        "(lrviz plot overlays several)")
    configs = [read(path, flavor, lenient_numbers=lenient_numbers) for path in paths]
    loaded = []
    for path, config in zip(list(paths) or [None], configs or [None]):
        used = adjust(options, config) if adjust is not None else options
        loaded.append(Loaded(path, config, to_spec(used, config, missing_reference_ok=missing_reference_ok)))
    for name, kwargs in compare:
        loaded.append(Loaded(None, None, _compared(options, configs[0] if configs else None, name, kwargs)))
    return loaded


def _compared(options: Options, config: Config | None, name: str, kwargs: dict[str, Any]) -> ScheduleSpec:
    try:
        return to_spec(options, config, scheduler=name, extra_kwargs=kwargs, lenient=True)
    except SpecError as error:
        message = str(error)
        if message.startswith("--scheduler"):
            message = "--compare" + message[len("--scheduler"):]
        elif "needs '" in message:
            message += f"; with --compare, give it per curve: --compare '{name}:{{\"num_decay_steps\": 100}}'"
        raise SpecError(message) from None


def read(path: str, flavor: str = "auto", *, lenient_numbers: bool = False) -> Config:
    """Read a config file of any supported kind; ``auto`` recognises each format by its keys or flags.

    ``lenient_numbers``: a number PyYAML reads as text (``2e-6``) in an HF YAML is read as a float and listed
    instead of failing (``lrviz advise`` reports it as a finding).
    """
    if flavor not in ("auto",) + FLAVORS:
        raise ConfigError(f"--config-flavor {flavor!r} is not one of: auto, {', '.join(FLAVORS)}")
    if flavor == "deepspeed":
        return deepspeed.read(path)
    suffix = os.path.splitext(path)[1].lower()
    named = suffix in (".json", ".yaml", ".yml")
    # A name that says nothing (a pipe such as /dev/stdin, a file without an extension): recognised by its content.
    unnamed_json = flavor == "auto" and not named and os.path.exists(path) and not os.path.isdir(path) \
        and hf.read_text(path).lstrip().startswith("{")
    if flavor == "auto" and (suffix == ".json" and os.path.isfile(path) or unnamed_json):
        data = deepspeed.load_json(path)
        if deepspeed.looks_like(data):
            return deepspeed.read(path, data=data)
    if flavor in ("axolotl", "nemo") or (flavor == "auto" and suffix in (".yaml", ".yml") and os.path.isfile(path)):
        data = _yaml_or_none(path, strict=flavor in ("axolotl", "nemo"))
        if flavor == "axolotl" or (flavor == "auto" and axolotl.looks_like(data)):
            return axolotl.read(path, data)
        if flavor == "nemo" or nemo.looks_like(data):
            hf.refuse_duplicate_key(path, hf.read_text(path), "NeMo")  # OmegaConf refuses a key given twice
            return nemo.read(path, data)
    if flavor == "megatron" or (flavor == "auto" and not named and os.path.exists(path) and not os.path.isdir(path)
                                and not unnamed_json):
        text = hf.read_text(path)
        if flavor == "megatron" or megatron.looks_like(text):
            return megatron.read(path, text)
    return hf.read_config(path, flavor, lenient_numbers=lenient_numbers)


def _yaml_or_none(path: str, strict: bool) -> Any:
    """The file parsed as plain PyYAML does (as Axolotl reads it); None if it does not parse and ``strict`` is off."""
    from ..textfile import parse_yaml

    text = hf.read_text(path)
    if strict:
        return hf.load_yaml(path, text)[0]
    try:
        return parse_yaml(text, label=f"--config {path}", error=ConfigError).data
    except ConfigError:
        return None  # read_config reports it


def to_spec(options: Options, config: Config | None, *, strict: bool = True, missing_reference_ok: bool = False,
            **compare: Any) -> ScheduleSpec:
    """The spec of the schedule that runs for ``options`` + ``config`` (see the module docstring).

    ``strict``: stop on what the framework refuses at launch (``rejections``); ``lrviz advise`` passes False and
    reports them as findings. ``compare``: ``scheduler``, ``extra_kwargs``, ``lenient`` of ``lrviz.resolve.resolve``
    (one ``--compare`` curve).
    """
    if isinstance(config, ConfigFile):
        if strict:
            check_rejections(options, config)
        options, examples = _llamafactory_examples(options, config)
        if config.trl is not None:
            from .trl import refuse_packed

            refuse_packed(config, options.dataset_size is not None and options.steps is None)
        spec = _spec_of(options, config, missing_reference_ok=missing_reference_ok, **compare)
        return spec if examples is None else _with_examples(spec, examples)
    if options.dataset_sizes is not None:
        where = f"--config {config.path} is not a LLaMA-Factory config" if config is not None else "without --config"
        raise SpecError(f"--dataset-size {','.join(f'{k}={v}' for k, v in options.dataset_sizes.items())}: one size per "
                        f"dataset is for a LLaMA-Factory config that names its datasets; {where}: give one number")
    return _spec_of(options, config, **compare)


def _spec_of(options: Options, config: Config | None, *, missing_reference_ok: bool = False, **compare: Any) -> ScheduleSpec:
    if isinstance(config, AxolotlFile) or (config is None and options.framework == "axolotl" and not compare):
        if compare:
            raise SpecError(f"--compare overlays transformers scheduler types; --config {config.path} is an Axolotl config: "
                            "drop --compare")
        return axolotl.to_spec(options, config)
    from ..frameworks import WARMUP_RATIO_KWARG

    if isinstance(config, (MegatronArgs, NemoFile)):
        if compare:
            raise SpecError(f"--compare overlays transformers scheduler types; --config {config.path} is not a "
                            "transformers config: drop --compare")
        if options.framework not in (None, "megatron" if isinstance(config, MegatronArgs) else "nemo"):
            raise SpecError(f"--framework {options.framework}: --config {config.path} is a "
                            f"{'Megatron' if isinstance(config, MegatronArgs) else 'NeMo'} config; drop --framework")
        return megatron.to_spec(options, config) if isinstance(config, MegatronArgs) else nemo.to_spec(options, config)
    if config is None and options.framework in WARMUP_RATIO_KWARG and options.warmup_steps is None and not compare:
        return _native_warmup_ratio(options, WARMUP_RATIO_KWARG[options.framework])
    if isinstance(config, DeepSpeedFile):
        if compare:
            raise SpecError(f"--compare overlays transformers scheduler types; --config {config.path} is a DeepSpeed "
                            "config: drop --compare")
        if config.scheduler_type is None:
            raise ConfigError(
                f"--config {config.path} has no \"scheduler\" block: DeepSpeed then steps the scheduler the training "
                "code passes (the HF Trainer's lr_scheduler_type); give the training config with --config instead"
            )
        return deepspeed_spec(options, config)
    if config is None or "deepspeed" not in config.values:
        return resolve(options, config, **compare)
    reference = follow_reference(config.path, config.values["deepspeed"].value)
    notes = tuple(note for note in config.notes if code_of(note) != "hf.deepspeed_unread")
    if reference.file is None:  # the Trainer cannot start without it
        if missing_reference_ok:
            return resolve(options, replace(config, notes=notes + (reference.problem,)), **compare)
        raise ConfigError(f"--config {config.path}: {reference.problem}")
    found = (reference.note,) if reference.note else ()
    if reference.file.scheduler_type is None:
        text = (f"{reference.where} = {reference.file.name} has no \"scheduler\" block: the Trainer's own scheduler runs "
                "(DeepSpeed steps it after each optimizer step), as drawn")
        return resolve(options, replace(config, notes=notes + found + (text,)), **compare)
    if compare:
        raise SpecError(
            f"--compare overlays transformers scheduler types, but {reference.where} = {reference.file.name} has a "
            f"\"scheduler\" block ({reference.file.scheduler_type}) that replaces them; drop --compare"
        )
    return deepspeed_spec(options, reference.file, replace(config, notes=notes + found))


def _native_warmup_ratio(options: Options, key: str) -> ScheduleSpec:
    """A framework that takes the warmup as a ratio itself (Megatron, NeMo): pass --warmup-ratio on unrounded."""
    kwargs = dict(options.scheduler_kwargs or {})
    if options.warmup_ratio is not None:
        kwargs[key], source = options.warmup_ratio, Source("flag", "--warmup-ratio")
    elif key not in kwargs:
        kwargs[key], source = LRVIZ_DEFAULTS["warmup_ratio"], Source("default", "lrviz")
    else:
        source = Source("flag", "--scheduler-kwargs")
    spec = resolve(replace(options, warmup_ratio=None, warmup_steps=0, scheduler_kwargs=kwargs))
    provenance = dict(spec.provenance)
    provenance[f"kwargs.{key}"] = source
    provenance["warmup_steps"] = Source("derived", "", f"0 as a count: the warmup is {key} = {kwargs[key]:g}, "
                                                      f"which {options.framework} turns into steps itself")
    return replace(spec, provenance=provenance)


def run_settings(config: Config | None) -> dict[str, Any]:
    """The run's ``max_steps``, per-device ``batch_size`` and ``grad_accum`` as the config gives them (absent: left out).

    Commands that shape a run of their own (verify's micro-batches, check-run's accumulation) read them here, in
    every format's own spelling.
    """
    if isinstance(config, ConfigFile):
        names = {"max_steps": "max_steps", "batch_size": "per_device_train_batch_size",
                 "grad_accum": "gradient_accumulation_steps"}
        return {name: config.values[key].value for name, key in names.items() if key in config.values}
    if isinstance(config, AxolotlFile):
        names = {"max_steps": "max_steps", "batch_size": "micro_batch_size", "grad_accum": "gradient_accumulation_steps"}
        return {name: config.values[key] for name, key in names.items() if config.values.get(key) is not None}
    if isinstance(config, MegatronArgs):  # --train-iters, or a sample-based run's train_samples // global_batch_size
        values = config.values
        if isinstance(values.get("--train-iters"), int):
            return {"max_steps": values["--train-iters"]}
        if isinstance(values.get("--train-samples"), int) and isinstance(values.get("--global-batch-size"), int):
            return {"max_steps": values["--train-samples"] // values["--global-batch-size"]}
        return {}
    if isinstance(config, DeepSpeedFile):  # the scheduler block's total_num_steps ("auto": the Trainer's)
        total = (config.params or {}).get("total_num_steps")
        return {"max_steps": int(total)} if isinstance(total, (int, float)) and not isinstance(total, bool) else {}
    if isinstance(config, NemoFile):  # sched.max_steps, else trainer.max_steps (-1: counted from the epochs)
        for value in (config.sched.get("max_steps"), config.trainer_max_steps):
            if isinstance(value, int) and not isinstance(value, bool):
                return {"max_steps": value} if value > 0 else {}
        return {}
    return {}


def rejections(options: Options, config: ConfigFile) -> list[Any]:
    """What the framework refuses at launch in ``config`` (``lrviz.configs.rejections``), given the flags: a
    scheduler given by ``--scheduler`` replaces the file's, so the file's floor key is then not refused for it."""
    return [found for found in config.rejections
            if not (found.code == "floor_not_accepted" and options.scheduler is not None)]


def check_rejections(options: Options, config: ConfigFile) -> None:
    """Stop on the first thing the framework refuses (plot, verify, check-run; advise reports them instead)."""
    found = rejections(options, config)
    if found:
        raise ConfigError(found[0].line(config.path))


def _llamafactory_examples(options: Options, config: ConfigFile) -> tuple[Options, str | None]:
    """A LLaMA-Factory config's training-set size from --dataset-size (max_samples, val_size, one size per dataset),
    as the --dataset-size the HF Trainer arithmetic then uses; the arithmetic for the provenance."""
    if config.flavor != "llamafactory" or (options.dataset_size is None and options.dataset_sizes is None):
        if options.dataset_sizes is not None:
            raise SpecError(f"--dataset-size {','.join(f'{k}={v}' for k, v in options.dataset_sizes.items())}: one "
                            f"size per dataset is for a LLaMA-Factory config; --config {config.path} is read as "
                            "TrainingArguments: give one number")
        return options, None
    if options.steps is not None:
        return options, None  # resolve names the conflict
    max_steps = config.values.get("max_steps")
    if max_steps is not None and max_steps.value > 0:
        return options, None  # max_steps wins, as in the Trainer (resolve notes it)
    from .llamafactory import training_examples

    found = training_examples(config.path, config.raw, options.dataset_size, options.dataset_sizes)
    if found is None:
        return options, None
    count, arithmetic = found
    return replace(options, dataset_size=count, dataset_sizes=None), arithmetic


def _with_examples(spec: ScheduleSpec, arithmetic: str) -> ScheduleSpec:
    provenance = dict(spec.provenance)
    provenance["dataset_size"] = Source("derived", "", arithmetic)
    return replace(spec, provenance=provenance)
