"""check-run without a config: inferring the schedule, on public logs and on random transformers schedules;
plus its outputs (JSON, overlay figure) and start-up cost.

Expected values are the ones stated in shared/research/users.md (A8, C5, C7) from arithmetic on the public data,
DeepSpeed's WarmupLR formula (deepspeed/runtime/lr_schedules.py), or transformers' own scheduler objects.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cli_helpers import invoke
from realworld import REAL_LOGS, requires_real_world

DATA = Path(__file__).parent / "data"
DHEENA = REAL_LOGS / "tinyllama-lora" / "trainer_state.json"  # Dheena731/tinyLlama-finetune@6c71f96fae31
DEEPSPEED = DATA / "deepspeed_warmuplr_trainer_state.json"


def check(*args: object, code: int) -> dict:
    return json.loads(invoke(["check-run", *args, "--json"], code).stdout)


def causes(document: dict) -> dict:
    return {finding["cause"]: finding["steps"] for finding in document["findings"]}


def hf_cosine(k: int, peak: float, warmup: int, total: int) -> float:
    """transformers' cosine lambda (optimization.py), written out by hand."""
    if k < warmup:
        return peak * (float(k) / float(max(1, warmup)))
    progress = float(k - warmup) / float(max(1, total - warmup))
    return peak * max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))


# ------------------------------------------------------------------------------------------ the public log


@requires_real_world
def test_dheena_file_is_the_documented_public_copy():
    """users.md C5 quotes these entries of Dheena731/tinyLlama-finetune@c9a022f7 trainer_state.json verbatim."""
    data = json.loads(DHEENA.read_text())
    assert (data["global_step"], data["max_steps"], data["logging_steps"], data["num_train_epochs"]) == (2800, 2808, 15, 2)
    quoted = {15: 2.456140350877193e-06, 30: 5.087719298245615e-06, 45: 7.719298245614036e-06, 60: 9.999986958775362e-06,
              1410: 5.134166786445573e-06, 2010: 1.9409268299042235e-06, 2040: 1.8116483369853853e-06,
              2700: 3.9397872942069646e-08, 2790: 1.3040663405394782e-09}
    lrs = {e["step"]: e["learning_rate"] for e in data["log_history"] if "learning_rate" in e}
    assert {step: lrs[step] for step in quoted} == quoted
    # A8: lambda(step - 1) up to 2025, lambda(step - 2) from 2040 (HF cosine, 1e-5, T 2808, W 57)
    for step, lr in lrs.items():
        update = step - 1 if step <= 2025 else step - 2
        assert abs(hf_cosine(update, 1e-5, 57, 2808) - lr) <= 1e-12 * lr, step


@requires_real_world
def test_dheena_inferred_with_the_drift_and_where_it_begins():
    document = check(DHEENA, code=1)
    settings_ = document["inferred"]["settings"]
    assert (settings_["scheduler"], settings_["peak_lr"], settings_["total_steps"], settings_["warmup_steps"]) == \
        ("cosine", 1e-5, 2808, 57)
    assert document["inferred"]["ranges"] == {}
    assert causes(document)["skipped-step"] == [2025, 2040]
    assert document["convention"]["name"] == "hf"
    assert document["max_relative_error_at_matched_update"] == 0.0
    snippet = document["inferred"]["snippets"][0]["text"]
    assert "lr_scheduler_type: cosine" in snippet and "warmup_steps: 57" in snippet and "max_steps: 2808" in snippet
    assert "learning_rate: 1.0e-5" in snippet


@requires_real_world
def test_dheena_against_its_config(tmp_path):
    config = tmp_path / "train.yaml"
    config.write_text("learning_rate: 1.0e-5\nlr_scheduler_type: cosine\nwarmup_steps: 0.02\nmax_steps: 2808\n")
    document = check(DHEENA, "--config", config, code=1)
    assert document["schedule"]["settings"]["warmup_steps"] == 57  # ceil(0.02 × 2808)
    errors = [f["cause"] for f in document["findings"] if f["severity"] == "error"]
    assert errors == ["skipped-step"]
    assert causes(document)["skipped-step"] == [2025, 2040]


@requires_real_world
def test_dheena_cut_before_the_drift_follows_and_stopped_early(tmp_path):
    data = json.loads(DHEENA.read_text())
    data["log_history"] = [e for e in data["log_history"] if e["step"] <= 1500]
    cut = tmp_path / "trainer_state.json"
    cut.write_text(json.dumps(data))
    document = check(cut, "--lr", 1e-5, "--scheduler", "cosine", "--warmup-steps", 57, code=0)
    assert document["schedule"]["spec"]["provenance"]["total_steps"] == "trainer_state.json:max_steps"
    assert document["followed"] and document["max_relative_error"] <= 1e-12
    assert causes(document)["stopped-early"] == [1500, 1500]


@requires_real_world
@pytest.mark.parametrize("form", ["llamafactory", "wandb", "tensorboard"])
def test_dheena_in_other_formats(form, tmp_path):
    """The same run as LLaMA-Factory's LogCallback (current_steps = global_step, total_steps = max_steps), a W&B
    panel export and a TensorBoard CSV (float32 values) would store it."""
    data = json.loads(DHEENA.read_text())
    entries = [(e["step"], e["learning_rate"]) for e in data["log_history"] if "learning_rate" in e]
    if form == "llamafactory":
        path = tmp_path / "trainer_log.jsonl"
        path.write_text("".join(json.dumps({"current_steps": s, "total_steps": 2808, "loss": 1.0, "learning_rate": lr}) + "\n"
                                for s, lr in entries))
    elif form == "wandb":
        path = tmp_path / "wandb.csv"
        path.write_text('"Step","tiny - train/learning_rate"\n' + "".join(f"{s},{lr!r}\n" for s, lr in entries))
    else:
        import numpy as np

        path = tmp_path / "tensorboard.csv"
        path.write_text("Wall time,Step,Value\n" + "".join(f"1.7e9,{s},{float(np.float32(lr))!r}\n" for s, lr in entries))
    document = check(path, code=1)
    settings_ = document["inferred"]["settings"]
    assert (settings_["scheduler"], settings_["peak_lr"], settings_["total_steps"], settings_["warmup_steps"]) == \
        ("cosine", 1e-5, 2808, 57)
    assert causes(document)["skipped-step"] == [2025, 2040]
    if form == "tensorboard":
        assert document["tolerance"] == 2.0**-24


# ------------------------------------------------------------------------------------------ DeepSpeed


def deepspeed_warmuplr(update: int, peak: float, warmup: int) -> float:
    """DeepSpeed WarmupLR (min 0, warmup_type log), update s at last_batch_iteration s - 1 (schedulers.md §4)."""
    i = update - 1
    if i < 0:
        return 0.0
    W = max(2, warmup)
    gamma = (1.0 / math.log(W)) * math.log(i + 1) if i < W else 1.0
    return 0.0 + (peak - 0.0) * gamma


def test_deepspeed_fixture_is_warmuplr():
    data = json.loads(DEEPSPEED.read_text())
    for entry in data["log_history"]:
        if "learning_rate" in entry:
            expected = deepspeed_warmuplr(entry["step"] - 1, 1e-5, 15)
            assert abs(entry["learning_rate"] - expected) <= 1e-12 * expected + 1e-18


def test_deepspeed_warmuplr_recognised_and_named():
    document = check(DEEPSPEED, code=0)
    settings_ = document["inferred"]["settings"]
    assert (settings_["framework"], settings_["scheduler"], settings_["peak_lr"], settings_["warmup_steps"]) == \
        ("deepspeed", "WarmupLR", 1e-5, 15)
    assert settings_["params"]["warmup_type"] == "log"
    assert "deepspeed-warmuplr" in causes(document)
    assert '"type": "WarmupLR"' in document["inferred"]["snippets"][0]["text"]


def test_deepspeed_replaced_the_configured_cosine(tmp_path):
    config = tmp_path / "sft.json"
    config.write_text(json.dumps({"learning_rate": 1e-5, "lr_scheduler_type": "cosine", "warmup_steps": 15,
                                  "deepspeed": "ds_z3.json"}))
    document = check(DEEPSPEED, "--config", config, code=1)
    assert list(causes(document)) == ["deepspeed-warmuplr"]
    assert document["explained_by"]["scheduler"] == "WarmupLR"
    assert causes(document)["deepspeed-warmuplr"][1] == 39


def test_deepspeed_block_referenced_by_the_config_is_the_schedule_checked(tmp_path):
    """An HF config whose deepspeed: file has a WarmupLR block with "auto" values (LLaVA's zero3 configs): the run
    followed that block, and check-run says it replaced the configured cosine."""
    (tmp_path / "ds.json").write_text(json.dumps({"zero_optimization": {"stage": 2}, "scheduler": {
        "type": "WarmupLR", "params": {"warmup_min_lr": "auto", "warmup_max_lr": "auto", "warmup_num_steps": "auto"}}}))
    config = tmp_path / "sft.json"
    config.write_text(json.dumps({"learning_rate": 1e-5, "lr_scheduler_type": "cosine", "warmup_steps": 15,
                                  "deepspeed": str(tmp_path / "ds.json")}))
    document = check(DEEPSPEED, "--config", config, code=0)
    assert document["max_relative_error"] <= 1e-12
    assert document["schedule"]["settings"]["framework"] == "deepspeed"
    assert causes(document)["deepspeed-warmuplr"] == [1, 39]


def test_qwen_vl_issue_183_vector_is_a_log_warmup(tmp_path):
    """users.md C7: the first six LRs posted in QwenLM/Qwen-VL #183 fit 1e-5·ln(i+1)/ln(260) (DeepSpeed WarmupLR)."""
    values = [0.0, 1.2465147738252339e-06, 1.9756791731079096e-06, 2.4930295476504678e-06, 2.8943176740369767e-06,
              3.2221939469331433e-06]
    for i, value in enumerate(values):
        assert abs(1e-5 * math.log(i + 1) / math.log(260) - value) <= 1e-12 * max(value, 1e-30)
    path = tmp_path / "qwen.csv"
    path.write_text("step,learning_rate\n" + "".join(f"{i + 1},{v!r}\n" for i, v in enumerate(values)))
    document = check(path, code=0)
    settings_ = document["inferred"]["settings"]
    assert (settings_["scheduler"], settings_["peak_lr"], settings_["warmup_steps"]) == ("WarmupLR", 1e-5, 260)
    assert document["inferred"]["ranges"]["warmup_steps"][1] is None  # six points cannot pin the length down
    assert document["convention"]["name"] == "hf-legacy"  # that era logged the next update's LR
    assert "deepspeed-warmuplr" in causes(document)


# ------------------------------------------------------------------------------------------ property


SCHEDULERS = ("linear", "cosine", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "constant_with_warmup")


@st.composite
def hf_runs(draw):
    scheduler = draw(st.sampled_from(SCHEDULERS))
    total = draw(st.integers(8, 2500))
    warmup = draw(st.integers(0, total // 3))
    peak = draw(st.sampled_from([1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 3e-4, 1e-3, 2.5e-5, 7e-6]))
    kwargs = {}
    if scheduler in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        if draw(st.booleans()):
            kwargs = {"min_lr_rate": draw(st.sampled_from([0.01, 0.05, 0.1, 0.2, 0.3]))}
        else:
            kwargs = {"min_lr": peak * draw(st.sampled_from([0.01, 0.1]))}
    every = draw(st.sampled_from([1, 1, 2, 3, 5, 10, 25]))
    return scheduler, peak, warmup, total, kwargs, every


def _lambda(scheduler: str, peak: float, warmup: int, total: int, kwargs: dict):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    optimizer = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=peak)
    built = transformers.get_scheduler(scheduler, optimizer, num_warmup_steps=warmup, num_training_steps=total,
                                       scheduler_specific_kwargs=kwargs or None)
    return lambda k: peak * built.lr_lambdas[0](k)  # LambdaLR.get_lr: base_lr * lmbda(last_epoch)


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(hf_runs())
def test_any_transformers_schedule_is_inferred_back_exactly(tmp_path_factory, run):
    """A log of any of these transformers schedules, logged as the Trainer logs (step s+1 = LR of update s) every
    few steps, is inferred back to settings that transformers turns into the same LRs: the winner, or (where a
    more common type read with the older logging convention fits as exactly) an equal alternative it lists."""
    from lrviz.logs import read_log
    from lrviz.runcheck import infer_run

    scheduler, peak, warmup, total, kwargs, every = run
    lr_of = _lambda(scheduler, peak, warmup, total, kwargs)
    steps = list(range(every, total + 1, every))
    if len(steps) < 4:
        return
    path = tmp_path_factory.mktemp("prop") / "trainer_state.json"
    path.write_text(json.dumps({"max_steps": total, "log_history": [{"step": s, "learning_rate": lr_of(s - 1)} for s in steps]}))
    report = infer_run(read_log(str(path)))
    assert report.followed, [f.to_dict() for f in report.findings]
    readings = [(report.model, report.convention)] + list(report.inference.alternatives)
    hf_readings = [model for model, convention in readings if convention == "hf"]
    assert hf_readings, readings
    fitted = hf_readings[0].settings()
    again = _lambda(fitted["scheduler"], fitted["peak_lr"], fitted["warmup_steps"], fitted["total_steps"],
                    fitted["scheduler_kwargs"])
    for s in steps:
        expected = lr_of(s - 1)
        assert abs(again(s - 1) - expected) <= 1e-12 * abs(expected) + 1e-18, (s, fitted)
    if report.convention != "hf":
        assert report.inference.deciding


# ------------------------------------------------------------------------------------------ outputs


@requires_real_world
def test_json_document(tmp_path):
    document = check(DHEENA, code=1)
    assert document["lrviz_version"] and document["command"] == "check-run"
    assert document["mode"] == "infer" and document["followed"] is False
    assert len(document["points"]) == 186
    statuses = {p["status"] for p in document["points"]}
    assert statuses == {"on schedule", "shifted"}
    point = next(p for p in document["points"] if p["step"] == 2040)
    assert (point["update"], point["matches_update"]) == (2039, 2038)


@requires_real_world
@pytest.mark.parametrize("name", ["overlay.png", "overlay.svg"])
def test_overlay_figure(name, tmp_path):
    target = tmp_path / name
    result = invoke(["check-run", DHEENA, "-o", target], 1)
    assert f"wrote {target}" in result.stdout
    head = target.read_bytes()[:8]
    assert head.startswith(b"\x89PNG") if name.endswith("png") else b"<?xml" in head or b"<svg" in target.read_bytes()[:200]
    assert [p.name for p in tmp_path.iterdir()] == [name]


RUN_CLI = textwrap.dedent(
    """
    import json, sys
    from lrviz.cli import cli
    try:
        cli.main(sys.argv[1:], prog_name="lrviz", standalone_mode=False)
    except SystemExit:
        pass
    sys.stdout.flush()
    print("MODULES " + json.dumps({name: name in sys.modules for name in ("torch", "matplotlib", "transformers")}))
    """
)


def _modules(tmp_path: Path, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    env["MPLBACKEND"] = "Agg"
    completed = subprocess.run([sys.executable, "-c", RUN_CLI, *args], cwd=tmp_path, env=env, capture_output=True,
                               text=True, timeout=120)
    line = [line for line in completed.stdout.splitlines() if line.startswith("MODULES ")]
    assert line, completed.stdout + completed.stderr
    return json.loads(line[-1][len("MODULES "):])


@requires_real_world
@pytest.mark.slow
def test_check_run_without_a_figure_imports_neither_torch_nor_matplotlib(tmp_path):
    modules = _modules(tmp_path, "check-run", str(DHEENA), "--json")
    assert modules == {"torch": False, "matplotlib": False, "transformers": False}
    modules = _modules(tmp_path, "check-run", str(DHEENA), "-o", str(tmp_path / "o.png"))
    assert modules["matplotlib"] and not modules["torch"]
    assert (tmp_path / "o.png").is_file()
