"""DeepSpeed ``OneCycle`` and ``LRRangeTest`` equal the installed DeepSpeed classes at every update (<= 1e-12).

The real class is built from the same ``scheduler.params`` and stepped as the engine steps it (record the LR
``optimizer.step()`` uses, then ``scheduler.step()``). The real QANet config of DeepSpeedExamples (OneCycle with
stairs and a decay) is one of the cases.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import invoke
from realworld import REAL_CONFIGS

QANET = REAL_CONFIGS / "deepspeed" / "dse_qanet_onecycle.json"

CASES = {
    "stairs_and_decay": ("OneCycle", {"cycle_min_lr": 0.004, "cycle_max_lr": 0.015, "cycle_first_step_size": 100,
                                      "cycle_second_step_size": 10, "cycle_first_stair_count": 10,
                                      "cycle_second_stair_count": 10, "decay_step_size": 100, "decay_lr_rate": 0.01}),
    "symmetric_continuous": ("OneCycle", {"cycle_min_lr": 1e-5, "cycle_max_lr": 1e-3, "cycle_first_step_size": 37}),
    "asymmetric_stairs_no_decay": ("OneCycle", {"cycle_min_lr": 3e-4, "cycle_max_lr": 3e-3, "cycle_first_step_size": 70,
                                                "cycle_second_step_size": 33, "cycle_first_stair_count": 7,
                                                "cycle_second_stair_count": 4, "decay_lr_rate": 0.5}),
    "decay_only_rate": ("OneCycle", {"cycle_min_lr": 1e-4, "cycle_max_lr": 1e-2, "cycle_first_step_size": 20,
                                     "cycle_second_step_size": 0, "decay_step_size": 7, "decay_lr_rate": 0.3}),
    "range_test": ("LRRangeTest", {"lr_range_test_min_lr": 1e-6, "lr_range_test_step_size": 17,
                                   "lr_range_test_step_rate": 2.5}),
    "range_test_staircase": ("LRRangeTest", {"lr_range_test_min_lr": 3e-5, "lr_range_test_step_size": 25,
                                             "lr_range_test_step_rate": 1.0, "lr_range_test_staircase": True}),
    "range_test_defaults": ("LRRangeTest", {}),
}


def real_lrs(name: str, params: dict[str, Any], updates: int) -> list[float]:
    torch = pytest.importorskip("torch")
    lr_schedules = pytest.importorskip("deepspeed.runtime.lr_schedules")
    logging.getLogger("DeepSpeed").setLevel(logging.ERROR)
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = getattr(lr_schedules, name)(optimizer, **params)
    lrs = []
    for _ in range(updates):
        lrs.append(optimizer.param_groups[0]["lr"])
        scheduler.step()
    return lrs


def drawn(config: Path, steps: int, *extra: Any) -> list[float]:
    result = invoke(["plot", "--config", config, "--steps", steps, *extra, "--format", "csv", "-o", "-"])
    return [float(line.split(",")[1]) for line in result.stdout.strip().splitlines()[1:]]


def assert_same(got: list[float], want: list[float]) -> None:
    assert len(got) == len(want)
    for update, (a, b) in enumerate(zip(got, want)):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300), (update, a, b)


def write(tmp_path: Path, name: str, params: dict[str, Any]) -> Path:
    path = tmp_path / "ds.json"
    path.write_text(json.dumps({"optimizer": {"type": "AdamW", "params": {"lr": 0.1}},
                                "scheduler": {"type": name, "params": params}}), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_equals_the_real_class(tmp_path: Path, case: str) -> None:
    name, params = CASES[case]
    steps = 400
    assert_same(drawn(write(tmp_path, name, params), steps), real_lrs(name, params, steps))


def test_the_real_qanet_config(tmp_path: Path) -> None:
    if not QANET.is_file():
        pytest.skip("../shared/real-world is not beside the repository")
    block = json.loads(QANET.read_text(encoding="utf-8"))["scheduler"]
    steps = 3000  # past the 1,100-update cycle, into the decay
    assert_same(drawn(QANET, steps), real_lrs(block["type"], block["params"], steps))


def test_before_0_19_4_stair_counts_are_ignored(tmp_path: Path) -> None:
    # deepspeed 0.19.3 (and 0.18.x) OneCycle._get_scale_factor has no stair code: the continuous cycle runs
    name, params = CASES["stairs_and_decay"]
    continuous = {key: value for key, value in params.items() if "stair" not in key}
    old = drawn(write(tmp_path, name, params), 300, "--framework-version", "0.19.3")
    assert_same(old, real_lrs(name, continuous, 300))
    assert old != drawn(write(tmp_path, name, params), 300)


@pytest.mark.parametrize("params, says", [
    ({"cycle_max_lr": 1e-3}, "scheduler.params.cycle_min_lr is missing"),
    ({"cycle_min_lr": 1e-4, "cycle_max_lr": 1e-3, "cycle_first_step_size": 0}, "cycle_first_step_size = 0"),
    ({"cycle_min_lr": 1e-4, "cycle_max_lr": 1e-3, "cycle_momentum": "yes"}, "must be true or false"),
    ({"cycle_min_lr": "auto", "cycle_max_lr": 1e-3}, 'cycle_min_lr = "auto" is not filled by transformers'),
])
def test_bad_one_cycle_blocks(tmp_path: Path, params: dict[str, Any], says: str) -> None:
    result = invoke(["plot", "--config", write(tmp_path, "OneCycle", params), "--steps", 100, "--no-file"], 2)
    assert says in result.stderr and result.stderr.count("\n") == 1


def test_flags_that_one_cycle_overrides_are_refused(tmp_path: Path) -> None:
    config = write(tmp_path, "OneCycle", {"cycle_min_lr": 1e-4, "cycle_max_lr": 1e-3})
    for flags, says in ((["--lr", "1e-3"], "overwrites the optimizer's lr"), (["--warmup-steps", "10"], "has no warmup"),
                        (["--min-lr", "1e-5"], "sets its LRs from")):
        result = invoke(["plot", "--config", config, "--steps", 100, *flags, "--no-file"], 2)
        assert says in result.stderr


def test_without_steps_lrviz_says_it_chose_the_length(tmp_path: Path) -> None:
    config = write(tmp_path, "LRRangeTest", {"lr_range_test_min_lr": 1e-5})
    settings = json.loads(invoke(["plot", "--config", config, "--json", "--no-file"]).stdout)["schedules"][0]["settings"]
    assert settings["total_steps"] == 1000 and settings["provenance"]["total_steps"] == "default (lrviz)"
    assert any("no run length of its own" in note for note in settings["notes"])
