"""The settings each non-transformers scheduler accepts (``Signature``s), and their framework-specific checks.

Pure data plus validation; read from each framework's source (named per entry). Kwarg names are spelled as
the framework spells them, so that ``--scheduler-kwargs`` takes the same keys as the framework's config.
The run length (``total_steps``) and the warmup length (``warmup_steps``) are not kwargs: they come from
``--steps`` / ``--warmup-*`` or the config file, and each framework's own name for them is in ``STEP_NAMES``.
"""

from __future__ import annotations

from typing import Any

# How each framework names the run length and the warmup length (shown in messages and provenance).
STEP_NAMES: dict[tuple[str, str], tuple[str, str]] = {
    ("deepspeed", "WarmupLR"): ("(run length; WarmupLR has no total)", "warmup_num_steps"),
    ("deepspeed", "WarmupDecayLR"): ("total_num_steps", "warmup_num_steps"),
    ("deepspeed", "WarmupCosineLR"): ("total_num_steps", "warmup_num_steps"),
}

# NeMo's WarmupPolicy schedulers (lrviz/frameworks/nemo_warmup.py) and their min_lr defaults (nemo-toolkit 3.0.0).
NEMO_WARMUP_MIN_LR = {"WarmupAnnealing": 0.0, "SquareAnnealing": 1e-5, "SquareRootAnnealing": 0.0,
                      "InverseSquareRootAnnealing": 0.0}

DEEPSPEED_TYPES = ("WarmupLR", "WarmupDecayLR", "WarmupCosineLR", "OneCycle", "LRRangeTest")


def signatures() -> dict[str, dict[str, Any]]:
    """``{framework: {scheduler: Signature}}`` for every framework but ``hf``."""
    from ..signature_types import FLOOR_ABSOLUTE, FLOOR_NONE, FLOOR_RATIO, Kwarg, Signature

    warmup_type = Kwarg("warmup_type", "choice", "log", choices=("log", "linear"))
    deepspeed = {
        # deepspeed 0.19.8 deepspeed/runtime/lr_schedules.py
        s.name: s
        for s in (
            Signature(
                "deepspeed",
                "WarmupLR",
                (Kwarg("warmup_min_lr", "float", 0.0), Kwarg("warmup_max_lr", "float", None), warmup_type),
                FLOOR_NONE,
                "warmup from warmup_min_lr to warmup_max_lr (log-shaped by default), then constant: no decay",
            ),
            Signature(
                "deepspeed",
                "WarmupDecayLR",
                (Kwarg("warmup_min_lr", "float", 0.0), Kwarg("warmup_max_lr", "float", 0.001), warmup_type),
                FLOOR_ABSOLUTE,
                "warmup from warmup_min_lr to warmup_max_lr, then linear decay back to warmup_min_lr",
                floor_kwarg="warmup_min_lr",
            ),
            Signature(
                "deepspeed",
                "WarmupCosineLR",
                (Kwarg("cos_min_ratio", "float", 0.0001), Kwarg("warmup_min_ratio", "float", 0.0), warmup_type),
                FLOOR_RATIO,
                "warmup from warmup_min_ratio x lr to lr, then cosine decay to cos_min_ratio x lr",
                floor_kwarg="cos_min_ratio",
            ),
            Signature(
                "deepspeed",
                "OneCycle",
                (Kwarg("cycle_min_lr", "float", None, required=True), Kwarg("cycle_max_lr", "float", None, required=True),
                 Kwarg("decay_lr_rate", "float", 0.0), Kwarg("cycle_first_step_size", "float", 2000),
                 Kwarg("cycle_second_step_size", "float", None), Kwarg("cycle_first_stair_count", "int", 0),
                 Kwarg("cycle_second_stair_count", "int", None), Kwarg("decay_step_size", "float", 0),
                 Kwarg("cycle_momentum", "bool", True), Kwarg("cycle_min_mom", "float", 0.8),
                 Kwarg("cycle_max_mom", "float", 0.9), Kwarg("decay_mom_rate", "float", 0.0)),
                FLOOR_NONE,
                "one cycle from cycle_min_lr up to cycle_max_lr and back, then cycle_min_lr / (1 + decay_lr_rate x "
                "iterations / decay_step_size)",
                warmup=False,
            ),
            Signature(
                "deepspeed",
                "LRRangeTest",
                (Kwarg("lr_range_test_min_lr", "float", 1e-3), Kwarg("lr_range_test_step_size", "int", 2000),
                 Kwarg("lr_range_test_step_rate", "float", 1.0), Kwarg("lr_range_test_staircase", "bool", False)),
                FLOOR_NONE,
                "LR range test: lr_range_test_min_lr x (1 + step_rate x updates / step_size), rising without end",
                warmup=False,
            ),
        )
    }
    eta_min = Kwarg("eta_min", "float", 0.0)
    t_max = Kwarg("T_max", "int", None)  # None: steps - warmup (the value that ends the cosine with the run)
    torch = {
        # torch 2.13 torch/optim/lr_scheduler.py
        s.name: s
        for s in (
            Signature(
                "torch",
                "SequentialLR",
                (Kwarg("start_factor", "float", 1 / 3), Kwarg("end_factor", "float", 1.0), t_max, eta_min),
                FLOOR_ABSOLUTE,
                "SequentialLR([LinearLR(start_factor, end_factor, total_iters=warmup), CosineAnnealingLR(T_max, eta_min)], "
                "milestones=[warmup])",
                floor_kwarg="eta_min",
            ),
            Signature(
                "torch",
                "CosineAnnealingLR",
                (t_max, eta_min),
                FLOOR_ABSOLUTE,
                "cosine from the LR to eta_min over T_max updates, no warmup; rises again after T_max",
                floor_kwarg="eta_min",
                warmup=False,
            ),
        )
    }
    timm = {
        # timm 1.0.31 timm/scheduler/cosine_lr.py
        "CosineLRScheduler": Signature(
            "timm",
            "CosineLRScheduler",
            (
                Kwarg("t_initial", "int", None),  # None: steps (minus the warmup with warmup_prefix)
                Kwarg("lr_min", "float", 0.0),
                Kwarg("warmup_lr_init", "float", 0.0),
                Kwarg("warmup_prefix", "choice", False, choices=(False, True)),
                Kwarg("cycle_mul", "float", 1.0),
                Kwarg("cycle_decay", "float", 1.0),
                Kwarg("cycle_limit", "int", 1),
                Kwarg("k_decay", "float", 1.0),
            ),
            FLOOR_ABSOLUTE,
            "linear warmup from warmup_lr_init, then cosine to lr_min over t_initial updates (stepped per update)",
            floor_kwarg="lr_min",
        )
    }
    axolotl = {
        # axolotl 0.19.0 core/trainers/mixins/scheduler.py, utils/schedulers.py
        "cosine": Signature(
            "axolotl",
            "cosine",
            (Kwarg("cosine_min_lr_ratio", "float", None), Kwarg("cosine_constant_lr_ratio", "float", None)),
            FLOOR_RATIO,
            "linear warmup from 0, then cosine to cosine_min_lr_ratio x lr (held from cosine_constant_lr_ratio x steps)",
            floor_kwarg="cosine_min_lr_ratio",
        )
    }
    megatron_kwargs = (
        Kwarg("min_lr", "float", 0.0),
        Kwarg("lr_warmup_init", "float", 0.0),
        Kwarg("lr_warmup_fraction", "float", None),
        Kwarg("lr_decay_iters", "int", None),
        Kwarg("global_batch_size", "int", 1),
        Kwarg("lr_wsd_decay_style", "choice", "exponential", choices=("linear", "cosine", "exponential", "minus_sqrt")),
        Kwarg("lr_wsd_decay_iters", "int", None),
        # sample-based runs (--train-samples): the spans in samples, as training.py passes them
        Kwarg("lr_decay_samples", "int", None),
        Kwarg("lr_warmup_samples", "int", None),
        Kwarg("lr_wsd_decay_samples", "int", None),
    )
    megatron = {
        # megatron-core 0.16.1 megatron/core/optimizer_param_scheduler.py (--lr-decay-style)
        style: Signature("megatron", style, megatron_kwargs, FLOOR_NONE if style == "constant" else FLOOR_ABSOLUTE,
                         f"--lr-decay-style {style}: linear warmup from lr_warmup_init (peak at the last warmup "
                         "iteration), then the decay to min_lr, held after lr_decay_iters",
                         floor_kwarg="" if style == "constant" else "min_lr")
        for style in ("linear", "cosine", "constant", "inverse-square-root", "WSD")
    }
    nemo = {
        # nemo-toolkit 3.0.0 nemo/core/optim/lr_scheduler.py
        "CosineAnnealing": Signature(
            "nemo",
            "CosineAnnealing",
            (Kwarg("min_lr", "float", 0.0), Kwarg("warmup_ratio", "float", None), Kwarg("constant_steps", "int", None),
             Kwarg("constant_ratio", "float", None)),
            FLOOR_ABSOLUTE,
            "warmup from lr/(W+1) to lr, cosine to min_lr over max_steps (Megatron-style with constant_steps)",
            floor_kwarg="min_lr",
        )
    }
    for name, default_min_lr in NEMO_WARMUP_MIN_LR.items():
        # nemo-toolkit 3.0.0 nemo/core/optim/lr_scheduler.py (WarmupPolicy subclasses)
        nemo[name] = Signature(
            "nemo", name, (Kwarg("min_lr", "float", default_min_lr), Kwarg("warmup_ratio", "float", None)),
            FLOOR_NONE if name == "InverseSquareRootAnnealing" else FLOOR_ABSOLUTE,
            f"NeMo {name}: warmup from lr/(W+1) to lr, then its decay to min_lr at max_steps",
            floor_kwarg="" if name == "InverseSquareRootAnnealing" else "min_lr",
        )
    return {"deepspeed": deepspeed, "torch": torch, "timm": timm, "axolotl": axolotl, "megatron": megatron, "nemo": nemo}


def check_spec(spec: Any, kwargs: dict[str, Any]) -> None:
    """Framework-specific consistency checks of a ScheduleSpec (the framework would raise, or misbehave)."""
    from . import framework_module

    framework_module(spec.framework).check_spec(spec, kwargs)


def spec_notes(spec: Any) -> tuple[str, ...]:
    """Framework-specific warnings about a valid spec (a setting that does not do what it seems to)."""
    from . import framework_module

    notes = getattr(framework_module(spec.framework), "spec_notes", None)
    return tuple(notes(spec)) if notes is not None else ()
