"""One pipeline: the same config and flags give the identical schedule, or the identical error, in every command.

Over every real public config in ``../shared/real-world/configs/`` and configs of our own in each format:
``plot --json``, ``advise --json``, ``verify`` (its spec, as ``lrviz verify`` builds it before training) and
``check-run --json`` (on the per-update CSV that plot exports) must report the same framework, scheduler, peak,
floor kwargs, warmup, run length, provenance and notes; where one of them refuses the input, all refuse it with
the same one-line error. For the schedules transformers and DeepSpeed run, plot's LR at the key updates equals
the framework's own scheduler object's (transformers ``get_scheduler``'s ``LambdaLR``; DeepSpeed's class).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from cli_helpers import invoke
from realworld import REAL_CONFIGS, real_files

from lrviz.cli import cli
from lrviz.errors import LrvizError

SPEC_FIELDS = ("framework", "scheduler", "peak_lr", "total_steps", "warmup_steps", "scheduler_kwargs", "provenance",
               "notes", "framework_version")

OWN = {
    "hf_trainingarguments.json": json.dumps({
        "learning_rate": 3e-5, "lr_scheduler_type": "cosine_with_min_lr", "lr_scheduler_kwargs": {"min_lr": 3e-6},
        "warmup_steps": 20, "num_train_epochs": 2, "per_device_train_batch_size": 4, "gradient_accumulation_steps": 2,
    }),
    "lf_max_samples_val_size.yaml": (
        "stage: sft\nfinetuning_type: lora\ndataset: alpaca_en_demo,identity\nmax_samples: 500\nval_size: 0.1\n"
        "learning_rate: 1.0e-4\nlr_scheduler_type: cosine_with_min_lr\nlr_scheduler_kwargs: {min_lr: 1.0e-5}\n"
        "warmup_steps: 0.05\nper_device_train_batch_size: 2\ngradient_accumulation_steps: 4\nnum_train_epochs: 2.0\n"
    ),
    "axolotl_cosine.yaml": (
        "base_model: NousResearch/Llama-3.2-1B\nlearning_rate: 2e-5\nlr_scheduler: cosine\ncosine_min_lr_ratio: 0.1\n"
        "micro_batch_size: 2\ngradient_accumulation_steps: 4\nnum_epochs: 2\nwarmup_ratio: 0.05\n"
    ),
    "megatron_launch.sh": (
        "torchrun pretrain_gpt.py \\\n  --lr 3e-4 --min-lr 3e-5 --lr-decay-style cosine \\\n"
        "  --train-iters 5000 --lr-warmup-iters 200 --global-batch-size 256\n"
    ),
    "nemo_cosine.yaml": (
        "trainer:\n  max_steps: 3000\nmodel:\n  optim:\n    name: fused_adam\n    lr: 2.0e-4\n    sched:\n"
        "      name: CosineAnnealing\n      warmup_steps: 100\n      min_lr: 2.0e-5\n"
    ),
    "ds_warmup_decay.json": json.dumps({
        "optimizer": {"type": "AdamW", "params": {"lr": 1e-4}},
        "scheduler": {"type": "WarmupDecayLR", "params": {"warmup_min_lr": 0, "warmup_max_lr": 1e-4,
                                                         "warmup_num_steps": 50, "total_num_steps": 800}},
    }),
}


def _cases() -> list[Any]:
    cases = [pytest.param(path, id=f"real/{path.relative_to(REAL_CONFIGS)}")
             for path in real_files(REAL_CONFIGS, "*.yaml", "*.yml", "*.json")]
    cases += [pytest.param(name, id=f"own/{name}") for name in OWN]
    return cases


def _config(case: Any, tmp_path: Path) -> Path:
    if isinstance(case, Path):
        return case
    path = tmp_path / case
    path.write_text(OWN[case], encoding="utf-8")
    return path


def _length_flags(path: Path) -> list[str]:
    """A run length every command reads the same way: the file's own, else a dataset size (one per LLaMA-Factory
    dataset when max_samples caps each), else --steps (DeepSpeed alone has no dataset)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        data = json.loads(text)
        if "scheduler" in data or "zero_optimization" in data or "optimizer" in data:
            return [] if data.get("scheduler", {}).get("params", {}).get("total_num_steps") not in (None, "auto") \
                else ["--steps", "600"]
        return ["--dataset-size", "3000"]
    if path.suffix not in (".yaml", ".yml"):
        return []
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        return []
    if isinstance(data.get("trainer"), dict) or data.get("max_steps", -1) > 0:
        return []
    names = [name.strip() for name in str(data.get("dataset", "")).split(",") if name.strip()]
    if len(names) > 1 and data.get("max_samples") is not None:
        return ["--dataset-size", ",".join(f"{name}={700 + 300 * index}" for index, name in enumerate(names))]
    return ["--dataset-size", "3000"]


def run(args: list[Any]) -> Any:
    """``lrviz ARGS`` with whatever exit code it gives; never a traceback."""
    result = CliRunner(env={"COLUMNS": "250"}).invoke(cli, [str(arg) for arg in args], prog_name="lrviz", catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    return result


def _spec_of(settings: dict[str, Any]) -> dict[str, Any]:
    return {key: settings.get(key) for key in SPEC_FIELDS}


def _error_line(result: Any) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def _verify_spec(args: list[str]) -> dict[str, Any] | str:
    """The spec ``lrviz verify`` builds from these arguments (before it trains), or its error line."""
    from lrviz.commands.verify import verify_inputs

    context = cli.commands["verify"].make_context("verify", list(args))
    try:
        return _spec_of(verify_inputs(context.params)[0].to_dict())
    except LrvizError as error:
        return "Error: " + " ".join(str(error).split())


@pytest.fixture
def launch_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Commands run where the real configs' relative ``deepspeed:`` paths resolve (the launch folder)."""
    if REAL_CONFIGS.is_dir():
        monkeypatch.chdir(REAL_CONFIGS / "llamafactory")
    return tmp_path


@pytest.mark.parametrize("case", _cases())
def test_every_command_resolves_the_identical_spec(case: Any, launch_folder: Path) -> None:
    tmp_path = launch_folder
    path = _config(case, tmp_path)
    args = ["--config", str(path), *_length_flags(path)]
    plot = run(["plot", *args, "--json", "--no-file"])
    verified = _verify_spec(args)
    advise = run(["advise", *args, "--json"])
    if plot.exit_code == 2:  # refused: every command refuses it with the same line
        line = _error_line(plot)
        assert verified == line
        assert advise.exit_code == 2 and _error_line(advise) == line
        log = tmp_path / "log.csv"
        log.write_text("step,lr\n1,1.0e-5\n2,2.0e-5\n3,3.0e-5\n", encoding="utf-8")
        check = run(["check-run", str(log), *args])
        assert check.exit_code == 2 and _error_line(check) == line
        return
    drawn = json.loads(plot.stdout)["schedules"][0]
    # a floor at or above the peak (one real Axolotl file) is advise's F01 finding, plot's exit 1 too
    plot_code = 1 if any(finding["rule"] == "F01" for finding in drawn["findings"]) else 0
    assert plot.exit_code == plot_code, plot.stderr
    spec = _spec_of(drawn["settings"])
    assert verified == spec
    assert advise.exit_code in (0, 1), advise.stderr
    assert _spec_of(json.loads(advise.stdout)["schedule"]) == spec

    log = tmp_path / "lrs.csv"
    invoke(["plot", *args, "--format", "csv", "-o", str(log)], plot_code)
    check = run(["check-run", str(log), *args, "--json"])
    assert check.exit_code == 0, check.stdout + check.stderr
    assert _spec_of(json.loads(check.stdout)["schedule"]["spec"]) == spec

    _assert_plot_matches_the_framework(args, spec, plot_code)


def _key_updates(spec: dict[str, Any]) -> list[int]:
    total, warmup = spec["total_steps"], spec["warmup_steps"]
    points = {0, 1, 2, warmup - 1, warmup, warmup + 1, total // 3, total // 2, total - 2, total - 1}
    return sorted(point for point in points if 0 <= point < total)


def _assert_plot_matches_the_framework(args: list[str], spec: dict[str, Any], plot_code: int = 0) -> None:
    if spec["framework"] not in ("hf", "deepspeed"):
        return  # Axolotl, NeMo (real configs: test_axolotl.py, test_megatron_nemo_launch.py) and Megatron: recorded vectors
    result = invoke(["plot", *args, "--format", "csv", "-o", "-"], plot_code)
    drawn = [float(line.split(",")[1]) for line in result.stdout.strip().splitlines()[1:]]
    updates = _key_updates(spec)
    expected = (_transformers_lrs if spec["framework"] == "hf" else _deepspeed_lrs)(spec, updates)
    if expected is None:
        pytest.skip("the framework is not installed here")
    for update, want in zip(updates, expected):
        got = drawn[update]
        assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-300), (update, got, want)


def _transformers_lrs(spec: dict[str, Any], updates: list[int]) -> list[float] | None:
    try:
        import torch
        from transformers import get_scheduler
    except ImportError:
        return None
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=spec["peak_lr"])
    scheduler = get_scheduler(spec["scheduler"], optimizer, num_warmup_steps=spec["warmup_steps"],
                              num_training_steps=spec["total_steps"], scheduler_specific_kwargs=dict(spec["scheduler_kwargs"]))
    # LambdaLR.get_lr: base_lr * lr_lambda(last_epoch); the Trainer's update s runs at last_epoch = s
    return [spec["peak_lr"] * scheduler.lr_lambdas[0](update) for update in updates]


def _deepspeed_lrs(spec: dict[str, Any], updates: list[int]) -> list[float] | None:
    try:
        import torch
        from deepspeed.runtime import lr_schedules
    except ImportError:
        return None
    params = dict(spec["scheduler_kwargs"])
    if spec["scheduler"].startswith("Warmup"):  # OneCycle and LRRangeTest have neither
        params["warmup_num_steps"] = spec["warmup_steps"]
    if spec["scheduler"] in ("WarmupDecayLR", "WarmupCosineLR"):
        params["total_num_steps"] = spec["total_steps"]
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=spec["peak_lr"])
    scheduler = getattr(lr_schedules, spec["scheduler"])(optimizer, **params)
    lrs = []
    for update in range(max(updates) + 1):
        lrs.append(optimizer.param_groups[0]["lr"])
        scheduler.step()
    return [lrs[update] for update in updates]


def test_the_cases_cover_every_format() -> None:
    formats = {name.split("_")[0] for name in OWN}
    assert formats >= {"hf", "lf", "axolotl", "megatron", "nemo", "ds"}


@pytest.mark.parametrize("name", ["axolotl_cosine.yaml", "nemo_cosine.yaml", "megatron_launch.sh"])
def test_advise_names_the_frameworks_scheduler_and_run_length(name: str, tmp_path: Path) -> None:
    path = _config(name, tmp_path)
    args = ["--config", str(path), *_length_flags(path)]
    plot = json.loads(run(["plot", *args, "--json", "--no-file"]).stdout)["schedules"][0]["settings"]
    result = run(["advise", *args])
    assert result.exit_code in (0, 1), result.stderr
    first = " ".join(result.stdout.splitlines()[0].split())
    assert first.startswith(f"Schedule: {plot['framework']}:{plot['scheduler']}")
    assert f"{plot['total_steps']:,} updates" in first
    document = json.loads(run(["advise", *args, "--json"]).stdout)
    # no finding that the framework contradicts: none of transformers' traps on another framework's file
    assert not [f["rule"] for f in document["findings"] if f["rule"] in ("T01", "T02", "T03", "T04", "T05", "T09")]


def test_axolotl_string_lr_is_no_false_error(tmp_path: Path) -> None:
    path = _config("axolotl_cosine.yaml", tmp_path)  # learning_rate: 2e-5 is a string to PyYAML; Axolotl converts it
    document = json.loads(run(["advise", "--config", str(path), "--dataset-size", "3000", "--json"]).stdout)
    assert document["schedule"]["framework"] == "axolotl" and document["schedule"]["peak_lr"] == 2e-5
    assert not [f for f in document["findings"] if f["rule"] == "T04"]


def test_a_megatron_launch_is_pretraining_to_advise(tmp_path: Path) -> None:
    path = _config("megatron_launch.sh", tmp_path)
    document = json.loads(run(["advise", "--config", str(path), "--json"]).stdout)
    assert document["profile"]["name"] == "pretrain" and "Megatron-LM" in document["profile"]["why"]


def test_config_flavor_axolotl_is_accepted(tmp_path: Path) -> None:
    path = _config("axolotl_cosine.yaml", tmp_path)
    renamed = path.with_suffix(".yml")
    os.replace(path, renamed)
    settings = json.loads(invoke(["plot", "--config", str(renamed), "--config-flavor", "axolotl", "--dataset-size", "3000",
                                  "--json", "--no-file"]).stdout)["schedules"][0]["settings"]
    assert settings["framework"] == "axolotl"


# ------------------------------------------------------------------------- one wording, the right owner


def test_warmup_ratio_is_worded_the_same_in_every_command(tmp_path: Path) -> None:
    config = tmp_path / "old.yaml"
    config.write_text("learning_rate: 1.0e-4\nlr_scheduler_type: cosine\nwarmup_ratio: 0.1\nmax_steps: 500\n")
    args = ["--config", str(config)]
    (note,) = [n for n in json.loads(run(["plot", *args, "--json", "--no-file"]).stdout)["schedules"][0]["settings"]["notes"]
               if "warmup_ratio" in n]
    assert _verify_spec(args)["notes"] == [note]
    (finding,) = [f for f in json.loads(run(["advise", *args, "--json"]).stdout)["findings"] if f["rule"] == "T05"]
    message = finding["message"].split("; installed here:")[0]  # advise adds the transformers installed here
    assert note == f"{message}; fix: {finding['fix']}"
    log = tmp_path / "lrs.csv"
    invoke(["plot", *args, "--format", "csv", "-o", str(log)])
    assert note in json.loads(run(["check-run", str(log), *args, "--json"]).stdout)["schedule"]["spec"]["notes"]


@pytest.mark.parametrize("file_text, flags, owner, not_owner", [
    # the scheduler comes from the flag: the missing floor is the flag's problem, not the file's
    ("max_steps: 100\n", ["--scheduler", "cosine_with_min_lr"], "Error: --scheduler:", "--config"),
    # ... and from the file: the file's
    ("max_steps: 100\nlr_scheduler_type: cosine_with_min_lr\n", [], "(lr_scheduler_type)", "--scheduler"),
    # a kwarg from the flag under the file's scheduler
    ("max_steps: 100\nlr_scheduler_type: linear\n", ["--scheduler-kwargs", '{"min_lr": 1e-5}'], "Error: --scheduler-kwargs:",
     "--config"),
    # a kwarg from the file under the flag's scheduler: the file's key, and where the scheduler came from
    ("max_steps: 100\nlr_scheduler_kwargs: {num_cycles: 0.5}\n", ["--scheduler", "linear"],
     "(lr_scheduler_kwargs.num_cycles)", None),
    # the floor from --min-lr above the file's peak
    ("max_steps: 100\nlearning_rate: 1.0e-4\n", ["--scheduler", "polynomial", "--min-lr", "2e-4"], "Error: --min-lr:", None),
])
def test_a_flags_value_is_never_blamed_on_the_file(tmp_path: Path, file_text: str, flags: list[str], owner: str,
                                                  not_owner: str | None) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(file_text)
    error = _error_line(run(["plot", "--config", str(config), *flags, "--no-file"]))
    assert owner in error, error
    if not_owner is not None:
        assert not_owner not in error.split(": ", 2)[1], error


def test_deepspeed_log_warmup_in_words(tmp_path: Path) -> None:
    path = _config("ds_warmup_decay.json", tmp_path)
    document = json.loads(run(["advise", "--config", str(path), "--json"]).stdout)
    (finding,) = [f for f in document["findings"] if f["rule"] == "T08"]
    assert finding["message"].startswith("updates 0 and 1 run at LR 0")
    assert "never climbs linearly" in finding["message"] and '"warmup_type": "linear"' in finding["fix"]
    lrs = [float(line.split(",")[1]) for line in
           invoke(["plot", "--config", path, "--format", "csv", "-o", "-"]).stdout.strip().splitlines()[1:4]]
    assert lrs[0] == lrs[1] == 0.0 < lrs[2]  # what the words say


def test_the_figure_finds_the_replaced_scheduler_by_the_notes_code(tmp_path: Path) -> None:
    (tmp_path / "ds.json").write_text(json.dumps({"scheduler": {"type": "WarmupLR", "params": {
        "warmup_min_lr": "auto", "warmup_max_lr": "auto", "warmup_num_steps": "auto"}}}))
    config = tmp_path / "run.yaml"
    config.write_text(f"learning_rate: 1.0e-3\nlr_scheduler_type: cosine\nmax_steps: 300\ndeepspeed: {tmp_path / 'ds.json'}\n")
    from lrviz.cli import build_curves
    from lrviz.notes import code_of
    from lrviz.plot import figure_for

    params = {"configs": (str(config),), "config_flavor": "auto", **{name: None for name in (
        "lr", "min_lr", "min_lr_rate", "scheduler", "framework", "steps", "dataset_size", "batch_size", "grad_accum", "gpus",
        "epochs", "drop_last", "warmup_ratio", "warmup_steps", "num_cycles", "scheduler_kwargs", "framework_version")}}
    curves = build_curves(params)
    assert "deepspeed.replaces_trainer_scheduler" in [code_of(note) for note in curves[0].spec.notes]
    assert figure_for(curves)._suptitle.get_text() == "⚠ lr_scheduler_type: cosine is ignored: ds.json's WarmupLR runs instead"


def test_advise_writes_megatron_fixes_as_megatron_flags(tmp_path: Path) -> None:
    script = tmp_path / "low.sh"
    script.write_text("torchrun pretrain_gpt.py --lr 3e-4 --min-lr 1e-7 --lr-decay-style cosine --train-iters 5000 "
                      "--global-batch-size 256 --adam-beta2 0.98\n")
    findings = {f["rule"]: f for f in json.loads(run(["advise", "--config", str(script), "--json"]).stdout)["findings"]}
    assert findings["F08"]["fix"].startswith("raise the floor to --min-lr 3e-6")
    assert "β2 = 0.98 (low.sh:--adam-beta2)" in findings["W03"]["message"]  # Megatron's own β2, not transformers'
    assert findings["W04"]["fix"] == "--lr-warmup-iters 100"
    assert not any("warmup_steps:" in f["fix"] or "adam_beta2:" in f["fix"] for f in findings.values())


def test_advise_counts_a_megatron_warmup_fraction_as_a_warmup(tmp_path: Path) -> None:
    script = tmp_path / "frac.sh"
    script.write_text("torchrun pretrain_gpt.py --lr 3e-4 --min-lr 3e-5 --lr-decay-style cosine --train-iters 5000 "
                      "--lr-warmup-fraction 0.01 --global-batch-size 256\n")
    document = json.loads(run(["advise", "--config", str(script), "--json"]).stdout)
    assert "W04" not in {f["rule"] for f in document["findings"]}  # 1% of the decay span is a warmup of 50 iterations


def test_advise_reads_nemos_betas(tmp_path: Path) -> None:
    config = tmp_path / "nemo.yaml"
    config.write_text("trainer:\n  max_steps: 3000\nmodel:\n  optim:\n    lr: 2.0e-4\n    betas: [0.9, 0.995]\n    sched:\n"
                      "      name: CosineAnnealing\n      warmup_steps: 10\n      min_lr: 2.0e-5\n")
    document = json.loads(run(["advise", "--config", str(config), "--profile", "pretrain", "--json"]).stdout)
    (w03,) = [f for f in document["findings"] if f["rule"] == "W03"]
    assert "β2 = 0.995 (nemo.yaml:model.optim.betas)" in w03["message"]
    assert "model.optim.sched.warmup_steps: 400" in w03["fix"] and "model.optim.betas: [0.9, 0.95]" in w03["fix"]
