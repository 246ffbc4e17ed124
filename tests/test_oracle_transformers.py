"""Oracle tests: lrviz's numpy schedules against the real transformers schedulers, stepped like the Trainer.

For every configuration a real ``torch.optim.AdamW`` with one or more param groups is built, the scheduler is
made with the real ``transformers.get_scheduler`` and stepped the way ``Trainer`` does it: the LR that
``optimizer.step()`` uses is read from ``param_groups[i]["lr"]``, then ``optimizer.step()`` runs on a real
gradient, then ``scheduler.step()``. Every group's recorded LR must agree with ``lr_at(spec, steps,
base_lr=group_lr)`` to 1e-12 relative (1e-18 absolute where transformers gives 0), over the whole run and a
stretch of updates past ``num_training_steps``.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import get_scheduler

from lrviz.errors import SpecError
from lrviz.schedules import lr_at
from lrviz.spec import ScheduleSpec

REL_TOL = 1e-12
ABS_TOL_AT_ZERO = 1e-18

ALL_SCHEDULERS = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
    "warmup_stable_decay",
)


# ------------------------------------------------------------------------------------------- oracle


def extra_updates(total: int) -> int:
    return max(5, total // 5)


def run_transformers(
    name: str,
    peak_lr: float,
    warmup: int,
    total: int,
    kwargs: dict[str, Any],
    group_lrs: tuple[float, ...],
    updates: int,
) -> tuple[list[float], np.ndarray]:
    """Step a real optimizer + transformers scheduler like the Trainer; return base LRs and LR per update.

    Group 0 takes the optimizer's default ``lr`` (= ``peak_lr`` = ``optimizer.defaults["lr"]``); the other
    groups get their own ``lr`` from ``group_lrs``. Row ``s`` of the result holds the LR each group used in
    the ``(s+1)``-th ``optimizer.step()``.
    """
    params = [torch.nn.Parameter(torch.full((2,), 0.5 + i, dtype=torch.float64)) for i in range(1 + len(group_lrs))]
    groups: list[dict[str, Any]] = [{"params": [params[0]]}]
    groups += [{"params": [p], "lr": lr} for p, lr in zip(params[1:], group_lrs)]
    optimizer = torch.optim.AdamW(groups, lr=peak_lr)
    assert optimizer.defaults["lr"] == peak_lr
    recorded = np.empty((updates, len(groups)), dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # WSD warns when num_training_steps and num_stable_steps are both given
        scheduler = get_scheduler(
            name,
            optimizer,
            num_warmup_steps=warmup,
            num_training_steps=total,
            scheduler_specific_kwargs=dict(kwargs),
        )
        base_lrs = [float(g["initial_lr"]) for g in optimizer.param_groups]
        for step in range(updates):
            recorded[step] = [g["lr"] for g in optimizer.param_groups]  # the LR this optimizer.step() uses
            optimizer.zero_grad(set_to_none=True)
            loss = sum((p * p).sum() for p in params)
            loss.backward()
            optimizer.step()
            scheduler.step()
    return base_lrs, recorded


def assert_matches_transformers(
    name: str,
    peak_lr: float,
    warmup: int,
    total: int,
    kwargs: dict[str, Any],
    group_lrs: tuple[float, ...] = (),
) -> None:
    updates = max(total, warmup) + extra_updates(total)
    spec = ScheduleSpec(
        scheduler=name, peak_lr=peak_lr, total_steps=total, warmup_steps=warmup, scheduler_kwargs=dict(kwargs)
    )
    base_lrs, oracle = run_transformers(name, peak_lr, warmup, total, kwargs, group_lrs, updates)
    assert base_lrs == [peak_lr, *group_lrs]
    steps = np.arange(updates, dtype=np.int64)
    for group, base_lr in enumerate(base_lrs):
        ours = np.asarray(lr_at(spec, steps, base_lr=None if group == 0 else base_lr), dtype=np.float64)
        want = oracle[:, group]
        assert ours.shape == want.shape
        with np.errstate(invalid="ignore"):
            err = np.abs(ours - want)
            ok = np.where(want == 0.0, err <= ABS_TOL_AT_ZERO, err <= REL_TOL * np.abs(want))
        if not ok.all():
            bad = np.flatnonzero(~ok)
            s = int(bad[0])
            detail = ", ".join(f"step {int(b)}: transformers {want[b]!r} lrviz {ours[b]!r}" for b in bad[:5])
            pytest.fail(
                f"{name} W={warmup} T={total} peak={peak_lr!r} kwargs={kwargs} group {group} (lr {base_lr!r}): "
                f"{len(bad)} of {updates} updates differ; first at step {s}; {detail}"
            )


# --------------------------------------------------------------------------------------------- grid

PEAK = 2e-4
GROUP_SETS: tuple[tuple[float, ...], ...] = ((), (1e-3,), (5e-5, 3e-3))

# (warmup, total) pairs: no warmup, warmup >= total, a run of 1 update, odd sizes, a 2000-update run.
WT_ALL = ((0, 1), (1, 1), (0, 2), (1, 2), (2, 2), (0, 10), (3, 10), (10, 10), (15, 10), (7, 97), (30, 300),
          (0, 250), (100, 400), (50, 2000))  # fmt: skip
WT_MAIN = ((0, 1), (1, 1), (0, 10), (3, 10), (10, 10), (15, 10), (7, 97), (30, 300))
WT_NO_EQUAL = tuple((w, t) for w, t in WT_ALL if w != t)  # polynomial divides by zero at W == T
CYCLES = (0.25, 1, 1.5, 3)


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _case(name: str, warmup: int, total: int, kwargs: dict[str, Any], groups: tuple[float, ...],
          peak: float = PEAK) -> Any:  # fmt: skip
    kw = ",".join(f"{k}={_fmt(v)}" for k, v in kwargs.items()) or "defaults"
    case_id = f"{name}-W{warmup}-T{total}-{kw}-peak{_fmt(peak)}-groups{1 + len(groups)}"
    return pytest.param(name, peak, warmup, total, kwargs, groups, id=case_id)


def _grid() -> list[Any]:
    cases: list[Any] = []
    counter = iter(range(10**6))

    def groups() -> tuple[float, ...]:
        return GROUP_SETS[next(counter) % len(GROUP_SETS)]

    def add(name: str, warmup: int, total: int, kwargs: dict[str, Any], peak: float = PEAK) -> None:
        cases.append(_case(name, warmup, total, kwargs, groups(), peak))

    # linear / constant / constant_with_warmup
    for w, t in WT_ALL:
        add("linear", w, t, {})
    add("linear", 5, 40, {}, peak=1.0)
    for w, t in ((0, 1), (3, 10), (15, 10), (0, 100), (30, 300)):
        add("constant", w, t, {})
    add("constant", 3, 10, {"ignored_by_get_scheduler": 1})  # get_scheduler drops kwargs for constant
    for w, t in WT_MAIN + ((40, 2000),):
        add("constant_with_warmup", w, t, {})
    add("constant_with_warmup", 4, 20, {"num_cycles": 3})  # dropped by get_scheduler too

    # cosine: default and non-default num_cycles
    for w, t in WT_MAIN:
        add("cosine", w, t, {})
        for c in CYCLES:
            add("cosine", w, t, {"num_cycles": c})
    add("cosine", 50, 2000, {})
    add("cosine", 0, 333, {"num_cycles": 0})
    add("cosine", 10, 200, {"num_cycles": 7.3}, peak=3e-3)

    # cosine_with_restarts
    for w, t in WT_MAIN:
        add("cosine_with_restarts", w, t, {})
        for c in (0.25, 1.5, 2, 3, 7):
            add("cosine_with_restarts", w, t, {"num_cycles": c})
    add("cosine_with_restarts", 50, 2000, {"num_cycles": 5})
    add("cosine_with_restarts", 0, 1000, {"num_cycles": 37})

    # polynomial: powers x lr_end
    for w, t in WT_NO_EQUAL:
        if t > 300 and w != 50:
            continue
        for power in (0.5, 1, 2, 3):
            add("polynomial", w, t, {"power": power})
        add("polynomial", w, t, {"lr_end": 1e-5, "power": 2.0})
        add("polynomial", w, t, {"lr_end": 0.0})
    add("polynomial", 0, 50, {})
    add("polynomial", 5, 50, {"power": 0.0})
    add("polynomial", 5, 50, {"lr_end": 1e-3, "power": 0.5}, peak=0.1)

    # inverse_sqrt
    for w, t in ((0, 1), (0, 10), (3, 10), (15, 10), (7, 97), (30, 300), (100, 400)):
        for timescale in (None, 1, 20, 1000):
            add("inverse_sqrt", w, t, {} if timescale is None else {"timescale": timescale})

    # cosine_with_min_lr: absolute vs rate floors, num_cycles
    floors = ({"min_lr": 2e-6}, {"min_lr": 0.0}, {"min_lr_rate": 0.1}, {"min_lr_rate": 0.0})
    for i, (w, t) in enumerate(WT_MAIN):
        for j, floor in enumerate(floors):
            add("cosine_with_min_lr", w, t, dict(floor))
            add("cosine_with_min_lr", w, t, {**floor, "num_cycles": CYCLES[(i + j) % len(CYCLES)]})
    add("cosine_with_min_lr", 30, 1000, {"min_lr": 2e-6})  # the README example
    add("cosine_with_min_lr", 50, 2000, {"min_lr_rate": 0.05, "num_cycles": 1.5})
    add("cosine_with_min_lr", 5, 60, {"min_lr": 5e-4})  # floor above the peak: LR rises

    # cosine_warmup_with_min_lr: warmup_lr_rate None/0/0.1/1 x floor kind
    all_cycles = (0.5, *CYCLES)
    for i, (w, t) in enumerate(WT_MAIN):
        for j, wlr in enumerate((None, 0.0, 0.1, 1.0)):
            for k, floor in enumerate(({"min_lr": 2e-6}, {"min_lr_rate": 0.1})):
                kwargs: dict[str, Any] = dict(floor)
                if wlr is not None:
                    kwargs["warmup_lr_rate"] = wlr
                cycles = all_cycles[(i + j + k) % len(all_cycles)]
                if cycles != 0.5:
                    kwargs["num_cycles"] = cycles
                add("cosine_warmup_with_min_lr", w, t, kwargs)
    add("cosine_warmup_with_min_lr", 50, 2000, {"min_lr_rate": 0.1, "warmup_lr_rate": 0.1})
    add("cosine_warmup_with_min_lr", 1, 40, {"min_lr_rate": 0.0, "warmup_lr_rate": 0.5})
    add("cosine_warmup_with_min_lr", 2, 40, {"min_lr_rate": 0.0, "warmup_lr_rate": 0.5})

    # warmup_stable_decay: all 3x3 warmup/decay types, with and without num_stable_steps, two floors
    shapes = ("linear", "cosine", "1-sqrt")
    layouts = (
        # (W, T, D, S or None): stable derived; D = T; no room for a stable phase;
        (5, 100, 20, None),
        (0, 50, 50, None),
        (3, 10, 7, None),
        # explicit stable: W+S+D < T, > T, and a degenerate 0-stable 0-warmup one
        (5, 100, 30, 40),
        (10, 100, 60, 50),
        (0, 10, 10, 0),
    )
    n = 0
    for wt in shapes:
        for dt in shapes:
            for w, t, d, s in layouts:
                kwargs = {"num_decay_steps": d, "warmup_type": wt, "decay_type": dt}
                if s is not None:
                    kwargs["num_stable_steps"] = s
                n += 1
                kwargs["min_lr_ratio"] = 0.1 if n % 2 else 0.0
                if dt == "cosine" and n % 3 == 0:
                    kwargs["num_cycles"] = 1.5
                add("warmup_stable_decay", w, t, kwargs)
    add("warmup_stable_decay", 0, 10, {"num_decay_steps": 3})  # kwargs defaults
    add("warmup_stable_decay", 100, 2000, {"num_decay_steps": 400, "min_lr_ratio": 0.1})
    add("warmup_stable_decay", 0, 1, {"num_decay_steps": 0})
    add("warmup_stable_decay", 0, 1, {"num_decay_steps": 1, "decay_type": "1-sqrt"})
    return cases


GRID = _grid()


def test_grid_is_large_and_covers_every_scheduler() -> None:
    assert len(GRID) >= 300
    assert {case.values[0] for case in GRID} == set(ALL_SCHEDULERS)
    assert len({case.id for case in GRID}) == len(GRID)


@pytest.mark.parametrize(("name", "peak_lr", "warmup", "total", "kwargs", "group_lrs"), GRID)
def test_grid_matches_transformers(
    name: str, peak_lr: float, warmup: int, total: int, kwargs: dict[str, Any], group_lrs: tuple[float, ...]
) -> None:
    assert_matches_transformers(name, peak_lr, warmup, total, kwargs, group_lrs)


# ------------------------------------------------------------------------------------- hypothesis

_positive_lr = st.one_of(
    st.sampled_from([1e-5, 2e-4, 3e-4, 1e-3, 0.1, 1.0]),
    st.floats(min_value=1e-7, max_value=10.0, allow_nan=False, allow_infinity=False),
)
_cycles = st.one_of(
    st.sampled_from([0, 0.25, 0.5, 1, 1.5, 2, 3]),
    st.floats(min_value=0.0, max_value=8.0, allow_nan=False, allow_infinity=False),
)
_unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False, allow_infinity=False)


@st.composite
def hf_configs(draw: st.DrawFn, name: str, max_total: int = 300) -> tuple[str, float, int, int, dict[str, Any], tuple]:
    """A random valid (scheduler, peak, warmup, total, kwargs, group LRs) for scheduler ``name``."""
    total = draw(st.one_of(st.integers(1, 12), st.integers(1, max_total), st.integers(max_total // 2, max_total)))
    warmup = draw(st.one_of(st.integers(0, total + 20), st.integers(0, max(0, total // 10))))
    peak = draw(_positive_lr)
    kwargs: dict[str, Any] = {}
    if name in ("cosine", "cosine_with_restarts", "cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        if draw(st.booleans()):
            kwargs["num_cycles"] = draw(_cycles)
    if name in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        ratio = draw(st.floats(0.0, 1.5))
        if draw(st.booleans()):
            kwargs["min_lr"] = peak * ratio
        else:
            kwargs["min_lr_rate"] = ratio
    if name == "cosine_warmup_with_min_lr" and draw(st.booleans()):
        kwargs["warmup_lr_rate"] = draw(st.one_of(st.sampled_from([0.0, 0.1, 1.0]), _unit))
    if name == "polynomial":
        if warmup == total:  # transformers divides by zero at W == T; lrviz refuses it
            warmup = draw(st.integers(0, total - 1))
        if draw(st.booleans()):
            kwargs["lr_end"] = peak * draw(st.floats(0.0, 0.99))
        elif not peak > 1e-7:  # the default lr_end 1e-7 must stay below the peak (both libraries refuse it)
            peak = draw(st.floats(2e-7, 10.0))
        if draw(st.booleans()):
            kwargs["power"] = draw(st.one_of(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]), st.floats(0.0, 4.0)))
    if name == "inverse_sqrt" and draw(st.booleans()):
        kwargs["timescale"] = draw(st.integers(1, 2000))
    if name == "warmup_stable_decay":
        if draw(st.booleans()):
            kwargs["num_stable_steps"] = draw(st.integers(0, total))
            kwargs["num_decay_steps"] = draw(st.integers(0, total))
        else:
            warmup = min(warmup, total)
            kwargs["num_decay_steps"] = draw(st.integers(0, total - warmup))
        for key in ("warmup_type", "decay_type"):
            if draw(st.booleans()):
                kwargs[key] = draw(st.sampled_from(["linear", "cosine", "1-sqrt"]))
        if draw(st.booleans()):
            kwargs["min_lr_ratio"] = draw(_unit)
        if draw(st.booleans()):
            kwargs["num_cycles"] = draw(_cycles)
    group_lrs = tuple(draw(st.lists(_positive_lr, max_size=2)))
    return name, peak, warmup, total, kwargs, group_lrs


@pytest.mark.parametrize("name", ALL_SCHEDULERS)
@settings(max_examples=25)
@given(data=st.data())
def test_random_configs_match_transformers(name: str, data: st.DataObject) -> None:
    assert_matches_transformers(*data.draw(hf_configs(name), label="config"))


# ----------------------------------------------------------------------------------------- errors


def _optimizer(peak_lr: float = PEAK) -> torch.optim.Optimizer:
    return torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=peak_lr)


def _hf(name: str, kwargs: dict[str, Any], *, warmup: int = 10, total: int = 100, peak_lr: float = PEAK) -> Any:
    return get_scheduler(
        name, _optimizer(peak_lr), num_warmup_steps=warmup, num_training_steps=total, scheduler_specific_kwargs=kwargs
    )


def _spec(name: str, kwargs: dict[str, Any], *, warmup: int = 10, total: int = 100, peak_lr: float = PEAK) -> Any:
    return ScheduleSpec(
        scheduler=name, peak_lr=peak_lr, total_steps=total, warmup_steps=warmup, scheduler_kwargs=kwargs
    )


@pytest.mark.parametrize("name", ["cosine_with_min_lr", "cosine_warmup_with_min_lr"])
def test_both_min_lr_and_min_lr_rate(name: str) -> None:
    kwargs = {"min_lr": 1e-6, "min_lr_rate": 0.1}
    sentence = "Only one of min_lr or min_lr_rate should be set"
    with pytest.raises(ValueError, match=f"^{re.escape(sentence)}$"):
        _hf(name, kwargs)
    with pytest.raises(SpecError) as info:
        _spec(name, kwargs)
    assert sentence in str(info.value)


@pytest.mark.parametrize("name", ["cosine_with_min_lr", "cosine_warmup_with_min_lr"])
@pytest.mark.parametrize("kwargs", [{}, {"num_cycles": 0.5}, {"min_lr": None, "min_lr_rate": None}])
def test_neither_min_lr_nor_min_lr_rate(name: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="One of min_lr or min_lr_rate should be set"):
        _hf(name, dict(kwargs))
    with pytest.raises(SpecError) as info:
        _spec(name, dict(kwargs))
    message = str(info.value)
    assert "--min-lr" in message and "--min-lr-rate" in message


@pytest.mark.parametrize("name", ["cosine_with_min_lr", "cosine_warmup_with_min_lr"])
def test_unknown_kwarg_eta_min(name: str) -> None:
    kwargs = {"eta_min": 1e-6}
    with pytest.raises(TypeError, match="eta_min"):
        _hf(name, dict(kwargs))
    with pytest.raises(SpecError) as info:
        _spec(name, dict(kwargs))
    assert "did you mean 'min_lr'" in str(info.value)


def test_unknown_kwarg_is_a_type_error_in_both_places() -> None:
    with pytest.raises(TypeError):
        _hf("cosine", {"min_lr": 1e-6})
    with pytest.raises(SpecError):
        _spec("cosine", {"min_lr": 1e-6})
    with pytest.raises(TypeError):
        _hf("linear", {"num_cycles": 0.5})
    with pytest.raises(SpecError):
        _spec("linear", {"num_cycles": 0.5})


@pytest.mark.parametrize("lr_end", [PEAK, 2 * PEAK, 1.0])
def test_polynomial_lr_end_not_below_peak(lr_end: float) -> None:
    with pytest.raises(ValueError, match="must be smaller than initial lr"):
        _hf("polynomial", {"lr_end": lr_end})
    with pytest.raises(SpecError):
        _spec("polynomial", {"lr_end": lr_end})


def test_polynomial_default_lr_end_not_below_a_tiny_peak() -> None:
    # lr_end defaults to 1e-7: a peak at or below it is rejected by both
    with pytest.raises(ValueError, match="must be smaller than initial lr"):
        _hf("polynomial", {}, peak_lr=1e-7)
    with pytest.raises(SpecError):
        _spec("polynomial", {}, peak_lr=1e-7)


@pytest.mark.parametrize(("warmup", "total"), [(10, 10), (1, 1)])
def test_polynomial_warmup_equal_total(warmup: int, total: int) -> None:
    """transformers divides by zero at update W when W == T; lrviz refuses the spec."""
    optimizer = _optimizer()
    scheduler = get_scheduler("polynomial", optimizer, num_warmup_steps=warmup, num_training_steps=total)
    with pytest.raises(ZeroDivisionError):
        for _ in range(warmup + 1):
            optimizer.step()
            scheduler.step()
    with pytest.raises(SpecError, match="ZeroDivisionError"):
        _spec("polynomial", {}, warmup=warmup, total=total)


def test_wsd_without_num_decay_steps() -> None:
    with pytest.raises(TypeError, match="num_decay_steps"):
        _hf("warmup_stable_decay", {})
    with pytest.raises(SpecError, match="num_decay_steps"):
        _spec("warmup_stable_decay", {})


@pytest.mark.parametrize("key", ["warmup_type", "decay_type"])
def test_wsd_unknown_shape(key: str) -> None:
    kwargs = {"num_decay_steps": 10, key: "exponential"}
    with pytest.raises(ValueError, match="exponential"):
        _hf("warmup_stable_decay", dict(kwargs))
    with pytest.raises(SpecError, match="exponential"):
        _spec("warmup_stable_decay", dict(kwargs))


def test_trainer_supplied_kwarg() -> None:
    with pytest.raises(TypeError, match="multiple values"):
        _hf("cosine", {"num_warmup_steps": 5})
    with pytest.raises(SpecError, match="multiple values"):
        _spec("cosine", {"num_warmup_steps": 5})


def test_min_lr_converted_with_the_default_lr_not_the_group_lr() -> None:
    """transformers turns min_lr into a ratio with optimizer.defaults['lr']; other groups keep that ratio."""
    peak, other, floor = 1e-3, 4e-3, 1e-5
    spec = _spec("cosine_with_min_lr", {"min_lr": floor}, warmup=0, total=10, peak_lr=peak)
    base_lrs, oracle = run_transformers("cosine_with_min_lr", peak, 0, 10, {"min_lr": floor}, (other,), 11)
    assert base_lrs == [peak, other]
    assert math.isclose(oracle[10, 0], floor, rel_tol=1e-12)
    assert math.isclose(oracle[10, 1], other * floor / peak, rel_tol=1e-12)
    assert math.isclose(float(lr_at(spec, np.array([10]), base_lr=other)[0]), other * floor / peak, rel_tol=1e-12)
