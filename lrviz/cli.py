"""The ``lrviz`` command line: parse options, build specs, call the core, render, map errors to exit codes.

Only click is imported at module level, so that ``lrviz --help`` starts fast; each command imports what it
needs. Exit codes: 0 done, 1 a check found a problem, 2 bad input, 3 the environment cannot run it.
"""

from __future__ import annotations

import math
import os
import re
import sys
from typing import Any, Callable

import click

from .configs import FLAVORS as CONFIG_FLAVORS
from .frameworks import FRAMEWORKS

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def shown(value: Any) -> str:
    """An option value for a message: as given, or cut where it is long (a number of thousands of digits)."""
    text = str(value)
    return text if len(text) <= 40 else f"{text[:20]}…{text[-8:]} ({len(text):,} characters)"


def _fail(message: str, code: int) -> None:
    flat = " ".join(str(message).split())
    click.echo(f"Error: {flat}", err=True)
    sys.exit(code)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (in-process tests)
        pass


_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


class LrvizGroup(click.Group):
    """A click group whose errors are one line on stderr, never a traceback or a usage dump."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        from .errors import LrvizError, Terminated  # light: no numpy

        try:
            code = super().main(args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra)
        except _NO_ARGS_IS_HELP as error:  # bare `lrviz`: show the help, as --help does
            click.echo(error.ctx.get_help() if error.ctx is not None else error.format_message())
            sys.exit(0)
        except click.exceptions.UsageError as error:
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx is not None else ""
            _fail(error.format_message() + hint, 2)
        except click.ClickException as error:
            _fail(error.format_message(), error.exit_code)
        except LrvizError as error:
            _fail(str(error), error.exit_code)
        except (click.Abort, KeyboardInterrupt) as error:
            if isinstance(error, Terminated) or isinstance(error.__cause__, Terminated):
                _fail("terminated (SIGTERM); nothing was written", 143)
            _fail("interrupted", 130)
        except SystemExit as stop:  # rich's Console exits 1 on a broken pipe (Console.on_broken_pipe): exit 0 instead
            if isinstance(stop.__context__, BrokenPipeError):
                _quiet_stdout()
                sys.exit(0)
            raise
        sys.exit(code or 0)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # the reader went away (| head): end quietly with 0, as other Unix tools do
            _quiet_stdout()
            raise click.exceptions.Exit(0) from None


# ------------------------------------------------------------------------------- option value types


class FiniteFloat(click.ParamType):
    """A finite float, optionally bounded: rejects nan, inf and out-of-range values with the fix."""

    name = "FLOAT"

    def __init__(self, minimum: float | None = None, maximum: float | None = None, min_open: bool = False, example: str = "") -> None:
        self.minimum, self.maximum, self.min_open, self.example = minimum, maximum, min_open, example

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(str(value).replace("_", ""))
            except ValueError:
                self.fail(f"{shown(value)!r} is not a number{self._example()}", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{shown(value)!r} is not a finite number{self._example()}", param, ctx)
        if self.minimum is not None and (number < self.minimum or (self.min_open and number == self.minimum)):
            bound = ">" if self.min_open else ">="
            self.fail(f"{shown(value)} must be {bound} {self.minimum:g}{self._example()}", param, ctx)
        if self.maximum is not None and number > self.maximum:
            bound = "2**53" if self.maximum == 2**53 else f"{self.maximum:g}"
            self.fail(f"{shown(value)} must be <= {bound}{self._example()}", param, ctx)
        return number

    def _example(self) -> str:
        return f", e.g. {self.example}" if self.example else ""


class Count(click.ParamType):
    """A whole number that may be written 1000, 1_000, 1e9 or 10**9."""

    name = "N"

    def __init__(self, minimum: int = 1) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).replace("_", "").strip()
            power = re.fullmatch(r"(\d+)\*\*(\d+)", text)
            try:
                if power:
                    base, exponent = int(power.group(1)), int(power.group(2))
                    if base > 1 and exponent * math.log2(base) > 60:  # decide before computing a huge power
                        self.fail(f"{shown(value)} is more than 2**53 updates, past exact float64 step counts", param, ctx)
                    number = base**exponent
                else:
                    as_float = float(text)
                    if not math.isfinite(as_float) or as_float != int(as_float):
                        raise ValueError
                    number = int(text) if text.lstrip("+-").isdigit() else int(as_float)
            except (ValueError, OverflowError):  # 4,300+ digits: Python's int-string limit
                self.fail(f"{shown(value)!r} is not a whole number", param, ctx)
        if number < self.minimum:
            self.fail(f"{shown(value)} must be >= {self.minimum}", param, ctx)
        if number > 2**53:
            self.fail(f"{shown(value)} is more than 2**53 updates, past exact float64 step counts", param, ctx)
        return number


class DatasetSize(click.ParamType):
    """``--dataset-size``: one number of training examples, or one per dataset (``alpaca_en_demo=1000,identity=91``)
    for a LLaMA-Factory config that names several."""

    name = "N|NAME=N,..."

    def convert(self, value: Any, param: Any, ctx: Any) -> int | dict[str, int]:
        if isinstance(value, (int, dict)) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if "=" not in text:
            return Count(1).convert(text, param, ctx)
        sizes: dict[str, int] = {}
        for piece in text.split(","):
            name, equals, count = piece.partition("=")
            name = name.strip()
            if not equals or not name:
                self.fail(f"{piece.strip()!r} is not NAME=N; write it like alpaca_en_demo=1000,identity=91", param, ctx)
            if name in sizes:
                self.fail(f"{name} is given twice", param, ctx)
            sizes[name] = Count(1).convert(count.strip(), param, ctx)
        return sizes


def kwargs_from_text(text: str) -> dict[str, Any]:
    """A JSON object or a Python-literal dict, like HF's lr_scheduler_kwargs; ValueError otherwise."""
    import ast
    import json

    from .textfile import INT_DIGITS, MAX_DEPTH, depth_exceeds

    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        try:
            parsed = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
            raise ValueError(f"{shown(text)!r} is neither JSON nor a Python dict; write it like '{{\"min_lr\": 2e-6}}'") from None
    except RecursionError:
        raise ValueError(f"{shown(text)!r} is nested more than {MAX_DEPTH} levels deep; scheduler settings are flat") from None
    except ValueError:  # Python's int-string limit
        raise ValueError(f"{shown(text)!r} holds an integer of more than {INT_DIGITS:,} digits; no scheduler setting "
                         "needs one") from None
    if isinstance(parsed, (dict, list)) and depth_exceeds(parsed):
        raise ValueError(f"{shown(text)!r} is nested more than {MAX_DEPTH} levels deep; scheduler settings are flat")
    if not isinstance(parsed, dict):
        raise ValueError(f"{shown(text)!r} is not a mapping; write it like '{{\"num_cycles\": 1.5}}'")
    return {str(key): item for key, item in parsed.items()}


def _parse_kwargs(ctx: Any, param: Any, value: str | None) -> dict[str, Any] | None:
    """``--scheduler-kwargs`` callback."""
    if value is None:
        return None
    try:
        return kwargs_from_text(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def parse_compare(text: str) -> list[tuple[str, dict[str, Any]]]:
    """``--compare``: ``cosine,linear`` or ``warmup_stable_decay:{"num_decay_steps": 100},cosine``."""
    items, depth, current = [], 0, ""
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    parsed = []
    for item in (piece.strip() for piece in items):
        if not item:
            continue
        name, _, kwargs_text = item.partition(":")
        try:
            kwargs = kwargs_from_text(kwargs_text) if kwargs_text else {}
        except ValueError as error:
            raise click.BadParameter(f"{name.strip()}: {error}", param_hint="'--compare'") from None
        parsed.append((name.strip(), kwargs))
    return parsed


def schedule_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The schedule options every command shares (DESIGN.md)."""
    options = [
        click.option("--config", "configs", multiple=True, type=click.Path(), metavar="FILE",
                     help="HF TrainingArguments (JSON/YAML), LLaMA-Factory, Axolotl or NeMo YAML, DeepSpeed JSON, Megatron flags; repeat to overlay."),
        click.option("--config-flavor", type=click.Choice(["auto", *CONFIG_FLAVORS]), default="auto",
                     show_default=True, help="How to read --config (auto: by the keys or flags it holds)."),
        click.option("--lr", type=FiniteFloat(0, min_open=True, example="--lr 2e-4"), help="Peak LR (the optimizer's lr).  [default: 2e-4]"),
        click.option("--min-lr", type=FiniteFloat(0, example="--min-lr 2e-6"), help="Floor, absolute."),
        click.option("--min-lr-rate", type=FiniteFloat(0, example="--min-lr-rate 0.01"),
                     help="Floor as a fraction of --lr.  [default: 0.1 where the scheduler needs a floor]"),
        click.option("--scheduler", metavar="NAME", help="transformers lr_scheduler_type.  [default: cosine_with_min_lr]"),
        click.option("--framework", metavar="NAME", help=f"Whose semantics: {', '.join(FRAMEWORKS)}.  [default: hf]"),
        click.option("--framework-version", metavar="VERSION",
                     help="Release whose behaviour to model (deepspeed: 0.18.0 and later).  [default: the current release]"),
        click.option("--steps", type=Count(1), help="Total optimizer updates (HF max_steps).  [default: 1000]"),
        click.option("--dataset-size", type=DatasetSize(),
                     help="Training examples: derive the updates as the Trainer does; for a LLaMA-Factory config, one "
                          "size per dataset as NAME=N,NAME=N (max_samples caps each)."),
        click.option("--batch-size", type=Count(1), help="Per-device batch size (per_device_train_batch_size).  [default: 8]"),
        click.option("--grad-accum", type=Count(1), help="Gradient accumulation steps.  [default: 1]"),
        click.option("--gpus", type=Count(1), help="Data-parallel processes (world size).  [default: 1]"),
        click.option("--epochs", type=FiniteFloat(0, 2**53, min_open=True, example="--epochs 3"), help="Epochs, may be fractional.  [default: 3]"),
        click.option("--drop-last/--no-drop-last", default=None, help="dataloader_drop_last.  [default: off]"),
        click.option("--warmup-ratio", type=FiniteFloat(0, 1, example="--warmup-ratio 0.03"), help="Warmup as a fraction of the updates.  [default: 0.03]"),
        click.option("--warmup-steps", type=FiniteFloat(0, 2**53, example="--warmup-steps 30"), metavar="NUMBER",
                     help="Warmup: >= 1 a count, < 1 a ratio rounded up (HF 5.x)."),
        click.option("--num-cycles", type=FiniteFloat(example="--num-cycles 0.5"), help="Cosine waves (HF num_cycles).  [default: 0.5]"),
        click.option("--scheduler-kwargs", callback=_parse_kwargs, metavar="TEXT",
                     help="HF lr_scheduler_kwargs as JSON or a Python dict, e.g. '{\"num_decay_steps\": 200}'."),
        click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout instead of tables."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def build_curves(params: dict[str, Any], compare: list[tuple[str, dict[str, Any]]] = ()) -> list[Any]:
    """The schedules to show: one per --config (or one from the flags), then one per --compare type."""
    from .configs.pipeline import load
    from .keypoints import key_points
    from .options import Options
    from .render import Curve

    loaded = load(Options.from_params(params), params["configs"], params["config_flavor"], compare=compare)
    first = len(params["configs"]) or 1
    return [Curve(item.label if index < first else item.spec.scheduler, item.spec, key_points(item.spec))
            for index, item in enumerate(loaded)]


no_file_option = click.option("--no-file", is_flag=True, help="Write no file (the report only); contradicts -o.")


# ---------------------------------------------------------------------------------------- commands


@click.group(name="lrviz", cls=LrvizGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="lrviz", prog_name="lrviz")
def cli() -> None:
    """See the exact learning rate your optimizer will use at every update, before the run.

    \b
    Examples:
      lrviz plot --lr 2e-4 --min-lr 2e-6
      lrviz plot --config my_sft.yaml --dataset-size 10000 --gpus 2 -o run.png
      lrviz plot --compare cosine,linear --format csv -o -
    """


@cli.command(context_settings=CONTEXT_SETTINGS)
@schedule_options
@click.option("-o", "--output", "outputs", metavar="PATH", multiple=True,
              help="Write here; the extension picks the format (.png .svg .pdf .csv .json), '-' is stdout; repeat for "
                   "several files (-o run.png -o run.csv).  [default: lrviz_<name>.png; none with --json]")
@click.option("--format", "fmt", type=click.Choice(["png", "svg", "pdf", "csv", "json"]), help="Output format (overrides the extension).")
@no_file_option
@click.option("--log", is_flag=True, help="Log-scale LR axis.")
@click.option("--compare", metavar="NAMES",
              help="Overlay other scheduler types with the same settings, e.g. cosine,linear; per-type kwargs as "
                   "'warmup_stable_decay:{\"num_decay_steps\": 100}'.")
@click.option("--compare-frameworks", metavar="NAMES",
              help="The same nominal schedule (linear warmup, cosine to the floor) in several frameworks, e.g. "
                   "hf,deepspeed,torch,timm,axolotl,megatron,nemo: overlay, largest differences, exact translations.")
def plot(outputs: tuple[str, ...], fmt: str | None, no_file: bool, log: bool, compare: str | None, as_json: bool,
         compare_frameworks: str | None = None, **params: Any) -> None:
    """Show the LR of every update: key points, a terminal chart, and a figure or per-update file.

    The defaults shown apply without --config; with one, keys it lacks take transformers' own defaults
    (linear, 5e-5, no warmup), because those are what the run will use.

    \b
    Examples:
      lrviz plot --lr 2e-4 --min-lr 2e-6
      lrviz plot --scheduler cosine_warmup_with_min_lr --min-lr-rate 0.01 --warmup-steps 0.05
      lrviz plot --dataset-size 10000 --batch-size 4 --grad-accum 4 --gpus 2 --epochs 3
      lrviz plot --config train_lora.yaml --dataset-size 1000 -o schedule.svg
      lrviz plot --config a.yaml --config b.yaml --steps 2000     # overlay two configs
      lrviz plot --compare cosine,linear --log -o compare.png
      lrviz plot --compare 'warmup_stable_decay:{"num_decay_steps": 300}'
      lrviz plot --framework deepspeed --scheduler WarmupLR --warmup-steps 100
      lrviz plot --config ds_config.json --steps 2000               # DeepSpeed's own scheduler block
      lrviz plot --lr 2e-4 --min-lr 2e-6 --compare-frameworks hf,deepspeed,torch,timm -o frameworks.png
      lrviz plot --steps 10**9 --no-file                           # any length, same speed
      lrviz plot --format csv -o -                                  # step,lr for every update
    """
    from .commands.plot import run_plot

    if compare_frameworks is not None:
        from .commands.compare import run_compare_frameworks

        if compare:
            raise click.UsageError("--compare and --compare-frameworks both overlay curves; use one of them")
        sys.exit(run_compare_frameworks(params, compare_frameworks, outputs=outputs, fmt=fmt, no_file=no_file, log=log,
                                        as_json=as_json))
    curves = build_curves(params, parse_compare(compare) if compare else [])
    sys.exit(run_plot(curves, outputs=outputs, fmt=fmt, no_file=no_file, log=log, as_json=as_json))


@cli.command(context_settings=CONTEXT_SETTINGS)
@schedule_options
@click.option("--device", type=click.Choice(["auto", "cuda", "cpu", "mps"]), default="auto", show_default=True,
              help="Where to train; auto: cuda, else mps, else cpu. Exit 3 if the device is not there.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seeds the model, the data and their order.")
@click.option("--dtype", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default="auto", show_default=True,
              help="auto: bf16 autocast on a CUDA GPU that supports it, fp32 elsewhere; fp16 adds a loss scaler.")
@click.option("-o", "--output", "outputs", metavar="PATH", multiple=True,
              help="Write a report figure (.png .svg .pdf): predicted vs realized LR, their difference, the loss; "
                   "repeatable.")
@no_file_option
@click.option("--stepping", type=click.Choice(["trainer", "per-micro-batch", "before-optimizer"]), default="trainer",
              hidden=True, help="Testing only: step the scheduler wrongly on purpose to see a mismatch reported.")
@click.option("--model", metavar="DIR", help="With a Trainer --config: a local Hugging Face model folder to train "
                                             "(never downloaded).  [default: a tiny Llama built in code]")
@click.option("--full", is_flag=True, help="Run the configured length instead of compressing it to --steps.")
@click.option("--require-framework", is_flag=True,
              help="Exit 3 unless the framework's own scheduler object drove the optimizer (not lrviz's formula).")
def verify(device: str, seed: int, dtype: str, outputs: tuple[str, ...], no_file: bool, stepping: str, as_json: bool,
           model: str | None, full: bool, require_framework: bool, **params: Any) -> None:
    """Train briefly with your schedule's real scheduler object and check the LR of every update.

    With --config of a Trainer config (HF TrainingArguments, LLaMA-Factory, Axolotl, TRL) it runs the real
    transformers Trainer.train() (TRL's DPOTrainer / SFTTrainer for a TRL config) with the config's training
    arguments on a tiny Llama built in code (or --model DIR) and --dataset-size synthetic examples. Otherwise a
    tiny GPT trains with the framework's own scheduler (transformers, DeepSpeed, torch, timm, Megatron-core,
    NeMo), stepped as that framework steps it. The LR each param group uses at every optimizer step must match
    lrviz's prediction to 1e-12. A configured run longer than --steps (default 100) is compressed to it with the
    same shape; --full runs it whole. Exit 0 matched with the
    framework's own scheduler, 4 matched but only against lrviz's formula (the framework is not installed; exit
    3 with --require-framework), 1 a mismatch or unhealthy training, 2 bad input (also: arguments the Trainer
    refuses), 3 PyTorch or the device missing. Under torchrun it runs DDP and reports every rank.

    \b
    Examples:
      lrviz verify --device cpu
      lrviz verify --config my_sft.yaml --dataset-size 5000
      lrviz verify --config my_sft.yaml --dataset-size 5000 --full --require-framework
      lrviz verify --config dpo.yaml --dataset-size 2000
      lrviz verify --device cuda --config my_sft.yaml --dataset-size 50000 -o verify.png
      lrviz verify --scheduler warmup_stable_decay --scheduler-kwargs '{"num_decay_steps": 200}'
      lrviz verify --framework deepspeed --scheduler WarmupCosineLR --warmup-steps 10 --steps 100
      torchrun --nproc_per_node 2 -m lrviz verify --config my_sft.yaml --dataset-size 5000
    """
    from .commands.verify import verify_main
    from .output import no_file_conflict

    no_file_conflict(no_file, outputs)
    sys.exit(verify_main(params, device=device, seed=seed, dtype=dtype, outputs=outputs, stepping=stepping,
                         as_json=as_json, model=model, full=full, require_framework=require_framework))


_VERIFY_HELP = {  # in verify these options shape the verify run itself
    "steps": "Updates of the verify run; a longer configured run (--config, --dataset-size) is compressed to it.  "
             "[default: 100, compressing lrviz's 1000]",
    "batch_size": "Sequences per micro-batch in the verify run (and per_device_train_batch_size for --dataset-size).  "
                  "[default: the config's, else 8]",
    "grad_accum": "Micro-batches per optimizer update in the verify run (and for --dataset-size).  "
                  "[default: the config's, else 2]",
}
for _param in verify.params:
    if _param.name in _VERIFY_HELP:
        _param.help = _VERIFY_HELP[_param.name]


@cli.command(context_settings=CONTEXT_SETTINGS)
@schedule_options
@click.option("--profile", type=click.Choice(["auto", "full", "lora", "dpo", "dpo-lora", "pretrain"]), default="auto",
              show_default=True, help="Training phase whose bands the phase rules use; auto reads stage / finetuning_type "
                                      "(LLaMA-Factory) or adapter / rl (Axolotl) from --config.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too (for CI), not only on errors.")
@click.option("-o", "--output", "outputs", metavar="PATH", multiple=True,
              help="Write the before/after figure (.png .svg .pdf); repeatable.")
@no_file_option
@click.option("--adam-beta2", type=FiniteFloat(0, 1, example="--adam-beta2 0.95"),
              help="AdamW beta2, for the warmup rule.  [default: the config's adam_beta2, else 0.999]")
@click.option("--group-lr", multiple=True, type=FiniteFloat(0, min_open=True, example="--group-lr 3.2e-3"), metavar="FLOAT",
              help="Initial LR of another param group (LoRA+, embeddings); repeatable.")
@click.option("--snippets", "snippet_targets", default="auto", show_default=True, metavar="LIST",
              help="Which snippets to print: all, none, or a comma list of llamafactory, trainingarguments, cli, axolotl, "
                   "deepspeed; auto: all when the recommendation changes the schedule (and in --json).")
@click.option("-v", "--verbose", is_flag=True,
              help="Also print the recommendation table when nothing changes, every snippet, and the usual settings per "
                   "training phase.")
def advise(profile: str, strict: bool, outputs: tuple[str, ...], no_file: bool, adam_beta2: float | None,
           group_lr: tuple[float, ...], snippet_targets: str, verbose: bool, as_json: bool, **params: Any) -> None:
    """Check the schedule against evidence-backed rules, recommend a floor and warmup, print ready-to-paste configs.

    Each finding has a rule id, a severity, the numbers, a fix and the strength of its evidence. Exit 0 when no
    error was found, 1 on an error (and on a warning with --strict), 2 on bad input. Without a config the
    defaults are lrviz's (cosine to 1/10 of 2e-4 over 1000 updates, 3% warmup); --verbose adds a table of the
    usual settings per training phase.

    \b
    Examples:
      lrviz advise
      lrviz advise --lr 2e-4 --min-lr 2e-6 --profile lora
      lrviz advise --config my_sft.yaml --dataset-size 10000
      lrviz advise --config my_sft.yaml --dataset-size 10000 --strict --json > advice.json
      lrviz advise --lr 5e-4 --min-lr 5e-5 --profile lora -o advice.png
      lrviz advise --scheduler warmup_stable_decay --scheduler-kwargs '{"num_decay_steps": 20}' --profile pretrain
    """
    from .commands.advise import run_advise
    from .output import no_file_conflict

    no_file_conflict(no_file, outputs)
    sys.exit(run_advise(params, profile=profile, strict=strict, outputs=outputs, adam_beta2=adam_beta2, group_lr=group_lr,
                        snippet_targets=snippet_targets, as_json=as_json, verbose=verbose))


@cli.command("check-run", context_settings=CONTEXT_SETTINGS)
@click.argument("log", metavar="LOG", type=click.Path())
@schedule_options
@click.option("--log-format", type=click.Choice(["auto", "hf", "llamafactory", "csv", "megatron", "tensorboard"]), default="auto",
              show_default=True, help="hf: trainer_state.json; llamafactory: trainer_log.jsonl; csv: a step and an LR "
              "column; megatron: a Megatron-LM text log; tensorboard: an events.out.tfevents file.")
@click.option("--step-column", metavar="NAME", help="CSV: the step column.  [default: guessed, e.g. train/global_step, Step]")
@click.option("--lr-column", metavar="NAME", help="CSV: the LR column.  [default: guessed, e.g. train/learning_rate, lr]")
@click.option("--log-convention", type=click.Choice(["auto", "hf", "hf-legacy", "update", "megatron"]), default="auto", show_default=True,
              help="How logged steps map to updates. hf: step s+1 = update s (transformers >= 4.52); hf-legacy: step s "
                   "logs update s (older transformers); update: the step is the update index; auto: whichever fits.")
@click.option("--rtol", type=FiniteFloat(0, min_open=True, example="--rtol 1e-9"), metavar="FLOAT",
              help="Relative tolerance of a match.  [default: 1e-12, or the log's printed precision]")
@click.option("-o", "--output", "outputs", metavar="PATH", multiple=True,
              help="Write the overlay figure (.png .svg .pdf): logged points over the prediction; repeatable.")
@no_file_option
def check_run(log: str, log_format: str, step_column: str | None, lr_column: str | None, log_convention: str,
              rtol: float | None, outputs: tuple[str, ...], no_file: bool, as_json: bool, **params: Any) -> None:
    """Check a finished run's logged LR against its schedule, or infer the schedule from the log.

    LOG is a trainer_state.json, a LLaMA-Factory trainer_log.jsonl, a Megatron-LM text log, a TensorBoard
    events.out.tfevents file (pip install 'lrviz[tensorboard]') or a CSV export. With --config or any
    schedule option, every logged LR is compared with that schedule and each deviation is named (a skipped
    scheduler step, a resume, a lost floor, per-micro-batch stepping, a DeepSpeed scheduler); a missing run
    length is taken from the log. Without them, the scheduler type, peak, floor, warmup and run length are
    inferred and printed as ready-to-paste settings. Exit 0 the run followed its schedule, 1 it did not,
    2 bad input.

    \b
    Examples:
      lrviz check-run output/trainer_state.json
      lrviz check-run output/trainer_state.json --config my_sft.yaml -o overlay.png
      lrviz check-run saves/trainer_log.jsonl --scheduler cosine_with_min_lr --lr 1e-4 --min-lr-rate 0.1
      lrviz check-run wandb_export.csv --lr-column "run-1 - train/learning_rate" --json
    """
    from .commands.check_run import run_check
    from .output import no_file_conflict

    no_file_conflict(no_file, outputs)
    sys.exit(run_check(log, params, log_format=log_format, step_column=step_column, lr_column=lr_column,
                       log_convention=log_convention, rtol=rtol, outputs=outputs, as_json=as_json))


for _param in check_run.params:
    if _param.name == "steps":
        _param.help = "Total optimizer updates (HF max_steps).  [default: the config's, else the log's]"


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="lrviz")


if __name__ == "__main__":  # pragma: no cover
    main()
