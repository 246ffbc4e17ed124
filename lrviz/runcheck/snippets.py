"""Ready-to-paste settings that reproduce an inferred schedule: HF TrainingArguments / LLaMA-Factory YAML, Python,
a DeepSpeed ``scheduler`` block, and the ``lrviz plot`` command that draws it."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from .infer import warmup_ratio_for
from .models import DeepSpeedModel, HFModel, Model


@dataclass(frozen=True)
class Snippet:
    title: str
    language: str  # "yaml", "python", "json", "shell"
    text: str


def yaml_float(value: float) -> str:
    """A float PyYAML reads as a float (it needs a dot and a signed exponent): 1.0e-5, 2.5e-4, 0.1."""
    if value == 0:
        return "0.0"
    text = repr(float(value))
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}e{sign}{int(exponent.lstrip('+-'))}"
    return text


def _cli_float(value: float) -> str:
    text = repr(float(value))
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{int(exponent)}"
    return text


def snippets(model: Model, total_known: bool = True, run_total: int | None = None) -> list[Snippet]:
    if isinstance(model, HFModel):
        return _hf(model, total_known)
    if isinstance(model, DeepSpeedModel):
        return _deepspeed(model, run_total)
    return []


def _hf(model: HFModel, total_known: bool) -> list[Snippet]:
    spec = model.spec
    T, W = spec.total_steps, spec.warmup_steps
    ratio = warmup_ratio_for(W, T)
    warmup_comment = f"  # = ceil({ratio:g} × {T}): warmup_steps: {ratio:g} (5.x) or warmup_ratio: {ratio:g} (4.x) give the same" if ratio and W else ""
    total_comment = "  # or the epochs and batch sizes that give this many optimizer updates" if total_known else \
        "  # not determined by the log: any length at least this long reproduces it"
    kwargs = dict(spec.scheduler_kwargs)
    yaml_lines = [f"learning_rate: {yaml_float(spec.peak_lr)}", f"lr_scheduler_type: {spec.scheduler}"]
    if kwargs:
        yaml_lines.append("lr_scheduler_kwargs:")
        yaml_lines += [f"  {key}: {yaml_float(value) if isinstance(value, float) else value}" for key, value in kwargs.items()]
    if W or spec.scheduler not in ("constant", "linear", "cosine"):
        yaml_lines.append(f"warmup_steps: {W}{warmup_comment}")
    if spec.scheduler not in ("constant", "constant_with_warmup"):
        yaml_lines.append(f"max_steps: {T}{total_comment}")
    python_args = [f"learning_rate={_cli_float(spec.peak_lr)}", f'lr_scheduler_type="{spec.scheduler}"']
    if kwargs:
        python_args.append(f"lr_scheduler_kwargs={json.dumps(kwargs)}")
    python_args.append(f"warmup_steps={W}")
    if spec.scheduler not in ("constant", "constant_with_warmup"):
        python_args.append(f"max_steps={T}")
    command = ["lrviz plot", f"--scheduler {spec.scheduler}", f"--lr {_cli_float(spec.peak_lr)}"]
    if "min_lr" in kwargs:
        command.append(f"--min-lr {_cli_float(kwargs['min_lr'])}")
    if "min_lr_rate" in kwargs:
        command.append(f"--min-lr-rate {_cli_float(kwargs['min_lr_rate'])}")
    command += [f"--warmup-steps {W}", f"--steps {T}"]
    return [
        Snippet("HF TrainingArguments / TRL / LLaMA-Factory YAML", "yaml", "\n".join(yaml_lines)),
        Snippet("Python", "python", "TrainingArguments(..., " + ", ".join(python_args) + ")"),
        Snippet("preview it", "shell", " ".join(command)),
    ]


def _deepspeed(model: DeepSpeedModel, run_total: int | None) -> list[Snippet]:
    params = dict(model.settings()["params"])
    block = json.dumps({"scheduler": {"type": model.scheduler, "params": params}}, indent=2)
    note = ""
    if model.scheduler == "WarmupLR":
        note = ("\n// transformers fills \"auto\" values as warmup_min_lr 0, warmup_max_lr = learning_rate, "
                "warmup_num_steps = the warmup; warmup_type is never set, so DeepSpeed's default \"log\" applies.\n"
                "// To get lr_scheduler_type (e.g. cosine) back, delete this block from the DeepSpeed config.")
    snippets = [Snippet("DeepSpeed config (the scheduler that produced this log)", "json", block + note)]
    if model.scheduler == "WarmupLR" and model.warmup_type == "log":
        cosine_warmup = max(1, model.warmup_steps)
        snippets.append(Snippet(
            "the HF schedule most runs meant instead (after removing the block)", "yaml",
            f"learning_rate: {yaml_float(model.peak_lr)}\nlr_scheduler_type: cosine\nwarmup_steps: {cosine_warmup}"
            + (f"\nmax_steps: {run_total}  # the run's max_steps" if run_total else ""),
        ))
    return snippets


def describe_range(name: str, value: float, bounds: tuple[float, float | None] | None) -> str:
    if not bounds:
        return "exact"
    low, high = bounds
    if high is None or (isinstance(high, float) and math.isinf(high)):
        return f"any ≥ {int(low):,}" if name.endswith("steps") else f"≥ {low:g}"
    return f"{int(low):,}–{int(high):,}" if name.endswith("steps") else f"{low:g}–{high:g}"
