"""Megatron-LM argument lists: a file with the flags, or the launch script (``pretrain_gpt.py ... \\``).

Source: Megatron-LM ``megatron/training/arguments.py`` / ``training_config.py`` (``SchedulerConfig``) and
``training.py::get_optimizer_param_scheduler`` / ``update_train_iters`` (NVIDIA/Megatron-LM d98e8a64ddf3). Lines are
joined at ``\\`` continuations, ``#`` comments dropped and the words split as a shell would (``shlex``); shell
variables the script sets are substituted (``NAME=value``, ``export NAME=value``, ``$NAME``, ``${NAME}``,
``${NAME:-default}``, bash arrays ``NAME=( ... )`` used as ``${NAME[@]}``); a variable an LR flag needs that the
script does not set is exit 2, naming it. The LR flags are read, every other flag is ignored (listed). An LR flag
Megatron does not know is exit 2 (argparse rejects it), as are the combinations ``arguments.py`` asserts against
and the batch-size schedules (``--rampup-batch-size``, ``--step-batch-size-schedule``), which change the
iterations and the samples per iteration (lrviz does not model them).

Iteration-based runs (``--train-iters``) count ``lr_decay_iters * global_batch_size`` samples; sample-based
runs (``--train-samples``) give the spans in samples (``--lr-decay-samples``, default ``--train-samples``;
``--lr-warmup-samples`` or ``--lr-warmup-fraction``) and run ``train_samples // global_batch_size`` iterations.
"""

from __future__ import annotations

import difflib
import math
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
    "--adam-beta2": "float",  # not the LR, but lrviz advise's warmup rule reads it
}
SWITCHES = ("--override-opt-param-scheduler", "--use-checkpoint-opt-param-scheduler")
MARKERS = ("--train-iters", "--train-samples", "--lr-decay-style", "--lr-warmup-fraction", "--lr-decay-iters", "pretrain_gpt")
# Flags that change the batch size during the run: the iteration count and the samples per step follow the ramp.
BATCH_SCHEDULES = ("--rampup-batch-size", "--step-batch-size-schedule")
_VARIABLE = re.compile(r"\$\{(\w+)(?:\[[@*]\])?(?::-([^}]*))?\}|\$(\w+)")
_ASSIGNMENT = re.compile(r"^(\w+)=(.*)$", re.S)
UNSET = "\x00"  # marks where an unset variable was: "\x00NAME\x00"


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


def shell_words(label: str, text: str) -> list[str]:
    """The script's words as the shell would pass them, with the variables it sets substituted (see the module)."""
    joined = re.sub(r"\\\r?\n", " ", text)
    variables: dict[str, str] = {}
    arrays: dict[str, list[str]] = {}
    words: list[str] = []
    array: tuple[str, list[str]] | None = None
    for line in joined.splitlines():
        try:
            line_words = shlex.split(line, comments=True)
        except ValueError as error:
            raise ConfigError(f"{label}: cannot split {line.strip()[:60]!r} into words ({error}); fix the quoting") from None
        for word in line_words:
            if array is not None:
                if word == ")":
                    arrays[array[0]] = array[1]
                    array = None
                else:
                    closing = word.endswith(")")
                    array[1].extend(_expand(word[:-1] if closing else word, variables, arrays))
                    if closing:
                        arrays[array[0]] = array[1]
                        array = None
                continue
            if word == "export" or word == "local" or word == "declare":
                continue
            assignment = _ASSIGNMENT.match(word)
            if assignment and not word.startswith("-"):
                name, value = assignment.groups()
                if value.startswith("("):
                    inner = value[1:]
                    array = (name, [])
                    if inner.endswith(")"):
                        array[1].extend(_expand(inner[:-1], variables, arrays) if inner[:-1] else [])
                        arrays[name] = array[1]
                        array = None
                    elif inner:
                        array[1].extend(_expand(inner, variables, arrays))
                else:
                    variables[name] = " ".join(_expand(value, variables, arrays))
                continue
            words.extend(_expand(word, variables, arrays))
    return words


def _expand(word: str, variables: dict[str, str], arrays: dict[str, list[str]]) -> list[str]:
    """One word with its $NAME / ${NAME:-default} / ${NAME[@]} substituted (an array spliced in as words)."""
    whole = re.fullmatch(r"\$\{(\w+)\[[@*]\]\}", word)
    if whole and whole.group(1) in arrays:
        return list(arrays[whole.group(1)])

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        if name in variables:
            return variables[name]
        if name in arrays:
            return " ".join(arrays[name])
        if match.group(2) is not None:
            return match.group(2)
        return f"{UNSET}{name}{UNSET}"

    if not word:
        return []
    expanded = _VARIABLE.sub(substitute, word)
    return expanded.split() if expanded != word else [expanded]  # an unquoted expansion is split into words


def read_megatron(path: str, text: str) -> MegatronArgs:
    label = f"--config {path}"
    words = shell_words(label, text)
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
            if UNSET in value:
                name = value.split(UNSET)[1]
                raise ConfigError(f"{label}: {flag} ${name}: the script does not set {name} (it comes from the "
                                  f"environment or another file); set {name}=... in the script, or write the value")
            values[flag] = _convert(label, flag, FLAGS[flag], value)
        elif flag in BATCH_SCHEDULES:
            if flag == "--step-batch-size-schedule" and any(w.partition("=")[0] == "--global-batch-size" for w in words):
                raise ConfigError(f"{label}: --step-batch-size-schedule and --global-batch-size are both set: Megatron "
                                  "raises ValueError (\"Cannot specify both --step-batch-size-schedule and "
                                  "--global-batch-size\"); keep one (lrviz models a constant --global-batch-size)")
            raise ConfigError(f"{label}: {flag} changes the global batch size during the run, so the iterations and the "
                              "samples each one consumes follow the ramp; lrviz does not model it: remove it to see the "
                              "constant-batch schedule")
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
        if "--train-iters" in values:
            raise ConfigError(f"{label}: --train-iters and --train-samples are both set: Megatron asserts \"expected "
                              "sample-based training\"; keep one")
        for flag in ("--lr-decay-iters", "--lr-warmup-iters", "--lr-wsd-decay-iters"):
            if values.get(flag):
                raise ConfigError(f"{label}: {flag} in a sample-based run (--train-samples): Megatron asserts \"expected "
                                  f"sample-based learning rate decay/warmup\"; use {flag.replace('-iters', '-samples')}")
        if values.get("--lr-warmup-fraction") is not None and values.get("--lr-warmup-samples"):
            raise ConfigError(f"{label}: --lr-warmup-fraction and --lr-warmup-samples are both set: Megatron asserts "
                              "\"can only specify one of lr-warmup-fraction and lr-warmup-samples\"; keep one")
    else:
        for flag in ("--lr-decay-samples", "--lr-warmup-samples", "--lr-wsd-decay-samples"):
            if values.get(flag):
                raise ConfigError(f"{label}: {flag} with --train-iters: Megatron asserts iteration-based runs use the "
                                  "*-iters flags; use the matching -iters flag")
    if "--lr" not in values:
        raise ConfigError(f"{label}: --lr is missing (Megatron has no default learning rate); add e.g. --lr 2e-4")
    return MegatronArgs(path, values, tuple(sorted(set(ignored))))


def _convert(label: str, flag: str, kind: str, text: str) -> Any:
    if kind == "str":
        return text
    shown = text if len(text) <= 40 else f"{text[:20]}…({len(text):,} characters)"
    if kind == "int":  # Megatron's argparse: type=int, so 5e3 or 1.0 is "invalid int value"
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{label}: {flag} {shown!r}: Megatron's argparse stops with \"invalid int value\" (type=int); "
                              f"write a whole number such as {flag} 5000") from None
    try:
        number = float(text)
    except ValueError:
        raise ConfigError(f"{label}: {flag} {shown!r} is not a number") from None
    if not math.isfinite(number):
        raise ConfigError(f"{label}: {flag} {shown} is not a finite number; give the value, e.g. {flag} 2e-4")
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
    kwargs: dict[str, Any] = {}
    samples = v.get("--train-samples")
    if samples is not None and options.steps is None:
        gbs = v.get("--global-batch-size")
        if gbs is None:
            raise ConfigError(f"{label}: --train-samples without --global-batch-size: Megatron runs train_samples // "
                              "global_batch_size iterations, and its default global batch (micro batch × data-parallel "
                              "size) depends on the cluster; add --global-batch-size")
        total = samples // gbs
        provenance["total_steps"] = Source("derived", "", f"train_iters = train_samples // global_batch_size = {samples} // "
                                                          f"{gbs} = {total} (training.py update_train_iters)")
        kwargs["lr_decay_samples"] = v.get("--lr-decay-samples", samples)
        provenance["kwargs.lr_decay_samples"] = Source("file", args.where("--lr-decay-samples" if "--lr-decay-samples" in v
                                                                          else "--train-samples"))
        for key, flag in (("lr_warmup_samples", "--lr-warmup-samples"), ("lr_wsd_decay_samples", "--lr-wsd-decay-samples")):
            if flag in v:
                kwargs[key] = v[flag]
                provenance[f"kwargs.{key}"] = Source("file", args.where(flag))
    elif samples is not None:
        raise SpecError(f"--steps {options.steps}: {label} is a sample-based run (--train-samples {samples}); its iterations "
                        "are train_samples // global_batch_size: drop --steps or edit --train-samples")
    else:
        total = pick("total_steps", "--steps", options.steps, "--train-iters", None)
    if total is None:
        raise ConfigError(f"{label}: --train-iters (or --train-samples) is missing; add it (or pass --steps N)")
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
    if "--decoupled-lr" in args.ignored or "--decoupled-min-lr" in args.ignored:
        notes.append(f"{args.where('--decoupled-lr')}: the input and output layers get their own LR (--decoupled-lr, "
                     "floor --decoupled-min-lr) on the same schedule shape; lrviz draws the other parameters' --lr")
    for switch in SWITCHES:
        if switch in args.ignored:
            source, other = ("these flags", "the checkpoint") if "override" in switch else ("the checkpoint", "these flags")
            notes.append(f"{args.where(switch)}: on a resumed run the schedule's settings come from {source}, not from "
                         f"{other}; lrviz draws the flags' schedule from update 0")
    shown = [flag for flag in args.ignored if flag not in SWITCHES and not flag.startswith("--decoupled")]
    if shown:
        notes.append(f"{args.name}: flags that do not shape the LR were ignored: {', '.join(shown[:12])}"
                     + (" ..." if len(shown) > 12 else ""))
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
