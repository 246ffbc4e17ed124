"""Oracle tests: lrviz's ``--framework megatron`` and ``--framework nemo`` against the installed packages' own
scheduler objects, built and stepped exactly as ``lrviz verify`` builds and steps them.

* Megatron-core's ``OptimizerParamScheduler`` (``pip install --no-deps megatron-core==0.16.1``), with the arguments
  Megatron-LM's ``training.py::get_optimizer_param_scheduler`` derives, stepped ``step(increment=global_batch_size)``
  after every iteration, as ``train_step`` does.
* NeMo's ``prepare_lr_scheduler`` (``nemo_toolkit==3.0.0`` and the light part of its dependencies, as ``.ci/run``
  installs them) on the ``optim.sched`` block, stepped once per optimizer step.

Every param group (three, with different LRs and weight decays) must agree to 1e-12 relative at every update, 20%
past the end of the run included. Without the packages these tests skip and ``tests/test_megatron_nemo.py``'s
recorded vectors stand in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from lrviz.errors import SpecError  # noqa: E402
from lrviz.schedules import lr_at  # noqa: E402
from lrviz.spec import ScheduleSpec  # noqa: E402
from lrviz.verify import megatron_nemo  # noqa: E402

GROUP_LRS = (2e-4, 5e-5, 1e-3)
WEIGHT_DECAYS = (0.1, 0.0, 0.0)


def optimizer() -> torch.optim.Optimizer:
    weights = [torch.nn.Parameter(torch.full((2,), 0.5 + i, dtype=torch.float64)) for i in range(len(GROUP_LRS))]
    for weight in weights:
        weight.grad = torch.full_like(weight, 0.1)
    return torch.optim.AdamW([{"params": [w], "lr": lr, "weight_decay": wd}
                              for w, lr, wd in zip(weights, GROUP_LRS, WEIGHT_DECAYS)], lr=GROUP_LRS[0])


def _importable(build: Any, spec: ScheduleSpec) -> str | None:
    built = build(spec, optimizer())
    return built if isinstance(built, str) else None


MEGATRON_PROBE = ScheduleSpec(scheduler="cosine", framework="megatron", peak_lr=GROUP_LRS[0], total_steps=10)
NEMO_PROBE = ScheduleSpec(scheduler="CosineAnnealing", framework="nemo", peak_lr=GROUP_LRS[0], total_steps=10)
MEGATRON_MISSING = _importable(megatron_nemo.megatron, MEGATRON_PROBE)
NEMO_MISSING = _importable(megatron_nemo.nemo, NEMO_PROBE)
needs_megatron = pytest.mark.skipif(MEGATRON_MISSING is not None, reason=str(MEGATRON_MISSING))
needs_nemo = pytest.mark.skipif(NEMO_MISSING is not None, reason=str(NEMO_MISSING))


def realized(build: Any, spec: ScheduleSpec, updates: int) -> tuple[np.ndarray, list[float]]:
    """Each group's LR at every optimizer step, the scheduler stepped after it; and the groups' weight decays."""
    opt = optimizer()
    built = build(spec, opt)
    assert not isinstance(built, str), built
    scheduler, implementation, _ = built
    assert implementation.is_framework
    rows = []
    for _ in range(updates):
        rows.append([group["lr"] for group in opt.param_groups])
        opt.step()
        scheduler.step()
    return np.array(rows), [group["weight_decay"] for group in opt.param_groups]


def assert_exact(build: Any, spec: ScheduleSpec, context: str) -> None:
    updates = spec.total_steps + spec.total_steps // 5
    lrs, decays = realized(build, spec, updates)
    for group, base in enumerate(GROUP_LRS):
        predicted = lr_at(spec, np.arange(updates), base_lr=base)
        expected = lrs[:, group]
        bad = np.flatnonzero(np.abs(predicted - expected) > np.maximum(1e-12 * np.abs(expected), 1e-18))
        assert not len(bad), f"{context} g{group} update {bad[0]}: framework {expected[bad[0]]!r} lrviz {predicted[bad[0]]!r}"
    assert decays == list(WEIGHT_DECAYS), "the scheduler changed a group's weight decay"


def megatron_spec(style: str, iters: int, gbs: int, kwargs: dict[str, Any], warmup_iters: int = 0) -> ScheduleSpec:
    return ScheduleSpec(scheduler=style, framework="megatron", peak_lr=GROUP_LRS[0], total_steps=iters,
                        warmup_steps=warmup_iters, scheduler_kwargs={**kwargs, "global_batch_size": gbs})


MEGATRON = [
    # (style, train_iters, global batch, --lr-warmup-iters, kwargs as lrviz spells them)
    ("cosine", 1000, 1, 0, {"min_lr": 2e-6, "lr_warmup_fraction": 0.03}),
    ("cosine", 939, 32, 0, {"min_lr": 2e-6, "lr_warmup_fraction": 0.03}),
    ("cosine", 400, 8, 20, {"min_lr": 1e-6, "lr_warmup_init": 1e-5, "lr_decay_iters": 300}),
    ("cosine", 300, 4, 0, {}),
    ("linear", 500, 4, 25, {"min_lr": 2e-6}),
    ("linear", 250, 3, 0, {"min_lr": 1e-5, "lr_decay_iters": 260, "lr_warmup_fraction": 0.1}),
    ("constant", 200, 1, 10, {}),
    ("constant", 200, 16, 0, {"min_lr": 1e-6}),
    ("inverse-square-root", 300, 2, 30, {"min_lr": 1e-5}),
    ("inverse-square-root", 300, 1, 0, {"min_lr": 5e-5}),
    ("WSD", 600, 1, 30, {"min_lr": 2e-6, "lr_wsd_decay_iters": 120, "lr_wsd_decay_style": "exponential"}),
    ("WSD", 600, 2, 0, {"min_lr": 2e-6, "lr_warmup_fraction": 0.05, "lr_wsd_decay_iters": 100, "lr_wsd_decay_style": "cosine"}),
    ("WSD", 600, 1, 30, {"lr_wsd_decay_iters": 200, "lr_wsd_decay_style": "minus_sqrt"}),
    ("WSD", 600, 1, 30, {"min_lr": 1e-6, "lr_wsd_decay_iters": 60, "lr_wsd_decay_style": "linear"}),
    ("WSD", 400, 8, 10, {"min_lr": 1e-6, "lr_wsd_decay_iters": 50}),  # Megatron's default WSD decay: exponential
]

MEGATRON_SAMPLES = [
    # (style, train_iters = train_samples // gbs, gbs, kwargs): --train-samples runs count the spans in samples
    ("cosine", 5_000 // 32, 32, {"min_lr": 1e-6, "lr_decay_samples": 5_000, "lr_warmup_samples": 320}),
    ("cosine", 2_999 // 16, 16, {"min_lr": 2e-6, "lr_decay_samples": 2_400, "lr_warmup_fraction": 0.02}),
    ("linear", 1_000 // 8, 8, {"min_lr": 0.0, "lr_decay_samples": 1_000, "lr_warmup_samples": 100}),
    ("WSD", 4_800 // 24, 24, {"min_lr": 1e-6, "lr_decay_samples": 4_800, "lr_warmup_samples": 480,
                              "lr_wsd_decay_samples": 960, "lr_wsd_decay_style": "cosine"}),
]


@needs_megatron
@pytest.mark.parametrize("case", MEGATRON, ids=lambda c: f"{c[0]}-T{c[1]}-gbs{c[2]}-W{c[3]}")
def test_megatron_iteration_runs(case: tuple) -> None:
    style, iters, gbs, warmup, kwargs = case
    assert_exact(megatron_nemo.megatron, megatron_spec(style, iters, gbs, kwargs, warmup), str(case))


@needs_megatron
@pytest.mark.parametrize("case", MEGATRON_SAMPLES, ids=lambda c: f"{c[0]}-T{c[1]}-gbs{c[2]}")
def test_megatron_sample_runs(case: tuple) -> None:
    style, iters, gbs, kwargs = case
    assert_exact(megatron_nemo.megatron, megatron_spec(style, iters, gbs, kwargs), str(case))


@needs_megatron
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(style=st.sampled_from(["linear", "cosine", "constant", "inverse-square-root", "WSD"]),
       iters=st.integers(2, 200), gbs=st.integers(1, 64), data=st.data())
def test_megatron_any_setting(style: str, iters: int, gbs: int, data: st.DataObject) -> None:
    kwargs: dict[str, Any] = {"min_lr": data.draw(st.sampled_from([0.0, 1e-6, 2e-5])),
                              "lr_warmup_init": data.draw(st.sampled_from([0.0, 0.0, 1e-6]))}
    warmup = 0
    if data.draw(st.booleans()):
        kwargs["lr_warmup_fraction"] = data.draw(st.sampled_from([0.01, 0.03, 0.1, 0.333]))
    else:
        warmup = data.draw(st.integers(0, iters))
    if data.draw(st.booleans()):
        kwargs["lr_decay_iters"] = data.draw(st.integers(1, 2 * iters))
    if style == "WSD":
        kwargs["lr_wsd_decay_iters"] = data.draw(st.integers(1, iters))
        kwargs["lr_wsd_decay_style"] = data.draw(st.sampled_from(["linear", "cosine", "exponential", "minus_sqrt"]))
    try:
        spec = megatron_spec(style, iters, gbs, kwargs, warmup)
    except SpecError:
        assume(False)  # a setting Megatron asserts against: lrviz refuses it too (tests/test_megatron_nemo.py)
    assert_exact(megatron_nemo.megatron, spec, f"{style} T{iters} gbs{gbs} W{warmup} {kwargs}")


def nemo_spec(name: str, max_steps: int, kwargs: dict[str, Any], warmup: int = 0) -> ScheduleSpec:
    return ScheduleSpec(scheduler=name, framework="nemo", peak_lr=GROUP_LRS[0], total_steps=max_steps,
                        warmup_steps=warmup, scheduler_kwargs=kwargs)


NEMO = [
    # (scheduler, max_steps, warmup_steps, kwargs)
    ("CosineAnnealing", 1000, 0, {"min_lr": 2e-6, "warmup_ratio": 0.03}),
    ("CosineAnnealing", 1000, 30, {"min_lr": 2e-6}),
    ("CosineAnnealing", 1000, 30, {"min_lr": 6e-5, "constant_steps": 80000}),  # the NeMo 2 wrapper's defaults
    ("CosineAnnealing", 500, 20, {"min_lr": 1e-6, "constant_ratio": 0.1}),
    ("CosineAnnealing", 500, 20, {"min_lr": 1e-6, "constant_steps": 50}),
    ("CosineAnnealing", 300, 0, {"min_lr": 0.0}),
    ("CosineAnnealing", 300, 0, {}),
    ("CosineAnnealing", 100, 0, {"min_lr": 1e-5, "warmup_ratio": 0.07}),
    ("WarmupAnnealing", 500, 0, {"min_lr": 1e-5, "warmup_ratio": 0.01}),  # the T5 / UL2 configs' block
    ("WarmupAnnealing", 150, 17, {"min_lr": 0.0}),
    ("WarmupAnnealing", 100, 0, {}),
    ("SquareAnnealing", 150, 20, {}),  # NeMo's default min_lr here is 1e-5
    ("SquareAnnealing", 150, 0, {"min_lr": 3e-6, "warmup_ratio": 0.05}),
    ("SquareRootAnnealing", 150, 30, {"min_lr": 1e-6}),
    ("SquareRootAnnealing", 150, 0, {}),
    ("InverseSquareRootAnnealing", 150, 40, {}),
    ("InverseSquareRootAnnealing", 150, 0, {"warmup_ratio": 0.2}),
]


@needs_nemo
@pytest.mark.parametrize("case", NEMO, ids=lambda c: f"{c[0]}-T{c[1]}-W{c[2]}-{'-'.join(c[3])}")
def test_nemo_schedulers(case: tuple) -> None:
    name, max_steps, warmup, kwargs = case
    assert_exact(megatron_nemo.nemo, nemo_spec(name, max_steps, kwargs, warmup), str(case))


@needs_nemo
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(name=st.sampled_from(["CosineAnnealing", "WarmupAnnealing", "SquareAnnealing", "SquareRootAnnealing",
                             "InverseSquareRootAnnealing"]), max_steps=st.integers(2, 200), data=st.data())
def test_nemo_any_setting(name: str, max_steps: int, data: st.DataObject) -> None:
    kwargs: dict[str, Any] = {}
    if data.draw(st.booleans()):
        kwargs["min_lr"] = data.draw(st.sampled_from([0.0, 1e-6, 2e-5]))
    warmup = 0
    if data.draw(st.booleans()):
        kwargs["warmup_ratio"] = data.draw(st.sampled_from([0.01, 0.05, 0.2, 0.5]))
    else:
        warmup = data.draw(st.integers(0, max_steps))
    if name == "CosineAnnealing" and data.draw(st.booleans()):
        if data.draw(st.booleans()):
            kwargs["constant_steps"] = data.draw(st.integers(0, 2 * max_steps))
        else:
            kwargs["constant_ratio"] = data.draw(st.sampled_from([0.0, 0.1, 0.5]))
    try:
        spec = nemo_spec(name, max_steps, kwargs, warmup)
    except SpecError:
        assume(False)  # a setting NeMo asserts against or divides by zero on: lrviz refuses it too
    assert_exact(megatron_nemo.nemo, spec, f"{name} T{max_steps} W{warmup} {kwargs}")


@needs_megatron
def test_megatron_scheduler_index_counts_iterations() -> None:
    spec = megatron_spec("cosine", 50, 16, {"min_lr": 1e-6}, 5)
    scheduler, implementation, _ = megatron_nemo.megatron(spec, optimizer())
    indices = []
    for _ in range(7):
        indices.append(scheduler.last_epoch)
        scheduler.step()
    assert indices == list(range(7)) and scheduler.scheduler.num_steps == 7 * 16
    assert implementation.package == "megatron-core" and "step(increment=16)" in implementation.source
