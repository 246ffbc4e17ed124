"""Megatron-LM text logs: the lines ``training_log`` prints every ``--log-interval`` iterations.

Source: NVIDIA/Megatron-LM ``megatron/training/training.py``, ``training_log`` (commit 86df799dc4c7, and
``train`` there: the LR printed is the optimizer's ``param_group['lr']`` after ``train_step`` stepped the
scheduler, so iteration N carries the LR of update N). A line looks like::

     [2024-05-01 10:00:00] iteration      100/   10000 | consumed samples: 12800 | ... | learning rate: 1.500000E-05 |
     global batch size:   128 | lm loss: 7.1E+00 | loss scale: 1.0 | ... | number of skipped iterations:   0 | ...

``{:.6E}`` in Megatron-core releases, ``{:.3E}`` in older ones: values are compared at the printed precision.
Prefixes vary (a timestamp, ``[default0]:`` from torchrun, none). Validation lines also carry ``lm loss`` but no
learning rate and are not training points. fp16 iterations the loss scaler skipped are counted in ``number of
skipped iterations`` (the scheduler does not step on them); a line whose interval was all skipped may print LR 0,
and is not a point. The ``arguments`` block Megatron prints at start-up (``lr ....... 0.00015``), or the launch
command's flags, give the schedule's settings; in a resumed run, ``> using checkpoint value X for NAME`` overrides
them.
"""

from __future__ import annotations

import re
import shlex

from .run import LoggedRun, LogError, ReportedSkip
from ._files import checked_points, merge_points
from .table import printed_rounding

ITERATION = re.compile(r"iteration\s+(\d+)\s*/\s*(\d+)\s*\|")
LEARNING_RATE = re.compile(r"\|\s*learning rate:\s*([-+0-9.eEnaifNAIF]+)\s*\|")
SKIPPED = re.compile(r"number of skipped iterations:\s*(\d+)")
ARGUMENT = re.compile(r"^\s*(?:\[[^\]]*\]:?\s*)?([a-z_][a-z0-9_]*) \.{2,} (.*?)\s*$")
CHECKPOINT_VALUE = re.compile(r"using checkpoint value (\S+) for (.+?)\s*$")

# what the schedule needs, as Megatron's args name it
SETTING_NAMES = ("lr", "min_lr", "lr_decay_style", "lr_warmup_iters", "lr_warmup_fraction", "lr_warmup_init",
                 "lr_decay_iters", "train_iters", "global_batch_size", "lr_wsd_decay_iters", "lr_wsd_decay_style")
# OptimizerParamScheduler.load_state_dict's names for the same settings ("using checkpoint value 0.0003 for learning rate")
CHECKPOINT_NAMES = {"learning rate": "lr", "minimum learning rate": "min_lr", "warmup iterations": "lr_warmup_steps",
                    "total number of iterations": "lr_decay_steps", "learning rate decay style": "lr_decay_style"}


def _value(text: str):
    text = text.strip().strip("'\"")
    if text in ("None", "none", ""):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _settings(lines: list[str]) -> tuple[dict, list[str]]:
    settings: dict = {}
    notes: list[str] = []
    in_block = False
    for line in lines:
        if "arguments" in line and "----" in line:
            in_block = "end of arguments" not in line
            continue
        if in_block:
            match = ARGUMENT.match(line)
            if match and match.group(1) in SETTING_NAMES:
                settings[match.group(1)] = _value(match.group(2))
            continue
        if "--lr" in line and ("--train-iters" in line or "pretrain" in line) and not settings:
            try:
                words = shlex.split(line)
            except ValueError:
                words = line.split()
            for index, word in enumerate(words[:-1]):
                name = word[2:].replace("-", "_") if word.startswith("--") else None
                if name in SETTING_NAMES and name not in settings:
                    settings[name] = _value(words[index + 1])
        match = CHECKPOINT_VALUE.search(line)
        if match and match.group(2) in CHECKPOINT_NAMES:
            name = CHECKPOINT_NAMES[match.group(2)]
            settings.setdefault("checkpoint", {})[name] = _value(match.group(1))
    if "checkpoint" in settings:
        notes.append("the run resumed from a checkpoint whose scheduler settings override the arguments: "
                     + ", ".join(f"{k} = {v}" for k, v in settings["checkpoint"].items()))
    return settings, notes


def read_megatron_log(path: str, text: str) -> LoggedRun:
    lines = text.splitlines()
    steps: list[int] = []
    values: list[float] = []
    texts: list[str] = []
    numbers: list[int] = []
    skips: list[ReportedSkip] = []
    totals: set[int] = set()
    dropped = 0
    for number, line in enumerate(lines, start=1):
        if "learning rate" not in line:
            continue
        iteration = ITERATION.search(line)
        lr = LEARNING_RATE.search(line)
        if iteration is None or lr is None:
            continue
        step, total = int(iteration.group(1)), int(iteration.group(2))
        totals.add(total)
        try:
            value = float(lr.group(1))
        except ValueError:
            raise LogError(f"{path}: line {number}: learning rate {lr.group(1)!r} is not a number") from None
        skipped = SKIPPED.search(line)
        count = int(skipped.group(1)) if skipped else 0
        if count:
            skips.append(ReportedSkip(step, count))
            if value == 0:
                dropped += 1
                continue
        steps.append(step)
        values.append(value)
        texts.append(lr.group(1))
        numbers.append(number)
    if not steps:
        raise LogError(f"{path}: none of its {len(lines):,} lines is a Megatron training line with a learning rate "
                       "('iteration N/ M | ... | learning rate: X |'); give the log of the training run (rank 0's, "
                       "or the last pipeline stage's), not only its validation lines")
    notes: list[str] = []
    resumes: tuple = ()
    duplicates = 0
    if any(b <= a for a, b in zip(steps, steps[1:])):
        order = {s: t for s, t in zip(steps, texts)}
        steps, values, numbers, resumes, duplicates = merge_points(steps, values, numbers, set())
        texts = [order[s] for s in steps]
    step_array, lr_array = checked_points(path, steps, values, lambda index: f"line {numbers[index]}")
    rounding, note = printed_rounding(texts, lr_array)
    if note:
        notes.append(note)
    if dropped:
        notes.append(f"{dropped} line{'s' if dropped != 1 else ''} of skipped iterations printed LR 0: not points")
    settings, setting_notes = _settings(lines)
    notes += setting_notes
    total = settings.get("train_iters") or (max(totals) if totals else None)
    return LoggedRun(path=path, fmt="megatron", steps=step_array, lr=lr_array, total_steps=total, rounding=rounding,
                     notes=tuple(notes), resumes=resumes, duplicates=duplicates, reported_skips=tuple(skips),
                     settings=settings, conventions=("megatron",))


def schedule_from_settings(settings: dict):
    """The Megatron schedule the log's arguments (and a resumed run's checkpoint values) describe, or None when
    they do not give the peak and the run length. The global batch size cancels out of the LR per iteration
    (warmup, decay and the step count are all in samples), so 1 stands in when the log does not print it."""
    from ..errors import SpecError
    from ..spec import ScheduleSpec

    lr, iters = settings.get("lr"), settings.get("train_iters")
    if not isinstance(lr, (int, float)) or not isinstance(iters, int):
        return None
    gbs = settings.get("global_batch_size") if isinstance(settings.get("global_batch_size"), int) else 1
    kwargs = {"global_batch_size": gbs, "min_lr": float(settings.get("min_lr") or 0.0)}
    for name in ("lr_warmup_fraction", "lr_warmup_init", "lr_decay_iters", "lr_wsd_decay_iters", "lr_wsd_decay_style"):
        if settings.get(name) is not None:
            kwargs[name] = settings[name]
    style = settings.get("lr_decay_style") or "linear"
    warmup = int(settings.get("lr_warmup_iters") or 0)
    checkpoint = settings.get("checkpoint", {})
    if "lr" in checkpoint:
        lr = checkpoint["lr"]
    if "min_lr" in checkpoint:
        kwargs["min_lr"] = float(checkpoint["min_lr"])
    if "lr_decay_style" in checkpoint:
        style = checkpoint["lr_decay_style"]
    if "lr_decay_steps" in checkpoint:
        kwargs["lr_decay_iters"] = int(round(checkpoint["lr_decay_steps"] / gbs))
    if "lr_warmup_steps" in checkpoint:
        kwargs.pop("lr_warmup_fraction", None)
        warmup = int(round(checkpoint["lr_warmup_steps"] / gbs))
    if kwargs.get("lr_warmup_fraction") is not None:
        warmup = 0
    try:
        return ScheduleSpec(framework="megatron", scheduler=str(style), peak_lr=float(lr), total_steps=iters,
                            warmup_steps=warmup, scheduler_kwargs=kwargs)
    except SpecError:
        return None


def megatron_flags(spec) -> str | None:
    """The Megatron-LM flags that give the same LR per iteration as an inferred HF schedule, where one does:
    HF ``polynomial`` with power 1 is ``--lr-decay-style linear`` down to ``lr_end``; ``cosine_with_min_lr`` and
    ``cosine`` are ``--lr-decay-style cosine``; ``constant_with_warmup`` and ``constant`` are ``constant``
    (Megatron's warmup reaches the peak at iteration W, as HF's does; its decay ratio is (n - W) / (D - W))."""
    kwargs = dict(spec.scheduler_kwargs)
    if kwargs.get("num_cycles", 0.5) != 0.5:
        return None
    floor = 0.0
    if spec.scheduler == "polynomial" and kwargs.get("power", 1.0) == 1.0:
        style, floor = "linear", float(kwargs.get("lr_end", 1e-7))
    elif spec.scheduler in ("cosine", "cosine_with_min_lr"):
        style = "cosine"
        floor = float(kwargs["min_lr"]) if "min_lr" in kwargs else spec.peak_lr * float(kwargs.get("min_lr_rate", 0.0))
    elif spec.scheduler in ("constant", "constant_with_warmup"):
        return f"--lr-decay-style constant --lr {spec.peak_lr:g} --lr-warmup-iters {spec.warmup_steps}"
    else:
        return None
    return (f"--lr-decay-style {style} --lr {spec.peak_lr:g} --min-lr {floor:g} --lr-warmup-iters "
            f"{spec.warmup_steps} --lr-decay-iters {spec.total_steps}")
