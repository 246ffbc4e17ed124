"""Megatron-LM argument lists: a file with the flags, or the launch script (``pretrain_gpt.py ... \\``).

Source: Megatron-LM ``megatron/training/arguments.py`` / ``training_config.py`` (``SchedulerConfig``) and
``training.py::get_optimizer_param_scheduler``. Lines are joined at ``\\`` continuations, ``#`` comments dropped and
the words split as a shell would (``shlex``); the LR flags are read, every other flag is ignored (listed). An LR flag
Megatron does not know is exit 2 (argparse rejects it), as are the combinations ``arguments.py`` asserts against.
Iteration-based runs (``--train-iters``) are modelled; sample-based ones (``--train-samples``) are not yet.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, SpecError

FLAGS: dict[str, str] = {
    "--lr": "float",
    "--min-lr": "float",
    "--lr-decay-style": "str",
    "--lr-decay-iters": "int",
    "--lr-decay-samples": "int",
    "--lr-warmup-fraction": "float",
    "--lr-warmup-iters": "int",
    "--lr-warmup-samples": "int",
    "--lr-warmup-init": "float",
    "--lr-wsd-decay-style": "str",
    "--lr-wsd-decay-iters": "int",
    "--lr-wsd-decay-samples": "int",
    "--train-iters": "int",
    "--train-samples": "int",
    "--global-batch-size": "int",
}
SWITCHES = ("--override-opt-param-scheduler", "--use-checkpoint-opt-param-scheduler")
MARKERS = ("--train-iters", "--lr-decay-style", "--lr-warmup-fraction", "--lr-decay-iters", "pretrain_gpt")


@dataclass(frozen=True)
class MegatronArgs:
    path: str
    values: dict[str, Any]  # flag -> value
    ignored: tuple[str, ...] = field(default=(), compare=False)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def where(self, flag: str) -> str:
        return f"{self.name}:{flag}"


def looks_like_megatron(text: str) -> bool:
    return any(marker in text for marker in MARKERS)


def read_megatron(path: str, text: str) -> MegatronArgs:
    label = f"--config {path}"
    joined = re.sub(r"\\\r?\n", " ", text)
    words: list[str] = []
    for line in joined.splitlines():
        try:
            words += shlex.split(line, comments=True)
        except ValueError as error:
            raise ConfigError(f"{label}: cannot split {line.strip()[:60]!r} into words ({error}); fix the quoting") from None
    values: dict[str, Any] = {}
    ignored: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        flag, _, inline = word.partition("=")
        if flag in FLAGS:
            if inline:
                value = inline
            elif index + 1 < len(words):
                index += 1
                value = words[index]
            else:
                raise ConfigError(f"{label}: {flag} has no value; give one, e.g. {flag} 1000")
            values[flag] = _convert(label, flag, FLAGS[flag], value)
        elif flag in SWITCHES:
            ignored.append(flag)
        elif flag.startswith("--") and (flag.startswith("--lr") or "warmup" in flag or "decay" in flag):
            if flag == "--warmup":
                raise ConfigError(f"{label}: --warmup was removed from Megatron (arguments.py rejects it); use "
                                  "--lr-warmup-fraction or --lr-warmup-iters")
            if flag not in ("--weight-decay", "--start-weight-decay", "--end-weight-decay", "--weight-decay-incr-style"):
                guess = difflib.get_close_matches(flag, list(FLAGS), n=1, cutoff=0.7)
                hint = f"did you mean {guess[0]}? " if guess else ""
                raise ConfigError(f"{label}: {flag} is not a Megatron flag (argparse stops with \"unrecognized "
                                  f"arguments\"); {hint}the LR flags are {', '.join(f for f in FLAGS if f.startswith('--lr'))}")
            ignored.append(flag)
        elif flag.startswith("--"):
            ignored.append(flag)
        index += 1
    if "--lr-warmup-fraction" in values and values.get("--lr-warmup-iters"):
        raise ConfigError(f"{label}: --lr-warmup-fraction and --lr-warmup-iters are both set: Megatron asserts they are "
                          "mutually exclusive; keep one")
    if "--train-samples" in values:
        raise ConfigError(f"{label}: --train-samples (a sample-based run) is not modelled by lrviz yet; it reads "
                          "iteration-based runs (--train-iters)")
    for flag in ("--lr-decay-samples", "--lr-warmup-samples", "--lr-wsd-decay-samples"):
        if flag in values:
            raise ConfigError(f"{label}: {flag} with --train-iters: Megatron asserts iteration-based runs use the *-iters "
                              "flags; use the matching -iters flag")
    if "--lr" not in values:
        raise ConfigError(f"{label}: --lr is missing (Megatron has no default learning rate); add e.g. --lr 2e-4")
    return MegatronArgs(path, values, tuple(sorted(set(ignored))))


def _convert(label: str, flag: str, kind: str, text: str) -> Any:
    if kind == "str":
        return text
    try:
        number = float(text)
    except ValueError:
        raise ConfigError(f"{label}: {flag} {text!r} is not a number") from None
    if kind == "int":
        if number != int(number):
            raise ConfigError(f"{label}: {flag} {text} must be a whole number")
        return int(number)
    return number


def megatron_spec(options: Any, args: MegatronArgs) -> Any:
    """The spec of the Megatron run ``args`` describes; explicit lrviz flags override its values."""
    from ..frameworks.megatron import STYLES
    from ..spec import ScheduleSpec, Source

    v = args.values
    provenance: dict[str, Source] = {"framework": Source("file", args.where("(Megatron arguments)"))}
    label = f"--config {args.path}"

    def pick(field_name: str, flag: str, flag_value: Any, megatron_flag: str, default: Any, owner: str = "Megatron") -> Any:
        if flag_value is not None:
            provenance[field_name] = Source("flag", flag)
            return flag_value
        if megatron_flag in v:
            provenance[field_name] = Source("file", args.where(megatron_flag))
            return v[megatron_flag]
        provenance[field_name] = Source("default", owner)
        return default

    style = pick("scheduler", "--scheduler", options.scheduler, "--lr-decay-style", "linear")
    if style not in STYLES:
        guess = difflib.get_close_matches(str(style), list(STYLES), n=1)
        raise ConfigError(f"{label}: --lr-decay-style {style} is not one of {', '.join(STYLES)}"
                          + (f"; did you mean {guess[0]}?" if guess else ""))
    peak = pick("peak_lr", "--lr", options.lr, "--lr", None)
    total = pick("total_steps", "--steps", options.steps, "--train-iters", None)
    if total is None:
        raise ConfigError(f"{label}: --train-iters is missing; add it (or pass --steps N)")
    kwargs: dict[str, Any] = {}
    for key, flag in (("lr_decay_iters", "--lr-decay-iters"), ("lr_warmup_init", "--lr-warmup-init"),
                      ("global_batch_size", "--global-batch-size"), ("lr_wsd_decay_style", "--lr-wsd-decay-style"),
                      ("lr_wsd_decay_iters", "--lr-wsd-decay-iters"), ("min_lr", "--min-lr")):
        if flag in v:
            kwargs[key] = v[flag]
            provenance[f"kwargs.{key}"] = Source("file", args.where(flag))
    warmup = 0
    if options.warmup_ratio is not None or options.warmup_steps is not None:
        if options.warmup_ratio is not None:
            kwargs["lr_warmup_fraction"] = options.warmup_ratio
            provenance["kwargs.lr_warmup_fraction"] = Source("flag", "--warmup-ratio")
        else:
            warmup = int(options.warmup_steps)
            provenance["warmup_steps"] = Source("flag", "--warmup-steps")
    elif "--lr-warmup-fraction" in v:
        kwargs["lr_warmup_fraction"] = v["--lr-warmup-fraction"]
        provenance["kwargs.lr_warmup_fraction"] = Source("file", args.where("--lr-warmup-fraction"))
    else:
        warmup = v.get("--lr-warmup-iters", 0)
        provenance["warmup_steps"] = (Source("file", args.where("--lr-warmup-iters")) if "--lr-warmup-iters" in v
                                      else Source("default", "Megatron: no warmup"))
    if options.min_lr is not None:
        kwargs["min_lr"] = options.min_lr
        provenance["kwargs.min_lr"] = Source("flag", "--min-lr")
    elif options.min_lr_rate is not None:
        kwargs["min_lr"] = options.min_lr_rate * peak
        provenance["kwargs.min_lr"] = Source("derived", "", f"min_lr = {options.min_lr_rate:g} × {peak:g}")
    for key, value in (options.scheduler_kwargs or {}).items():
        kwargs[key] = value
        provenance[f"kwargs.{key}"] = Source("flag", "--scheduler-kwargs")
    notes = []
    if "--lr-decay-style" not in v and options.scheduler is None:
        notes.append(f"{args.name} sets no --lr-decay-style: Megatron's default is linear, not cosine")
    if args.ignored:
        notes.append(f"{args.name}: flags that do not shape the LR were ignored: {', '.join(args.ignored[:12])}"
                     + (" ..." if len(args.ignored) > 12 else ""))
    try:
        return ScheduleSpec(scheduler=style, peak_lr=peak, total_steps=total, warmup_steps=warmup, scheduler_kwargs=kwargs,
                            framework="megatron", provenance=provenance, notes=tuple(notes),
                            framework_version=options.framework_version)
    except SpecError as error:
        raise SpecError(f"{label}: {error}") from None


# The interface every config format module has (lrviz.configs.pipeline).
looks_like = looks_like_megatron
read = read_megatron
to_spec = megatron_spec
