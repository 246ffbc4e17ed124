"""Regenerate ``real_log_schedules.json``: the schedule behind each real log in ``../shared/real-world/logs/``,
worked out by hand and proved with transformers' own scheduler (not with lrviz).

For every log below, the settings were read off the file (peak, warmup line, ``max_steps``) and the repository's
config where there is one; this script builds the scheduler with ``transformers.get_scheduler`` and steps it as
the Trainer does, then maps every logged point to a scheduler index: the update the convention gives
(``hf``: logged step s+1 carries update s, transformers >= 4.52; ``hf-legacy``: logged step s carries update s),
minus the scheduler steps lost so far (fp16 overflow skips). It asserts that every logged LR equals
transformers' value at that index within 1e-12 relative, and records the settings, the convention and where
steps were lost (between which logged steps, how many), with the transformers version used.

    PYTHONPATH=$PWD python tests/data/make_real_log_schedules.py      # needs ../shared beside the repository
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import transformers

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from realworld import REAL_LOGS  # noqa: E402


SHIFT = {"hf": -1, "hf-legacy": 0}
MAX_LOST = 40

# file -> settings worked out from the file (and the repository's config where one is given)
RUNS = {
    "autosci-language/trainer_state.json": dict(scheduler="polynomial", peak=1e-4, warmup=3, total=22,
                                                kwargs={"lr_end": 1e-5, "power": 1.0}, convention="hf"),
    "autosci-medical/trainer_state.json": dict(scheduler="cosine_with_min_lr", peak=2e-4, warmup=12, total=224,
                                               kwargs={"min_lr_rate": 0.1}, convention="hf"),
    # equally exact: cosine_warmup_with_min_lr (min_lr_rate 0) read with the current convention
    "kevin-compressor/trainer_state.json": dict(scheduler="cosine", peak=2e-4, warmup=0, total=1000,
                                                convention="hf-legacy"),
    # sft_config.yaml: cosine, learning_rate 1.0e-5, warmup_ratio 0.0; total_steps 6566 in every line
    "lf-qwen25-3b-full/trainer_log.jsonl": dict(scheduler="cosine", peak=1e-5, warmup=0, total=6566, convention="hf"),
    "luojiu-7b-qlora/trainer_log.jsonl": dict(scheduler="cosine", peak=5e-5, warmup=0, total=8712,
                                              convention="hf-legacy"),
    "luojiu-7b-qlora/trainer_state.json": dict(scheduler="cosine", peak=5e-5, warmup=0, total=8712,
                                               convention="hf-legacy"),
    "mt5-az-news/trainer_state.json": dict(scheduler="linear", peak=5e-4, warmup=90, total=9411,
                                           convention="hf-legacy"),
    "nsllm-qwen3-cpt/trainer_log.jsonl": dict(scheduler="cosine", peak=5e-5, warmup=109, total=2178, convention="hf"),
    "nsllm-qwen3-cpt/trainer_state.json": dict(scheduler="cosine", peak=5e-5, warmup=109, total=2178, convention="hf"),
    "tinyllama-lora/trainer_state.json": dict(scheduler="cosine", peak=1e-5, warmup=57, total=2808, convention="hf"),
    "trainviz-sample/trainer_state.json": dict(scheduler="constant", peak=1e-5, warmup=0, total=12030, convention="hf"),
    "whisper-flemish/trainer_state.json": dict(scheduler="linear", peak=1e-5, warmup=500, total=15000,
                                               convention="hf-legacy"),
    # the older convention logs at step 100000 the LR of update 100000: the schedule is at least 100001 long
    "whisper-tiny-nb/trainer_state.json": dict(scheduler="constant_with_warmup", peak=3e-6, warmup=1000, total=100001,
                                               convention="hf-legacy"),
}


def transformers_lrs(scheduler: str, peak: float, warmup: int, total: int, kwargs: dict, count: int) -> list[float]:
    optimizer = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=peak)
    built = transformers.get_scheduler(scheduler, optimizer, num_warmup_steps=warmup, num_training_steps=total,
                                       scheduler_specific_kwargs=kwargs or None)
    return [peak * built.lr_lambdas[0](index) for index in range(count)]  # LambdaLR: base_lr * lambda(index)


def logged(path: Path) -> dict[int, float]:
    """{step: LR} as the file holds it, read here with json alone (a step logged again keeps its last value)."""
    if path.suffix == ".jsonl":
        entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        step_key = "current_steps"
    else:
        entries, step_key = json.loads(path.read_text())["log_history"], "step"
    out: dict[int, float] = {}
    for entry in entries:
        lr = entry.get("lr", entry.get("learning_rate"))
        if lr is not None:
            out[entry[step_key]] = lr
    return dict(sorted(out.items()))


def lost_steps(name: str, run: dict) -> tuple[list[list[int]], int]:
    points = logged(REAL_LOGS / name)
    updates = [step + SHIFT[run["convention"]] for step in points]
    values = transformers_lrs(run["scheduler"], run["peak"], run["warmup"], run["total"], run.get("kwargs", {}),
                              max(updates) + 1)
    lost_before, spans = 0, []
    previous_step = None
    for (step, lr), update in zip(points.items(), updates):
        for lost in range(lost_before, MAX_LOST + 1):  # runs lose steps, they never gain them
            if abs(values[update - lost] - lr) <= 1e-12 * abs(lr) + 1e-18:
                break
        else:
            raise SystemExit(f"{name}: step {step} ({lr!r}) matches no index of {run}")
        if lost != lost_before:
            spans.append([previous_step if previous_step is not None else step, step, lost - lost_before])
        lost_before, previous_step = lost, step
    return spans, len(points)


def main() -> None:
    out = {"provenance": {"transformers": transformers.__version__, "torch": torch.__version__,
                          "script": "tests/data/make_real_log_schedules.py",
                          "logs": "../shared/real-world/logs (see its SOURCES.md for repository and commit)"},
           "runs": {}}
    for name, run in RUNS.items():
        spans, points = lost_steps(name, run)
        out["runs"][name] = {"scheduler": run["scheduler"], "peak_lr": run["peak"], "warmup_steps": run["warmup"],
                             "total_steps": run["total"], "scheduler_kwargs": run.get("kwargs", {}),
                             "convention": run["convention"], "points": points, "lost_steps": spans}
        print(f"{name}: {points} points exact; lost {spans}")
    (HERE / "real_log_schedules.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
