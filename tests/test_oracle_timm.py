"""Oracle tests: lrviz's ``--framework timm`` against timm's own ``CosineLRScheduler``, stepped per update.

``import timm`` needs torchvision, which is not a test dependency (it would pull a CUDA torch), so timm's real
``timm/scheduler/scheduler.py`` and ``timm/scheduler/cosine_lr.py`` are loaded straight from the installed package
under a stand-in parent package: the code that runs is timm's own, byte for byte. The scheduler is built on a
real ``torch.optim.AdamW`` with three param groups and stepped as timm's ``train.py`` does with
``--sched-on-updates``: ``optimizer.step()``, ``num_updates += 1``, ``lr_scheduler.step_update(num_updates)``.

Without timm (``pip install --no-deps timm==1.0.31``, as ``.ci/run`` does) the live tests skip and
``tests/data/timm_vectors.json`` (made by ``tests/data/make_timm_vectors.py`` from the same real code) stands in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lrviz.schedules import lr_at
from lrviz.spec import ScheduleSpec

GROUP_LRS = (2e-4, 5e-5, 1e-3)
DATA = Path(__file__).parent / "data" / "timm_vectors.json"


def spec_for(total: int, warmup: int, kwargs: dict[str, Any]) -> ScheduleSpec:
    return ScheduleSpec(scheduler="CosineLRScheduler", framework="timm", peak_lr=GROUP_LRS[0], total_steps=total,
                        warmup_steps=warmup, scheduler_kwargs=kwargs)


def assert_exact(expected: np.ndarray, actual: np.ndarray, context: str) -> None:
    tolerance = np.maximum(1e-12 * np.abs(expected), 1e-18)
    bad = np.flatnonzero(np.abs(expected - actual) > tolerance)
    assert not len(bad), f"{context}: first mismatch at update {bad[0]}: timm {expected[bad[0]]!r} lrviz {actual[bad[0]]!r}"


@pytest.mark.parametrize("case", json.loads(DATA.read_text())["cases"], ids=lambda c: c["id"])
def test_recorded_vectors(case: dict[str, Any]) -> None:
    spec = spec_for(case["total"], case["warmup_t"], case["kwargs"])
    recorded = np.array(case["lrs"])
    for group, base in enumerate(case["group_lrs"]):
        assert_exact(recorded[:, group], lr_at(spec, np.arange(len(recorded)), base_lr=base), f"{case['id']} g{group}")


try:  # the loader verify uses: timm's own files under a stand-in parent package, never timm/__init__
    from lrviz.verify.schedulers import load_timm_cosine
except ImportError:  # no torch: the recorded vectors stand in
    CosineLRScheduler = None
else:
    CosineLRScheduler = load_timm_cosine()
live = pytest.mark.skipif(CosineLRScheduler is None, reason="timm is not installed")


def run_timm(total: int, warmup: int, kwargs: dict[str, Any], updates: int) -> np.ndarray:
    import torch

    weights = [torch.nn.Parameter(torch.full((2,), 0.5 + i, dtype=torch.float64)) for i in range(len(GROUP_LRS))]
    for w in weights:
        w.grad = torch.full_like(w, 0.1)
    optimizer = torch.optim.AdamW([{"params": [w], "lr": lr} for w, lr in zip(weights, GROUP_LRS)], lr=GROUP_LRS[0])
    spec = spec_for(total, warmup, kwargs)
    from lrviz.frameworks.timm import t_initial

    timm_kwargs = {key: value for key, value in kwargs.items() if key != "t_initial"}
    scheduler = CosineLRScheduler(optimizer, t_initial=t_initial(spec), warmup_t=warmup, t_in_epochs=False, **timm_kwargs)
    recorded = np.empty((updates, len(GROUP_LRS)))
    num_updates = 0
    for s in range(updates):
        recorded[s] = [group["lr"] for group in optimizer.param_groups]
        optimizer.step()
        num_updates += 1
        scheduler.step_update(num_updates=num_updates)
    return recorded


GRID = [
    (total, warmup, kwargs)
    for total, warmup in ((1000, 30), (100, 0), (60, 7), (20, 19))
    for kwargs in (
        {},
        {"lr_min": 2e-6},
        {"lr_min": 2e-6, "warmup_lr_init": 1e-5},
        {"lr_min": 2e-6, "warmup_prefix": True},
        {"lr_min": 1e-6, "cycle_limit": 3, "cycle_decay": 0.5, "t_initial": max(1, total // 4)},
        {"lr_min": 1e-6, "cycle_limit": 4, "cycle_mul": 2.0, "t_initial": max(1, total // 8)},
        {"k_decay": 1.5, "warmup_prefix": True, "warmup_lr_init": 1e-7},
    )
]


@live
@pytest.mark.parametrize("total,warmup,kwargs", GRID, ids=[f"T{t}-W{w}-{i}" for i, (t, w, _) in enumerate(GRID)])
def test_matches_timm(total: int, warmup: int, kwargs: dict[str, Any]) -> None:
    updates = total + max(10, (2 * total) // 5)
    expected = run_timm(total, warmup, kwargs, updates)
    spec = spec_for(total, warmup, kwargs)
    for group, base in enumerate(GROUP_LRS):
        assert_exact(expected[:, group], lr_at(spec, np.arange(updates), base_lr=base), f"T={total} W={warmup} {kwargs} g{group}")


@live
def test_default_never_reaches_the_peak_and_prefix_does() -> None:
    plain = run_timm(1000, 30, {"lr_min": 2e-6}, 1000)[:, 0]
    prefixed = run_timm(1000, 30, {"lr_min": 2e-6, "warmup_prefix": True}, 1000)[:, 0]
    assert plain.max() < 2e-4 and prefixed.max() == pytest.approx(2e-4, rel=1e-15)
    spec = spec_for(1000, 30, {"lr_min": 2e-6})
    assert any("never reached" in note for note in __import__("lrviz.frameworks.catalog", fromlist=["x"]).spec_notes(spec))
