"""The recommended schedule in the syntax of each tool: LLaMA-Factory YAML, ``TrainingArguments(...)``, the
``transformers`` command line, Axolotl YAML, and a DeepSpeed ``scheduler`` block.

Every number is written so that its target reads back the same float: YAML floats with a dot and a signed
exponent (``2.0e-6``: PyYAML reads ``2e-6`` as a string), Python/JSON with ``repr``. The warmup is written as a
count, which every transformers version reads the same way (5.x also takes a float below 1 as a ratio; 4.x
does not, and 5.24 rejects ``warmup_ratio``).
"""

from __future__ import annotations

import json
import math
import re
import shlex
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..configs import ConfigFile
from ..options import Options
from ..resolve import HF_DEFAULTS
from ..schedules import lr_at, min_lr_rate
from ..spec import ScheduleSpec
from . import deepspeed
from .numbers import lr, percent, py_float, yaml_float

# Plain scalars YAML 1.1 reads as booleans or null.
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none"}

TARGETS = ("llamafactory", "trainingarguments", "cli", "axolotl", "deepspeed")


@dataclass(frozen=True)
class RunLength:
    """How the run's number of updates is set: ``max_steps``, or the data and batch settings it is derived from."""

    max_steps: int | None = None
    dataset_size: int | None = None
    batch_size: int = HF_DEFAULTS["per_device_train_batch_size"]
    grad_accum: int = HF_DEFAULTS["gradient_accumulation_steps"]
    gpus: int = 1
    epochs: float = HF_DEFAULTS["num_train_epochs"]
    drop_last: bool = False


@dataclass(frozen=True)
class Snippet:
    target: str
    title: str
    language: str  # yaml, python, shell, json
    text: str | None  # None: the target cannot express this schedule (the note says what to do)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "title": self.title, "language": self.language, "text": self.text, "note": self.note}


def run_length(spec: ScheduleSpec, options: Options, config: ConfigFile | None) -> RunLength:
    """The run-length settings behind ``spec.total_steps``, with the same precedence as ``resolve``."""
    source = spec.provenance.get("total_steps")
    if source is None or source.kind != "derived" or options.dataset_size is None:
        return RunLength(max_steps=spec.total_steps)
    values = config.values if config is not None else {}

    def pick(flag: Any, key: str, default: Any) -> Any:
        if flag is not None:
            return flag
        return values[key].value if key in values else default

    return RunLength(
        dataset_size=options.dataset_size,
        batch_size=pick(options.batch_size, "per_device_train_batch_size", HF_DEFAULTS["per_device_train_batch_size"]),
        grad_accum=pick(options.grad_accum, "gradient_accumulation_steps", HF_DEFAULTS["gradient_accumulation_steps"]),
        gpus=options.gpus or 1,
        epochs=pick(options.epochs, "num_train_epochs", HF_DEFAULTS["num_train_epochs"]),
        drop_last=pick(options.drop_last, "dataloader_drop_last", False),
    )


# ------------------------------------------------------------------------------------------ writers


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return yaml_float(value)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", text) and text.lower() not in _YAML_WORDS
    return text if plain else json.dumps(text)


def _py_value(value: Any) -> str:
    if isinstance(value, float):
        return py_float(value)
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def _kwargs_json(kwargs: dict[str, Any]) -> str:
    return json.dumps({key: (float(value) if isinstance(value, float) else value) for key, value in kwargs.items()})


def _run_items(spec: ScheduleSpec, run: RunLength) -> list[tuple[str, Any, str]]:
    """(TrainingArguments key, value, comment) for the run length."""
    if run.max_steps is not None:
        return [("max_steps", run.max_steps, "")]
    items: list[tuple[str, Any, str]] = [
        ("num_train_epochs", float(run.epochs), ""),
        ("per_device_train_batch_size", run.batch_size, ""),
        ("gradient_accumulation_steps", run.grad_accum, ""),
    ]
    if run.drop_last:
        items.append(("dataloader_drop_last", True, ""))
    comment = f"{run.dataset_size:,} examples on {run.gpus} GPU(s): {spec.total_steps:,} optimizer updates"
    items[-1] = (items[-1][0], items[-1][1], comment)
    return items


def _hf_items(spec: ScheduleSpec, run: RunLength) -> list[tuple[str, Any, str]]:
    items: list[tuple[str, Any, str]] = [
        ("learning_rate", spec.peak_lr, ""),
        ("lr_scheduler_type", spec.scheduler, ""),
    ]
    if spec.scheduler_kwargs:
        items.append(("lr_scheduler_kwargs", dict(spec.scheduler_kwargs), ""))
    share = spec.warmup_steps / spec.total_steps
    items.append(("warmup_steps", spec.warmup_steps, f"{percent(share)} of the run, as a count (same in every version)"))
    return items + _run_items(spec, run)


def llamafactory_yaml(spec: ScheduleSpec, run: RunLength) -> Snippet:
    lines = ["### recommended by lrviz advise: merge into your LLaMA-Factory YAML"]
    for key, value, comment in _hf_items(spec, run):
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"  {k}: {_yaml_value(v)}" for k, v in value.items()]
            continue
        lines.append(f"{key}: {_yaml_value(value)}" + (f"  # {comment}" if comment else ""))
    return Snippet("llamafactory", "LLaMA-Factory YAML", "yaml", "\n".join(lines) + "\n",
                   "also valid as a TrainingArguments YAML/JSON for HfArgumentParser (TRL, plain transformers)")


def training_arguments(spec: ScheduleSpec, run: RunLength) -> Snippet:
    lines = ["args = TrainingArguments(", "    # ... your other arguments (output_dir, ...)"]
    for key, value, comment in _hf_items(spec, run):
        text = _kwargs_json(value) if isinstance(value, dict) else _py_value(value)
        lines.append(f"    {key}={text}," + (f"  # {comment}" if comment else ""))
    lines.append(")")
    return Snippet("trainingarguments", "transformers TrainingArguments(...)", "python", "\n".join(lines) + "\n",
                   "from transformers import TrainingArguments")


def command_line(spec: ScheduleSpec, run: RunLength) -> Snippet:
    words = ["python", "train.py"]
    for key, value, _ in _hf_items(spec, run):
        if isinstance(value, dict):
            text = _kwargs_json(value)
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, float):
            text = py_float(value)
        else:
            text = str(value)
        words += [f"--{key}", shlex.quote(text)]
    return Snippet("cli", "transformers command line (HfArgumentParser)", "shell", " ".join(words) + "\n",
                   "train.py: any script that parses TrainingArguments with HfArgumentParser; the JSON of "
                   "--lr_scheduler_kwargs is single-quoted so the shell passes it unchanged")


def axolotl_yaml(spec: ScheduleSpec, run: RunLength) -> Snippet:
    lines = ["# recommended by lrviz advise: merge into your Axolotl YAML", f"learning_rate: {yaml_float(spec.peak_lr)}"]
    note = "Axolotl reads YAML with PyYAML: every number here has a dot and a signed exponent"
    cycles = spec.scheduler_kwargs.get("num_cycles", 0.5)
    if spec.scheduler == "cosine_with_min_lr" and cycles == 0.5:
        rate = min_lr_rate(spec)
        ratio_line = (f"cosine_min_lr_ratio: {yaml_float(float(f'{rate:.12g}'))}"
                      f"  # = {lr(rate * spec.peak_lr)} / {lr(spec.peak_lr)}; Axolotl's cosine with a floor is HF's cosine_with_min_lr")
        lines += ["lr_scheduler: cosine", ratio_line]
    else:
        lines.append(f"lr_scheduler: {spec.scheduler}")
        if spec.scheduler_kwargs:
            lines.append("lr_scheduler_kwargs:")
            lines += [f"  {k}: {_yaml_value(v)}" for k, v in spec.scheduler_kwargs.items()]
    lines.append(f"warmup_steps: {spec.warmup_steps}" + ("  # Axolotl raises 1 to 2" if spec.warmup_steps == 1 else ""))
    if run.max_steps is not None:
        lines.append(f"max_steps: {run.max_steps}")
    else:
        axolotl_total = math.ceil(run.dataset_size * run.epochs / (run.batch_size * run.grad_accum * run.gpus))
        lines += [f"num_epochs: {yaml_float(float(run.epochs))}", f"micro_batch_size: {run.batch_size}",
                  f"gradient_accumulation_steps: {run.grad_accum}"]
        if axolotl_total != spec.total_steps:
            note += (f"; Axolotl counts ceil({run.dataset_size} × {run.epochs:g} / ({run.batch_size}×{run.grad_accum}×{run.gpus})) "
                     f"= {axolotl_total:,} updates, not the Trainer's {spec.total_steps:,}: add max_steps: {spec.total_steps} "
                     "for exactly this curve")
    return Snippet("axolotl", "Axolotl YAML", "yaml", "\n".join(lines) + "\n", note)


def deepspeed_block(spec: ScheduleSpec, run: RunLength) -> Snippet:
    cycles = spec.scheduler_kwargs.get("num_cycles", 0.5)
    if spec.scheduler not in ("cosine_with_min_lr", "cosine_warmup_with_min_lr") or cycles != 0.5:
        return Snippet("deepspeed", "DeepSpeed \"scheduler\" block", "json", None,
                       f"no DeepSpeed scheduler reproduces {spec.scheduler}: leave the \"scheduler\" block out of the "
                       "DeepSpeed config, and the HF scheduler above runs under DeepSpeed")
    rate = float(f"{min_lr_rate(spec):.12g}")
    warmup = max(1, spec.warmup_steps)
    block = {"scheduler": {"type": "WarmupCosineLR", "params": {
        "total_num_steps": spec.total_steps, "warmup_num_steps": warmup, "warmup_min_ratio": 0.0,
        "cos_min_ratio": rate, "warmup_type": "linear"}}}
    return Snippet("deepspeed", "DeepSpeed \"scheduler\" block (WarmupCosineLR)", "json", json.dumps(block, indent=2) + "\n",
                   deepspeed_difference(spec, warmup, rate))


def deepspeed_difference(spec: ScheduleSpec, warmup: int, rate: float) -> str:
    """How DeepSpeed's WarmupCosineLR differs from ``spec``'s HF curve, measured (not claimed equal)."""
    T, peak = spec.total_steps, spec.peak_lr
    # the first updates, the end of the warmup, and a spread over the run: cost independent of the run's length
    W = max(warmup, 2)
    head = np.array([0, 1, 2, W - 2, W - 1, W, W + 1, W + 2], dtype=np.int64)
    spread = np.unique(np.linspace(0, T - 1, min(T, 4001)).astype(np.int64))
    steps = np.unique(np.concatenate([head, spread]))
    steps = steps[(steps >= 0) & (steps < T)]
    hf = lr_at(spec, steps)
    ds = deepspeed.warmup_cosine_lr(steps, peak, T, warmup, rate)
    gap = np.abs(ds - hf)
    differs = gap > 1e-12 * peak
    top = int(np.argmax(ds))
    parts = ["DeepSpeed's own curve differs slightly from the recommendation (DeepSpeed 0.19.8 semantics)"]
    if T > 1 and steps[1] == 1 and ds[1] == 0 and hf[1] != 0:
        parts.append(f"updates 0 and 1 both run at LR 0 (HF: {lr(hf[1])} at update 1)")
    if ds[top] < peak * (1 - 1e-12):
        parts.append(f"its linear warmup trails HF's by one update and never quite reaches the peak {lr(peak)}: its highest "
                     f"LR is {lr(ds[top], 7)} at update {int(steps[top]):,}")
    if differs.any():
        first, last = int(steps[differs][0]), int(steps[differs][-1])
        span = f"updates {first:,}–{last:,}" if first != last else f"update {first:,}"
        parts.append(f"the gap is at most {lr(gap.max())} ({percent(gap.max() / peak)} of the peak), in {span}")
        if last < T - 1:
            parts.append(f"from update {last + 1:,} on the two agree")
    parts.append("with the HF Trainer you can leave the block out and get the HF curve itself")
    return "; ".join(parts)


def snippets(spec: ScheduleSpec, run: RunLength) -> list[Snippet]:
    """Every snippet for the recommended ``spec`` (HF schedulers; other frameworks get none, with a note)."""
    if spec.framework != "hf":
        note = (f"snippets are written for transformers schedulers; this schedule uses {spec.framework} semantics: "
                f"set {spec.scheduler}'s values from the recommended schedule above")
        return [Snippet(target, title, "text", None, note) for target, title in zip(TARGETS, (
            "LLaMA-Factory YAML", "transformers TrainingArguments(...)", "transformers command line", "Axolotl YAML",
            "DeepSpeed \"scheduler\" block"), strict=True)]
    return [llamafactory_yaml(spec, run), training_arguments(spec, run), command_line(spec, run),
            axolotl_yaml(spec, run), deepspeed_block(spec, run)]
