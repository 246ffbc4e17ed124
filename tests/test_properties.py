"""Property tests on lrviz alone: what the documented semantics promise, checked on random schedules.

Expected values come from the semantics (warmup climbs linearly from 0 to the peak, the cosine decays to the
floor at a known update, LambdaLR multiplies the group's LR by the factor, ...), never from re-running the
code under test.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lrviz.schedules import floor_lr, lr_at, wsd_phases
from lrviz.spec import ScheduleSpec
from lrviz.trajectory import envelope, trajectory

TINY = 1e-12  # relative to the peak
SHAPES = ("linear", "cosine", "1-sqrt")

peaks = st.one_of(
    st.sampled_from([1e-5, 2e-4, 3e-4, 1e-3, 0.1, 1.0]),
    st.floats(min_value=1e-7, max_value=10.0, allow_nan=False, allow_infinity=False),
)
rates = st.floats(min_value=0.0, max_value=1.0, allow_nan=False, allow_infinity=False)
ALL_SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
                  "inverse_sqrt", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "warmup_stable_decay")  # fmt: skip


def log_ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    """Whole numbers in [lo, hi], spread over every decade (plain integers() favours small ones)."""
    decades = []
    start = lo
    while start <= hi:
        end = min(hi, max(start, 10 * start - 1) if start > 0 else 9)
        decades.append(st.integers(start, end))
        start = end + 1
    return st.one_of(*decades)


def lrs(spec: ScheduleSpec, stop: int, start: int = 0) -> np.ndarray:
    return np.asarray(lr_at(spec, np.arange(start, stop, dtype=np.int64)), dtype=np.float64)


def extra(total: int) -> int:
    return max(5, total // 5)


@st.composite
def min_lr_specs(draw: st.DrawFn, scheduler: str | None = None, max_total: int = 3000, min_decay: int = 1,
                 max_rate: float = 1.0, warmup_lr_rate: bool = True) -> tuple[ScheduleSpec, float]:  # fmt: skip
    """A cosine_with_min_lr / cosine_warmup_with_min_lr spec with num_cycles 0.5 and floor <= peak.

    Returns the spec and the floor as a ratio of the peak (as the user meant it).
    """
    name = scheduler or draw(st.sampled_from(["cosine_with_min_lr", "cosine_warmup_with_min_lr"]))
    total = draw(log_ints(min_decay, max_total))
    warmup = draw(st.one_of(st.integers(0, total - min_decay), st.integers(0, (total - min_decay) // 10)))
    peak = draw(peaks)
    rate = draw(st.floats(0.0, max_rate))
    kwargs: dict[str, Any] = {}
    if draw(st.booleans()):
        kwargs["min_lr"] = peak * rate
        rate = kwargs["min_lr"] / peak
    else:
        kwargs["min_lr_rate"] = rate
    if draw(st.booleans()):
        kwargs["num_cycles"] = 0.5
    if warmup_lr_rate and name == "cosine_warmup_with_min_lr" and draw(st.booleans()):
        kwargs["warmup_lr_rate"] = draw(rates)
    spec = ScheduleSpec(scheduler=name, peak_lr=peak, total_steps=total, warmup_steps=warmup, scheduler_kwargs=kwargs)
    return spec, rate


@st.composite
def wsd_specs(draw: st.DrawFn, max_total: int = 3000, num_cycles: float | None = 0.5,
              max_ratio: float = 1.0) -> ScheduleSpec:  # fmt: skip
    total = draw(log_ints(1, max_total))
    warmup = draw(st.one_of(st.integers(0, total), st.integers(0, total // 10)))
    kwargs: dict[str, Any] = {
        "warmup_type": draw(st.sampled_from(SHAPES)),
        "decay_type": draw(st.sampled_from(SHAPES)),
        "min_lr_ratio": draw(st.floats(0.0, max_ratio)),
    }
    if draw(st.booleans()):
        kwargs["num_stable_steps"] = draw(st.integers(0, total))
        kwargs["num_decay_steps"] = draw(st.integers(0, total))
    else:
        kwargs["num_decay_steps"] = draw(st.integers(0, total - warmup))
    if num_cycles is not None and draw(st.booleans()):
        kwargs["num_cycles"] = num_cycles
    return ScheduleSpec(
        scheduler="warmup_stable_decay", peak_lr=draw(peaks), total_steps=total, warmup_steps=warmup,
        scheduler_kwargs=kwargs,
    )  # fmt: skip


def expected_wsd_phases(spec: ScheduleSpec) -> tuple[int, int, int]:
    kw = spec.scheduler_kwargs
    W, D = spec.warmup_steps, kw["num_decay_steps"]
    S = kw["num_stable_steps"] if kw.get("num_stable_steps") is not None else spec.total_steps - W - D
    return W, S, D


# ------------------------------------------------------------------------------------------ bounded


@pytest.mark.parametrize("name", ["cosine_with_min_lr", "cosine_warmup_with_min_lr"])
@given(data=st.data())
def test_min_lr_cosine_stays_between_floor_and_peak(name: str, data: st.DataObject) -> None:
    spec, rate = data.draw(min_lr_specs(name), label="spec")
    peak, W, T = spec.peak_lr, spec.warmup_steps, spec.total_steps
    floor = floor_lr(spec)
    assert math.isclose(floor, rate * peak, rel_tol=1e-12, abs_tol=TINY * peak)
    lr = lrs(spec, T + extra(T))
    tol = TINY * peak
    # warmup climbs from at least 0 to at most the peak
    assert np.all(lr[:W] >= -tol) and np.all(lr[:W] <= peak + tol)
    # from the end of warmup on (and past the run: a 0.5-cycle cosine turns back up) it stays in [floor, peak]
    after = lr[W:]
    assert after.min() >= floor - tol, (int(W + np.argmin(after)), after.min(), floor)
    assert after.max() <= peak + tol, (int(W + np.argmax(after)), after.max(), peak)


@given(wsd_specs())
def test_wsd_stays_between_floor_and_peak(spec: ScheduleSpec) -> None:
    peak, ratio = spec.peak_lr, spec.scheduler_kwargs["min_lr_ratio"]
    W, S, D = expected_wsd_phases(spec)
    stop = max(spec.total_steps, W + S + D) + extra(spec.total_steps)
    lr = lrs(spec, stop)
    tol = TINY * peak
    assert lr.min() >= ratio * peak - tol, (int(np.argmin(lr)), lr.min(), ratio * peak)
    assert lr.max() <= peak + tol, (int(np.argmax(lr)), lr.max(), peak)
    assert floor_lr(spec) == ratio * peak


# ----------------------------------------------------------------------------------------- monotone


def assert_non_decreasing(values: np.ndarray, peak: float, offset: int = 0) -> None:
    if len(values) > 1:
        d = np.diff(values)
        assert d.min() >= -1e-14 * peak, f"drops at update {offset + int(np.argmin(d))}: {values[np.argmin(d):][:2]}"


def assert_non_increasing(values: np.ndarray, peak: float, offset: int = 0) -> None:
    if len(values) > 1:
        d = np.diff(values)
        assert d.max() <= 1e-14 * peak, f"rises at update {offset + int(np.argmax(d))}: {values[np.argmax(d):][:2]}"


@st.composite
def decaying_specs(draw: st.DrawFn, name: str) -> ScheduleSpec:
    """A decaying schedule ``name`` with num_cycles 0.5 and W < T."""
    if name == "warmup_stable_decay":
        return draw(wsd_specs())
    if name in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        return draw(min_lr_specs(name))[0]
    total = draw(log_ints(1, 3000))
    warmup = draw(st.one_of(st.integers(0, total - 1), st.integers(0, (total - 1) // 10)))
    peak = draw(peaks)
    kwargs: dict[str, Any] = {}
    if name == "cosine" and draw(st.booleans()):
        kwargs["num_cycles"] = 0.5
    if name == "polynomial":
        kwargs["lr_end"] = peak * draw(st.floats(0.0, 0.99))
        kwargs["power"] = draw(st.one_of(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]), st.floats(0.0, 4.0)))
    return ScheduleSpec(scheduler=name, peak_lr=peak, total_steps=total, warmup_steps=warmup, scheduler_kwargs=kwargs)


@pytest.mark.parametrize("name", ["cosine_with_min_lr", "cosine", "linear", "polynomial", "cosine_warmup_with_min_lr",
                                  "warmup_stable_decay", "constant_with_warmup"])  # fmt: skip
@given(data=st.data())
def test_warmup_rises_and_decay_falls(name: str, data: st.DataObject) -> None:
    spec = data.draw(decaying_specs(name), label="spec")
    peak, W, T, name = spec.peak_lr, spec.warmup_steps, spec.total_steps, spec.scheduler
    stop = T + extra(T)
    if name == "warmup_stable_decay":
        Wp, S, D = expected_wsd_phases(spec)
        stop = max(stop, Wp + S + D + 5)
    lr = lrs(spec, stop)
    # warmup: non-decreasing, never above the peak
    assert_non_decreasing(lr[:W], peak)
    assert np.all(lr[:W] <= peak * (1 + TINY))
    if name in ("linear", "cosine", "cosine_with_min_lr", "constant_with_warmup", "polynomial") and W > 0:
        assert lr[W] >= lr[W - 1]  # warmup ends at the peak
    # decay: non-increasing from the end of warmup through the last update of the run
    if name in ("cosine", "cosine_with_min_lr"):
        assert_non_increasing(lr[W : T + 1], peak, W)  # a 0.5-cycle cosine turns back up after update T
    elif name == "cosine_warmup_with_min_lr":
        assert_non_increasing(lr[W:T], peak, W)  # its progress is one update ahead: the floor is at T - 1
    else:
        # linear stays at 0, polynomial at lr_end, WSD at the floor, constant at the peak: the whole tail
        assert_non_increasing(lr[W:], peak, W)


# --------------------------------------------------------------------------------- warmup boundary


@given(min_lr_specs("cosine_with_min_lr", min_decay=1))
def test_cosine_with_min_lr_warmup_boundary(case: tuple[ScheduleSpec, float]) -> None:
    spec, _ = case
    peak, W = spec.peak_lr, spec.warmup_steps
    lr = lrs(spec, W + 1)
    assert lr[W] == peak  # progress 0: the cosine factor is exactly 1
    if W > 0:
        # LambdaLR: base_lr * (float(W - 1) / float(W))
        assert lr[W - 1] == peak * ((W - 1) / W)
        assert math.isclose(lr[W - 1], peak * (W - 1) / W, rel_tol=1e-15)


@given(min_lr_specs("cosine_warmup_with_min_lr", min_decay=1, warmup_lr_rate=False), st.integers(1, 500))
def test_cosine_warmup_with_min_lr_warmup_boundary(case: tuple[ScheduleSpec, float], warmup: int) -> None:
    spec, _ = case
    spec = ScheduleSpec(scheduler=spec.scheduler, peak_lr=spec.peak_lr, total_steps=spec.total_steps + warmup,
                        warmup_steps=warmup, scheduler_kwargs=spec.scheduler_kwargs)  # fmt: skip
    peak, W = spec.peak_lr, spec.warmup_steps
    lr = lrs(spec, W + 1)
    assert lr[W - 1] == peak  # (W - 1 + 1) / W: the last warmup update is at the peak
    assert lr[0] == peak * (1.0 / W)  # starts at 1/W of the peak, not at 0
    assert math.isclose(lr[0], peak / W, rel_tol=1e-15)
    if W > 1:
        assert lr[1] == peak * (2.0 / W)


@given(min_lr_specs("cosine_warmup_with_min_lr", min_decay=1, warmup_lr_rate=False), st.integers(2, 500), rates)
def test_cosine_warmup_with_min_lr_warmup_lr_rate(case: tuple[ScheduleSpec, float], warmup: int, r: float) -> None:
    spec, _ = case
    kwargs = {**spec.scheduler_kwargs, "warmup_lr_rate": r}
    spec = ScheduleSpec(scheduler=spec.scheduler, peak_lr=spec.peak_lr, total_steps=spec.total_steps + warmup,
                        warmup_steps=warmup, scheduler_kwargs=kwargs)  # fmt: skip
    peak, W = spec.peak_lr, spec.warmup_steps
    lr = lrs(spec, W)
    assert math.isclose(lr[0], r * peak, rel_tol=1e-15, abs_tol=1e-300)  # starts at warmup_lr_rate x peak
    assert math.isclose(lr[W - 1], peak, rel_tol=1e-14)  # and reaches the peak at the last warmup update
    want = peak * (r + (1 - r) * np.arange(W) / max(1, W - 1))
    np.testing.assert_allclose(lr, want, rtol=1e-13, atol=1e-300)


# ------------------------------------------------------------------------------- where floor is hit


@given(min_lr_specs("cosine_with_min_lr", max_total=5000, max_rate=0.9))
def test_cosine_with_min_lr_reaches_floor_at_update_T(case: tuple[ScheduleSpec, float]) -> None:
    spec, rate = case
    peak, W, T = spec.peak_lr, spec.warmup_steps, spec.total_steps
    floor = rate * peak
    at_T = float(lr_at(spec, np.array([T]))[0])
    assert math.isclose(at_T, floor, rel_tol=1e-12, abs_tol=1e-12 * peak)
    # not before: every decay update of the run is clearly above the floor
    decay = lrs(spec, T, W)
    assert np.all(decay - floor > 1e-10 * peak), (W + int(np.argmin(decay)), decay.min(), floor)


@given(min_lr_specs("cosine_warmup_with_min_lr", max_total=5000, max_rate=0.9, warmup_lr_rate=False))
def test_cosine_warmup_with_min_lr_reaches_floor_at_last_update(case: tuple[ScheduleSpec, float]) -> None:
    spec, rate = case
    peak, W, T = spec.peak_lr, spec.warmup_steps, spec.total_steps
    floor = rate * peak
    lr = lrs(spec, T)
    assert math.isclose(lr[T - 1], floor, rel_tol=1e-12, abs_tol=1e-12 * peak)
    decay = lr[W : T - 1]
    assert np.all(decay - floor > 1e-10 * peak)


@given(wsd_specs(max_total=10_000, max_ratio=0.95))
def test_wsd_reaches_floor_at_end_of_decay_and_stays(spec: ScheduleSpec) -> None:
    peak, ratio = spec.peak_lr, spec.scheduler_kwargs["min_lr_ratio"]
    W, S, D = expected_wsd_phases(spec)
    assert wsd_phases(spec) == (W, S, D)
    end = W + S + D
    lr = lrs(spec, end + extra(spec.total_steps) + 1)
    floor = peak * ratio
    assert np.all(lr[end:] == floor), (end, lr[end:][:3], floor)
    if D > 0:
        assert np.all(lr[W:end] - floor > 1e-12 * peak), (W + int(np.argmin(lr[W:end])), lr[W:end].min(), floor)
    assert np.all(lr[W : W + S] == peak)  # the stable phase is at the peak


@given(log_ints(1, 5000), st.data())
def test_linear_reaches_zero_at_T(total: int, data: st.DataObject) -> None:
    warmup = data.draw(st.integers(0, total - 1))
    peak = data.draw(peaks)
    spec = ScheduleSpec(scheduler="linear", peak_lr=peak, total_steps=total, warmup_steps=warmup)
    lr = lrs(spec, total + extra(total))
    assert np.all(lr[total:] == 0.0)
    assert np.all(lr[1:total] > 0.0)
    assert lr[total - 1] == peak * (1.0 / (total - warmup))  # one step of the decay left


# -------------------------------------------------------------------------------------- update 0


@given(min_lr_specs("cosine_with_min_lr"))
def test_cosine_with_min_lr_update_zero(case: tuple[ScheduleSpec, float]) -> None:
    spec, _ = case
    first = float(lr_at(spec, np.array([0]))[0])
    if spec.warmup_steps > 0:
        assert first == 0.0
    else:
        assert first == spec.peak_lr


@pytest.mark.parametrize("name", ["linear", "cosine", "cosine_with_restarts", "polynomial", "constant_with_warmup",
                                  "inverse_sqrt", "cosine_with_min_lr"])  # fmt: skip
@settings(max_examples=50)
@given(warmup=st.integers(0, 100), total=log_ints(1, 1000), peak=peaks)
def test_update_zero_linear_warmup_family(name: str, warmup: int, total: int, peak: float) -> None:
    kwargs: dict[str, Any] = {"min_lr_rate": 0.1} if name == "cosine_with_min_lr" else {}
    if name == "polynomial":
        assume(warmup != total)
        kwargs["lr_end"] = 0.0
    spec = ScheduleSpec(scheduler=name, peak_lr=peak, total_steps=total, warmup_steps=warmup, scheduler_kwargs=kwargs)
    first = float(lr_at(spec, np.array([0]))[0])
    assert first == (0.0 if warmup > 0 else peak)


# ----------------------------------------------------------------------------------------- envelope

_cycles = st.one_of(st.sampled_from([0.5, 1, 3, 0.25]), st.floats(0.0, 200.0))


@st.composite
def any_specs(draw: st.DrawFn, name: str, total: int) -> ScheduleSpec:
    """A random valid spec of scheduler ``name`` with the given run length."""
    warmup = draw(st.one_of(st.integers(0, min(total, 1000)), st.integers(0, total), log_ints(0, total)))
    peak = draw(peaks)
    kwargs: dict[str, Any] = {}
    if name in ("cosine", "cosine_with_restarts", "cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        kwargs["num_cycles"] = draw(_cycles)
    if name in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        kwargs["min_lr_rate"] = draw(rates)
    if name == "cosine_warmup_with_min_lr" and draw(st.booleans()):
        kwargs["warmup_lr_rate"] = draw(rates)
    if name == "polynomial":
        if warmup == total:
            warmup = total - 1
        kwargs["lr_end"] = peak * draw(st.floats(0.0, 0.99))
        kwargs["power"] = draw(st.floats(0.0, 4.0))
    if name == "inverse_sqrt" and draw(st.booleans()):
        kwargs["timescale"] = draw(st.integers(1, max(1, total)))
    if name == "warmup_stable_decay":
        kwargs["warmup_type"] = draw(st.sampled_from(SHAPES))
        kwargs["decay_type"] = draw(st.sampled_from(SHAPES))
        kwargs["min_lr_ratio"] = draw(rates)
        kwargs["num_cycles"] = draw(_cycles)
        if draw(st.booleans()):
            kwargs["num_stable_steps"] = draw(st.integers(0, total))
            kwargs["num_decay_steps"] = draw(st.integers(0, total))
        else:
            kwargs["num_decay_steps"] = draw(st.integers(0, total - warmup))
    return ScheduleSpec(scheduler=name, peak_lr=peak, total_steps=total, warmup_steps=warmup, scheduler_kwargs=kwargs)


def column_edges(total: int, columns: int) -> np.ndarray:
    """The documented cut: ``columns`` equal ranges of updates over [0, total), as whole update indices."""
    return np.unique(np.linspace(0, total, columns + 1).astype(np.int64))


def check_envelope_shape(spec: ScheduleSpec, env: Any) -> None:
    T = spec.total_steps
    step = np.asarray(env.step)
    assert step.dtype == np.int64
    assert len(step) == len(env.lr) > 0
    assert np.all(np.diff(step) > 0), "envelope steps must be sorted and unique"
    assert step[0] >= 0 and step[-1] < T
    # every point is a true point of the curve
    np.testing.assert_array_equal(env.lr, lr_at(spec, step))


def brute_column(spec: ScheduleSpec, lo: int, hi: int) -> tuple[float, float]:
    values = lrs(spec, hi, lo)
    return float(values.min()), float(values.max())


@pytest.mark.parametrize("name", ALL_SCHEDULERS)
@settings(max_examples=60)
@given(data=st.data(), columns=st.integers(50, 500))
def test_envelope_matches_brute_force_per_column(name: str, data: st.DataObject, columns: int) -> None:
    total = data.draw(st.one_of(log_ints(1, 200_000), st.integers(100_000, 200_000)), label="total")
    spec = data.draw(any_specs(name, total), label="spec")
    env = envelope(spec, columns=columns)
    check_envelope_shape(spec, env)
    all_lr = lrs(spec, total)
    if total <= 2 * columns:
        np.testing.assert_array_equal(env.step, np.arange(total))
        np.testing.assert_array_equal(env.lr, all_lr)
        return
    edges = column_edges(total, columns)
    assert edges[0] == 0 and edges[-1] == total
    # brute force: min and max over every update of every column
    want_min = np.minimum.reduceat(all_lr, edges[:-1])
    want_max = np.maximum.reduceat(all_lr, edges[:-1])
    col = np.searchsorted(edges, env.step, side="right") - 1
    assert set(col.tolist()) == set(range(len(edges) - 1)), "every column needs at least one point"
    got_min = np.full(len(edges) - 1, np.inf)
    got_max = np.full(len(edges) - 1, -np.inf)
    np.minimum.at(got_min, col, env.lr)
    np.maximum.at(got_max, col, env.lr)
    bad = np.flatnonzero((got_min != want_min) | (got_max != want_max))
    assert len(bad) == 0, [
        (int(c), int(edges[c]), int(edges[c + 1]), float(got_min[c]), float(want_min[c]), float(got_max[c]),
         float(want_max[c])) for c in bad[:3]
    ]  # fmt: skip
    assert len(env) <= 4 * columns


@pytest.mark.parametrize("name", ALL_SCHEDULERS)
@settings(max_examples=25)
@given(data=st.data(), columns=st.integers(50, 500))
def test_envelope_on_long_runs(name: str, data: st.DataObject, columns: int) -> None:
    """10^6..10^9 updates: the points are valid, and chosen columns match a brute force over their updates."""
    # runs whose columns are at most 2*10^5 wide (brute-forced below), and runs up to 10^9 updates
    total = data.draw(st.one_of(st.integers(200_001, columns * 200_000), log_ints(200_001, 10**9)), label="total")
    spec = data.draw(any_specs(name, total), label="spec")
    env = envelope(spec, columns=columns)
    check_envelope_shape(spec, env)
    assert len(env) <= 4 * columns
    edges = column_edges(total, columns)
    col = np.searchsorted(edges, env.step, side="right") - 1
    assert set(col.tolist()) == set(range(len(edges) - 1))
    # brute-force a few columns: a random one, the one where warmup ends, the last one
    chosen = {data.draw(st.integers(0, len(edges) - 2), label="column"), len(edges) - 2}
    chosen.add(int(np.searchsorted(edges, min(spec.warmup_steps, total - 1), side="right") - 1))
    for c in sorted(chosen):
        lo, hi = int(edges[c]), int(edges[c + 1])
        if hi - lo > 2_500_000:
            continue
        in_col = env.lr[col == c]
        assert (float(in_col.min()), float(in_col.max())) == brute_column(spec, lo, hi), (c, lo, hi)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("cosine", {"num_cycles": 150_000}),
        ("cosine_with_min_lr", {"num_cycles": 150_000, "min_lr_rate": 0.1}),
        ("cosine_with_restarts", {"num_cycles": 250_000}),
        ("warmup_stable_decay", {"num_cycles": 150_000, "num_decay_steps": 1_500_000}),
    ],
    ids=["cosine-150k_cycles", "cosine_with_min_lr-150k_cycles", "cosine_with_restarts-250k_cycles",
         "warmup_stable_decay-150k_cycles"],
)
def test_envelope_with_very_many_cycles(name: str, kwargs: dict[str, Any]) -> None:
    """A cosine that turns every few updates: each column's min and max are still the true ones.

    Each column of 3000 updates holds ~300 full waves, so its minimum is the floor and its maximum the peak.
    """
    total, columns = 1_500_000, 500
    spec = ScheduleSpec(scheduler=name, peak_lr=1e-3, total_steps=total, warmup_steps=0, scheduler_kwargs=kwargs)
    env = envelope(spec, columns=columns)
    check_envelope_shape(spec, env)
    edges = column_edges(total, columns)
    all_lr = lrs(spec, total)
    want_min, want_max = np.minimum.reduceat(all_lr, edges[:-1]), np.maximum.reduceat(all_lr, edges[:-1])
    col = np.searchsorted(edges, env.step, side="right") - 1
    got_min, got_max = np.full(columns, np.inf), np.full(columns, -np.inf)
    np.minimum.at(got_min, col, env.lr)
    np.maximum.at(got_max, col, env.lr)
    bad = np.flatnonzero((got_min != want_min) | (got_max != want_max))
    assert len(bad) == 0, (
        f"{len(bad)} of {columns} columns wrong; first: column {bad[0]} = updates [{edges[bad[0]]}, "
        f"{edges[bad[0] + 1]}): envelope min/max {got_min[bad[0]]!r}/{got_max[bad[0]]!r}, "
        f"true {want_min[bad[0]]!r}/{want_max[bad[0]]!r}"
    )


def test_envelope_of_the_readme_example() -> None:
    spec = ScheduleSpec(scheduler="cosine_with_min_lr", peak_lr=2e-4, total_steps=1000, warmup_steps=30,
                        scheduler_kwargs={"min_lr": 2e-6})  # fmt: skip
    whole = trajectory(spec)
    assert len(whole) == 1000 and float(whole.lr[30]) == 2e-4
    env = envelope(spec, columns=1000)  # short run: returned whole
    np.testing.assert_array_equal(env.step, whole.step)
    env = envelope(spec, columns=100)
    assert 30 in env.step.tolist()  # the peak is kept
    assert float(env.lr.max()) == 2e-4
