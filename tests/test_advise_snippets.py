"""Every snippet ``lrviz advise`` prints is valid in its target and means the recommended schedule.

* YAML snippets load with PyYAML (YAML 1.1, what Axolotl and HfArgumentParser use) with every number a float;
* the LLaMA-Factory YAML, the ``TrainingArguments(...)`` call and the command line, fed to the installed
  transformers, give a ``get_scheduler`` whose LR at every update equals lrviz's recommendation (≤ 1e-12 relative);
* the shell line, split by ``shlex``, hands ``--lr_scheduler_kwargs`` valid JSON;
* the Axolotl YAML, run through Axolotl's cosine-with-floor formula (schedulers.md §3), gives the same curve;
* the DeepSpeed block parses, and its stated difference from the HF curve is the one DeepSpeed's formula
  (schedulers.md §4 and table A) gives: it is *not* claimed equal.
"""

from __future__ import annotations

import functools
import json
import math
import re
import shlex

import numpy as np
import pytest
import yaml

from lrviz import ScheduleSpec, lr_at
from lrviz.advise import advise, advise_options
from lrviz.resolve import Options
from lrviz.steps import hf_total_steps

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def realized_lrs(name: str, kwargs: dict, peak: float, total: int, warmup: int) -> np.ndarray:
    """LR of every update 0..total-1 under the real transformers scheduler, stepped as the Trainer does."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([param], lr=peak)
    scheduler = transformers.get_scheduler(name, optimizer, num_warmup_steps=warmup, num_training_steps=total,
                                           scheduler_specific_kwargs=kwargs)
    out = []
    for _ in range(total):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(out, dtype=np.float64)


def assert_same_curve(expected: np.ndarray, realized: np.ndarray) -> None:
    scale = np.maximum(np.abs(expected), 1e-18 / 1e-12)
    worst = float(np.max(np.abs(realized - expected) / scale)) if len(expected) else 0.0
    assert worst <= 1e-12, worst


def args_curve(args, spec: ScheduleSpec) -> np.ndarray:
    total = spec.total_steps
    return realized_lrs(args.lr_scheduler_type, args.lr_scheduler_kwargs or {}, args.learning_rate, total,
                        args.get_warmup_steps(total))


# The recommendations to check: one per schedule family and floor spelling, and a run length from the data.
CASES = {
    "min_lr (issue example)": lambda: advise(ScheduleSpec("cosine_with_min_lr", 2e-4, 1000, 30, {"min_lr": 1e-8}), "lora"),
    "floor above the peak": lambda: advise(ScheduleSpec("cosine_with_min_lr", 2e-4, 1000, 30, {"min_lr": 3e-4})),
    "min_lr_rate": lambda: advise(ScheduleSpec("cosine_with_min_lr", 2e-4, 500, 15, {"min_lr_rate": 0.1}), "lora"),
    "cosine to 0 -> min_lr": lambda: advise(ScheduleSpec("cosine", 1e-4, 375, 38), "lora"),
    "warmup variant": lambda: advise(ScheduleSpec("cosine_warmup_with_min_lr", 5e-4, 800, 24, {"min_lr": 5e-5}), "lora"),
    "wsd": lambda: advise(ScheduleSpec("warmup_stable_decay", 3e-4, 2000, 20, {"num_decay_steps": 20}), "pretrain", beta2=0.95),
    "polynomial": lambda: advise(ScheduleSpec("polynomial", 2e-5, 600, 0, {"power": 2.0}), "full"),
    "lora+ groups": lambda: advise(ScheduleSpec("cosine_with_min_lr", 2e-4, 700, 21, {"min_lr": 2e-6}), "lora", group_lrs=(3.2e-3,)),
    "from the data": lambda: advise_options(Options(dataset_size=1000, batch_size=4, grad_accum=2, gpus=2, epochs=2.5,
                                                    min_lr=1e-8), None, profile="lora"),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def advice(request):
    return CASES[request.param]()


def snippet(advice, target: str) -> str:
    found = {s.target: s for s in advice.snippets}[target]
    assert found.text is not None, found.note
    return found.text


def floats_in(value) -> list:
    if isinstance(value, dict):
        return [item for v in value.values() for item in floats_in(v)]
    return [value]


def test_llamafactory_yaml_loads_as_floats_and_runs_the_recommended_curve(advice, tmp_path):
    loaded = yaml.safe_load(snippet(advice, "llamafactory"))
    assert isinstance(loaded["learning_rate"], float)
    for value in floats_in(loaded.get("lr_scheduler_kwargs", {})):
        assert isinstance(value, (float, int)), loaded  # never the string '2e-6'
    args = transformers.TrainingArguments(output_dir=str(tmp_path), report_to=[], **loaded)
    spec = advice.recommendation.spec
    assert_same_curve(lr_at(spec, np.arange(spec.total_steps)), args_curve(args, spec))


def test_training_arguments_call_constructs_and_runs_the_recommended_curve(advice, tmp_path):
    text = snippet(advice, "trainingarguments")
    namespace = {"TrainingArguments": functools.partial(transformers.TrainingArguments, output_dir=str(tmp_path), report_to=[])}
    exec(compile(text, "<snippet>", "exec"), namespace)  # noqa: S102 - the snippet is the thing under test
    args = namespace["args"]
    spec = advice.recommendation.spec
    assert_same_curve(lr_at(spec, np.arange(spec.total_steps)), args_curve(args, spec))


def test_command_line_passes_valid_json_and_runs_the_recommended_curve(advice, tmp_path):
    words = shlex.split(snippet(advice, "cli"))
    assert words[:2] == ["python", "train.py"]
    spec = advice.recommendation.spec
    if spec.scheduler_kwargs:
        kwargs = json.loads(words[words.index("--lr_scheduler_kwargs") + 1])
        assert kwargs == dict(spec.scheduler_kwargs)
    parser = transformers.HfArgumentParser(transformers.TrainingArguments)
    (args,) = parser.parse_args_into_dataclasses(words[2:] + ["--output_dir", str(tmp_path), "--report_to", "none"])
    assert_same_curve(lr_at(spec, np.arange(spec.total_steps)), args_curve(args, spec))


def test_run_length_from_the_data_is_written_as_the_trainer_counts_it(tmp_path):
    advice = CASES["from the data"]()
    loaded = yaml.safe_load(snippet(advice, "llamafactory"))
    assert "max_steps" not in loaded
    # ceil(2.5 × ceil(ceil(1000 / (4×2)) / 2)) = ceil(2.5 × 63) = 158
    assert advice.recommendation.spec.total_steps == 158
    total = hf_total_steps(dataset_size=1000, batch_size=loaded["per_device_train_batch_size"],
                           grad_accum=loaded["gradient_accumulation_steps"], gpus=2, epochs=loaded["num_train_epochs"])
    assert total.value == 158


def axolotl_cosine_min_lr(k: np.ndarray, peak: float, total: int, warmup: int, ratio: float) -> np.ndarray:
    """Axolotl 0.19 get_cosine_schedule_with_min_lr, as schedulers.md §3 states it."""
    progress = (k - warmup) / max(1, total - warmup)
    decay = (1 - ratio) * 0.5 * (1 + np.cos(math.pi * progress)) + ratio
    return peak * np.where(k < warmup, k / max(1, warmup), decay)


def test_axolotl_yaml_loads_as_floats_and_means_the_same_curve(advice):
    loaded = yaml.safe_load(snippet(advice, "axolotl"))
    assert isinstance(loaded["learning_rate"], float)
    spec = advice.recommendation.spec
    steps = np.arange(spec.total_steps)
    if loaded["lr_scheduler"] == "cosine":
        assert isinstance(loaded["cosine_min_lr_ratio"], float)
        axolotl = axolotl_cosine_min_lr(steps.astype(float), loaded["learning_rate"], spec.total_steps,
                                        loaded["warmup_steps"], loaded["cosine_min_lr_ratio"])
        assert_same_curve(lr_at(spec, steps), axolotl)
    else:  # Axolotl hands lr_scheduler / lr_scheduler_kwargs to transformers
        kwargs = loaded.get("lr_scheduler_kwargs", {})
        for value in floats_in(kwargs):
            assert isinstance(value, (float, int))
        realized = realized_lrs(loaded["lr_scheduler"], kwargs, loaded["learning_rate"], spec.total_steps, loaded["warmup_steps"])
        assert_same_curve(lr_at(spec, steps), realized)


def test_deepspeed_block_parses_and_names_its_difference(advice):
    found = {s.target: s for s in advice.snippets}["deepspeed"]
    spec = advice.recommendation.spec
    if spec.scheduler not in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        assert found.text is None and "leave the \"scheduler\" block out" in found.note
        return
    block = json.loads(found.text)["scheduler"]
    params = block["params"]
    assert block["type"] == "WarmupCosineLR" and params["warmup_type"] == "linear"
    assert params["total_num_steps"] == spec.total_steps and params["warmup_num_steps"] == max(1, spec.warmup_steps)
    floor = lr_at(spec, np.array([spec.total_steps]))[0] if spec.scheduler == "cosine_with_min_lr" else None
    if floor is not None:
        assert params["cos_min_ratio"] == pytest.approx(floor / spec.peak_lr, rel=1e-11)
    assert "differs slightly" in found.note and "updates 0 and 1 both run at LR 0" in found.note
    assert "equal" not in found.note


def test_deepspeed_curve_matches_the_research_table():
    """schedulers.md table A, DeepSpeed 0.19.8 WarmupCosineLR(linear, cos_min_ratio 0.01), peak 2e-4, T 1000, W 30."""
    from lrviz.advise.deepspeed import warmup_cosine_lr

    steps = np.array([0, 1, 29, 30, 31, 500, 999, 1000])
    expected = [0, 0, 1.8667e-4, 1.9333e-4, 1.999995e-4, 1.058077e-4, 2.000519e-6, 2.0e-6]
    got = warmup_cosine_lr(steps, 2e-4, 1000, 30, 0.01)
    for value, want in zip(got, expected, strict=True):
        assert value == pytest.approx(want, rel=5e-5, abs=1e-12)


def test_deepspeed_note_for_the_table_a_schedule():
    advice = advise(ScheduleSpec("cosine_with_min_lr", 2e-4, 1000, 30, {"min_lr": 2e-6}))
    note = {s.target: s for s in advice.snippets}["deepspeed"].note
    # table A: DeepSpeed never reaches the peak, its maximum is 1.999995e-4 at update 31; HF is 6.667e-6 at update 1
    assert "1.999995e-4 at update 31" in note
    assert "HF: 6.667e-6 at update 1" in note
    # the warmup trails by one update: the gap is peak / W = 6.667e-6 during updates 1..30, none after
    assert "at most 6.667e-6" in note and "updates 1–30" in note and "from update 31 on the two agree" in note


def test_yaml_numbers_are_never_pyyaml_strings():
    from lrviz.advise.numbers import yaml_float

    for value in (2e-6, 1e-5, 2e-4, 5e-7, 0.01, 1e20, 1.0000000000000002e-05, 3.2e-3):
        text = yaml_float(value)
        assert yaml.safe_load(text) == value and isinstance(yaml.safe_load(text), float), text
        assert re.fullmatch(r"[0-9.]+(e[-+][0-9]+)?", text), text


def test_non_hf_frameworks_get_no_hf_snippets():
    from lrviz.signatures import SIGNATURES

    if "WarmupCosineLR" not in SIGNATURES.get("deepspeed", {}):
        pytest.skip("no DeepSpeed scheduler semantics in this build")
    advice = advise(ScheduleSpec("WarmupCosineLR", 2e-4, 1000, 30, {"cos_min_ratio": 0.1}, framework="deepspeed"), "lora")
    assert all(s.text is None and "deepspeed semantics" in s.note for s in advice.snippets)
