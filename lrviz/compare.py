"""One nominal schedule through several frameworks: the specs, where they differ, and how to reproduce ``hf``.

The nominal schedule is the one ``--lr --min-lr/--min-lr-rate --steps --warmup-*`` describe with transformers'
``cosine_with_min_lr`` (linear warmup from 0, cosine to the floor). Each framework gets the settings a user would
write for it to mean the same thing (``NATIVE``), spelled in its own parameters, so the differences shown are the
frameworks' own. Then, where settings exist that make a framework reproduce the ``hf`` curve to 1e-12 over the run,
they are given, each checked here by evaluating both exact models over every update.

Pure: no I/O, no printing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import SpecError
from .schedules import floor_lr, lr_at
from .spec import ScheduleSpec, Source

FRAMEWORKS = ("hf", "deepspeed", "torch", "timm", "axolotl", "megatron", "nemo")
EXACT = 1e-12
# Runs longer than this are compared at sampled updates (every breakpoint plus an even grid), not every update.
DENSE_LIMIT = 2_000_000
# Differences smaller than this (relative; absolute where hf's LR is 0) are rounding, not a different schedule.
SAME = 1e-9


@dataclass(frozen=True)
class Nominal:
    peak: float
    floor: float
    total: int
    warmup: int  # transformers' count (ceil of the ratio)
    ratio: float | None  # the warmup as a ratio, when it was given as one


@dataclass(frozen=True)
class Translation:
    framework: str
    settings: str  # the framework's own spelling
    spec: ScheduleSpec | None
    within_run: float | None  # largest relative difference from hf over updates 0 .. T-1
    after_run: float | None  # ... over the T/5 updates after the run
    verdict: str


def nominal_from(hf: ScheduleSpec, ratio: float | None) -> Nominal:
    floor = floor_lr(hf)
    return Nominal(hf.peak_lr, 0.0 if floor is None else floor, hf.total_steps, hf.warmup_steps, ratio)


def _spec(framework: str, scheduler: str, n: Nominal, warmup: int, kwargs: dict[str, Any], text: str) -> ScheduleSpec:
    return ScheduleSpec(scheduler=scheduler, peak_lr=n.peak, total_steps=n.total, warmup_steps=warmup,
                        scheduler_kwargs=kwargs, framework=framework,
                        provenance={"scheduler": Source("derived", "", f"the nominal schedule as {framework}: {text}")})


def native(framework: str, n: Nominal) -> tuple[ScheduleSpec, str]:
    """The nominal schedule written in ``framework``'s own settings, and those settings as text."""
    T, W, peak, floor = n.total, n.warmup, n.peak, n.floor
    rate = floor / peak
    if framework == "hf":
        text = f"lr_scheduler_type=cosine_with_min_lr, min_lr={floor:g}, warmup_steps={W}, max_steps={T}"
        return _spec("hf", "cosine_with_min_lr", n, W, {"min_lr": floor}, text), text
    if framework == "deepspeed":
        text = (f'WarmupCosineLR(total_num_steps={T}, warmup_num_steps={max(1, W)}, cos_min_ratio={rate:g}, '
                'warmup_type="linear")')
        return _spec("deepspeed", "WarmupCosineLR", n, max(1, W), {"cos_min_ratio": rate, "warmup_type": "linear"}, text), text
    if framework == "torch":
        if W == 0:
            text = f"CosineAnnealingLR(T_max={T}, eta_min={floor:g})"
            return _spec("torch", "CosineAnnealingLR", n, 0, {"eta_min": floor}, text), text
        text = (f"SequentialLR([LinearLR(start_factor=1e-8, total_iters={W}), CosineAnnealingLR(T_max={T - W}, "
                f"eta_min={floor:g})], milestones=[{W}])")
        return _spec("torch", "SequentialLR", n, W, {"start_factor": 1e-8, "eta_min": floor}, text), text
    if framework == "timm":
        text = f"CosineLRScheduler(t_initial={T}, warmup_t={W}, lr_min={floor:g}), step_update per update"
        return _spec("timm", "CosineLRScheduler", n, W, {"lr_min": floor}, text), text
    if framework == "axolotl":
        text = f"lr_scheduler: cosine, cosine_min_lr_ratio: {rate:g}, warmup_steps: {W}, max_steps: {T}"
        return _spec("axolotl", "cosine", n, W, {"cosine_min_lr_ratio": rate}, text), text
    if framework == "megatron":
        if n.ratio is not None:
            text = f"--lr-decay-style cosine --min-lr {floor:g} --lr-warmup-fraction {n.ratio:g} --train-iters {T}"
            return _spec("megatron", "cosine", n, 0, {"min_lr": floor, "lr_warmup_fraction": n.ratio}, text), text
        text = f"--lr-decay-style cosine --min-lr {floor:g} --lr-warmup-iters {W} --train-iters {T}"
        return _spec("megatron", "cosine", n, W, {"min_lr": floor}, text), text
    if framework == "nemo":
        if n.ratio is not None:
            text = f"CosineAnnealing(max_steps={T}, warmup_ratio={n.ratio:g}, min_lr={floor:g})"
            return _spec("nemo", "CosineAnnealing", n, 0, {"min_lr": floor, "warmup_ratio": n.ratio}, text), text
        text = f"CosineAnnealing(max_steps={T}, warmup_steps={W}, min_lr={floor:g})"
        return _spec("nemo", "CosineAnnealing", n, W, {"min_lr": floor}, text), text
    raise SpecError(f"--compare-frameworks: {framework!r} is not one of {', '.join(FRAMEWORKS)}")


def compared_steps(total: int, specs: list[ScheduleSpec]) -> np.ndarray:
    """Every update of the run, or for very long runs every breakpoint plus an even grid."""
    if total <= DENSE_LIMIT:
        return np.arange(total, dtype=np.int64)
    from .schedules import critical_steps

    points = [np.linspace(0, total - 1, 200_001).astype(np.int64)]
    points += [critical_steps(spec, 0, total)[0] for spec in specs]
    return np.unique(np.concatenate(points))


def relative_gap(lr: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """|lr - reference| relative to the reference (absolute where the reference is 0)."""
    gap = np.abs(lr - reference)
    return np.where(reference != 0, gap / np.where(reference != 0, np.abs(reference), 1.0), gap)


@dataclass(frozen=True)
class Difference:
    framework: str
    step: int
    lr: float
    reference: float


def largest_differences(hf: ScheduleSpec, others: dict[str, ScheduleSpec], count: int = 3) -> dict[str, list[Difference]]:
    """Per framework, the ``count`` updates of the run where its LR is furthest from hf's (absolute difference), apart."""
    steps = compared_steps(hf.total_steps, [hf, *others.values()])
    reference = lr_at(hf, steps)
    result: dict[str, list[Difference]] = {}
    spacing = max(1, hf.total_steps // 8)
    for name, spec in others.items():
        lr = lr_at(spec, steps)
        gap = np.abs(lr - reference)
        relevant = relative_gap(lr, reference) > SAME  # rounding-level differences are not differences
        picked: list[int] = []
        for index in np.argsort(-gap, kind="stable"):
            if not relevant[index]:
                continue
            if gap[index] == 0 or len(picked) == count:
                break
            if all(abs(int(steps[index]) - int(steps[p])) >= spacing for p in picked):
                picked.append(int(index))
        result[name] = [Difference(name, int(steps[i]), float(lr[i]), float(reference[i])) for i in sorted(picked, key=lambda i: steps[i])]
    return result


def _gaps(hf: ScheduleSpec, spec: ScheduleSpec) -> tuple[float, float]:
    steps = compared_steps(hf.total_steps, [hf, spec])
    within = relative_gap(lr_at(spec, steps), lr_at(hf, steps))
    span = max(1, hf.total_steps // 5)  # past the run: every update, or an even grid where that is too many
    after_steps = hf.total_steps + (np.arange(span, dtype=np.int64) if span <= DENSE_LIMIT else
                                    np.unique(np.linspace(0, span - 1, 200_001).astype(np.int64)))
    after = relative_gap(lr_at(spec, after_steps), lr_at(hf, after_steps))
    # LR 0 against LR 0 within 1e-18 counts as equal
    ref_within = lr_at(hf, steps)
    within = np.where((ref_within == 0) & (np.abs(lr_at(spec, steps)) <= 1e-18), 0.0, within)
    return float(within.max()), float(after.max())


def translations(hf: ScheduleSpec, frameworks: list[str]) -> list[Translation]:
    """For each framework, settings that reproduce ``hf`` (a cosine_with_min_lr run), checked update by update."""
    n = nominal_from(hf, None)
    T, W, floor, peak = n.total, n.warmup, n.floor, n.peak
    rate = floor / peak
    out = []
    for name in frameworks:
        if name == "hf":
            continue
        candidate: tuple[str, str, int, dict[str, Any], str] | None = None
        reason = ""
        if name == "torch" and W > 0:
            candidate = ("SequentialLR", f"SequentialLR([LinearLR(start_factor=1e-16, total_iters={W}), "
                         f"CosineAnnealingLR(T_max={T - W}, eta_min={floor:g})], milestones=[{W}])", W,
                         {"start_factor": 1e-16, "eta_min": floor}, "LinearLR cannot start at exactly 0; 1e-16 is within 1e-18")
        elif name == "torch":
            candidate = ("CosineAnnealingLR", f"CosineAnnealingLR(T_max={T}, eta_min={floor:g})", 0, {"eta_min": floor}, "")
        elif name == "timm" and T - W > 0:
            candidate = ("CosineLRScheduler", f"CosineLRScheduler(t_initial={T - W}, warmup_t={W}, warmup_prefix=True, "
                         f"lr_min={floor:g}, warmup_lr_init=0)", W,
                         {"t_initial": T - W, "warmup_prefix": True, "lr_min": floor}, "")
        elif name == "axolotl":
            candidate = ("cosine", f"lr_scheduler: cosine, cosine_min_lr_ratio: {rate:g}, warmup_steps: {W}, max_steps: {T}", W,
                         {"cosine_min_lr_ratio": rate}, "")
        elif name == "megatron" and W < T:
            candidate = ("cosine", f"--lr-decay-style cosine --min-lr {floor:g} --lr-warmup-iters {W} --train-iters {T}", W,
                         {"min_lr": floor}, "the warmup as a count (--lr-warmup-iters), not --lr-warmup-fraction")
        elif name == "deepspeed":
            reason = ("none: DeepSpeed runs one update behind (update s uses last_batch_iteration s-1), so its cosine can "
                      "only start one update later or earlier than hf's")
        elif name == "nemo":
            reason = ("none: NeMo's warmup starts at lr/(W+1) without constant_steps, and with them the cosine span is "
                      "max_steps - constant_steps - W, never T - W")
        else:
            reason = "none for this run"
        if candidate is None:
            out.append(Translation(name, "", None, None, None, reason))
            continue
        scheduler, text, warmup, kwargs, remark = candidate
        try:
            spec = _spec(name, scheduler, n, warmup, kwargs, text)
        except SpecError as error:
            out.append(Translation(name, text, None, None, None, f"none: {error}"))
            continue
        within, after = _gaps(hf, spec)
        if within <= EXACT:
            verdict = "exact within the run" + ("" if after <= EXACT else f"; after the run it differs (up to {after:.1%})")
        else:
            verdict = f"closest found; up to {within:.2g} relative apart within the run"
        if remark:
            verdict += f" ({remark})"
        out.append(Translation(name, text, spec, within, after, verdict))
    return out


def check_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise SpecError(f"--compare-frameworks {text!r} names no framework; e.g. --compare-frameworks hf,deepspeed,timm")
    for name in names:
        if name not in FRAMEWORKS:
            import difflib

            guess = difflib.get_close_matches(name, FRAMEWORKS, n=1)
            hint = f"did you mean {guess[0]!r}? " if guess else ""
            raise SpecError(f"--compare-frameworks: {name!r} is not a framework lrviz models; {hint}use some of: "
                            f"{', '.join(FRAMEWORKS)}")
    if len(set(names)) != len(names):
        raise SpecError(f"--compare-frameworks {text}: a framework is named twice; name each once")
    if "hf" not in names:
        names.insert(0, "hf")
    elif names[0] != "hf":
        names.remove("hf")
        names.insert(0, "hf")
    return names


def ratio_of(warmup_ratio: float | None, warmup_steps: float | None) -> float | None:
    if warmup_ratio is not None:
        return warmup_ratio
    if warmup_steps is not None:
        return warmup_steps if warmup_steps < 1 else None
    return 0.03  # lrviz's default warmup


def describe_gap(difference: Difference) -> str:
    if difference.reference == 0:
        return "hf is 0"
    relative = (difference.lr - difference.reference) / difference.reference
    return f"{relative:+.2%}" if abs(relative) >= 1e-4 else f"{relative:+.2g} (relative)"


