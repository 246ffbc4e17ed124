"""``lrviz plot --compare-frameworks``: the nominal schedule in every framework, the differences, and the translations
that reproduce transformers' curve, which are checked here against the real transformers, torch and timm code."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import invoke
from transformers import get_scheduler

ALL = "hf,deepspeed,torch,timm,axolotl,megatron,nemo"
NOMINAL = ["--lr", "2e-4", "--min-lr", "2e-6", "--steps", "1000", "--warmup-ratio", "0.03"]


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(invoke(["plot", *NOMINAL, "--compare-frameworks", ALL, "--no-file", "--json"]).stdout)


def test_document_carries_every_framework(document: dict) -> None:
    assert document["lrviz_version"] and document["command"] == "plot"
    assert [s["settings"]["framework"] for s in document["schedules"]] == ALL.split(",")
    settings = document["compare_frameworks"]["settings"]
    assert 'warmup_type="linear"' in settings["deepspeed"] and "--lr-warmup-fraction 0.03" in settings["megatron"]


def test_the_research_table_differences(document: dict) -> None:
    """Update 0 and 1 and the peak of each framework (research note, table A)."""
    points = {s["settings"]["framework"]: {p["label"]: p for p in s["key_points"]["points"]} for s in document["schedules"]}
    assert points["deepspeed"]["second update"]["lr"] == 0.0  # two updates at LR 0
    assert points["nemo"]["first update"]["lr"] == pytest.approx(2e-4 / 31)
    assert points["torch"]["first update"]["lr"] == pytest.approx(2e-12)
    peaks = {s["settings"]["framework"]: s["key_points"]["peak"] for s in document["schedules"]}
    assert peaks["deepspeed"]["lr"] < 2e-4 and peaks["timm"]["lr"] == pytest.approx(1.99561e-4, rel=1e-5)
    assert peaks["megatron"] == {"step": 30, "lr": 2e-4}


def test_translations_verdicts(document: dict) -> None:
    verdicts = {t["framework"]: t for t in document["compare_frameworks"]["translations"]}
    for name in ("torch", "timm", "axolotl", "megatron"):
        assert verdicts[name]["verdict"].startswith("exact within the run"), verdicts[name]
        assert verdicts[name]["max_relative_difference_in_run"] <= 1e-12
    for name in ("deepspeed", "nemo"):
        assert verdicts[name]["verdict"].startswith("none"), verdicts[name]


def hf_reference(updates: int) -> np.ndarray:
    weight = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    weight.grad = torch.ones_like(weight)
    optimizer = torch.optim.AdamW([weight], lr=2e-4)
    scheduler = get_scheduler("cosine_with_min_lr", optimizer, num_warmup_steps=30, num_training_steps=1000,
                              scheduler_specific_kwargs={"min_lr": 2e-6})
    lrs = []
    for _ in range(updates):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(lrs)


def test_torch_translation_reproduces_real_transformers(document: dict) -> None:
    weight = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    weight.grad = torch.ones_like(weight)
    optimizer = torch.optim.AdamW([weight], lr=2e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        linear = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1e-16, total_iters=30)
        cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=970, eta_min=2e-6)
        scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [linear, cosine], milestones=[30])
        lrs = []
        for _ in range(1000):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
    np.testing.assert_allclose(np.array(lrs), hf_reference(1000), rtol=1e-12, atol=1e-18)
    assert "start_factor=1e-16" in {t["framework"]: t for t in document["compare_frameworks"]["translations"]}["torch"]["settings"]


def test_timm_translation_reproduces_real_transformers() -> None:
    from lrviz.verify.schedulers import load_timm_cosine

    CosineLRScheduler = load_timm_cosine()
    if CosineLRScheduler is None:
        pytest.skip("timm is not installed")
    weight = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    weight.grad = torch.ones_like(weight)
    optimizer = torch.optim.AdamW([weight], lr=2e-4)
    scheduler = CosineLRScheduler(optimizer, t_initial=970, warmup_t=30, warmup_prefix=True, lr_min=2e-6,
                                  warmup_lr_init=0.0, t_in_epochs=False)
    lrs = []
    for update in range(1000):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step_update(update + 1)
    np.testing.assert_allclose(np.array(lrs), hf_reference(1000), rtol=1e-12, atol=1e-18)


def test_figure_is_written(tmp_path: Path) -> None:
    target = tmp_path / "frameworks.png"
    result = invoke(["plot", *NOMINAL, "--compare-frameworks", "deepspeed,timm", "-o", target])
    assert target.read_bytes().startswith(b"\x89PNG")
    assert "Where each differs most from hf" in result.stdout and "To reproduce the hf curve exactly" in result.stdout


@pytest.mark.parametrize("args, expect", [
    (["--compare-frameworks", "hf,deepspeeed"], "did you mean 'deepspeed'"),
    (["--compare-frameworks", "timm,timm"], "named twice"),
    (["--compare-frameworks", "timm", "--scheduler", "cosine"], "--scheduler with --compare-frameworks"),
    (["--compare-frameworks", "timm", "--compare", "cosine"], "use one of them"),
    (["--compare-frameworks", "timm", "--format", "csv", "-o", "x.csv"], "figure"),
])
def test_bad_input_exits_2(args: list[str], expect: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(["plot", *args], exit_code=2)
    assert expect in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert list(tmp_path.iterdir()) == []
