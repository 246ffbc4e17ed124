"""``lrviz verify --framework deepspeed|torch|timm``: the framework's own scheduler class drives the optimizer of the
tiny GPT, stepped as that framework's training loop steps it; the report names the class and the package version.
Megatron-core and NeMo are not installed here: a labelled stand-in runs, the verdict says the framework was not
tested (exit 4), and ``--require-framework`` makes that exit 3.
"""

from __future__ import annotations

import importlib.util
import json
from importlib.metadata import version

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from cli_helpers import invoke  # noqa: E402

from lrviz.schedules import lr_at  # noqa: E402
from lrviz.spec import ScheduleSpec  # noqa: E402

pytestmark = pytest.mark.slow


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def run(*args: str, exit_code: int = 0) -> dict:
    return json.loads(invoke(["verify", "--device", "cpu", "--json", *args], exit_code=exit_code).stdout)


def assert_matches_prediction(report: dict) -> None:
    settings = report["verified"]
    spec = ScheduleSpec(scheduler=settings["scheduler"], framework=settings["framework"], peak_lr=settings["peak_lr"],
                        total_steps=settings["total_steps"], warmup_steps=settings["warmup_steps"],
                        scheduler_kwargs=settings["scheduler_kwargs"])
    groups = report["lr_check"]["groups"]
    assert len({g["initial_lr"] for g in groups}) >= 2
    for group in groups:
        realized = np.array(group["realized"])
        predicted = lr_at(spec, np.arange(len(realized)), base_lr=group["initial_lr"])
        assert len(realized) == spec.total_steps
        assert np.all(np.abs(realized - predicted) <= np.maximum(1e-12 * np.abs(predicted), 1e-18)), group["name"]


CASES = {
    "deepspeed-WarmupDecayLR": ("deepspeed.runtime", "deepspeed", "WarmupDecayLR",
                                ["--framework", "deepspeed", "--scheduler", "WarmupDecayLR", "--warmup-steps", "5"]),
    "deepspeed-WarmupCosineLR": ("deepspeed.runtime", "deepspeed", "WarmupCosineLR",
                                 ["--framework", "deepspeed", "--scheduler", "WarmupCosineLR", "--warmup-steps", "5",
                                  "--scheduler-kwargs", '{"cos_min_ratio": 0.1, "warmup_type": "linear"}']),
    "torch-SequentialLR": ("torch", "torch", "SequentialLR",
                           ["--framework", "torch", "--scheduler", "SequentialLR", "--warmup-steps", "5"]),
    "torch-CosineAnnealingLR": ("torch", "torch", "CosineAnnealingLR",
                                ["--framework", "torch", "--scheduler", "CosineAnnealingLR", "--min-lr", "1e-5"]),
    "timm-CosineLRScheduler": ("timm", "timm", "CosineLRScheduler",
                               ["--framework", "timm", "--scheduler", "CosineLRScheduler", "--warmup-steps", "5"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_frameworks_own_class_drives_the_optimizer(case):
    module, package, class_name, args = CASES[case]
    if not installed(module):
        pytest.skip(f"{package} is not installed")
    report = run(*args, "--steps", "30", "--lr", "1e-3")
    assert report["passed"] is True and report["exit_code"] == 0 and report["framework_tested"] is True
    scheduler = report["scheduler"]
    assert scheduler["kind"] == "framework" and scheduler["class"] == class_name
    assert scheduler["version"] == (torch.__version__ if package == "torch" else version(package))
    assert scheduler["source"].startswith({"deepspeed": "deepspeed.runtime.lr_schedules.", "torch": "torch.optim.",
                                           "timm": "timm.scheduler."}[package])
    assert report["lr_check"]["scheduler_index"] == list(range(30))
    assert_matches_prediction(report)
    text = " ".join(invoke(["verify", "--device", "cpu", *args, "--steps", "30", "--lr", "1e-3"]).stdout.split())
    assert f"the framework's own scheduler ({package} " in text and class_name in text


@pytest.mark.parametrize("framework, package, module", [("megatron", "megatron-core", "megatron.core"),
                                                        ("nemo", "nemo_toolkit", "nemo")])
def test_a_missing_framework_is_a_labelled_stand_in(framework, package, module):
    if installed(module):
        pytest.skip(f"{package} is installed")
    report = run("--framework", framework, "--steps", "30", exit_code=4)
    assert report["scheduler"]["kind"] == "lrviz-lambda" and report["framework_tested"] is False
    assert report["lr_check"]["matches"] is True and report["passed"] is False
    assert report["notes"][0].startswith(f"{package} is not installed")
    assert report["verdict"] == "stepping checked against lrviz's formula; the framework was not tested"
    result = invoke(["verify", "--device", "cpu", "--framework", framework, "--steps", "30", "--require-framework"],
                    exit_code=3)
    assert result.stdout.strip().splitlines()[-1].endswith("the framework was not tested (--require-framework: exit 3)")
