"""Where verify and the guard get their prediction: the one spec pipeline ``plot`` and ``advise`` use.

Two entry points, each the only place its caller turns input into a ``ScheduleSpec``:

* ``predict_from_config(params)``: the command-line options (``--config`` and flags) of ``lrviz verify``, through
  the same pipeline as ``lrviz plot`` (``lrviz.configs.pipeline.load``), so verify checks the curve plot draws.
* ``predict_from_trainer(args, max_steps)``: a running ``transformers.Trainer``'s own ``TrainingArguments`` (the
  scheduler type, peak, warmup, kwargs and DeepSpeed block) and its run length, through the pipeline's
  flag path (``lrviz.configs.pipeline.to_spec``), as ``lrviz plot --lr ... --steps ...`` would build it.

Pure of torch: ``args`` is only read by attribute.
"""

from __future__ import annotations

from typing import Any

from ..spec import ScheduleSpec


def predict_from_config(params: dict[str, Any]) -> ScheduleSpec:
    """The schedule ``lrviz plot`` shows for the same options (``params`` as click parsed them)."""
    from ..configs.pipeline import load
    from ..options import Options

    return load(Options.from_params(params), params["configs"], params["config_flavor"], command="verify")[0].spec


def read_launch_config(path: str, flavor: str = "auto") -> Any:
    """The config file as the pipeline reads it (HF / LLaMA-Factory ConfigFile, AxolotlFile, DeepSpeedFile, ...)."""
    from ..configs.pipeline import read

    return read(path, flavor)


def _scheduler_name(value: Any) -> str:
    return str(getattr(value, "value", value))


def predict_from_trainer(args: Any, max_steps: int) -> ScheduleSpec:
    """The schedule a Trainer with ``args`` (``TrainingArguments``) runs over ``max_steps`` updates.

    A DeepSpeed config in ``args.deepspeed`` (a path or a mapping) with a ``scheduler`` block replaces the
    Trainer's scheduler, as transformers' DeepSpeed integration does; its "auto" values are filled from ``args``.
    """
    from ..configs.deepspeed_run import TrainerRun, deepspeed_spec
    from ..configs.pipeline import to_spec
    from ..configs.deepspeed import read_deepspeed
    from ..options import Options
    from ..steps import hf_warmup_steps

    kwargs = dict(getattr(args, "lr_scheduler_kwargs", None) or {})
    options = Options(lr=float(args.learning_rate), scheduler=_scheduler_name(args.lr_scheduler_type), framework="hf",
                      steps=int(max_steps), warmup_steps=float(args.warmup_steps or 0), scheduler_kwargs=kwargs)
    deepspeed = getattr(args, "deepspeed", None)
    if deepspeed:
        if isinstance(deepspeed, dict):
            ds = read_deepspeed("TrainingArguments.deepspeed", data=deepspeed, prefix="deepspeed.",
                                referenced_from="TrainingArguments.deepspeed")
        else:
            ds = read_deepspeed(str(deepspeed))
        if ds.scheduler_type is not None:
            warmup = hf_warmup_steps(int(max_steps), float(args.warmup_steps or 0)).value
            run = TrainerRun(peak=float(args.learning_rate), total=int(max_steps), warmup=warmup)
            return deepspeed_spec(Options(framework="deepspeed"), ds, run)
    return to_spec(options, None)


_OPTION_NAMES = ("lr", "min_lr", "min_lr_rate", "scheduler", "framework", "steps", "dataset_size", "batch_size",
                 "grad_accum", "gpus", "epochs", "drop_last", "warmup_ratio", "warmup_steps", "num_cycles",
                 "scheduler_kwargs", "framework_version")


def config_params(path: str, *, flavor: str = "auto", **flags: Any) -> dict[str, Any]:
    """The options ``lrviz plot --config PATH --flag value ...`` would parse into (every other option unset)."""
    unknown = set(flags) - set(_OPTION_NAMES)
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
    return {"configs": (str(path),), "config_flavor": flavor, **{name: flags.get(name) for name in _OPTION_NAMES}}
