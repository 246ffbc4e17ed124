"""The ``lrviz …`` commands written in README.md and docs/*.md, the files they name, and running them.

``examples()`` finds every command: lines of fenced blocks that start with ``lrviz`` or ``$ lrviz`` (the
option references' indented examples included) and inline code that runs a command with arguments. A ``console``
block shows a command's real output after it: every line it shows (but ``...``) is a line of that output at
100 columns. ``write_fixtures`` writes the files the examples name (``train_lora.yaml``, ``trainer_state.json``, …)
into a folder; ``run`` runs one example there.

``python tests/doc_examples.py --refresh docs/advise.md`` rewrites the console blocks of a page that elide
nothing with the real output (warnings first, as a terminal shows them).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from realworld import REAL_LOGS

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
COLUMNS = "100"

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"(?<!`)`(lrviz [^`\n]+)`(?!`)")


@dataclass(frozen=True)
class Example:
    page: str  # README.md or docs/x.md
    line: int
    command: str  # as written, without the prompt, the comment and any shell redirection
    shown: tuple[str, ...] | None = None  # the output a console block shows after it

    @property
    def args(self) -> list[str]:
        return shlex.split(self.command)[1:]

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}: {self.command}"


# pages that write their own files and run their own commands (tests/test_config_formats_doc.py)
SELF_TESTED = ("config-formats.md",)


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(path for path in (ROOT / "docs").glob("*.md") if path.name not in SELF_TESTED)]


def _strip(command: str) -> str:
    """Drop a trailing comment, a shell redirection (``> file``) and a pipe (``| head``): what reaches lrviz."""
    words = shlex.split(command, comments=True)
    for operator in (">", "|"):
        if operator in words:
            words = words[:words.index(operator)]
    return shlex.join(words)


def examples() -> list[Example]:
    found: list[Example] = []
    for path in pages():
        text = path.read_text(encoding="utf-8")
        page = str(path.relative_to(ROOT))
        fenced = []
        for block in FENCE.finditer(text):
            fenced.append(block.span())
            first = text.count("\n", 0, block.start(2)) + 1
            lines = block.group(2).splitlines()
            for index, line in enumerate(lines):
                stripped = line.strip()
                prompt = stripped.startswith("$ lrviz ")
                if block.group(1) == "console" and not prompt:
                    continue  # output, not a command
                if not (prompt or stripped.startswith("lrviz ") or stripped == "lrviz"):
                    continue
                command = _strip(stripped.removeprefix("$ "))
                shown = None
                if prompt and block.group(1) == "console":
                    rest = []
                    for after in lines[index + 1:]:
                        if after.startswith("$ "):
                            break
                        rest.append(after)
                    shown = tuple(rest)
                found.append(Example(page, first + index, command, shown))
        for match in INLINE.finditer(text):
            if any(start <= match.start() < end for start, end in fenced):
                continue
            command = match.group(1)
            words = command.split()
            if len(words) < 3 and words[1:] != ["--help"]:
                continue  # a command's name in a sentence, not an example
            if any(word.isupper() for word in words):
                continue  # a placeholder such as COMMAND
            found.append(Example(page, text.count("\n", 0, match.start()) + 1, _strip(command)))
    return found


# ---------------------------------------------------------------------------------------- the files they name

LORA_SFT = """\
### a LoRA SFT config in LLaMA-Factory's format (lrviz's own example)
stage: sft
finetuning_type: lora
learning_rate: 1.0e-4
lr_scheduler_type: cosine_with_min_lr
lr_scheduler_kwargs:
  min_lr: 1.0e-5
warmup_steps: 0.1
per_device_train_batch_size: 1
gradient_accumulation_steps: 8
num_train_epochs: 3.0
"""

DS_CONFIG = {"train_micro_batch_size_per_gpu": "auto", "optimizer": {"type": "AdamW", "params": {"lr": 2e-4}},
             "scheduler": {"type": "WarmupCosineLR", "params": {"total_num_steps": 2000, "warmup_num_steps": 60,
                                                                "warmup_type": "linear", "cos_min_ratio": 0.01}}}


def _cosine_lrs(total: int, warmup: int, peak: float, floor_rate: float) -> list[float]:
    from lrviz import ScheduleSpec
    from lrviz.schedules import lr_at

    spec = ScheduleSpec("cosine_with_min_lr", peak, total, warmup, {"min_lr_rate": floor_rate})
    return [float(value) for value in lr_at(spec, range(total))]


# an HF TrainingArguments JSON, as HfArgumentParser.parse_json_file reads it
TRL_DPO = """\
# a TRL DPO config (lrviz's own example): model and dataset for trl's script, the rest DPOConfig
model_name_or_path: my-org/my-sft-model
dataset_name: my-org/preference-pairs
beta: 0.1
loss_type: sigmoid
lr_scheduler_type: cosine_with_min_lr
lr_scheduler_kwargs:
  min_lr_rate: 0.1
warmup_steps: 0.1
num_train_epochs: 1
per_device_train_batch_size: 4
gradient_accumulation_steps: 4
output_dir: my-dpo
"""

TRAIN_ARGS = {"output_dir": "out", "learning_rate": 2e-4, "lr_scheduler_type": "cosine_with_min_lr",
              "lr_scheduler_kwargs": {"min_lr_rate": 0.1}, "warmup_steps": 5, "max_steps": 60,
              "per_device_train_batch_size": 2}


def write_model_folder(folder: Path) -> None:
    """``my-small-model``: a tiny causal LM saved with ``save_pretrained``, as a user's local model folder is."""
    from lrviz.verify.trainer import tiny_causal_lm

    model, _ = tiny_causal_lm(seed=0)
    model.save_pretrained(folder / "my-small-model")


def write_fixtures(folder: Path) -> None:
    """The files the documented commands name, in ``folder``: configs, a DeepSpeed JSON, and run logs."""
    for name in ("train_lora.yaml", "my_sft.yaml", "a.yaml", "llama3_lora_sft.yaml"):
        (folder / name).write_text(LORA_SFT)
    (folder / "sft.yaml").write_text(LORA_SFT + "max_steps: 200\n")  # the guard's example: a run of known length
    (folder / "b.yaml").write_text(LORA_SFT.replace("cosine_with_min_lr", "cosine").replace("lr_scheduler_kwargs:\n  min_lr: 1.0e-5\n", ""))
    (folder / "ds_config.json").write_text(json.dumps(DS_CONFIG, indent=1))
    (folder / "dpo.yaml").write_text(TRL_DPO)
    (folder / "train_args.json").write_text(json.dumps(TRAIN_ARGS, indent=1))
    # the LLaMA-Factory + DeepSpeed example of docs/configs.md: lrviz's own gallery config
    (folder / "examples" / "deepspeed").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "gallery" / "configs" / "ds_z3_warmuplr.json", folder / "examples" / "deepspeed" / "ds_z3_config.json")
    gallery = (ROOT / "gallery" / "configs" / "llamafactory_full_sft_ds3.yaml").read_text()
    (folder / "qwen_full_sft_ds3.yaml").write_text(gallery.replace("gallery/configs/ds_z3_warmuplr.json",
                                                                    "examples/deepspeed/ds_z3_config.json"))
    # a real trainer_state.json (Dheena731/tinyLlama-finetune, from ../shared/real-world with its SOURCES.md)
    (folder / "output").mkdir(exist_ok=True)
    for target in (folder / "trainer_state.json", folder / "output" / "trainer_state.json"):
        shutil.copy(REAL_LOGS / "tinyllama-lora" / "trainer_state.json", target)
    # a LLaMA-Factory trainer_log.jsonl and a W&B export of cosine_with_min_lr, peak 1e-4, floor 1/10, 400 updates
    lrs = _cosine_lrs(400, 12, 1e-4, 0.1)
    (folder / "saves").mkdir(exist_ok=True)
    with open(folder / "saves" / "trainer_log.jsonl", "w") as log:
        for update in range(9, 400, 10):
            log.write(json.dumps({"current_steps": update + 1, "total_steps": 400, "loss": 1.0, "learning_rate": lrs[update]}) + "\n")
    rows = "".join(f"{update + 1},{lrs[update]!r}\n" for update in range(4, 400, 5))
    (folder / "wandb_export.csv").write_text("train/global_step,run-1 - train/learning_rate\n" + rows)


# ---------------------------------------------------------------------------------------- running one


def run(example: Example):
    """Run ``example`` in the current folder, as a user at a 100-column terminal; the click ``Result``."""
    from click.testing import CliRunner

    from lrviz.cli import cli

    return CliRunner(env={"COLUMNS": COLUMNS}).invoke(cli, example.args, prog_name="lrviz", catch_exceptions=True)


def real_lines(result) -> list[str]:
    """The output as a terminal shows it: stderr (the warnings, printed first) then stdout, without trailing spaces."""
    return [line.rstrip() for line in (result.stderr + result.stdout).strip("\n").splitlines()]


def refresh(page: Path) -> None:
    """Rewrite ``page``'s console blocks that elide nothing with the real output (run in a scratch folder)."""
    import os
    import tempfile

    text = page.read_text(encoding="utf-8")
    where = str(page.relative_to(ROOT))
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        write_fixtures(Path(scratch))
        os.chdir(scratch)
        try:
            for example in examples():
                if example.page != where or example.shown is None or "..." in example.shown:
                    continue
                old = "\n".join(example.shown)
                written = next(line for line in text.splitlines() if line.startswith("$ ") and _strip(line[2:]) == example.command)
                new = "\n".join(real_lines(run(example)))
                text = text.replace(f"{written}\n{old}", f"{written}\n{new}", 1)
        finally:
            os.chdir(here)
    page.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--refresh"]:
        sys.path.insert(0, str(ROOT))
        for name in sys.argv[2:]:
            refresh(ROOT / name)
