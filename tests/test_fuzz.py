"""Fuzzing: mutated inputs of every format through every command, against the contract (issue 13).

Seeds are valid inputs: the real public configs and logs in ``../shared/real-world`` (where present) and this
suite's own small files of every format (HF / LLaMA-Factory / Axolotl / NeMo YAML, HF and DeepSpeed JSON, Megatron
flags, trainer_state.json, trainer_log.jsonl, CSV). Hypothesis mutates them — keys deleted, duplicated and retyped;
numbers made huge, negative, NaN, inf, null or text; unicode and control characters; truncation at random offsets;
BOMs, CRLF and CR line ends; YAML anchors, aliases and alias bombs; deep nesting; binary junk — and output paths
(long names, missing or unwritable folders, devices, odd extensions). Each example runs ``lrviz`` in-process
(click's CliRunner) and must keep the contract:

* exit 0, 1, 2 or 3 only; 2 is exactly one ``Error: ...`` line on stderr;
* no traceback anywhere; no file left behind in the working folder (no output, no ``.lrviz-*.part``) unless it is
  the output that was asked for and the command succeeded;
* within a time bound.

The default run is bounded (a fixed seed, ``derandomize``, and a few dozen examples per family: well under a minute
on two cores). Set ``LRVIZ_FUZZ_EXAMPLES=N`` for N examples per family (a long run; it adds ``lrviz verify`` and
every real file as a seed; ``LRVIZ_FUZZ_MAX_SEED_BYTES`` caps the seeds' size).
"""

from __future__ import annotations

import itertools
import os
import re
import time
import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from realworld import REAL_CONFIGS, REAL_LOGS, real_files

from lrviz.cli import cli

LONG = int(os.environ.get("LRVIZ_FUZZ_EXAMPLES", "0"))
TIME_BOUND_S = 30.0 if LONG else 20.0


def budget(default: int) -> settings:
    return settings(max_examples=LONG or default, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


# ------------------------------------------------------------------------------------------------------ seeds

OWN_CONFIGS = {
    "hf.yaml": "output_dir: out\nlearning_rate: 2.0e-5\nlr_scheduler_type: cosine_with_min_lr\n"
               "lr_scheduler_kwargs:\n  min_lr_rate: 0.1\nwarmup_ratio: 0.03\nmax_steps: 500\n"
               "per_device_train_batch_size: 4\ngradient_accumulation_steps: 2\n",
    "hf.json": '{"learning_rate": 3e-4, "lr_scheduler_type": "warmup_stable_decay", "lr_scheduler_kwargs": '
               '{"num_decay_steps": 100}, "warmup_steps": 20, "max_steps": 1000}\n',
    "lf.yaml": "stage: sft\nfinetuning_type: lora\ntemplate: qwen\nlearning_rate: 1.0e-4\nnum_train_epochs: 3.0\n"
               "lr_scheduler_type: cosine\nwarmup_ratio: 0.1\nper_device_train_batch_size: 2\n"
               "gradient_accumulation_steps: 8\nmax_steps: 300\n",
    "axolotl.yaml": "base_model: NousResearch/Llama-3.2-1B\nlearning_rate: 0.0002\nlr_scheduler: cosine\n"
                    "cosine_min_lr_ratio: 0.1\nwarmup_steps: 10\nmax_steps: 200\nmicro_batch_size: 2\n"
                    "gradient_accumulation_steps: 4\noptimizer: adamw_torch\n",
    "nemo.yaml": "trainer:\n  max_steps: 1000\nmodel:\n  optim:\n    name: fused_adam\n    lr: 2.0e-4\n    sched:\n"
                 "      name: CosineAnnealing\n      warmup_steps: 50\n      min_lr: 2.0e-5\n",
    "ds.json": '{"train_batch_size": 16, "scheduler": {"type": "WarmupDecayLR", "params": {"warmup_min_lr": 0, '
               '"warmup_max_lr": 3e-4, "warmup_num_steps": 100, "total_num_steps": 1000}}}\n',
    "megatron.sh": "python pretrain_gpt.py \\\n  --train-iters 2000 \\\n  --lr 3.0e-4 \\\n  --min-lr 3.0e-5 \\\n"
                   "  --lr-decay-style cosine \\\n  --lr-warmup-iters 100 \\\n  --global-batch-size 256\n",
}

OWN_LOGS = {
    "trainer_state.json": '{"global_step": 40, "max_steps": 40, "logging_steps": 10, "log_history": ['
                          + ", ".join(f'{{"step": {s}, "learning_rate": {2e-4 * (1 - (s - 1) / 40)!r}, "loss": 1.5}}'
                                      for s in range(10, 41, 10)) + "]}\n",
    "trainer_log.jsonl": "".join(f'{{"current_steps": {s}, "total_steps": 40, "learning_rate": {2e-4 * (1 - (s - 1) / 40)!r}}}\n'
                                 for s in range(5, 41, 5)),
    "log.csv": "step,lr\n" + "".join(f"{s},{1e-4 * (1 - s / 50)!r}\n" for s in range(50)),
}


def _seeds(own: dict[str, str], real: list[Path], small: int) -> list[tuple[str, bytes]]:
    found = [(name, text.encode()) for name, text in own.items()]
    small = int(os.environ.get("LRVIZ_FUZZ_MAX_SEED_BYTES", 10**9 if LONG else small))
    for path in real:
        if path.stat().st_size <= small:
            found.append((path.name, path.read_bytes()))
    return found


CONFIG_SEEDS = _seeds(OWN_CONFIGS, real_files(REAL_CONFIGS, "*.yaml", "*.yml", "*.json"), 64_000)
# Larger real logs take check-run seconds each (its schedule inference); the long run takes them all.
LOG_SEEDS = _seeds(OWN_LOGS, real_files(REAL_LOGS, "trainer_state.json", "trainer_log.jsonl"), 20_000)

# -------------------------------------------------------------------------------------------------- mutations

HOSTILE_NUMBERS = ["9" * 5000, "1" + "0" * 400, "-1", "-0.0", "0", "nan", ".nan", "NaN", "inf", ".inf", "-.inf",
                   "Infinity", "1e400", '"1e400"', "1e308", "2e-6", '"2e-6"', "null", "~", "true", "[]", "{}", "''",
                   str(2**63), str(2**53 + 1), "0x10", "1_000", "1e-400", "'abc'"]
JUNK = ["\x00", "\x07", "\x1b[31m", "\ufeff", "\u202e", "é", "😀", "\udcff", "\r", "\t", "\\", "'", '"', "&a", "*a",
        "!!python/object:os.system", "<<: *a", "- ", ": ", "{", "[", "}", "]", "#", "%YAML 1.1\n---\n", "--lr"]
NUMBER = re.compile(r"(?<![\w.])-?\d+(\.\d+)?([eE][-+]?\d+)?(?![\w.])")


def _alias_bomb(depth: int) -> str:
    lines = ["b0: &b0 [x, y]"] + [f"b{i}: &b{i} [*b{i - 1}, *b{i - 1}, *b{i - 1}]" for i in range(1, depth)]
    return "\n".join(lines) + "\n"


@st.composite
def mutated(draw, seeds: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    name, data = draw(st.sampled_from(seeds))
    text = data.decode("utf-8", errors="surrogateescape")
    for _ in range(draw(st.integers(1, 2))):
        op = draw(st.sampled_from(["number", "number", "delete_line", "duplicate_line", "swap_value", "truncate",
                                   "junk", "bytes", "bom", "crlf", "cr", "nest", "alias_bomb", "recursive", "key_null"]))
        lines = text.splitlines(keepends=True) or [""]
        where = draw(st.integers(0, max(0, len(lines) - 1)))
        if op == "number":
            matches = list(NUMBER.finditer(text))
            if matches:
                match = matches[draw(st.integers(0, len(matches) - 1))]
                text = text[:match.start()] + draw(st.sampled_from(HOSTILE_NUMBERS)) + text[match.end():]
        elif op == "delete_line":
            del lines[where]
            text = "".join(lines)
        elif op == "duplicate_line":
            lines.insert(where, lines[where])
            text = "".join(lines)
        elif op == "swap_value":
            line = lines[where]
            if ":" in line:
                key = line.split(":", 1)[0]
                lines[where] = f"{key}: {draw(st.sampled_from(HOSTILE_NUMBERS + JUNK))}\n"
            text = "".join(lines)
        elif op == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
        elif op == "junk":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.sampled_from(JUNK)) + text[at:]
        elif op == "bytes":
            at = draw(st.integers(0, len(text)))
            junk = draw(st.binary(min_size=1, max_size=16)).decode("utf-8", errors="surrogateescape")
            text = text[:at] + junk + text[at:]
        elif op == "bom":
            text = "\ufeff" + text
        elif op == "crlf":
            text = text.replace("\n", "\r\n")
        elif op == "cr":
            text = text.replace("\n", "\r")
        elif op == "nest":
            depth = draw(st.sampled_from([50, 150, 1200, 20000]))
            if name.endswith((".json", ".jsonl")):
                text = '{"deep": ' + "[" * depth + "]" * depth + ", " + text.lstrip().lstrip("{")
            else:
                text = "deep: " + "[" * depth + "]" * depth + "\n" + text
        elif op == "alias_bomb":
            text = _alias_bomb(draw(st.sampled_from([3, 12, 25]))) + text
        elif op == "recursive":
            text = "loop: &loop {again: *loop}\n" + text
        elif op == "key_null":
            line = lines[where]
            if ":" in line:
                lines[where] = line.split(":", 1)[0] + ": null\n"
            text = "".join(lines)
    return name, text.encode("utf-8", errors="surrogateescape")


# ------------------------------------------------------------------------------------------------- the contract

_counter = itertools.count()


def check_contract(args: list[str], workdir: Path, allowed_outputs: tuple[str, ...] = ()) -> int:
    """Run ``lrviz ARGS`` in ``workdir``; assert the contract; return the exit code."""
    before = set(os.listdir(workdir))
    previous = os.getcwd()
    os.chdir(workdir)
    started = time.monotonic()
    try:
        result = CliRunner().invoke(cli, args, prog_name="lrviz", catch_exceptions=True)
    finally:
        os.chdir(previous)
    elapsed = time.monotonic() - started
    shown = " ".join(a if len(a) < 80 else a[:40] + "…" for a in args)
    exception = ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        exception = "".join(traceback.format_exception(*result.exc_info))
    assert not exception, f"lrviz {shown}\n{exception}"
    # 4: verify matched, but only against lrviz's formula (the framework is not installed): docs/verify.md
    allowed_codes = (0, 1, 2, 3, 4) if args[:1] == ["verify"] else (0, 1, 2, 3)
    assert result.exit_code in allowed_codes, f"lrviz {shown}: exit {result.exit_code}\n{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr, f"lrviz {shown}\n{result.stderr}"
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), f"lrviz {shown}: exit 2 but stderr:\n{result.stderr}"
    after = set(os.listdir(workdir))
    new = after - before
    if result.exit_code in (0, 1):  # 1: a finding (a floor at the peak, a run off its schedule); the output stands
        new -= set(allowed_outputs)
    assert not new, f"lrviz {shown}: left {sorted(new)} (exit {result.exit_code})\n{result.stderr}"
    assert elapsed < TIME_BOUND_S, f"lrviz {shown}: {elapsed:.1f} s"
    event(f"exit {result.exit_code}")
    return result.exit_code


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-in"), tmp_path_factory.mktemp("fuzz-out")


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / f"{next(_counter)}-{name}"  # a new name each time: never a stale read of an older mutation
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------------------------------------------ families


@budget(400)
@given(case=mutated(CONFIG_SEEDS), extra=st.sampled_from([[], [], ["--dataset-size", "1000"], ["--steps", "2**53"],
                                                          ["--epochs", "1e308", "--dataset-size", "10"]]),
       output=st.sampled_from([["--no-file"], ["--no-file"], ["-o", "fuzz.csv"]]))
def test_fuzz_plot_configs(folders, case, extra, output):
    inputs, out = folders
    config = _write(inputs, *case)
    check_contract(["plot", *output, "--config", str(config), *extra], out, allowed_outputs=("fuzz.csv",))
    if (out / "fuzz.csv").exists():  # written whole, by a run that succeeded: remove it for the next example
        (out / "fuzz.csv").unlink()


@budget(60)
@given(case=mutated(CONFIG_SEEDS))
def test_fuzz_advise_configs(folders, case):
    inputs, out = folders
    config = _write(inputs, *case)
    check_contract(["advise", "--snippets", "none", "--config", str(config), "--dataset-size", "1000"], out)


@budget(80)
@given(case=mutated(LOG_SEEDS), with_schedule=st.booleans())
def test_fuzz_check_run_logs(folders, case, with_schedule):
    inputs, out = folders
    log = _write(inputs, *case)
    extra = ["--scheduler", "linear", "--lr", "2e-4", "--steps", "40"] if with_schedule else []
    check_contract(["check-run", str(log), *extra, "--json"], out)


@budget(40)
@given(case=mutated(CONFIG_SEEDS))
def test_fuzz_check_run_with_configs(folders, case):
    inputs, out = folders
    log = _write(inputs, "log.csv", OWN_LOGS["log.csv"].encode())
    config = _write(inputs, *case)
    check_contract(["check-run", str(log), "--config", str(config), "--steps", "50"], out)


VALID_VALUES = st.sampled_from(["3", "0.5", "2e-4", "1000", "1_000", "10**3", "+7", " 12 ", "0.03", "1e-6", "1"])
OPTION_VALUES = st.one_of(VALID_VALUES, VALID_VALUES, VALID_VALUES,
                          st.sampled_from(HOSTILE_NUMBERS + ["2**53", "10**400", "2**1000000", "1e308", "1e-320"]),
                          st.text(max_size=12))
OPTIONS = ["--lr", "--min-lr", "--min-lr-rate", "--steps", "--dataset-size", "--batch-size", "--grad-accum", "--gpus",
           "--epochs", "--warmup-ratio", "--warmup-steps", "--num-cycles"]
KWARGS = st.builds(lambda key, value: f'{{"{key}": {value}}}',
                   st.sampled_from(["min_lr", "min_lr_rate", "num_cycles", "lr_end", "power", "num_decay_steps",
                                    "timescale", "warmup_lr_rate"]),
                   st.sampled_from(HOSTILE_NUMBERS + ["1e-5", "0.1", "100", '"linear"']))


@budget(300)
@given(options=st.lists(st.tuples(st.sampled_from(OPTIONS), OPTION_VALUES), max_size=4),
       scheduler=st.sampled_from([[], ["--scheduler", "polynomial"], ["--scheduler", "warmup_stable_decay"],
                                  ["--scheduler", "inverse_sqrt"], ["--framework", "deepspeed", "--scheduler", "WarmupLR"],
                                  ["--compare-frameworks", "hf,deepspeed,torch,timm,axolotl,megatron,nemo"]]),
       kwargs=st.one_of(st.just([]), st.just([]), KWARGS.map(lambda text: ["--scheduler-kwargs", text])),
       command=st.sampled_from(["plot", "advise"]))
def test_fuzz_option_values(folders, options, scheduler, kwargs, command):
    _, out = folders
    if command == "advise" and "--compare-frameworks" in scheduler:
        scheduler = []
    args = [command, "--no-file", *scheduler, *kwargs]
    for option, value in options:
        args += [option, value]
    check_contract(args, out)


NAMES = st.one_of(
    st.sampled_from(["run.png", "run.csv", "run.json", "run.svg", "run.pdf", "run", "run.txt", "run.PNG", ".png", "-",
                     "/dev/null", "/dev/full", "/dev/stdout", "/proc/x.csv", "/sys/x.png", "missing/x.png", "a" * 300 + ".csv",
                     "é😀.csv", "spaces in name.png", "x.png/", "..", "."]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00/"), min_size=1, max_size=40)
    .map(lambda name: name + ".csv"),
)


@budget(40)
@given(outputs=st.lists(NAMES, min_size=1, max_size=3), fmt=st.sampled_from([[], ["--format", "csv"], ["--format", "png"]]),
       extra=st.sampled_from([[], ["--json"], ["--no-file"], ["--compare", "linear"]]))
def test_fuzz_output_paths(folders, outputs, fmt, extra):
    _, out = folders
    args = ["plot", "--steps", "200", *fmt, *extra]
    for path in outputs:
        args += ["-o", path]
    check_contract(args, out, allowed_outputs=tuple(os.path.basename(path) for path in outputs))
    for name in os.listdir(out):  # what a success wrote is removed: the next example starts from an empty folder
        (out / name).unlink()


@pytest.mark.skipif(not LONG, reason="verify trains a model: only in the long run (LRVIZ_FUZZ_EXAMPLES)")
@budget(10)
@given(case=mutated(CONFIG_SEEDS))
def test_fuzz_verify_configs(folders, case):
    pytest.importorskip("torch")
    inputs, out = folders
    config = _write(inputs, *case)
    check_contract(["verify", "--device", "cpu", "--steps", "10", "--config", str(config)], out)
