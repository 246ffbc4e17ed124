"""check-run's readers on what real runs write, each quirk in a log written here in the real format:
LLaMA-Factory's ``lr`` key, lines written twice by two processes, out of order, and a resume appended to the
same trainer_log.jsonl; trainer_state.json from transformers 4.2x to 5.x; CRLF; a bare JSON list; Megatron-LM
text logs; Lightning/NeMo metrics.csv; TensorBoard event files (written by torch's SummaryWriter, and by the real
Trainer with report_to tensorboard).

LR values come from transformers' own scheduler objects or from the recorded Megatron-core vectors
(``data/megatron_nemo_vectors.json``), never from lrviz."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cli_helpers import invoke
from lrviz.logs import read_log
from lrviz.logs._files import parse_elapsed

DATA = Path(__file__).parent / "data"


def hf_lrs(scheduler: str, peak: float, warmup: int, total: int, kwargs: dict | None = None,
           count: int | None = None) -> list[float]:
    """The LR at scheduler indices 0..count-1 (default: the run's updates) from transformers' scheduler."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    optimizer = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=peak)
    built = transformers.get_scheduler(scheduler, optimizer, num_warmup_steps=warmup, num_training_steps=total,
                                       scheduler_specific_kwargs=kwargs)
    return [peak * built.lr_lambdas[0](s) for s in range(count or total)]


def check(path: Path, *args: object, code: int) -> dict:
    return json.loads(invoke(["check-run", path, *args, "--json"], code).stdout)


def elapsed(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    text = f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{days} day{'s' if days != 1 else ''}, {text}" if days else text


def lf_line(step: int, total: int, lr: float | None, seconds: int, **extra: object) -> str:
    """A line as LLaMA-Factory's LogCallback writes it (current releases: the LR under "lr")."""
    entry: dict = {"current_steps": step, "total_steps": total}
    if lr is not None:
        entry.update(loss=1.25, lr=lr)
    entry.update(epoch=round(step / total, 4), percentage=round(100 * step / total, 2), elapsed_time=elapsed(seconds),
                 remaining_time="0:10:00", **extra)
    return json.dumps(entry)


# ------------------------------------------------------------------------------------------ LLaMA-Factory


@pytest.mark.parametrize("text, seconds", [("0:02:12", 132), ("1 day, 0:08:23", 86_903), ("9 days, 21:39:23", 855_563),
                                           ("n/a", None), (None, None)])
def test_elapsed_time_as_llamafactory_prints_it(text, seconds):
    assert parse_elapsed(text) == seconds


def test_current_llamafactory_lr_key_and_summary_line(tmp_path):
    lrs = hf_lrs("cosine", 1e-5, 0, 60)
    path = tmp_path / "trainer_log.jsonl"
    lines = [lf_line(s, 60, lrs[s - 1], 30 * s) for s in range(5, 61, 5)] + [lf_line(60, 60, None, 1800)]
    path.write_text("\n".join(lines) + "\n")
    run = read_log(str(path))
    assert run.steps.tolist() == list(range(5, 61, 5)) and run.skipped == 1 and run.total_steps == 60
    document = check(path, code=0)
    assert document["inferred"]["settings"]["scheduler"] == "cosine"
    assert document["inferred"]["settings"]["peak_lr"] == 1e-5


def test_two_processes_interleaved_and_a_resume_in_one_jsonl(tmp_path):
    """What the two-GPU LLaMA-Factory run in shared/ wrote: every line twice, the two processes a line apart, then
    a resume from checkpoint 40 appended (its clock starts over), logging steps 40..55 again."""
    lrs = hf_lrs("linear", 2e-4, 5, 100)
    lines = []
    for s in range(5, 60, 5):
        lines.append(lf_line(s, 100, lrs[s - 1], 60 * s))
        lines.insert(len(lines) - 2 if s % 10 == 0 and len(lines) > 2 else len(lines), lf_line(s, 100, lrs[s - 1], 60 * s + 1))
    resumed_at = len(lines) + 1
    for s in range(40, 101, 5):
        lines.append(lf_line(s, 100, lrs[s - 1], 30 + 60 * (s - 40)))
    path = tmp_path / "trainer_log.jsonl"
    path.write_text("\n".join(lines) + "\n")
    run = read_log(str(path))
    assert run.steps.tolist() == list(range(5, 101, 5))
    assert run.duplicates == 11
    (resume,) = run.resumes
    assert (resume.line, resume.first_step, resume.last_step_before, resume.overlap, resume.agree) == (resumed_at, 40, 55, 4, 4)
    document = check(path, code=0)
    assert {f["cause"] for f in document["findings"]} >= {"followed", "resume"}
    settings = document["inferred"]["settings"]
    assert (settings["scheduler"], settings["peak_lr"], settings["warmup_steps"], settings["total_steps"]) == ("linear", 2e-4, 5, 100)


def test_a_resume_whose_scheduler_differs_is_a_warning_and_later_values_win(tmp_path):
    first = hf_lrs("cosine", 1e-4, 0, 40)
    lines = [lf_line(s, 40, first[s - 1], 10 * s) for s in range(2, 31, 2)]
    restarted = hf_lrs("cosine", 1e-4, 0, 40)  # resumed at 20 with a fresh scheduler: index 0 again
    lines += [lf_line(s, 40, restarted[s - 21], 5 + 10 * (s - 20)) for s in range(22, 41, 2)]
    path = tmp_path / "trainer_log.jsonl"
    path.write_text("\n".join(lines) + "\n")
    run = read_log(str(path))
    (resume,) = run.resumes
    assert resume.first_step == 22 and resume.overlap == 5 and resume.agree == 0
    assert run.lr[run.steps.tolist().index(22)] == restarted[1]
    document = check(path, "--scheduler", "cosine", "--lr", 1e-4, "--steps", 40, code=1)
    resume_finding = next(f for f in document["findings"] if f["cause"] == "resume")
    assert resume_finding["severity"] == "warning" and "0 of the 5" in resume_finding["evidence"]
    assert "resume-offset" in {f["cause"] for f in document["findings"]}


def test_old_llamafactory_learning_rate_key_with_nulls(tmp_path):
    lrs = hf_lrs("cosine", 5e-5, 0, 30)
    entries = [{"current_steps": s, "total_steps": 30, "loss": 1.5, "eval_loss": None, "predict_loss": None,
                "reward": None, "learning_rate": lrs[s], "epoch": 0.1} for s in range(1, 30)]
    entries.append({"current_steps": 30, "total_steps": 30, "loss": None, "eval_loss": None, "predict_loss": None,
                    "reward": None, "learning_rate": None, "epoch": 1.0})
    path = tmp_path / "trainer_log.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    run = read_log(str(path))
    assert len(run) == 29 and run.skipped == 1 and run.lr.tolist() == lrs[1:30]


# ------------------------------------------------------------------------------------------ trainer_state.json


def _state(history: list[dict], **meta: object) -> str:
    return json.dumps({"global_step": meta.pop("global_step", 40), "log_history": history, **meta}, indent=2)


@pytest.mark.parametrize("variant", ["4.2x no logging_steps", "float logging_steps", "streaming maxsize epochs",
                                     "eval at step 0", "CRLF", "bare list"])
def test_trainer_state_variants(variant, tmp_path):
    lrs = hf_lrs("linear", 3e-4, 4, 40)
    history = [{"epoch": s / 40, "learning_rate": lrs[s - 1], "loss": 2.0, "step": s} for s in range(2, 41, 2)]
    meta: dict = {"max_steps": 40, "logging_steps": 2, "num_train_epochs": 1, "best_global_step": None,
                  "stateful_callbacks": {}}
    if variant == "4.2x no logging_steps":
        meta = {"max_steps": 40, "num_train_epochs": 1, "total_flos": 1.5e12, "is_world_process_zero": True}
        lrs_legacy = hf_lrs("linear", 3e-4, 4, 40, count=41)  # logged step s: the LR after s scheduler steps
        history = [{"epoch": s / 40, "learning_rate": lrs_legacy[s], "loss": 2.0, "step": s} for s in range(2, 41, 2)]
    elif variant == "float logging_steps":
        meta["logging_steps"] = 2.0
    elif variant == "streaming maxsize epochs":
        meta["num_train_epochs"] = 9223372036854775807
    elif variant == "eval at step 0":
        history.insert(0, {"epoch": 0, "eval_loss": 3.1, "eval_runtime": 1.2, "step": 0})
    text = _state(history, **meta)
    if variant == "bare list":
        text = json.dumps(history)
    path = tmp_path / ("trainer_state.json" if variant != "bare list" else "log_history.json")
    if variant == "CRLF":
        path.write_bytes(text.replace("\n", "\r\n").encode())
    else:
        path.write_text(text)
    run = read_log(str(path))
    assert run.steps.tolist() == list(range(2, 41, 2))
    if variant == "float logging_steps":
        assert run.logging_steps == 2
    if variant == "streaming maxsize epochs":
        assert any("streaming" in note for note in run.notes)
    if variant == "bare list":
        document = check(path, code=0)
        assert document["inferred"]["settings"]["scheduler"] == "linear"
        return
    document = check(path, code=0)
    settings = document["inferred"]["settings"]
    assert (settings["scheduler"], settings["peak_lr"], settings["warmup_steps"]) == ("linear", 3e-4, 4)
    expected = "hf-legacy" if variant == "4.2x no logging_steps" else "hf"
    assert document["convention"]["name"] == expected


def test_lr_logged_once_per_epoch(tmp_path):
    """logging_strategy epoch: three points for a three-epoch run; the recorded run length pins the cosine."""
    lrs = hf_lrs("cosine", 2e-5, 0, 300)
    history = [{"epoch": float(e), "learning_rate": lrs[100 * e - 1], "loss": 1.0, "step": 100 * e} for e in (1, 2, 3)]
    path = tmp_path / "trainer_state.json"
    path.write_text(_state(history, max_steps=300, global_step=300, best_global_step=None, stateful_callbacks={}))
    document = check(path, code=0)
    settings = document["inferred"]["settings"]
    assert (settings["scheduler"], settings["peak_lr"], settings["total_steps"]) == ("cosine", 2e-5, 300)


def test_jsonl_with_crlf(tmp_path):
    lrs = hf_lrs("cosine", 1e-5, 0, 20)
    path = tmp_path / "trainer_log.jsonl"
    path.write_bytes("".join(lf_line(s, 20, lrs[s - 1], s) + "\r\n" for s in range(1, 21)).encode())
    assert read_log(str(path)).lr.tolist() == lrs


# ------------------------------------------------------------------------------------------ Megatron-LM


MEGATRON = {case["id"]: case for case in json.loads((DATA / "megatron_nemo_vectors.json").read_text())["megatron"]}


def megatron_log(case: dict, *, interval: int = 10, skipped: frozenset = frozenset(), digits: int = 6,
                 prefix: str = "[default0]:", arguments: bool = True, zero_lr_on_skip: bool = False) -> str:
    """A log in the format of Megatron-LM's ``training_log`` (megatron/training/training.py, NVIDIA/Megatron-LM
    86df799dc4c7): the arguments block printed at start-up, a training line every ``interval`` iterations with
    the LR the optimizer holds after the iteration (the recorded Megatron-core scheduler after as many steps as
    were not skipped), validation lines every 100 iterations."""
    T, gbs, kwargs = case["train_iters"], case["global_batch_size"], case["kwargs"]
    lrs = [row[0] for row in case["lrs"]]
    lines = []
    if arguments:
        values = {"lr": case["group_lrs"][0], "min_lr": kwargs.get("min_lr", 0.0), "lr_decay_style": case["style"],
                  "lr_warmup_fraction": kwargs.get("lr_warmup_fraction"), "lr_warmup_iters": kwargs.get("lr_warmup_iters", 0),
                  "lr_warmup_init": kwargs.get("lr_warmup_init", 0.0), "lr_decay_iters": kwargs.get("lr_decay_iters"),
                  "train_iters": T, "global_batch_size": gbs, "micro_batch_size": 1, "seq_length": 4096,
                  "lr_wsd_decay_iters": kwargs.get("lr_wsd_decay_iters"),
                  "lr_wsd_decay_style": kwargs.get("lr_wsd_decay_style", "exponential")}
        lines.append("------------------------ arguments ------------------------")
        lines += [f"  {name} {'.' * (48 - len(name))} {value}" for name, value in sorted(values.items())]
        lines.append("-------------------- end of arguments ---------------------")
    lost = pending = 0
    for iteration in range(1, T + 1):
        if iteration in skipped:
            lost += 1
            pending += 1
        if iteration % interval == 0:
            lr = lrs[iteration - lost]
            if zero_lr_on_skip and pending == interval:
                lr = 0.0
            lines.append(
                f"{prefix} [2024-05-01 10:{iteration // 60 % 60:02d}:{iteration % 60:02d}] iteration {iteration:8d}/{T:8d} |"
                f" consumed samples: {iteration * gbs:12d} | elapsed time per iteration (ms): 812.4 |"
                f" learning rate: {lr:.{digits}E} | global batch size: {gbs:5d} | lm loss: 6.512345E+00 |"
                f" loss scale: 65536.0 | grad norm: 1.234 | number of skipped iterations: {pending:3d} |"
                f" number of nan iterations:   0 |")
            pending = 0
        if iteration % 100 == 0:
            lines.append(f"{prefix} validation loss at iteration {iteration} | lm loss value: 6.401234E+00 | "
                         "lm loss PPL: 6.021234E+02 |")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("case_id", ["megatron-cosine-T939-gbs32-1", "megatron-linear-T500-gbs4-3",
                                     "megatron-WSD-T600-gbs1-9"])
def test_megatron_log_is_checked_against_its_arguments(case_id, tmp_path):
    path = tmp_path / "train.log"
    path.write_text(megatron_log(MEGATRON[case_id]))
    run = read_log(str(path))
    assert run.fmt == "megatron" and run.total_steps == MEGATRON[case_id]["train_iters"]
    assert run.rounding == pytest.approx(5e-7)  # 6 decimals of {:.6E}: 7 significant digits
    document = check(path, code=0)
    assert document["schedule"]["label"] == "the log's arguments"
    assert document["schedule"]["settings"]["framework"] == "megatron"
    assert document["convention"]["name"] == "megatron"
    assert document["followed"] and len(document["points"]) == MEGATRON[case_id]["train_iters"] // 10


def test_megatron_three_decimals_and_no_prefix(tmp_path):
    path = tmp_path / "log.txt"
    path.write_text(megatron_log(MEGATRON["megatron-cosine-T939-gbs32-1"], digits=3, prefix=""))
    run = read_log(str(path))
    assert run.fmt == "megatron" and run.rounding == pytest.approx(5e-4)
    assert check(path, code=0)["followed"]


def test_megatron_skipped_iterations_are_found_where_it_reported_them(tmp_path):
    skipped = frozenset({3, 4, 5, 212, 213, 480})
    path = tmp_path / "train.log"
    path.write_text(megatron_log(MEGATRON["megatron-linear-T500-gbs4-3"], skipped=skipped))
    run = read_log(str(path))
    assert [(s.step, s.count) for s in run.reported_skips] == [(10, 3), (220, 2), (480, 1)]
    document = check(path, code=1)
    spans = {tuple(f["steps"]): f for f in document["findings"] if f["cause"] == "skipped-step"}
    assert set(spans) == {(10, 10), (210, 220), (470, 480)}
    assert spans[(210, 220)]["title"].startswith("2 scheduler steps")
    assert "reports 2 skipped iterations" in spans[(210, 220)]["evidence"]


def test_megatron_lines_of_all_skipped_iterations_with_lr_zero_are_not_points(tmp_path):
    skipped = frozenset(range(11, 21))
    path = tmp_path / "train.log"
    path.write_text(megatron_log(MEGATRON["megatron-linear-T500-gbs4-3"], skipped=skipped, zero_lr_on_skip=True))
    run = read_log(str(path))
    assert 20 not in run.steps.tolist() and any("printed LR 0" in note for note in run.notes)


def test_megatron_log_without_arguments_is_inferred_and_said_in_megatron_flags(tmp_path):
    """Megatron's linear decay to min_lr is HF polynomial with power 1 down to lr_end, iteration for iteration."""
    path = tmp_path / "train.log"
    path.write_text(megatron_log(MEGATRON["megatron-linear-T500-gbs4-3"], arguments=False))
    result = invoke(["check-run", path, "--json"], 0)
    settings = json.loads(result.stdout)["inferred"]["settings"]
    assert (settings["scheduler"], settings["peak_lr"], settings["warmup_steps"], settings["total_steps"]) == \
        ("polynomial", 2e-4, 25, 500)
    assert settings["scheduler_kwargs"] == {"power": 1.0, "lr_end": 2e-6}
    assert "--lr-decay-style linear --lr 0.0002 --min-lr 2e-06 --lr-warmup-iters 25 --lr-decay-iters 500" in result.stderr


def test_megatron_resumed_run_uses_the_checkpoint_values(tmp_path):
    case = MEGATRON["megatron-cosine-T939-gbs32-1"]
    text = re.sub(r"(?m)^(  lr \.+ )0\.0002$", r"\g<1>0.0003", megatron_log(case))
    text = text.replace("-------------------- end of arguments ---------------------",
                        "-------------------- end of arguments ---------------------\n"
                        " > using checkpoint value 0.0002 for learning rate")
    path = tmp_path / "train.log"
    path.write_text(text)
    run = read_log(str(path))
    assert run.settings["lr"] == 0.0003 and run.settings["checkpoint"] == {"lr": 0.0002}
    assert check(path, code=0)["schedule"]["settings"]["peak_lr"] == 0.0002


# ------------------------------------------------------------------------------------------ metrics.csv


def test_lightning_metrics_csv(tmp_path):
    """Lightning's CSVLogger with LearningRateMonitor(logging_interval="step") writes one row per logged metric set;
    the LR column is lr-<Optimizer>, other rows leave it empty."""
    lrs = hf_lrs("cosine", 1e-3, 10, 100)
    rows = ["epoch,lr-AdamW,step,train_loss,val_loss"]
    for s in range(100):
        rows.append(f"0,{lrs[s]!r},{s},,")
        if s % 10 == 9:
            rows.append(f"0,,{s},1.25,")
    rows.append("0,,99,,1.1")
    path = tmp_path / "metrics.csv"
    path.write_text("\n".join(rows) + "\n")
    run = read_log(str(path))
    assert run.columns == ("step", "lr-AdamW") and len(run) == 100
    document = check(path, "--steps", 100, "--scheduler", "cosine", "--lr", 1e-3, "--warmup-steps", 10, code=0)
    assert document["convention"]["name"] in ("hf-legacy", "update")


# ------------------------------------------------------------------------------------------ TensorBoard


def test_tensorboard_event_file_from_summary_writer(tmp_path):
    pytest.importorskip("tensorboard")
    torch = pytest.importorskip("torch")
    from torch.utils.tensorboard import SummaryWriter

    lrs = hf_lrs("cosine_with_min_lr", 2e-4, 6, 60, {"min_lr_rate": 0.1})
    writer = SummaryWriter(str(tmp_path))
    for s in range(60):
        writer.add_scalar("train/loss", 1.0, s + 1)
        writer.add_scalar("train/learning_rate", lrs[s], s + 1)
    writer.close()
    (path,) = tmp_path.glob("events.out.tfevents.*")
    run = read_log(str(path))
    assert run.fmt == "tensorboard" and len(run) == 60 and run.rounding == 2.0**-24
    assert run.lr.tolist() == [float(torch.tensor(v, dtype=torch.float32)) for v in lrs]
    document = check(path, code=0)
    settings = document["inferred"]["settings"]
    assert (settings["scheduler"], settings["peak_lr"], settings["warmup_steps"], settings["total_steps"]) == \
        ("cosine_with_min_lr", 2e-4, 6, 60)
