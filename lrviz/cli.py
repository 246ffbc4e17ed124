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

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _fail(message: str, code: int) -> None:
    flat = " ".join(str(message).split())
    click.echo(f"Error: {flat}", err=True)
    sys.exit(code)


_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


class LrvizGroup(click.Group):
    """A click group whose errors are one line on stderr, never a traceback or a usage dump."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        from .errors import LrvizError  # light: no numpy

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
        except (click.Abort, KeyboardInterrupt):
            _fail("interrupted", 130)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(0)
        sys.exit(code or 0)


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
                self.fail(f"{value!r} is not a number{self._example()}", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number{self._example()}", param, ctx)
        if self.minimum is not None and (number < self.minimum or (self.min_open and number == self.minimum)):
            bound = ">" if self.min_open else ">="
            self.fail(f"{value} must be {bound} {self.minimum:g}{self._example()}", param, ctx)
        if self.maximum is not None and number > self.maximum:
            self.fail(f"{value} must be <= {self.maximum:g}{self._example()}", param, ctx)
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
                        self.fail(f"{value} is more than 2**53 updates, past exact float64 step counts", param, ctx)
                    number = base**exponent
                else:
                    as_float = float(text)
                    if not math.isfinite(as_float) or as_float != int(as_float):
                        raise ValueError
                    number = int(text) if text.lstrip("+-").isdigit() else int(as_float)
            except (ValueError, OverflowError):
                self.fail(f"{value!r} is not a whole number", param, ctx)
        if number < self.minimum:
            self.fail(f"{value} must be >= {self.minimum}", param, ctx)
        if number > 2**53:
            self.fail(f"{value} is more than 2**53 updates, past exact float64 step counts", param, ctx)
        return number


def kwargs_from_text(text: str) -> dict[str, Any]:
    """A JSON object or a Python-literal dict, like HF's lr_scheduler_kwargs; ValueError otherwise."""
    import ast
    import json

    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        try:
            parsed = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            raise ValueError(f"{text!r} is neither JSON nor a Python dict; write it like '{{\"min_lr\": 2e-6}}'") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"{text!r} is not a mapping; write it like '{{\"num_cycles\": 1.5}}'")
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
                     help="HF TrainingArguments (JSON/YAML) or LLaMA-Factory YAML; repeat to overlay several."),
        click.option("--config-flavor", type=click.Choice(["auto", "hf", "llamafactory"]), default="auto",
                     show_default=True, help="How to read --config (auto: LLaMA-Factory if it has its keys)."),
        click.option("--lr", type=FiniteFloat(0, min_open=True, example="--lr 2e-4"), help="Peak LR (the optimizer's lr).  [default: 2e-4]"),
        click.option("--min-lr", type=FiniteFloat(0, example="--min-lr 2e-6"), help="Floor, absolute."),
        click.option("--min-lr-rate", type=FiniteFloat(0, example="--min-lr-rate 0.01"),
                     help="Floor as a fraction of --lr.  [default: 0.1 where the scheduler needs a floor]"),
        click.option("--scheduler", metavar="NAME", help="transformers lr_scheduler_type.  [default: cosine_with_min_lr]"),
        click.option("--framework", metavar="NAME", help="Whose semantics.  [default: hf]"),
        click.option("--steps", type=Count(1), help="Total optimizer updates (HF max_steps).  [default: 1000]"),
        click.option("--dataset-size", type=Count(1), help="Training examples: derive the updates as the Trainer does."),
        click.option("--batch-size", type=Count(1), help="Per-device batch size (per_device_train_batch_size).  [default: 8]"),
        click.option("--grad-accum", type=Count(1), help="Gradient accumulation steps.  [default: 1]"),
        click.option("--gpus", type=Count(1), help="Data-parallel processes (world size).  [default: 1]"),
        click.option("--epochs", type=FiniteFloat(0, min_open=True, example="--epochs 3"), help="Epochs, may be fractional.  [default: 3]"),
        click.option("--drop-last/--no-drop-last", default=None, help="dataloader_drop_last.  [default: off]"),
        click.option("--warmup-ratio", type=FiniteFloat(0, 1, example="--warmup-ratio 0.03"), help="Warmup as a fraction of the updates.  [default: 0.03]"),
        click.option("--warmup-steps", type=FiniteFloat(0, example="--warmup-steps 30"), metavar="NUMBER",
                     help="Warmup: >= 1 a count, < 1 a ratio rounded up (HF 5.x)."),
        click.option("--num-cycles", type=FiniteFloat(example="--num-cycles 0.5"), help="Cosine waves (HF num_cycles).  [default: 0.5]"),
        click.option("--scheduler-kwargs", callback=_parse_kwargs, metavar="TEXT",
                     help="HF lr_scheduler_kwargs as JSON or a Python dict, e.g. '{\"num_decay_steps\": 200}'."),
        click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout instead of tables."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


_OPTION_FIELDS = (
    "lr", "min_lr", "min_lr_rate", "scheduler", "framework", "steps", "dataset_size", "batch_size", "grad_accum",
    "gpus", "epochs", "drop_last", "warmup_ratio", "warmup_steps", "num_cycles", "scheduler_kwargs",
)


def build_curves(params: dict[str, Any], compare: list[tuple[str, dict[str, Any]]] = ()) -> list[Any]:
    """The schedules to show: one per --config (or one from the flags), then one per --compare type."""
    from .configs import read_config
    from .errors import SpecError
    from .keypoints import key_points
    from .render import Curve
    from .resolve import Options, resolve

    options = Options(**{name: params[name] for name in _OPTION_FIELDS})
    configs = [read_config(path, params["config_flavor"]) for path in params["configs"]]
    curves = []
    for config in configs or [None]:
        spec = resolve(options, config)
        label = os.path.basename(config.path) if config else spec.scheduler
        curves.append(Curve(label, spec, key_points(spec)))
    for name, kwargs in compare:
        try:
            spec = resolve(options, configs[0] if configs else None, scheduler=name, extra_kwargs=kwargs, lenient=True)
        except SpecError as error:
            message = str(error)
            if message.startswith("--scheduler"):
                message = "--compare" + message[len("--scheduler"):]
            elif "needs '" in message:
                message += f"; with --compare, give it per curve: --compare '{name}:{{\"num_decay_steps\": 100}}'"
            raise SpecError(message) from None
        curves.append(Curve(name, spec, key_points(spec)))
    return curves


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
@click.option("-o", "--output", metavar="PATH",
              help="Write here; the extension picks the format (.png .svg .pdf .csv .json), '-' is stdout.  "
                   "[default: lrviz_<name>.png]")
@click.option("--format", "fmt", type=click.Choice(["png", "svg", "pdf", "csv", "json"]), help="Output format (overrides the extension).")
@click.option("--no-file", is_flag=True, help="Print the tables and chart only; write no file.")
@click.option("--log", is_flag=True, help="Log-scale LR axis.")
@click.option("--compare", metavar="NAMES",
              help="Overlay other scheduler types with the same settings, e.g. cosine,linear; per-type kwargs as "
                   "'warmup_stable_decay:{\"num_decay_steps\": 100}'.")
def plot(output: str | None, fmt: str | None, no_file: bool, log: bool, compare: str | None, as_json: bool, **params: Any) -> None:
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
      lrviz plot --steps 10**9 --no-file                           # any length, same speed
      lrviz plot --format csv -o -                                  # step,lr for every update
    """
    from .commands.plot import run_plot

    curves = build_curves(params, parse_compare(compare) if compare else [])
    sys.exit(run_plot(curves, output=output, fmt=fmt, no_file=no_file, log=log, as_json=as_json))


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="lrviz")


if __name__ == "__main__":  # pragma: no cover
    main()
