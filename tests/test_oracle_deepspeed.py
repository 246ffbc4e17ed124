"""Oracle tests: lrviz's DeepSpeed schedules against DeepSpeed's own ``deepspeed.runtime.lr_schedules`` classes.

A real ``torch.optim.AdamW`` with several param groups is built, the real DeepSpeed scheduler class is constructed
on it (which sets the LR for ``last_batch_iteration = -1``) and stepped as ``DeepSpeedEngine._take_model_step``
does: ``optimizer.step()``, then ``lr_scheduler.step()``. The LR each group holds when ``optimizer.step()`` runs is
recorded and must equal ``lr_at(spec, steps, base_lr=group_lr)`` to 1e-12 relative, over the run and 40% past it.

Where ``deepspeed`` is not installed (``pip install hjson einops msgpack pydantic && DS_BUILD_OPS=0 pip install
--no-deps --no-build-isolation deepspeed==0.19.8``, as ``.ci/run`` does), these tests skip and the recorded
vectors in ``tests/data/deepspeed_vectors.json`` (made by ``tests/data/make_deepspeed_vectors.py`` from the real
classes of 0.18.0, 0.19.2 and 0.19.8) still check every release lrviz models.
"""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lrviz.errors import SpecError
from lrviz.frameworks.deepspeed import param_group_lrs
from lrviz.schedules import lr_at
from lrviz.spec import ScheduleSpec

REL_TOL = 1e-12
DATA = Path(__file__).parent / "data" / "deepspeed_vectors.json"


def assert_exact(expected: np.ndarray, actual: np.ndarray, context: str) -> None:
    expected, actual = np.asarray(expected, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    assert expected.shape == actual.shape, context
    tolerance = np.maximum(REL_TOL * np.abs(expected), 1e-18)
    bad = np.flatnonzero(np.abs(expected - actual) > tolerance)
    assert not len(bad), f"{context}: first mismatch at update {bad[0]}: deepspeed {expected[bad[0]]!r} lrviz {actual[bad[0]]!r}"


def spec_for(name: str, peak: float, total: int, warmup: int, params: dict[str, Any], version: str | None = None) -> ScheduleSpec:
    return ScheduleSpec(scheduler=name, framework="deepspeed", peak_lr=peak, total_steps=total, warmup_steps=warmup,
                        scheduler_kwargs=params, framework_version=version)


# ------------------------------------------------------------------------------------ recorded vectors


def recorded_cases() -> list[dict[str, Any]]:
    return json.loads(DATA.read_text())["cases"]


@pytest.mark.parametrize("case", recorded_cases(), ids=lambda c: c["id"])
def test_recorded_vectors(case: dict[str, Any]) -> None:
    """Every release lrviz models, against the LRs the real classes of that release produced."""
    spec = spec_for(case["type"], case["group_lrs"][0], case["total_num_steps"], case["warmup_num_steps"],
                    case["params"], case["version"])
    steps = np.arange(len(case["lrs"]))
    predicted = param_group_lrs(spec, steps, case["group_lrs"])
    recorded = np.array(case["lrs"], dtype=np.float64)
    for group in range(len(case["group_lrs"])):
        assert_exact(recorded[:, group], predicted[group], f"{case['id']} group {group}")


def test_recorded_vectors_cover_every_release_and_type() -> None:
    document = json.loads(DATA.read_text())
    assert "provenance" in document
    seen = {(case["version"], case["type"]) for case in document["cases"]}
    for version in ("0.18.0", "0.19.2", "0.19.8"):
        for name in ("WarmupLR", "WarmupDecayLR", "WarmupCosineLR"):
            assert (version, name) in seen


# ---------------------------------------------------------------------------------------- live oracle

try:
    from deepspeed.runtime import lr_schedules
except ImportError:  # the recorded vectors above still check every release
    lr_schedules = None
import torch  # noqa: E402

logging.getLogger("DeepSpeed").setLevel(logging.ERROR)
live = pytest.mark.skipif(lr_schedules is None, reason="deepspeed is not installed")

GROUP_LRS = (2e-4, 5e-5, 1e-3)


def run_deepspeed(name: str, params: dict[str, Any], updates: int, group_lrs=GROUP_LRS) -> np.ndarray:
    """LR of every group at each of ``updates`` optimizer steps, stepped as the DeepSpeed engine steps."""
    weights = [torch.nn.Parameter(torch.full((2,), 0.5 + i, dtype=torch.float64)) for i in range(len(group_lrs))]
    optimizer = torch.optim.AdamW([{"params": [w], "lr": lr} for w, lr in zip(weights, group_lrs)], lr=group_lrs[0])
    scheduler = getattr(lr_schedules, name)(optimizer, **params)
    for w in weights:
        w.grad = torch.full_like(w, 0.1)  # a real gradient for a real optimizer.step(); its value does not matter
    recorded = np.empty((updates, len(group_lrs)))
    for s in range(updates):
        recorded[s] = [group["lr"] for group in optimizer.param_groups]
        optimizer.step()
        scheduler.step()
    return recorded


def grid() -> list[tuple[str, int, int, dict[str, Any]]]:
    # the nominal run (1000 updates, 3% warmup) for each type and warmup shape, then a grid of short runs
    cases = [("WarmupLR", 1000, 30, {"warmup_type": t}) for t in ("log", "linear")]
    cases += [("WarmupDecayLR", 1000, 30, {"warmup_type": t, "warmup_max_lr": 2e-4}) for t in ("log", "linear")]
    cases += [("WarmupCosineLR", 1000, 30, {"warmup_type": t, "cos_min_ratio": 0.01}) for t in ("log", "linear")]
    for total, warmup in ((100, 1), (100, 2), (50, 3), (40, 39), (40, 40), (30, 45), (7, 5), (200, 100)):
        for warmup_type in ("log", "linear"):
            cases.append(("WarmupLR", total, warmup, {"warmup_type": warmup_type}))
            cases.append(("WarmupLR", total, warmup, {"warmup_type": warmup_type, "warmup_min_lr": 1e-6, "warmup_max_lr": 3e-4}))
            cases.append(("WarmupDecayLR", total, warmup, {"warmup_type": warmup_type}))
            cases.append(("WarmupDecayLR", total, warmup, {"warmup_type": warmup_type, "warmup_min_lr": 2e-6, "warmup_max_lr": 2e-4}))
            cases.append(("WarmupDecayLR", total, warmup, {"warmup_type": warmup_type, "warmup_max_lr": None}))
            for cos_min, warm_min in itertools.product((0.0, 0.01, 0.5), (0.0, 0.1)):
                cases.append(("WarmupCosineLR", total, warmup,
                              {"warmup_type": warmup_type, "cos_min_ratio": cos_min, "warmup_min_ratio": warm_min}))
        cases.append(("WarmupCosineLR", total, warmup, {}))  # DeepSpeed's defaults: log, cos_min_ratio 1e-4
    return cases


GRID = grid()


@live
@pytest.mark.parametrize("name,total,warmup,params", GRID, ids=[f"{c[0]}-T{c[1]}-W{c[2]}-{i}" for i, c in enumerate(GRID)])
def test_matches_deepspeed(name: str, total: int, warmup: int, params: dict[str, Any]) -> None:
    updates = total + max(10, (2 * total) // 5)
    ds_params = dict(params, warmup_num_steps=warmup)
    if name != "WarmupLR":
        ds_params["total_num_steps"] = total
    expected = run_deepspeed(name, ds_params, updates)
    spec = spec_for(name, GROUP_LRS[0], total, warmup, params)
    steps = np.arange(updates)
    for group, base in enumerate(GROUP_LRS):
        assert_exact(expected[:, group], lr_at(spec, steps, base_lr=base), f"{name} T={total} W={warmup} {params} group {group}")


@live
def test_update_accounting_two_updates_at_zero() -> None:
    """The first two updates of WarmupCosineLR both run at LR 0; linear warmup never reaches the peak."""
    recorded = run_deepspeed("WarmupCosineLR", {"total_num_steps": 1000, "warmup_num_steps": 30,
                                                "cos_min_ratio": 0.01, "warmup_type": "linear"}, 1000, (2e-4,))
    assert recorded[0, 0] == 0.0 and recorded[1, 0] == 0.0
    spec = spec_for("WarmupCosineLR", 2e-4, 1000, 30, {"cos_min_ratio": 0.01, "warmup_type": "linear"})
    assert lr_at(spec, np.array([0, 1]))[1] == 0.0
    assert recorded[:, 0].max() < 2e-4 and lr_at(spec, np.arange(1000)).max() < 2e-4


@live
@pytest.mark.parametrize("warmup", [0, -1])
def test_non_positive_warmup_is_rejected_like_deepspeed(warmup: int) -> None:
    weights = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError, match="positive integer"):
        lr_schedules.WarmupCosineLR(torch.optim.SGD(weights, lr=0.1), total_num_steps=100, warmup_num_steps=warmup)
    with pytest.raises(SpecError, match="positive integer"):
        spec_for("WarmupCosineLR", 0.1, 100, max(warmup, 0), {})


@live
def test_deepspeed_version_installed_is_the_default() -> None:
    from importlib.metadata import version

    assert spec_for("WarmupLR", 1e-4, 10, 2, {}).framework_version == version("deepspeed")
