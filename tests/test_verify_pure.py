"""The torch-free parts of ``lrviz verify``: compressing a long configured run keeps its shape, and the health rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrviz.schedules import floor_lr, lr_at, wsd_phases
from lrviz.spec import ScheduleSpec
from lrviz.verify import compress
from lrviz.verify.report import Health


def spec_of(scheduler: str, total: int, warmup: int, **kwargs) -> ScheduleSpec:
    return ScheduleSpec(scheduler=scheduler, peak_lr=2e-4, total_steps=total, warmup_steps=warmup, scheduler_kwargs=kwargs)


def test_a_run_no_longer_than_the_verify_run_is_verified_as_it_is():
    spec = spec_of("cosine_with_min_lr", 80, 8, min_lr_rate=0.1)
    assert compress(spec, 100) == (spec, None)
    assert compress(spec, 80) == (spec, None)


@pytest.mark.parametrize(
    "scheduler, kwargs",
    [
        ("cosine_with_min_lr", {"min_lr": 2e-6}),
        ("cosine_warmup_with_min_lr", {"min_lr_rate": 0.05}),
        ("warmup_stable_decay", {"num_decay_steps": 200, "min_lr_ratio": 0.01}),
        ("warmup_stable_decay", {"num_decay_steps": 300, "num_stable_steps": 500, "decay_type": "1-sqrt"}),
        ("linear", {}),
        ("cosine", {"num_cycles": 1.5}),
    ],
)
def test_a_whole_factor_compression_is_the_same_curve_sampled(scheduler, kwargs):
    """1000 → 100 updates with warmup 30 → 3: update s of the short run is update 10·s of the long one."""
    configured = spec_of(scheduler, 1000, 30, **kwargs)
    short, how = compress(configured, 100)
    assert (short.total_steps, short.warmup_steps) == (100, 3)
    assert how.factor == 0.1 and (how.configured_steps, how.steps) == (1000, 100)
    assert floor_lr(short) == pytest.approx(floor_lr(configured), rel=1e-15)
    steps = np.arange(100)
    # cosine_warmup_with_min_lr evaluates its formula at k + 1: update s of the short run is update 10·(s+1) - 1
    long_steps = 10 * steps + 9 if scheduler == "cosine_warmup_with_min_lr" else 10 * steps
    np.testing.assert_allclose(lr_at(short, steps), lr_at(configured, long_steps), rtol=1e-12, atol=1e-18)


def test_warmup_stable_decay_phases_scale_and_fit():
    configured = spec_of("warmup_stable_decay", 1000, 30, num_decay_steps=200)
    short, how = compress(configured, 100)
    assert wsd_phases(short) == (3, 77, 20)
    assert how.scaled == {"num_decay_steps": (200, 20)}
    assert "num_decay_steps 200 → 20" in how.sentence()
    assert "compressed to 100 (warmup 3, 3.0%)" in how.sentence()
    assert short.provenance["kwargs.num_decay_steps"].detail == "num_decay_steps = round(200 × 100/1000) = 20"


def test_inverse_sqrt_gets_an_explicit_scaled_timescale():
    configured = spec_of("inverse_sqrt", 100_000, 0)  # timescale defaults to 10_000 without warmup
    short, _ = compress(configured, 100)
    assert short.scheduler_kwargs["timescale"] == 10
    np.testing.assert_allclose(lr_at(short, np.arange(100)), lr_at(configured, 1000 * np.arange(100)), rtol=1e-12)


def test_a_short_warmup_stays_at_least_one_update():
    short, _ = compress(spec_of("linear", 100_000, 1), 100)
    assert short.warmup_steps == 1
    short, _ = compress(spec_of("linear", 100_000, 0), 100)
    assert short.warmup_steps == 0


schedulers = st.sampled_from(["cosine_with_min_lr", "cosine_warmup_with_min_lr", "warmup_stable_decay", "linear", "cosine"])


@given(scheduler=schedulers, total=st.integers(2, 10**9), warmup_share=st.floats(0, 1), decay_share=st.floats(0, 1),
       steps=st.integers(1, 2000))
def test_compression_keeps_the_warmup_fraction_and_gives_a_valid_spec(scheduler, total, warmup_share, decay_share, steps):
    warmup = math.floor(total * warmup_share)
    kwargs = {"min_lr_rate": 0.1} if "min_lr" in scheduler else {}
    if scheduler == "warmup_stable_decay":
        kwargs = {"num_decay_steps": math.floor((total - warmup) * decay_share), "min_lr_ratio": 0.02}
    configured = spec_of(scheduler, total, warmup, **kwargs)
    short, how = compress(configured, steps)
    if total <= steps:
        assert short is configured and how is None
        return
    assert short.total_steps == steps
    assert abs(short.warmup_steps / steps - warmup / total) <= 0.5 / steps + 1e-12 or short.warmup_steps == 1
    assert (short.warmup_steps == 0) == (warmup == 0)
    assert floor_lr(short) == pytest.approx(floor_lr(configured), rel=1e-15)
    if scheduler == "warmup_stable_decay":
        w, s, d = wsd_phases(short)
        assert w + s + d == steps and s >= 0
        assert abs(d / steps - kwargs["num_decay_steps"] / total) <= 1 / steps + 1e-12 or d <= 1


# ------------------------------------------------------------------- the health rules (pure numpy)


def health(loss, grad_norm=None, skipped=None) -> Health:
    loss = np.asarray(loss, dtype=float)
    norms = np.ones_like(loss) if grad_norm is None else np.asarray(grad_norm, dtype=float)
    return Health(loss=loss, grad_norm=norms, max_grad_norm=1.0, skipped=skipped)


def test_the_loss_must_fall_by_the_stated_margin():
    falling = np.linspace(2.0, 1.0, 100)
    assert health(falling).loss_falls and health(falling).loss_change == pytest.approx(-0.4651, abs=1e-4)
    assert not health(np.full(100, 2.0)).loss_falls
    assert not health(np.linspace(2.0, 1.97, 100)).loss_falls  # 1.5%: under the 2% margin
    assert health(np.linspace(2.0, 1.9, 100)).window == 10


def test_nan_or_inf_anywhere_is_unhealthy_except_on_scaler_skipped_updates():
    loss = np.linspace(2.0, 1.0, 30)
    norms = np.ones(30)
    norms[4] = np.inf
    assert not health(loss, norms).finite and health(loss, norms).first_nonfinite == 4
    skipped = np.zeros(30, dtype=bool)
    skipped[4] = True
    assert health(loss, norms, skipped).finite
    loss[7] = np.nan
    assert not health(loss, norms, skipped).finite and health(loss, norms, skipped).first_nonfinite == 7
    assert health(loss, norms, skipped).to_dict()["loss"][7] is None  # strict JSON: null, not NaN
