"""The recommended schedule: the smallest change to the user's schedule after which no error- or warning-level
rule fires, where that is possible; where two rules cannot both hold, which one wins and why.

Order: peak LR (phase bands) → scheduler type (a floor setting; an anneal for pretraining) → decay shape
(num_cycles, WSD phases) → warmup → floor. The result is checked with the same rules; anything still open is
reported with the findings of the recommended schedule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from ..keypoints import key_points
from ..signatures import FLOOR_LR_END, FLOOR_MIN_LR_OR_RATE, FLOOR_MIN_LR_RATIO, FLOOR_ZERO, SIGNATURES
from ..spec import ScheduleSpec, Source
from .facts import CONSTANT_TYPES, COSINE_TYPES, Facts
from .numbers import REL_TOL, at_least, at_most, lr, nice, of_peak, percent
from .rules import ABS_HIGH, ABS_LOW, Finding, absolute_band_fits, evaluate, ratio_band

PEAK_RULES = ("P01", "P03", "P04", "P05")
SOURCE = "lrviz advise"


@dataclass(frozen=True)
class Change:
    """One setting the recommendation changes, and the rules that asked for it."""

    setting: str
    before: str
    after: str
    rules: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"setting": self.setting, "before": self.before, "after": self.after, "rules": list(self.rules)}


@dataclass(frozen=True)
class Recommendation:
    spec: ScheduleSpec
    facts: Facts
    findings: list[Finding]  # every rule, run on the recommended schedule
    changes: tuple[Change, ...]
    conflicts: tuple[str, ...]  # which rule wins where rules pull apart, and why
    floor_range: tuple[float, float] | None  # the floors every active floor rule accepts at the recommended peak

    @property
    def open_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity in ("error", "warning")]


def _fired(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings if f.severity in ("error", "warning")}


def floor_range(peak: float, finetune: bool) -> tuple[float, float, bool]:
    """(low, high, absolute band used): the floors F01/F06/F07/F08 (and F09 where it can hold) accept at ``peak``."""
    low, high = ratio_band(peak)
    if finetune and absolute_band_fits(peak):
        return max(low, ABS_LOW), min(high, ABS_HIGH), True
    return low, high, False


def warmup_range(facts: Facts, total: int) -> tuple[int, int, list[str]]:
    """(low, high, conflicts): the warmups W01, W02, W03 (as a warning) and W04 accept for a run of ``total``."""
    high = max(0, min(total - 1, math.floor(0.25 * total)))
    low, conflicts = 0, []
    if facts.profile.name == "pretrain":
        low = 1
        if 0 <= facts.beta2 < 1:
            needed = math.ceil(2 / (1 - facts.beta2) * (1 - REL_TOL))
            if needed <= high:
                low = needed
            else:
                conflicts.append(
                    f"W03 wants at least 2/(1−β2) = {needed:,} warmup updates at β2 = {facts.beta2:g}, but W02 caps the "
                    f"warmup at a quarter of the run ({high:,}): W02 wins, because a warmup longer than that leaves too "
                    "little of the run to decay; lower adam_beta2 to 0.95 (40 updates) as pretraining recipes do"
                )
        if low > high:
            conflicts.append(f"a run of {total:,} update(s) has no room for a warmup below a quarter of it: W01/W02 win over W04")
            low = high
    return low, high, conflicts


def recommend(facts: Facts, findings: list[Finding]) -> Recommendation:
    """The recommended schedule for ``facts``, given the findings on it."""
    fired = _fired(findings)
    spec, profile = facts.spec, facts.profile
    T = spec.total_steps
    scheduler, kwargs = spec.scheduler, dict(spec.scheduler_kwargs)
    peak, warmup = spec.peak_lr, facts.warmup  # as the framework counts it (Megatron's fraction, NeMo's ratio)
    changes: list[Change] = []
    conflicts: list[str] = []
    provenance = dict(spec.provenance)

    def note(setting: str, before: str, after: str, rules: tuple[str, ...], field: str | None, detail: str) -> None:
        changes.append(Change(setting, before, after, rules))
        if field is not None:
            provenance[field] = Source("derived", SOURCE, f"{SOURCE}: {detail}")

    # 1. peak LR: the phase's usual value when a warning-level band rule fires
    peak_rules = tuple(sorted(fired & set(PEAK_RULES)))
    if peak_rules and profile.typical_peak is not None:
        note("peak LR", lr(peak), lr(profile.typical_peak), peak_rules, "peak_lr", f"the usual {profile.name} peak")
        peak = profile.typical_peak

    # the user's floor, as the recommendation starts from it: ratios scale with the peak, absolute values stay
    floor_key = facts.floor_key
    if facts.floor is None:
        floor = None
    elif floor_key in ("min_lr_rate", "min_lr_ratio") or spec.signature.floor in (FLOOR_MIN_LR_RATIO, "ratio"):
        floor = facts.ratio * peak
    else:
        floor = facts.floor

    # 2. scheduler type
    signature = spec.signature
    switch_why: tuple[str, ...] = ()
    if spec.framework != "hf":
        pass  # only HF types are switched; other frameworks keep their scheduler and get their floor fixed
    elif signature.floor == FLOOR_ZERO and "F06" in fired:
        switch_why = ("F06",)
    elif profile.name == "pretrain" and scheduler in CONSTANT_TYPES and "D04" in fired:
        switch_why = ("D04",)
    if switch_why:
        keep_cycles = scheduler == "cosine" and not fired & {"D01", "D07"} and "num_cycles" in kwargs
        new_kwargs = {"num_cycles": kwargs["num_cycles"]} if keep_cycles else {}
        note("scheduler", scheduler, "cosine_with_min_lr", switch_why, "scheduler", "a schedule with a floor setting")
        scheduler, kwargs = "cosine_with_min_lr", new_kwargs
        signature = SIGNATURES[spec.framework][scheduler]
        floor_key = "min_lr"
        if floor is None:
            floor = peak  # a constant schedule "ends" at its peak: the floor rules move it
        for key in [key for key in provenance if key.startswith("kwargs.") and key[len("kwargs."):] not in new_kwargs]:
            del provenance[key]

    # 3. decay shape
    if scheduler in COSINE_TYPES and fired & {"D01", "D07"} and kwargs.get("num_cycles", 0.5) != 0.5:
        note("num_cycles", f"{kwargs['num_cycles']:g}", "0.5", tuple(sorted(fired & {"D01", "D07"})), "kwargs.num_cycles",
             "the decay ends with the run")
        kwargs["num_cycles"] = 0.5
    if scheduler == "warmup_stable_decay" and fired & {"D01", "D02", "D07"} and kwargs.get("num_stable_steps") is not None:
        note("num_stable_steps", f"{kwargs['num_stable_steps']:,}", "unset (fills the run)",
             tuple(sorted(fired & {"D01", "D02", "D07"})), None, "")
        kwargs.pop("num_stable_steps")
        provenance.pop("kwargs.num_stable_steps", None)

    # 4. warmup
    warm_rules = tuple(sorted(fired & {"W01", "W02", "W03", "W04"}))
    if warm_rules:
        low, high, warm_conflicts = warmup_range(facts, T)
        conflicts += warm_conflicts
        target = min(max(math.ceil(profile.warmup_ratio * T), low), high)
        if low <= warmup <= high:
            target = warmup  # the rules that fired cannot all hold (see conflicts); what can hold already does
        if target != warmup:
            note("warmup", f"{warmup:,} updates", f"{target:,} updates ({percent(target / T)})", warm_rules, "warmup_steps",
                 f"ceil({profile.warmup_ratio:g} × {T}) within the warmup rules")
            warmup = target
    if scheduler == "warmup_stable_decay":
        decay = int(kwargs["num_decay_steps"])
        stable = kwargs.get("num_stable_steps")
        if "D05" in fired:
            decay = math.ceil(0.2 * T)
        room = T - warmup - (stable or 0)
        decay = max(0, min(decay, room))
        if decay != kwargs["num_decay_steps"]:
            note("num_decay_steps", f"{kwargs['num_decay_steps']:,}", f"{decay:,}", tuple(sorted(fired & {"D05"})) or ("W01",),
                 "kwargs.num_decay_steps", "20% of the run, within it")
            kwargs["num_decay_steps"] = decay

    # 5. floor
    low_high = None
    other_key = getattr(signature, "floor_kwarg", "")  # other frameworks: "absolute" or "ratio" floors
    settable = signature.floor in (FLOOR_MIN_LR_OR_RATE, FLOOR_MIN_LR_RATIO, FLOOR_LR_END) or (
        other_key and signature.floor in ("absolute", "ratio"))
    if settable and floor is not None:
        low, high, with_band = floor_range(peak, profile.finetune)
        low_high = (low, high)
        if profile.finetune and not with_band:
            lo, hi = ratio_band(peak)
            conflicts.append(
                f"F09 (absolute floor 1e-6 – 1e-5) cannot hold at the peak {lr(peak)} together with the ratio rules "
                f"(1/100 – 1/10 of the peak = {lr(lo)} – {lr(hi)}): the ratio rules win, because a floor is judged "
                "against the peak it decays from (GPT-3, LLaMA, Chinchilla) and no source supports an absolute band"
            )
        elif with_band and peak * 0.1 > ABS_HIGH * (1 + REL_TOL) and floor > ABS_HIGH * (1 + REL_TOL):
            conflicts.append(
                f"1/10 of the peak ({lr(peak / 10)}) is the best-supported floor (GPT-3, LLaMA, Chinchilla), but F09's band "
                f"ends at 1e-5; the floors {lr(low)} – {lr(high)} meet both, so the recommendation stays inside them. F09 has "
                f"no primary source: a floor of {lr(peak / 10)} is defensible too (F09 then warns)"
            )
        ratio_form = (floor_key in ("min_lr_rate", "min_lr_ratio") or signature.floor in (FLOOR_MIN_LR_RATIO, "ratio")
                      or ("T07" in fired and signature.floor == FLOOR_MIN_LR_OR_RATE))
        inside = at_least(floor, low) and at_most(floor, high)
        if ratio_form:
            rate, lo_r, hi_r = floor / peak, low / peak, high / peak
            if not inside:
                rate = nice(lo_r if rate < lo_r else hi_r, lo_r, hi_r)
            elif floor_key == "min_lr":  # an absolute floor rewritten as a ratio (T07)
                rate = nice(rate, lo_r, hi_r)
            value, new_floor = rate, rate * peak
        else:
            new_floor = floor if inside else nice(low if floor < low else high, low, high)
            value = new_floor
        if signature.floor == FLOOR_MIN_LR_OR_RATE:
            key = "min_lr_rate" if ratio_form else "min_lr"
        elif signature.floor == FLOOR_MIN_LR_RATIO:
            key = "min_lr_ratio"
        elif signature.floor == FLOOR_LR_END:
            key = "lr_end"
        else:
            key = other_key
        old_key = floor_key if floor_key in kwargs else None
        if old_key != key or kwargs.get(key) != value:
            before = "none" if facts.floor is None else lr(facts.floor) + (f" ({of_peak(facts.ratio)})" if facts.floor else "")
            rules = tuple(sorted(fired & {"F01", "F06", "F07", "F08", "F09", "T07"})) or switch_why
            note("floor", before + (f" as {old_key}" if old_key else ""),
                 f"{lr(new_floor)} ({of_peak(new_floor / peak)}) as {key}", rules, f"kwargs.{key}",
                 "inside every floor rule")
        for stale in ("min_lr", "min_lr_rate", "min_lr_ratio", "lr_end", other_key):
            if stale != key:
                kwargs.pop(stale, None)
                provenance.pop(f"kwargs.{stale}", None)
        kwargs[key] = value

    from ..frameworks import WARMUP_RATIO_KWARG

    ratio_key = WARMUP_RATIO_KWARG.get(spec.framework)
    if warmup == facts.warmup:
        warmup = spec.warmup_steps  # unchanged: keep it as the config gives it (a count, or Megatron's fraction)
    elif ratio_key in kwargs:  # changed: a count replaces the fraction / ratio
        kwargs.pop(ratio_key)
        provenance.pop(f"kwargs.{ratio_key}", None)
    rec_spec = ScheduleSpec(
        scheduler=scheduler, peak_lr=peak, total_steps=T, warmup_steps=warmup, scheduler_kwargs=kwargs,
        framework=spec.framework, provenance=provenance,
    )
    rec_facts = replace(facts, spec=rec_spec, summary=key_points(rec_spec), traps=(), deepspeed=None)
    rec_findings = evaluate(rec_facts)
    return Recommendation(rec_spec, rec_facts, rec_findings, tuple(changes), tuple(conflicts), low_high)
