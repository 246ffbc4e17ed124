"""CLI contract for bad input: exit code 2, one ``Error: ...`` line on stderr, no traceback, nothing written.

Each case runs ``lrviz plot`` in-process through click's ``CliRunner`` with the working directory set to an
empty output folder (so a default-named file would be caught too). Input files live in a separate folder.
Afterwards the whole ``tmp_path`` tree must be exactly as it was before the call: no output file, no
``.lrviz-*.part`` temporary, no folder created.

The stderr line must name the option or file and the offending value, and say how to fix it; the
substrings asserted per case pin that down. An entry of ``expect`` that is a tuple is satisfied by any one
of its alternatives (e.g. ``2e-4`` or ``0.0002``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import invoke


# ----------------------------------------------------------------------------------------------- helpers


def snapshot(root: Path) -> set[str]:
    """Every file and folder below ``root`` (hidden ones included), relative to it."""
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def part_files(root: Path) -> list[str]:
    return sorted(str(path) for path in root.rglob(".lrviz-*.part"))


# ------------------------------------------------------------------------------------------------ inputs

LLAMAFACTORY_HEAD = "stage: sft\nfinetuning_type: lora\n"

INPUT_FILES: dict[str, bytes | str | None] = {
    # name -> contents (None: a directory)
    "confdir": None,
    "dir.png": None,
    "bad.yaml": "learning_rate: 2.0e-5\nmax_steps: [1, 2\n",
    "bad.json": '{"learning_rate": 2e-5,, "max_steps": 10}',
    "blob.yaml": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
    "list.yaml": "- learning_rate: 2.0e-5\n- max_steps: 100\n",
    "empty.yaml": "",
    "latin1.yaml": "max_steps: 10\nrun_name: caf\xe9\n".encode("latin-1"),
    "hf_lr.yaml": "learning_rate: 2e-5\nmax_steps: 100\nlr_scheduler_type: cosine\n",
    "nofloor.yaml": "learning_rate: 2.0e-5\nlr_scheduler_type: cosine_with_min_lr\nmax_steps: 100\n",
    "nomax.yaml": "learning_rate: 2.0e-5\nlr_scheduler_type: cosine\nnum_train_epochs: 3\n",
    "nan.json": '{"learning_rate": NaN, "max_steps": 10}',
    "kwstr.yaml": "max_steps: 10\nlr_scheduler_type: cosine_with_min_lr\nlr_scheduler_kwargs: 'min_lr=1e-6'\n",
    "typo.yaml": "max_steps: 10\nlr_scheduler_type: cosine_with_minlr\n",
    "neglr.yaml": "learning_rate: -1.0\nmax_steps: 100\nlr_scheduler_type: cosine\n",
    "negwarm.yaml": "max_steps: 100\nlr_scheduler_type: cosine\nwarmup_steps: -3\n",
}


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]  # "{out}" and "{in}" are replaced by the absolute folders
    expect: tuple[str | tuple[str, ...], ...] = field(default=())


def case(id: str, args: str | list[str], *expect: str | tuple[str, ...]) -> Any:
    argv = tuple(args.split()) if isinstance(args, str) else tuple(args)
    return pytest.param(Case(id, argv, expect), id=id)


PNG = "-o {out}/out.png"

CASES = [
    # ---- option values
    case("lr-nan", f"--lr nan {PNG}", "--lr", "nan", "finite", "e.g. --lr"),
    case("lr-inf", f"--lr inf {PNG}", "--lr", "inf", "finite", "e.g. --lr"),
    case("lr-negative", f"--lr -1 {PNG}", "--lr", "-1", "> 0"),
    case("lr-zero", f"--lr 0 {PNG}", "--lr", "0 must be > 0"),
    case("lr-not-a-number", f"--lr abc {PNG}", "--lr", "abc", "not a number"),
    case("steps-zero", f"--steps 0 {PNG}", "--steps", "0 must be >= 1"),
    case("steps-negative", f"--steps -5 {PNG}", "--steps", "-5", ">= 1"),
    case("steps-fraction", f"--steps 1.5 {PNG}", "--steps", "1.5", "whole number"),
    case("steps-over-2**53", f"--steps 1e20 {PNG}", "--steps", "1e20", "2**53"),
    case("steps-power-over-2**53", f"--steps 10**100 {PNG}", "--steps", "10**100", "2**53"),
    case("min-lr-negative", f"--min-lr -1e-6 {PNG}", "--min-lr", "-1e-6", ">= 0"),
    case("min-lr-and-min-lr-rate", f"--min-lr 2e-6 --min-lr-rate 0.1 {PNG}",
         ("--min-lr 2e-6", "--min-lr 2e-06"), "--min-lr-rate 0.1", "Only one"),
    case("min-lr-on-cosine", f"--scheduler cosine --min-lr 1e-6 {PNG}",
         ("--min-lr 1e-6", "--min-lr 1e-06"), "cosine", "no floor", "--scheduler cosine_with_min_lr"),
    case("scheduler-typo", f"--scheduler cosine_with_minlr {PNG}",
         "--scheduler", "'cosine_with_minlr'", "did you mean 'cosine_with_min_lr'"),
    case("scheduler-plateau", f"--scheduler reduce_lr_on_plateau {PNG}",
         "--scheduler", "reduce_lr_on_plateau", "use one of", "cosine_with_min_lr"),
    case("framework-unknown", f"--framework fairseq {PNG}", "--framework", "fairseq", "use one of: hf"),
    case("warmup-ratio-above-1", f"--warmup-ratio 1.5 {PNG}", "--warmup-ratio", "1.5", "<= 1"),
    case("warmup-ratio-and-steps", f"--warmup-ratio 0.1 --warmup-steps 10 {PNG}",
         "--warmup-ratio 0.1", "--warmup-steps 10", "give one"),
    case("warmup-steps-negative", f"--warmup-steps -1 {PNG}", "--warmup-steps", "-1", ">= 0"),
    case("epochs-zero", f"--dataset-size 100 --epochs 0 {PNG}", "--epochs", "0", "> 0"),
    case("num-cycles-on-linear", f"--scheduler linear --num-cycles 2 {PNG}", "--num-cycles", "linear", "drop the flag"),
    case("unknown-option", f"--lrr 1e-4 {PNG}", "--lrr", "'--lr'"),
    case("format-unknown", f"--format gif {PNG}", "--format", "gif", "png"),
    case("config-flavor-unknown", "--config-flavor bogus --config {in}/nofloor.yaml " + PNG,
         "--config-flavor", "bogus", "llamafactory"),
    # ---- --scheduler-kwargs
    case("kwargs-eta-min", ["--scheduler-kwargs", '{"eta_min": 1e-6}', "-o", "{out}/out.png"],
         ("--scheduler-kwargs", "lr_scheduler_kwargs"), "eta_min", "did you mean 'min_lr'"),
    case("kwargs-not-json", ["--scheduler-kwargs", "not json", "-o", "{out}/out.png"],
         "--scheduler-kwargs", "'not json'", "min_lr"),
    case("kwargs-list", ["--scheduler-kwargs", "[1,2]", "-o", "{out}/out.png"],
         "--scheduler-kwargs", "[1,2]", "not a mapping"),
    case("kwargs-num-warmup-steps", ["--scheduler-kwargs", '{"num_warmup_steps": 5}', "-o", "{out}/out.png"],
         ("--scheduler-kwargs", "lr_scheduler_kwargs"), "num_warmup_steps", "remove it"),
    case("kwargs-min-lr-as-text", ["--scheduler-kwargs", '{"min_lr": "2e-6"}', "-o", "{out}/out.png"],
         ("--scheduler-kwargs", "lr_scheduler_kwargs"), "min_lr", "'2e-6'", "not a number"),
    case("wsd-without-decay-steps", f"--scheduler warmup_stable_decay {PNG}",
         "warmup_stable_decay", "num_decay_steps", "--scheduler-kwargs"),
    case("polynomial-floor-above-peak", f"--scheduler polynomial --lr 1e-4 --min-lr 2e-4 {PNG}",
         "--min-lr", ("2e-4", "0.0002"), ("1e-4", "0.0001"), "smaller"),
    case("polynomial-floor-equals-peak", f"--scheduler polynomial --lr 1e-4 --min-lr 1e-4 {PNG}",
         "--min-lr", ("1e-4", "0.0001"), "smaller"),
    case("polynomial-warmup-equals-steps", f"--scheduler polynomial --steps 10 --warmup-steps 10 --min-lr 1e-7 {PNG}",
         "--warmup-steps 10", "--steps", "fewer warmup"),
    # ---- run length
    case("steps-and-dataset-size", f"--steps 100 --dataset-size 1000 {PNG}",
         "--steps 100", "--dataset-size 1000", "give one"),
    case("batch-size-without-dataset-size", f"--batch-size 4 {PNG}", "--batch-size", "--dataset-size"),
    case("drop-last-drops-everything", f"--dataset-size 3 --batch-size 4 --drop-last {PNG}",
         "--dataset-size 3", "4×1", "drop_last"),
    # ---- --config
    case("config-missing", "--config {in}/nope.yaml " + PNG, "--config", "{in}/nope.yaml", "no such file"),
    case("config-directory", "--config {in}/confdir " + PNG, "--config", "{in}/confdir", "directory"),
    case("config-bad-yaml", "--config {in}/bad.yaml " + PNG, "--config", "{in}/bad.yaml", "invalid YAML", "line"),
    case("config-bad-json", "--config {in}/bad.json " + PNG, "--config", "{in}/bad.json", "invalid JSON", "line 1"),
    case("config-binary", "--config {in}/blob.yaml " + PNG, "--config", "{in}/blob.yaml", "binary"),
    case("config-yaml-list", "--config {in}/list.yaml " + PNG, "--config", "{in}/list.yaml", "mapping", "list"),
    case("config-empty", "--config {in}/empty.yaml " + PNG, "--config", "{in}/empty.yaml", "empty"),
    case("config-not-utf8", "--config {in}/latin1.yaml " + PNG, "--config", "{in}/latin1.yaml", "UTF-8"),
    case("config-hf-lr-without-dot", "--config-flavor hf --config {in}/hf_lr.yaml " + PNG,
         "--config", "{in}/hf_lr.yaml", "learning_rate", "'2e-5'", "2.0e-5"),
    case("config-cosine-with-min-lr-without-floor", "--config {in}/nofloor.yaml " + PNG,
         "--config", "{in}/nofloor.yaml", "cosine_with_min_lr", "--min-lr", "--min-lr-rate"),
    case("config-without-max-steps", "--config {in}/nomax.yaml " + PNG,
         "--config", "{in}/nomax.yaml", "max_steps", "--dataset-size"),
    case("config-json-nan", "--config {in}/nan.json " + PNG, "--config", "{in}/nan.json", "learning_rate", "nan"),
    case("config-kwargs-string-not-json", "--config {in}/kwstr.yaml " + PNG,
         "--config", "{in}/kwstr.yaml", "lr_scheduler_kwargs", "min_lr=1e-6"),
    # errors whose value comes from a file must name that file, not a flag the user never typed
    case("config-scheduler-typo", "--config {in}/typo.yaml " + PNG,
         "typo.yaml", "cosine_with_minlr", "did you mean 'cosine_with_min_lr'"),
    case("config-negative-lr", "--config {in}/neglr.yaml " + PNG, "neglr.yaml", "learning_rate", "-1"),
    case("config-negative-warmup", "--config {in}/negwarm.yaml " + PNG, "negwarm.yaml", "warmup_steps", "-3"),
    # ---- output
    case("output-is-directory", "-o {out}", "-o {out}", "directory"),
    case("output-is-directory-with-extension", "-o {in}/dir.png", "-o {in}/dir.png", "directory"),
    case("output-folder-missing", "-o {out}/missing/x.png", "-o {out}/missing/x.png", "{out}/missing", "does not exist"),
    case("output-unknown-extension", "-o {out}/file.txt", "-o {out}/file.txt", "'txt'", ".png"),
    case("output-extension-vs-format", "-o {out}/x.png --format csv", "-o {out}/x.png", "--format", "csv", "agree"),
    case("stdout-with-image-format", "-o - --format png", "-o -", "--format", "png", "csv or json"),
    case("json-with-stdout-output", "--json -o -", "--json", "-o -"),
    case("no-file-with-output", "--no-file -o {out}/x.png", "--no-file", "-o {out}/x.png", "drop one"),
    case("empty-output-name", ["-o", ""], "-o", ("''", "empty")),
    case("csv-with-compare", "--format csv --compare linear -o {out}/x.csv", "--format csv", "--compare"),
    case("compare-unknown-scheduler", f"--compare nosuchsched {PNG}", "--compare", "nosuchsched", "use one of"),
    case("export-too-large-csv-file", "--steps 10**9 --format csv -o {out}/x.csv",
         "--format csv", ("10**9", "1,000,000,000", "1000000000"), "--steps"),
    case("export-too-large-json-file", "--steps 10**9 -o {out}/x.json",
         "json", ("10**9", "1,000,000,000", "1000000000"), "--steps"),
    case("export-too-large-csv-stdout", "--steps 10**9 --format csv -o -",
         "csv", ("10**9", "1,000,000,000", "1000000000"), "--steps"),
]


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(inputs, outputs): inputs holds INPUT_FILES, outputs is empty and the working directory."""
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    outputs.mkdir()
    for name, contents in INPUT_FILES.items():
        target = inputs / name
        if contents is None:
            target.mkdir()
        elif isinstance(contents, bytes):
            target.write_bytes(contents)
        else:
            target.write_text(contents, encoding="utf-8")
    monkeypatch.chdir(outputs)
    return inputs, outputs


@pytest.mark.parametrize("bad", CASES)
def test_bad_input_is_one_error_line_and_exit_2(bad: Case, folders: tuple[Path, Path], tmp_path: Path) -> None:
    inputs, outputs = folders
    fill = lambda text: text.replace("{in}", str(inputs)).replace("{out}", str(outputs))  # noqa: E731
    args = ["plot", *(fill(arg) for arg in bad.args)]
    before = snapshot(tmp_path)

    result = invoke(args, 2)

    shown = f"lrviz {' '.join(args)}\n--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert "Traceback" not in result.stdout and "Traceback" not in result.stderr, shown
    assert isinstance(result.exception, SystemExit), shown
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected exactly one stderr line, got {len(lines)}\n{shown}"
    line = lines[0]
    assert line.startswith("Error: "), shown
    for wanted in bad.expect:
        alternatives = tuple(fill(w) for w in (wanted if isinstance(wanted, tuple) else (wanted,)))
        assert any(w in line for w in alternatives), f"stderr line lacks {' or '.join(map(repr, alternatives))}\n{shown}"
    assert part_files(tmp_path) == [], shown
    assert sorted(snapshot(tmp_path) - before) == [], f"files left behind\n{shown}"
    assert sorted(os.listdir(outputs)) == [], shown


def test_there_are_at_least_30_cases() -> None:
    assert len({p.values[0].id for p in CASES}) >= 30


def test_huge_power_count_fails_fast(tmp_path: Path) -> None:
    """``--steps 10**100000000`` is over 2**53; rejecting it must not first compute a 100-million-digit integer."""
    script = textwrap.dedent(
        """
        import sys
        from lrviz.cli import cli
        cli.main(["plot", "--steps", "10**100000000", "--no-file"], prog_name="lrviz")
        """
    )
    try:
        completed = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("lrviz plot --steps 10**100000000 --no-file did not finish within 5 s (it should fail at once with exit 2)")
    assert completed.returncode == 2, completed.stderr
    lines = completed.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "--steps" in lines[0] and "2**53" in lines[0], completed.stderr
    assert os.listdir(tmp_path) == []
