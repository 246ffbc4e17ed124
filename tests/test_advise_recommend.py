"""The recommendation: it satisfies every active floor and warmup rule whenever they can hold together, changes
nothing when nothing fires, and says which rule wins when they cannot.
"""

from __future__ import annotations

import math

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lrviz import ScheduleSpec
from lrviz.advise import advise
from lrviz.advise.numbers import at_least, at_most
from lrviz.advise.profiles import PROFILES
from lrviz.advise.rules import ABS_HIGH, ABS_LOW, absolute_band_fits
from lrviz.errors import SpecError
from lrviz.schedules import floor_lr

FLOOR_RULES = {"F01", "F06", "F07", "F08", "F09"}
WARMUP_RULES = {"W01", "W02"}

log_uniform = st.floats(min_value=-7.5, max_value=-1.5).map(lambda e: 10.0**e)


@st.composite
def schedules(draw):
    scheduler = draw(st.sampled_from(["cosine_with_min_lr", "cosine_warmup_with_min_lr", "cosine", "linear",
                                      "warmup_stable_decay", "polynomial", "constant_with_warmup"]))
    peak = draw(log_uniform)
    total = draw(st.integers(min_value=1, max_value=200_000))
    warmup = draw(st.integers(min_value=0, max_value=total))
    ratio = draw(st.one_of(st.just(0.0), st.floats(min_value=1e-7, max_value=3.0)))
    kwargs: dict = {}
    if scheduler in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        kwargs = {"min_lr": ratio * peak} if draw(st.booleans()) else {"min_lr_rate": ratio}
    elif scheduler == "warmup_stable_decay":
        kwargs = {"num_decay_steps": draw(st.integers(min_value=0, max_value=max(0, total - warmup))), "min_lr_ratio": ratio}
    elif scheduler == "polynomial":
        assume(ratio < 1 and warmup < total)
        kwargs = {"lr_end": ratio * peak}
    try:
        return ScheduleSpec(scheduler, peak, total, warmup, kwargs)
    except SpecError:
        assume(False)


@settings(max_examples=150)
@given(spec=schedules(), profile=st.sampled_from(sorted(PROFILES)), beta2=st.sampled_from([None, 0.95, 0.99]))
def test_recommended_floor_and_warmup_satisfy_every_active_rule(spec, profile, beta2):
    advice = advise(spec, profile, beta2=beta2)
    rec = advice.recommendation
    open_rules = {f.rule for f in rec.open_findings}
    # the floor rules can always hold together (F09 steps back to info where it cannot): none stays open
    assert not open_rules & FLOOR_RULES, [f.message for f in rec.open_findings]
    assert not open_rules & WARMUP_RULES, [f.message for f in rec.open_findings]
    floor = floor_lr(rec.spec)
    if floor is not None:
        peak = rec.spec.peak_lr
        assert 0 < floor < peak
        assert at_least(floor, peak / 100) and at_most(floor, peak / 10)
        if PROFILES[profile].finetune and absolute_band_fits(peak):
            assert at_least(floor, ABS_LOW) and at_most(floor, ABS_HIGH)
    # anything else still open is a stated conflict (a run too short for the warmup rules) or a tiny decay
    for rule in open_rules - {"W03", "W04", "D07"}:
        raise AssertionError(f"{rule} left open: {[f.message for f in rec.open_findings]}")
    if open_rules & {"W03", "W04"}:
        assert rec.conflicts


@settings(max_examples=100)
@given(spec=schedules(), profile=st.sampled_from(sorted(PROFILES)))
def test_nothing_changes_when_nothing_fires(spec, profile):
    advice = advise(spec, profile)
    if not any(f.severity in ("error", "warning") for f in advice.findings):
        assert advice.recommendation.changes == ()
        assert advice.recommendation.spec == spec


def test_floor_moves_to_the_nearest_bound():
    up = advise(ScheduleSpec("cosine_with_min_lr", 2e-4, 1000, 30, {"min_lr": 1e-8})).recommendation.spec
    assert up.scheduler_kwargs["min_lr"] == 2e-6  # 1/100 of the peak, the nearest allowed floor
    down = advise(ScheduleSpec("cosine_with_min_lr", 2e-4, 1000, 30, {"min_lr": 3e-4})).recommendation.spec
    assert down.scheduler_kwargs["min_lr"] == 2e-5  # 1/10 of the peak
    lora = advise(ScheduleSpec("cosine_with_min_lr", 5e-4, 1000, 30, {"min_lr": 5e-5}), "lora").recommendation.spec
    assert lora.scheduler_kwargs["min_lr"] == 1e-5  # 1/10 is 5e-5, but the absolute band ends at 1e-5


def test_peak_changes_first_then_the_floor_follows():
    rec = advise(ScheduleSpec("cosine_with_min_lr", 2e-4, 1000, 30, {"min_lr_rate": 0.1}), "full").recommendation
    assert rec.spec.peak_lr == 2e-5 and [c.setting for c in rec.changes] == ["peak LR"]
    assert math.isclose(floor_lr(rec.spec), 2e-6)  # the ratio form keeps 1/10 of the new peak


def test_warmup_conflict_says_which_rule_wins():
    rec = advise(ScheduleSpec("cosine_with_min_lr", 3e-4, 1000, 0, {"min_lr_rate": 0.1}), "pretrain").recommendation
    # 2/(1 - 0.999) = 2000 updates do not fit in a quarter of 1000: W02 wins, warmup = ceil(0.01 × 1000) = 10
    assert rec.spec.warmup_steps == 10
    assert any("W02 wins" in text and "2,000" in text for text in rec.conflicts)
    tuned = advise(ScheduleSpec("cosine_with_min_lr", 3e-4, 1000, 0, {"min_lr_rate": 0.1}), "pretrain", beta2=0.95).recommendation
    assert tuned.spec.warmup_steps == 40 and not tuned.conflicts  # 2/(1 - 0.95)


def test_switches_to_a_floor_setting_and_keeps_the_wsd_shape():
    rec = advise(ScheduleSpec("linear", 2e-4, 1000, 30)).recommendation
    assert rec.spec.scheduler == "cosine_with_min_lr" and rec.spec.scheduler_kwargs == {"min_lr": 2e-6}
    wsd = advise(ScheduleSpec("warmup_stable_decay", 2e-4, 1000, 30, {"num_decay_steps": 20}), "pretrain", beta2=0.95).recommendation
    assert wsd.spec.scheduler == "warmup_stable_decay"
    assert wsd.spec.scheduler_kwargs["num_decay_steps"] == 200 and wsd.spec.scheduler_kwargs["min_lr_ratio"] == 0.01
