"""One named regression test per family of defects found by fuzzing (issue 13), each reproducing the input first.

The contract for bad input: exit 2, one ``Error:`` line on stderr naming the file or option, no traceback, nothing
left in the working folder (no output, no ``.lrviz-*.part``). Inputs that the real framework accepts must keep
working. Most cases run in-process; signals, pipes, ``/dev/stdin`` and resource limits need a real process.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from cli_helpers import invoke
from realworld import REAL_CONFIGS, real_files, requires_real_world

from lrviz import textfile
from lrviz.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty current folder (where a default-named output would land) and a separate folder for inputs."""
    out = tmp_path / "out"
    out.mkdir()
    inputs = tmp_path / "in"
    inputs.mkdir()
    monkeypatch.chdir(out)
    return inputs


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def fails(args: list[object], *expected: str) -> str:
    """Run lrviz in-process; exit 2 with one short ``Error:`` line containing every ``expected``; nothing written."""
    before = leftovers(Path.cwd())
    result = invoke(args, 2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert len(lines[0]) < 600, lines[0]
    for text in expected:
        assert text in lines[0], lines[0]
    assert leftovers(Path.cwd()) == before
    return lines[0]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def run_cli(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "lrviz", *args], env=env, capture_output=True, timeout=120, **kwargs)


NEMO = "trainer:\n  max_steps: {trainer}\nmodel:\n  optim:\n    lr: 1.0e-4\n    sched:\n      name: CosineAnnealing\n{extra}"


# ------------------------------------------------------------------------------ numbers outside what is expected


def test_numbers_integer_of_thousands_of_digits_in_warmup_steps(workdir):
    config = write(workdir, "run.yaml", f"learning_rate: 1.0e-4\nmax_steps: 100\nwarmup_steps: {'9' * 4000}\n")
    line = fails(["plot", "--config", config], "run.yaml", "warmup_steps")
    assert "9999999999" not in line  # the number is described, not printed


def test_numbers_1e400_string_in_nemo_max_steps(workdir):
    config = write(workdir, "nemo.yaml", NEMO.format(trainer=100, extra='      max_steps: "1e400"\n'))
    fails(["plot", "--config", config], "nemo.yaml", "max_steps", "finite")


def test_numbers_epochs_1e308(workdir):
    fails(["plot", "--epochs", "1e308", "--dataset-size", "1000"], "--epochs")


def test_numbers_null_where_a_kwarg_expects_a_number(workdir):
    fails(["plot", "--scheduler", "polynomial", "--scheduler-kwargs", '{"lr_end": null}'], "lr_end", "null")
    config = write(workdir, "run.yaml", "learning_rate: 1.0e-4\nmax_steps: 100\nlr_scheduler_type: polynomial\n"
                                        "lr_scheduler_kwargs: {lr_end: null}\n")
    fails(["plot", "--config", config], "lr_end", "null")


def test_numbers_null_where_the_default_is_none_is_the_default(workdir):
    # transformers' cosine_with_min_lr has min_lr=None by default: null is the default, not an error
    invoke(["plot", "--no-file", "--scheduler-kwargs", '{"min_lr": null, "min_lr_rate": 0.1}'])


def test_numbers_steps_2_53_with_compare_frameworks_draws_without_allocating(workdir):
    started = time.monotonic()
    invoke(["plot", "--steps", "2**53", "--compare-frameworks", "hf,deepspeed,torch,timm", "-o", "cf.png"])
    assert (Path.cwd() / "cf.png").stat().st_size > 10_000
    assert time.monotonic() - started < 60


def test_numbers_steps_2_53_with_verify(workdir):
    fails(["verify", "--device", "cpu", "--steps", "2**53"], "--steps", "100,000")
    fails(["verify", "--device", "cpu", "--steps", "1000", "--batch-size", "100000"], "sequences")


def test_numbers_option_with_thousands_of_digits_is_shown_short(workdir):
    line = fails(["plot", "--steps", "1" + "0" * 5000], "--steps", "characters")
    assert len(line) < 200


@pytest.mark.parametrize("value", ["inf", "nan", "1e400", "5e3", "1.0"])
def test_numbers_megatron_integer_flag_not_an_integer(workdir, value):
    config = write(workdir, "train.sh", f"--train-iters {value}\n--lr 1e-4\n--lr-decay-style cosine\n")
    fails(["plot", "--config", config], "--train-iters", "invalid int value")


@pytest.mark.parametrize("value", ["inf", "nan", "1e400"])
def test_numbers_megatron_float_flag_not_finite(workdir, value):
    config = write(workdir, "train.sh", f"--train-iters 1000\n--lr {value}\n--lr-decay-style cosine\n")
    fails(["plot", "--config", config], "--lr", "finite")


@pytest.mark.parametrize("value", [".inf", ".nan", "-.inf", "1e400"])
def test_numbers_nemo_value_not_finite(workdir, value):
    config = write(workdir, "nemo.yaml", NEMO.format(trainer=value, extra=""))
    fails(["plot", "--config", config], "nemo.yaml", "max_steps")


@pytest.mark.parametrize("name, text", [
    ("run.yaml", "learning_rate: 1.0e-4\nmax_steps: 100\nunread_key: {digits}\n"),
    ("run.json", '{{"learning_rate": 1e-4, "max_steps": 100, "unread_key": {digits}}}'),
    ("ds.json", '{{"train_batch_size": 8, "scheduler": {{"type": "WarmupLR", "params": {{"warmup_num_steps": {digits}}}}}}}'),
])
def test_numbers_integer_over_4300_digits_anywhere_in_a_file(workdir, name, text):
    config = write(workdir, name, text.format(digits="7" * 4301))
    fails(["plot", "--config", config], name, "4,300 digits")


def test_numbers_integer_over_4300_digits_in_a_log(workdir):
    log = write(workdir, "trainer_state.json", json.dumps({"log_history": [{"step": 1, "learning_rate": 1e-4}]})
                .replace('"step": 1', '"step": ' + "1" * 4400))
    fails(["check-run", log], "trainer_state.json", "4,300 digits")
    jsonl = write(workdir, "trainer_log.jsonl", '{"current_steps": 1, "learning_rate": 1e-4}\n'
                  '{"current_steps": ' + "2" * 4400 + ', "learning_rate": 1e-4}\n')
    fails(["check-run", jsonl], "trainer_log.jsonl", "line 2")


# ------------------------------------------------------------------------------------------------ structure


def test_structure_json_nested_100000_deep(workdir):
    config = write(workdir, "deep.json", '{"a": ' * 100_000 + "1" + "}" * 100_000)
    fails(["plot", "--config", config], "deep.json", f"more than {textfile.MAX_DEPTH} levels")
    log = write(workdir, "trainer_state.json", "[" * 100_000 + "]" * 100_000)
    fails(["check-run", log], "trainer_state.json", "levels")


@pytest.mark.parametrize("shape", ["block", "flow"])
def test_structure_yaml_nested_5000_deep(workdir, shape):
    if shape == "block":
        text = "".join(" " * i + "a:\n" for i in range(5000)) + " " * 5000 + "b: 1\n"
    else:
        text = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    config = write(workdir, "deep.yaml", text)
    fails(["plot", "--config", config], "deep.yaml", "levels deep")


def test_structure_yaml_recursive_alias(workdir):
    config = write(workdir, "rec.yaml", "a: &a {self: *a}\nlearning_rate: 1.0e-4\n")
    fails(["plot", "--config", config], "rec.yaml", "alias")


def test_structure_yaml_alias_bomb_of_mappings(workdir):
    lines = ["a0: &a0 {k: v}"] + [f"a{i}: &a{i} {{x: *a{i - 1}, y: *a{i - 1}}}" for i in range(1, 40)]
    config = write(workdir, "bomb.yaml", "\n".join(lines) + "\nlearning_rate: 1.0e-4\n")
    started = time.monotonic()
    fails(["plot", "--config", config], "bomb.yaml", "alias bomb")
    assert time.monotonic() - started < 10


def test_structure_yaml_small_aliases_still_work(workdir):
    config = write(workdir, "run.yaml", "base: &lr 1.0e-4\nlearning_rate: *lr\nmax_steps: 100\n")
    invoke(["plot", "--no-file", "--config", config])


def test_structure_csv_with_cr_only_line_ends_reads_like_lf(workdir):
    rows = "step,lr\n" + "".join(f"{s},{1e-4 * (1 - s / 100)!r}\n" for s in range(100))
    lf = write(workdir, "lf.csv", rows)
    cr = workdir / "cr.csv"
    cr.write_bytes(rows.replace("\n", "\r").encode())
    first = invoke(["check-run", lf, "--json"]).stdout
    second = invoke(["check-run", cr, "--json"]).stdout
    assert json.loads(first)["log"]["points"] == json.loads(second)["log"]["points"] == 100


def test_structure_csv_field_over_131072_characters(workdir):
    log = write(workdir, "log.csv", "step,lr\n1," + "1" * 200_000 + "\n")
    fails(["check-run", log], "log.csv", "field larger")


def test_structure_csv_step_of_2_63(workdir):
    log = write(workdir, "log.csv", f"step,lr\n1,0.1\n{2 ** 63},0.2\n")
    fails(["check-run", log], "log.csv", "2**53")


@pytest.mark.parametrize("name, text, expected", [
    ("log.csv", "step,lr\n1,{big}\n", "infinite"),
    ("trainer_state.json", '{{"log_history": [{{"step": 1, "learning_rate": {big}}}]}}', "past what a float64 holds"),
])
def test_structure_lr_written_as_a_400_digit_integer(workdir, name, text, expected):
    log = write(workdir, name, text.format(big="1" * 400))
    fails(["check-run", log], name, expected)


@pytest.mark.parametrize("name, text", [
    ("ds.json", '{{"train_batch_size": 8, "scheduler": {{"type": "WarmupLR", "params": {{"warmup_min_lr": {big}}}}}}}'),
    ("run.yaml", "learning_rate: 1.0e-4\nmax_steps: 100\nunread: {big}\n"),
    ("run.yaml", "learning_rate: 1.0e-4\nmax_steps: 100\nunread: 0x{big}\n"),
])
def test_numbers_integer_past_float64_anywhere_in_a_file(workdir, name, text):
    config = write(workdir, name, text.format(big="1" * 400))
    fails(["plot", "--config", config, "--steps", "50"], name, "past what a float64 holds")


def test_structure_check_run_with_a_valid_axolotl_config(workdir):
    log = write(workdir, "log.csv", "step,lr\n" + "".join(f"{s},{2e-4 * s / 10 if s < 10 else 2e-4!r}\n" for s in range(5)))
    config = write(workdir, "axolotl.yaml", "base_model: x\nlearning_rate: 0.0002\nlr_scheduler: cosine\nmax_steps: 100\n"
                                            "warmup_steps: 10\nmicro_batch_size: 2\ngradient_accumulation_steps: 1\n")
    result = invoke(["check-run", log, "--config", config, "--json"])
    assert json.loads(result.stdout)["command"] == "check-run"


# ------------------------------------------------------------------------------ files that never end or are huge


@pytest.mark.parametrize("command", ["plot", "check-run"])
def test_files_dev_zero(workdir, command):
    args = ["plot", "--config", "/dev/zero"] if command == "plot" else ["check-run", "/dev/zero"]
    fails(args, "/dev/zero", "binary")


def test_files_config_over_the_size_limit(workdir):
    config = workdir / "huge.yaml"
    with open(config, "w") as handle:
        handle.write("learning_rate: 1.0e-4\n")
        handle.write("# padding\n" * (textfile.CONFIG_LIMIT_BYTES // 10 + 1))
    fails(["plot", "--config", config], "huge.yaml", "16 MiB")


def test_files_never_ending_pipe_stops_at_the_limit(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    producer = subprocess.Popen(["yes", "learning_rate: 1.0e-4"], stdout=subprocess.PIPE)
    try:
        completed = subprocess.run([sys.executable, "-m", "lrviz", "plot", "--no-file", "--config", "/dev/stdin"],
                                   stdin=producer.stdout, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    finally:
        producer.kill()
        producer.wait()
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.strip().splitlines() == [completed.stderr.strip()]
    assert "16 MiB" in completed.stderr and "Traceback" not in completed.stderr


def test_files_a_large_valid_yaml_loads_in_seconds(workdir):
    config = workdir / "wide.yaml"
    config.write_text("learning_rate: 1.0e-4\nmax_steps: 100\n" + "".join(f"key_{i}: {i}\n" for i in range(200_000)))
    started = time.monotonic()
    invoke(["plot", "--no-file", "--config", config])
    assert time.monotonic() - started < 30


# ------------------------------------------------------------------------------------------------ output paths


def test_output_name_longer_than_the_file_system_allows(workdir):
    fails(["plot", "-o", "a" * 300 + ".csv"], "longer than the file system allows")


@pytest.mark.parametrize("path", ["/proc/x.csv", "/sys/x.png"])
def test_output_folder_that_cannot_be_written(workdir, path):
    fails(["plot", "-o", path], path, "cannot create a file")


def test_output_missing_folder(workdir):
    fails(["plot", "-o", "no/such/folder/x.png"], "does not exist")


def test_output_full_device(workdir):
    fails(["plot", "--steps", "1000", "-o", "/dev/full", "--format", "csv"], "/dev/full", "No space left")


def test_output_write_failure_midway_leaves_nothing(tmp_path):
    """A real write error after the work started (RLIMIT_FSIZE: EFBIG): one line, no .part left."""
    code = ("import resource, signal, sys\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))\n"
            "from lrviz.cli import main\n"
            "sys.argv = ['lrviz', 'plot', '--steps', '100000', '-o', 'big.csv']\n"
            "main()\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    completed = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=120)
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.strip().splitlines()[-1].startswith("Error: -o big.csv: writing failed (File too large)")
    assert "Traceback" not in completed.stderr
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------- signals and pipes


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signals_during_a_long_export_leave_nothing(tmp_path, signum, code):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "lrviz", "plot", "--steps", "40000000", "-o", "big.csv"],
                               cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while not list(tmp_path.glob(".lrviz-*.part")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert list(tmp_path.glob(".lrviz-*.part")), "the export never started"
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert stderr.strip().splitlines()[-1].startswith("Error: "), stderr
    assert "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["plot", "--no-file"], ["plot", "--steps", "3000000", "-o", "-"], ["advise"]])
def test_pipes_closed_pipe_ends_quietly(tmp_path, args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "lrviz", *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.read(10)
    process.stdout.close()  # as `| head -c 10` does
    stderr = process.stderr.read().decode()
    process.wait(timeout=120)
    assert process.returncode == 0, stderr
    assert "Error" not in stderr and "Traceback" not in stderr and "Exception" not in stderr


# ----------------------------------------------------------------------- what the framework rejects, lrviz rejects


def test_framework_duplicate_key_in_llamafactory_yaml(workdir):
    config = write(workdir, "sft.yaml", "stage: sft\nfinetuning_type: lora\nlearning_rate: 1.0e-4\nmax_steps: 100\n"
                                        "learning_rate: 2.0e-4\n")
    fails(["plot", "--config", config], "sft.yaml", "found duplicate key learning_rate", "line 5")


def test_framework_duplicate_key_in_nemo_yaml(workdir):
    config = write(workdir, "nemo.yaml", NEMO.format(trainer=100, extra="      warmup_steps: 10\n      warmup_steps: 20\n"))
    fails(["plot", "--config", config], "found duplicate key model.optim.sched.warmup_steps")


def test_framework_duplicate_key_in_hf_yaml_is_what_pyyaml_reads(workdir):
    """HfArgumentParser.parse_yaml_file uses yaml.safe_load: the last value wins, as lrviz draws it."""
    config = write(workdir, "args.yaml", "learning_rate: 1.0e-4\nmax_steps: 100\nlearning_rate: 3.0e-4\n")
    assert yaml.safe_load(config.read_text())["learning_rate"] == 3.0e-4
    result = invoke(["plot", "--no-file", "--json", "--config", config])
    assert json.loads(result.stdout)["schedules"][0]["settings"]["peak_lr"] == 3.0e-4


@pytest.mark.parametrize("key", ["learning_rate", "lr_scheduler_type"])
def test_framework_null_learning_rate_and_scheduler(workdir, key):
    config = write(workdir, "args.yaml", f"learning_rate: 1.0e-4\nmax_steps: 100\n{key}: null\n"
                   .replace("learning_rate: 1.0e-4\n", "" if key == "learning_rate" else "learning_rate: 1.0e-4\n"))
    fails(["plot", "--config", config], "args.yaml", f"{key} is null")


def test_framework_deepspeed_json_through_a_pipe_is_recognised_by_content(tmp_path):
    block = {"train_batch_size": 8, "scheduler": {"type": "WarmupLR", "params": {
        "warmup_min_lr": 0, "warmup_max_lr": 1e-3, "warmup_num_steps": 50}}}
    completed = run_cli(["plot", "--json", "--steps", "200", "--config", "/dev/stdin"], input=json.dumps(block).encode(),
                        cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    settings = json.loads(completed.stdout)["schedules"][0]["settings"]
    assert (settings["framework"], settings["scheduler"], settings["peak_lr"]) == ("deepspeed", "WarmupLR", 1e-3)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------------ -o targets


def test_output_through_a_symlink_keeps_the_link(workdir):
    out = Path.cwd()
    (out / "link.csv").symlink_to("target.csv")
    invoke(["plot", "--steps", "10", "-o", "link.csv"])
    assert (out / "link.csv").is_symlink()
    assert (out / "target.csv").read_text().startswith("step,lr\n0,0.0\n")


def test_output_to_a_fifo_writes_through_it(workdir):
    fifo = Path.cwd() / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    invoke(["plot", "--steps", "10", "-o", fifo, "--format", "csv"])
    reader.join(timeout=30)
    assert received and received[0].startswith(b"step,lr\n")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_output_dev_null_is_written_not_replaced(workdir):
    before = os.stat("/dev/null")
    invoke(["plot", "--steps", "10", "-o", "/dev/null"])
    invoke(["plot", "--steps", "10", "-o", "/dev/null", "--format", "csv"])
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert leftovers(Path.cwd()) == []


def test_output_dev_stdout_is_stdout(tmp_path):
    completed = run_cli(["plot", "--steps", "5", "-o", "/dev/stdout"], cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.decode().splitlines()[:3] == ["step,lr", "0,0.0", "1,0.0002"]
    assert list(tmp_path.iterdir()) == []


def test_output_repeatable_o_writes_each(workdir):
    result = invoke(["plot", "--steps", "100", "-o", "run.png", "-o", "run.csv", "-o", "run.json"])
    out = Path.cwd()
    assert (out / "run.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "run.csv").read_text().count("\n") == 101
    assert len(json.loads((out / "run.json").read_text())["lr"]) == 100
    assert all(f"wrote run.{ext}" in result.stdout for ext in ("png", "csv", "json"))


def test_output_second_o_does_not_silently_replace_the_first(workdir):
    fails(["plot", "-o", "a.png", "-o", "./a.png"], "given twice")


def test_output_json_writes_no_default_file(workdir):
    invoke(["plot", "--json"])
    invoke(["plot", "--json", "--compare-frameworks", "hf,torch"])
    assert leftovers(Path.cwd()) == []
    invoke(["plot", "--json", "-o", "asked.png"])
    assert leftovers(Path.cwd()) == ["asked.png"]


@pytest.mark.parametrize("command", [["advise"], ["check-run", "LOG"], ["verify", "--device", "cpu"], ["plot"]])
def test_output_no_file_on_every_command(workdir, command):
    log = write(workdir, "log.csv", "step,lr\n0,0.0\n1,1e-4\n")
    args = [str(log) if word == "LOG" else word for word in command]
    fails([*args, "--no-file", "-o", "x.png"], "--no-file", "-o x.png")


def test_output_check_run_no_file_runs(workdir):
    log = write(workdir, "log.csv", "step,lr\n" + "".join(f"{s},{1e-4!r}\n" for s in range(5)))
    invoke(["check-run", log, "--no-file"])
    assert leftovers(Path.cwd()) == []


# ------------------------------------------------------------------------------------------ YAML at native speed


def _both_loaders():
    loaders = [yaml.SafeLoader]
    if getattr(yaml, "__with_libyaml__", False):
        loaders.append(yaml.CSafeLoader)
    return loaders


def test_yaml_loader_is_libyaml_where_present():
    expected = yaml.CSafeLoader if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader
    assert textfile.yaml_loader() is expected


@requires_real_world
@pytest.mark.skipif(not getattr(yaml, "__with_libyaml__", False), reason="PyYAML without libyaml")
def test_yaml_c_and_pure_loaders_agree_on_the_real_configs():
    from lrviz.configs.hf import _find_plain_floats

    files = real_files(REAL_CONFIGS, "*.yaml", "*.yml")
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8-sig")
        pure, fast = (textfile.parse_yaml(text, label=str(path), error=ConfigError, loader=loader) for loader in _both_loaders())
        assert fast.data == pure.data == yaml.safe_load(text), path
        assert fast.duplicate_key == pure.duplicate_key, path
        floats_pure: dict[str, str] = {}
        floats_fast: dict[str, str] = {}
        _find_plain_floats(pure.node, "", floats_pure)
        _find_plain_floats(fast.node, "", floats_fast)
        assert floats_fast == floats_pure, path


@pytest.mark.parametrize("text, message", [
    ("".join(" " * i + "a:\n" for i in range(300)) + " " * 300 + "b: 1\n", "levels deep"),
    ("a: &a [*a]\n", "alias"),
    ("a: " + "1" * 4400 + "\n", "4,300 digits"),
    ("a: [1, 2\n", "invalid YAML"),
])
def test_yaml_both_loaders_refuse_the_same_way(text, message):
    errors = []
    for loader in _both_loaders():
        with pytest.raises(ConfigError) as raised:
            textfile.parse_yaml(text, label="x.yaml", error=ConfigError, loader=loader)
        errors.append(str(raised.value).split(" at line")[0])
        assert message in str(raised.value)
    assert len(set(errors)) == 1, errors


def test_yaml_each_file_parsed_once(workdir, monkeypatch):
    config = write(workdir, "sft.yaml", "stage: sft\nfinetuning_type: lora\nlearning_rate: 1.0e-4\nmax_steps: 100\n")
    made = []
    real = textfile.yaml_loader

    def counting() -> type:
        made.append(1)
        return real()

    monkeypatch.setattr(textfile, "yaml_loader", counting)
    textfile._parsed.clear()
    invoke(["plot", "--no-file", "--config", config])
    assert len(made) == 1


# ------------------------------------------------------------------------------------ found by the fuzz suite itself


def test_fuzz_found_output_name_ending_in_a_slash(workdir):
    fails(["plot", "--steps", "200", "--format", "csv", "--json", "-o", "x.png/"], "x.png/", "names a folder")


def test_fuzz_found_several_outputs_all_or_nothing(workdir):
    fails(["plot", "--steps", "200", "-o", "run.png", "-o", "/dev/full", "--format", "png"], "/dev/full", "No space left")
    assert leftovers(Path.cwd()) == []


def test_fuzz_found_null_for_a_required_scheduler_argument(workdir):
    fails(["plot", "--scheduler", "warmup_stable_decay", "--scheduler-kwargs", '{"num_decay_steps": null}'],
          "num_decay_steps is null", "required")


@pytest.mark.parametrize("text", ['{"a": ' * 10_000 + "1" + "}" * 10_000, '{"min_lr": ' + "1" * 5000 + "}",
                                  "{1: " * 1000 + "1" + "}" * 1000])
def test_fuzz_found_hostile_scheduler_kwargs_text(workdir, text):
    line = fails(["plot", "--scheduler-kwargs", text], "--scheduler-kwargs", "characters")
    assert len(line) < 300


@pytest.mark.parametrize("name, text, expected", [
    ("lf", "stage: sft\nfinetuning_type: lora\nlearning_rate: 3.0e-4\nmax_steps: 100\nlr_scheduler_type: linear\n",
     ("hf", "linear", 3.0e-4)),
    ("megatron", "--train-iters 100\n--lr 2.5e-4\n--lr-decay-style cosine\n", ("megatron", "cosine", 2.5e-4)),
])
def test_files_a_pipe_is_read_once_by_every_reader_and_recognised_by_content(tmp_path, name, text, expected):
    completed = run_cli(["plot", "--json", "--config", "/dev/stdin"], input=text.encode(), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    settings = json.loads(completed.stdout)["schedules"][0]["settings"]
    assert (settings["framework"], settings["scheduler"], settings["peak_lr"]) == expected


def test_fuzz_found_a_quoted_1e400_scheduler_argument_in_advise(workdir):
    config = write(workdir, "hf.json", '{"learning_rate": 3e-4, "lr_scheduler_type": "warmup_stable_decay", '
                                       '"lr_scheduler_kwargs": {"num_decay_steps": "1e400"}, "max_steps": 1000}')
    fails(["advise", "--config", config], "hf.json", "num_decay_steps", "finite")


def test_fuzz_found_a_400_digit_axolotl_learning_rate(workdir):
    config = write(workdir, "axolotl.yaml", f"base_model: x\nlearning_rate: 1{'0' * 400}\nlr_scheduler: cosine\n"
                                            "max_steps: 200\n")
    line = fails(["plot", "--config", config], "axolotl.yaml", "learning_rate", "float64")
    assert "0000000000" not in line
