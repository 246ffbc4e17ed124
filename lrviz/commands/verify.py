"""``lrviz verify``: turn the options into a spec and a run, show progress, print the results, write the figure."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from typing import Any

from rich.console import Console
from rich.table import Table

from .. import __version__
from ..diagnostics import error_console, report_console, warn_all
from ..errors import SpecError
from ..output import IMAGE_FORMATS, OutputError, check_destination, distinct_outputs, format_for, is_stdout, save_figures
from ..render import format_lr
from ..schedules import floor_lr
from ..spec import ScheduleSpec, Source
from ..verify.predict import predict_from_config
from ..verify.report import EXIT_FRAMEWORK_NOT_TESTED, MIN_UPDATES_FOR_LOSS

DEFAULT_STEPS = 100  # updates of the measured fine-tune
DEFAULT_BATCH_SIZE = 8  # sequences per micro-batch
DEFAULT_GRAD_ACCUM = 2  # micro-batches per update: the default run exercises gradient accumulation

STEPPING_TEXT = {
    "trainer": "as {loop}: {micro} → clip_grad_norm_(1.0) → optimizer.step() → scheduler.step() "
               "(not when the optimizer step was skipped) → zero_grad()",
    "per-micro-batch": "WRONG ON PURPOSE (testing): scheduler.step() after every one of the {G} micro-batches",
    "before-optimizer": "WRONG ON PURPOSE (testing): scheduler.step() before optimizer.step()",
}
# Whose training loop steps the scheduler in this order (after each optimizer step that was not skipped).
LOOPS = {"deepspeed": "DeepSpeedEngine", "megatron": "Megatron-LM's train_step",
         "nemo": "Lightning for NeMo (interval step)", "timm": "timm's train.py (--sched-on-updates)",
         "torch": "a torch training loop"}


def verify_inputs(params: dict[str, Any]) -> tuple[ScheduleSpec, int, int]:
    """The configured schedule (compression comes later) and the micro-batch size and accumulation to train with.

    The configured run length comes from ``--config`` (``max_steps``) or ``--dataset-size``; then ``--steps`` is
    only the length of the verify run. Without either, ``--steps`` is the run length itself (verified whole),
    and without ``--steps`` too it is lrviz's default 1000 updates. ``--batch-size`` and ``--grad-accum`` (or the
    config's values) are what the fine-tune uses, defaulting to 8 and 2. The spec comes from the same pipeline
    as every other command (``lrviz.configs.load``).
    """
    from ..configs.pipeline import load, run_settings
    from ..options import Options

    sizes: list[int] = []
    defaulted: list[str] = []

    def adjust(options: Options, config: Any) -> Options:
        settings = run_settings(config)
        file_max_steps = settings.get("max_steps", -1)
        sized = options.dataset_size is not None or options.dataset_sizes is not None
        length_elsewhere = sized or (isinstance(file_max_steps, int) and file_max_steps > 0)
        changes: dict[str, Any] = {"steps": None if length_elsewhere else options.steps}
        for name, default in (("batch_size", DEFAULT_BATCH_SIZE), ("grad_accum", DEFAULT_GRAD_ACCUM)):
            given = getattr(options, name)
            if given is not None:
                sizes.append(given)
            elif name in settings:
                sizes.append(int(settings[name]))
            else:
                sizes.append(default)
                if sized:  # derive the configured run with the sizes the fine-tune uses
                    changes[name] = default
                    defaulted.append(name)
            if not sized and given is not None:
                changes[name] = None  # without --dataset-size they only shape the verify run
        return replace(options, **changes)

    spec = load(Options.from_params(params), params["configs"], params["config_flavor"], command="verify",
                adjust=adjust)[0].spec
    if defaulted:
        provenance = dict(spec.provenance)
        for name in defaulted:
            provenance[name] = Source("default", "lrviz verify")
        spec = replace(spec, provenance=provenance)
    return spec, sizes[0], sizes[1]


def check_output(output: str | None) -> None:
    """``-o`` takes an image; fail before any work if it cannot be written."""
    if output is None:
        return
    if is_stdout(output):
        raise OutputError(f"-o {output} is not available for lrviz verify: the report figure is an image; use --json for data")
    fmt = format_for(output, None)
    if fmt not in IMAGE_FORMATS:
        raise OutputError(f"-o {output}: lrviz verify writes a figure (.png, .svg or .pdf); use --json for the data")
    check_destination(output)


# Flags that would change the schedule itself: with a Trainer --config, verify runs the file as the Trainer reads it.
SCHEDULE_FLAGS = ("lr", "min_lr", "min_lr_rate", "scheduler", "framework", "framework_version", "warmup_ratio",
                  "warmup_steps", "num_cycles", "scheduler_kwargs")
# Flags that shape the run (not the schedule): they override the config's value, in the prediction and the Trainer.
RUN_SHAPE_FLAGS = {"batch_size": "per_device_train_batch_size", "grad_accum": "gradient_accumulation_steps",
                   "epochs": "num_train_epochs", "drop_last": "dataloader_drop_last"}
DEFAULT_TRAINER_DATASET = 256  # --dataset-size of a --config run whose file gives no max_steps


def _transformers_available() -> bool:
    try:
        import transformers  # noqa: F401  (only whether it imports)
    except ImportError:
        return False
    return True


def check_outputs(outputs: tuple[str, ...]) -> tuple[str, ...]:
    """Every ``-o`` once, each checked before any work."""
    outputs = distinct_outputs(outputs)
    for output in outputs:
        check_output(output)
    return outputs


# verify trains for real: every update reads batch size x accumulation sequences of a generated set held in memory.
MAX_VERIFY_STEPS = 100_000
MAX_VERIFY_SEQUENCES = 2_000_000


def check_verify_size(steps: int, batch_size: int, grad_accum: int) -> None:
    """Refuse, before any work, a verify run that would not fit in memory or finish today (exit 2)."""
    if steps > MAX_VERIFY_STEPS:
        raise SpecError(f"--steps {steps:,}: verify trains for real and compresses a longer configured run to --steps "
                        f"updates; at most {MAX_VERIFY_STEPS:,} (the default 100 shows the shape)", field="steps")
    sequences = steps * batch_size * grad_accum
    if sequences > MAX_VERIFY_SEQUENCES:
        raise SpecError(f"verify would train on {sequences:,} sequences (--steps {steps:,} x --batch-size {batch_size:,} x "
                        f"--grad-accum {grad_accum:,}), over its limit of {MAX_VERIFY_SEQUENCES:,}; lower one of them "
                        "(the schedule is checked the same)")


def verify_main(params: dict[str, Any], *, device: str, seed: int, dtype: str, outputs: tuple[str, ...], stepping: str,
                as_json: bool, model: str | None, full: bool, require_framework: bool) -> int:
    """``lrviz verify``: the real Trainer for a Trainer config, else the tiny GPT with the framework's scheduler."""
    from ..verify import require_torch

    outputs = check_outputs(outputs)
    check_verify_size(params["steps"] or DEFAULT_STEPS, 1, 1)
    configs = params["configs"]
    if len(configs) > 1:
        raise SpecError(f"--config is given {len(configs)} times; lrviz verify checks one schedule: give one --config")
    trainer_config = None
    if configs:
        from ..verify.predict import read_launch_config
        from ..verify.trainer import is_trainer_config

        config = read_launch_config(configs[0], params["config_flavor"])
        trainer_config = config if is_trainer_config(config) else None
    if model is not None and trainer_config is None:
        raise SpecError(f"--model {model}: a model folder is used with --config of a Trainer config (HF, LLaMA-Factory, "
                        "Axolotl); give one")
    if trainer_config is not None and stepping == "trainer":
        require_torch()
        if _transformers_available():
            return _trainer_verify(params, trainer_config, device=device, seed=seed, dtype=dtype, outputs=outputs,
                                   as_json=as_json, model=model, full=full, require_framework=require_framework)
    spec, batch_size, grad_accum = verify_inputs(params)
    steps = spec.total_steps if full else params["steps"]
    check_verify_size(steps or DEFAULT_STEPS, batch_size, grad_accum)
    return run_verify_command(spec, steps=steps, device=device, dtype=dtype, seed=seed, batch_size=batch_size,
                              grad_accum=grad_accum, stepping=stepping, outputs=outputs, as_json=as_json,
                              require_framework=require_framework)


def _trainer_verify(params: dict[str, Any], config: Any, *, device: str, seed: int, dtype: str, outputs: tuple[str, ...],
                    as_json: bool, model: str | None, full: bool, require_framework: bool) -> int:
    from ..verify.trainer import TrainerOptions, file_max_steps, run_trainer_verify

    params = dict(params)
    for name in SCHEDULE_FLAGS:
        if params.get(name) is not None:
            flag = "--" + name.replace("_", "-")
            raise SpecError(f"{flag} with --config {params['configs'][0]}: verify runs the config as the Trainer gets it; "
                            f"put the value in the file, or verify the flags without --config")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if params["gpus"] is not None and params["gpus"] != world:
        raise SpecError(f"--gpus {params['gpus']}: lrviz verify runs {world} process{'es' if world > 1 else ''} here; "
                        f"start it with torchrun --nproc_per_node {params['gpus']} instead of --gpus")
    if world > 1:
        params["gpus"] = world
    steps = params["steps"] or DEFAULT_STEPS
    params["steps"] = None  # --steps is the length of the verify run; the configured length is the Trainer's
    if file_max_steps(config) is None and params["dataset_size"] is None:
        params["dataset_size"] = DEFAULT_TRAINER_DATASET  # the run length comes from the dataset, as in the Trainer
    spec = predict_from_config(params)
    dataset_size = _trainer_dataset_size(params, config)
    main_rank = int(os.environ.get("RANK", "0")) == 0
    overrides = {key: params[name] for name, key in RUN_SHAPE_FLAGS.items() if params.get(name) is not None}
    report = run_trainer_verify(spec, config, TrainerOptions(steps=steps, full=full, device=device, dtype=dtype,
                                                             seed=seed, model=model, dataset_size=dataset_size,
                                                             overrides=overrides))
    if main_rank:  # after the run: arguments the Trainer refuses are one line of error, nothing else
        warn_all(spec.notes, "warning", error_console())
    return _finish(report, outputs=outputs, as_json=as_json, require_framework=require_framework, main_rank=main_rank)


def _trainer_dataset_size(params: dict[str, Any], config: Any) -> int:
    """How many examples the Trainer trains on: --dataset-size, or for LLaMA-Factory what is left of the datasets
    after max_samples and val_size (the count the prediction used)."""
    from ..options import Options

    options = Options.from_params(params)
    if getattr(config, "flavor", None) == "llamafactory" and (options.dataset_size or options.dataset_sizes):
        from ..configs.llamafactory import training_examples

        found = training_examples(config.path, config.raw, options.dataset_size, options.dataset_sizes)
        if found is not None:
            return found[0]
    return options.dataset_size or DEFAULT_TRAINER_DATASET


def _finish(report: Any, *, outputs: tuple[str, ...], as_json: bool, require_framework: bool, main_rank: bool) -> int:
    """Write the figure, print the report (rank 0), and the exit code: 3 for an untested framework when required."""
    code = report.exit_code
    if code == EXIT_FRAMEWORK_NOT_TESTED and require_framework:
        code = 3
    if not main_rank:
        return code
    if outputs:
        from ..verify.figure import report_figure

        save_figures(report_figure(report), [(output, format_for(output, None)) for output in outputs])
    warn_all(report.notes, "note", error_console())
    if as_json:
        document = {"lrviz_version": __version__, "command": "verify", "output": outputs[0] if outputs else None,
                    "outputs": list(outputs), **report.to_dict(), "exit_code": code}
        sys.stdout.write(json.dumps(document, indent=1) + "\n")
    else:
        console = report_console()
        print_report(console, report)
        for output in outputs:
            console.print(f"wrote {output}")
        print_verdict(console, report, require_framework)
    return code


def run_verify_command(spec: ScheduleSpec, *, steps: int | None, device: str, dtype: str, seed: int, batch_size: int,
                       grad_accum: int, stepping: str, outputs: tuple[str, ...], as_json: bool,
                       require_framework: bool = False) -> int:
    """Run ``lrviz verify`` and report; returns the exit code (every rank of a torchrun job returns the same)."""
    from ..verify import require_torch

    outputs = check_outputs(outputs)
    require_torch()
    from ..verify.run import VerifyOptions, run_verify

    options = VerifyOptions(steps=steps or DEFAULT_STEPS, device=device, dtype=dtype, seed=seed, batch_size=batch_size,
                            grad_accum=grad_accum, stepping=stepping)
    main_rank = int(os.environ.get("RANK", "0")) == 0
    errors = error_console()
    if main_rank:
        warn_all(spec.notes, "warning", errors)
    if as_json or not main_rank or not errors.is_terminal:
        report = run_verify(spec, options)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("{task.description:>9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=errors, transient=True) as bar:
            tasks: dict[str, Any] = {}

            def progress(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(phase, total=total)
                bar.update(tasks[phase], completed=done)

            report = run_verify(spec, options, progress=progress)
    return _finish(report, outputs=outputs, as_json=as_json, require_framework=require_framework, main_rank=main_rank)


# ------------------------------------------------------------------------------------------ rendering


def _error(value: float) -> str:
    return "0" if value == 0 else f"{value:.2e}"


def _bytes(count: int | None) -> str:
    if count is None:
        return "-"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count} B"


def _key_values(title: str) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, show_edge=False, pad_edge=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    return table


def _warmup_text(spec: ScheduleSpec) -> str:
    """The warmup count, or the ratio a framework turns into steps itself (Megatron's lr_warmup_fraction of the
    decay span, NeMo's warmup_ratio of max_steps)."""
    from ..frameworks import WARMUP_RATIO_KWARG

    key = WARMUP_RATIO_KWARG.get(spec.framework)
    ratio = spec.kwarg(key) if key is not None and key in spec.scheduler_kwargs else None
    return f"{spec.warmup_steps:,}" if ratio is None else f"{key} {ratio:g}"


def _trainer_setup(report: Any) -> Table:
    """The setup of a real-Trainer run: which Trainer, which arguments, which scheduler object."""
    spec, training, device = report.spec, report.training, report.device
    setup = _key_values(f"lrviz verify: {training['runner']} on {device['type']} ({device['dtype']})")
    floor = floor_lr(spec)
    trl = f"trl {training['trl']}, " if training.get("trl") else ""
    setup.add_row("trainer", f"{training['trainer_class']}.train(), {trl}transformers {training['transformers']}, "
                  f"accelerate {training['accelerate']}; arguments from the {training['config_framework']} config")
    setup.add_row("schedule", f"{spec.framework}:{spec.scheduler}, peak {format_lr(spec.peak_lr)}"
                  + (f" → floor {format_lr(floor)}" if floor is not None else "")
                  + f", {spec.total_steps:,} updates, warmup {spec.warmup_steps:,} (lrviz's prediction, as plot shows it)")
    if report.compression is not None:
        setup.add_row("compressed", report.compression.sentence() + " (--full runs the configured length)")
    implementation = report.implementation
    setup.add_row("scheduler", f"{implementation['source']} → {implementation['class']} drives the optimizer")
    world = training["world_size"]
    setup.add_row("data", f"{training['data']}; global batch {training['batch_size']} × "
                  f"{training['grad_accum']} × {world} process{'es' if world > 1 else ''} = {training['global_batch']}; "
                  f"the Trainer planned {training['trainer_max_steps']:,} updates, lrviz: {training['step_arithmetic']}")
    setup.add_row("model", f"{training['model']} ({training['parameters']:,} parameters)")
    return setup


def print_report(console: Console, report: Any) -> None:
    """The setup, the per-group LR check, health (the verdict is ``print_verdict``)."""
    if "runner" in report.training:
        console.print(_trainer_setup(report))
        _print_checks(console, report)
        return
    spec, training, device = report.spec, report.training, report.device
    setup = _key_values(f"lrviz verify: {spec.scheduler} on {device['type']} ({device['dtype']})")
    floor = floor_lr(spec)
    setup.add_row("schedule", f"{spec.framework}:{spec.scheduler}, peak {format_lr(spec.peak_lr)}"
                  + (f" → floor {format_lr(floor)}" if floor is not None else "")
                  + f", {spec.total_steps:,} updates, warmup {_warmup_text(spec)}")
    if report.compression is not None:
        setup.add_row("compressed", report.compression.sentence())
    implementation = report.implementation
    if implementation["kind"] == "framework" and implementation["source"].startswith("transformers."):
        built = f"transformers {implementation['version']} get_scheduler({spec.scheduler!r}, ...)"
    elif implementation["kind"] == "framework":
        package = implementation.get("package") or implementation["source"].split(".")[0]
        built = f"{package} {implementation['version']} {implementation['source']}"
    else:
        built = f"torch {implementation['version']} {implementation['source'].removeprefix('torch.optim.lr_scheduler.')}"
    setup.add_row("scheduler", f"{built} → {implementation['class']} drives the optimizer")
    G, B = training["grad_accum"], training["batch_size"]
    micro = f"{G} micro-batches of {B}" if G > 1 else f"1 batch of {B}"
    loop = LOOPS.get(spec.framework, "transformers.Trainer")
    setup.add_row("stepping", STEPPING_TEXT[report.stepping].format(G=G, micro=micro, loop=loop))
    world = training["world_size"]
    setup.add_row("data", f"global batch {training['batch_size']} × {training['grad_accum']} × {world} "
                  f"process{'es' if world > 1 else ''} = {training['global_batch']} sequences; 1 epoch of "
                  f"{training['dataset_size']:,}: {training['step_arithmetic']}")
    setup.add_row("model", f"{training['model']} ({training['parameters']:,} parameters), pre-trained "
                  f"{training['pretrain_updates']} updates, then fine-tuned on a shifted task ({training['corpus']})")
    console.print(setup)
    _print_checks(console, report)


def _print_checks(console: Console, report: Any) -> None:
    console.print()

    table = Table(title="LR at every optimizer.step(), per param group", title_justify="left", show_edge=False, pad_edge=False)
    for name, justify in (("group", "left"), ("initial LR", "right"), ("updates", "right"), ("max abs error", "right"),
                          ("max rel error", "right"), ("first diverging update", "right")):
        table.add_column(name, justify=justify)
    for group in report.groups:
        first = group.first_diverging
        table.add_row(group.name, format_lr(group.initial_lr), f"{len(group.realized):,}", _error(group.max_abs_error),
                      _error(group.max_rel_error), "-" if first is None else f"[red]{first:,}[/]")
    console.print(table)
    if report.ranks is not None:
        r = report.ranks
        same = "the same LRs on every rank" if r.same_lrs else f"[red]rank {r.first_disagreeing_rank} differs[/]"
        if r.shards_disjoint is None:
            shards = "data shards not tracked (the trainer maps its dataset before serving it)"
        else:
            shards = (f"data shards {r.sequences_per_rank} sequences, "
                      f"{'disjoint' if r.shards_disjoint else '[red]overlapping[/]'}")
        console.print(f"{r.world_size} ranks ({r.backend}): {same}; updates per rank {r.updates_per_rank}; {shards}; "
                      f"expected {r.expected_updates} updates ({r.arithmetic})", soft_wrap=True)
    console.print()

    h, device = report.health, report.device
    health = _key_values("Health")
    mark = lambda ok: "[green]✓[/]" if ok else "[red]✗[/]"  # noqa: E731
    if h.loss_judged:
        verdict = f"must fall by at least 2%) {mark(h.loss_falls)}"
    elif not h.judge_loss:
        verdict = "shown, not judged: the model is a tiny untrained one; this run checks the schedule)"
    else:
        verdict = f"not judged: fewer than {MIN_UPDATES_FOR_LOSS} updates)"
    health.add_row("loss", f"{h.loss_first:.4g} → {h.loss_last:.4g} (mean of the first vs last 10% of updates: "
                   f"{h.loss_change:+.1%}; {verdict}")
    nonfinite = "none in loss or gradients" if h.finite else f"from update {h.first_nonfinite:,}"
    health.add_row("NaN/inf", f"{nonfinite} {mark(h.finite)}")
    norms = h.to_dict()["grad_norm"]
    if norms["max"] is not None:
        last = "-" if norms["last"] is None else f"{norms['last']:.3g}"
        health.add_row("grad norm", f"max {norms['max']:.3g}, mean {norms['mean']:.3g}, last {last}; "
                       f"clipped to {norms['clip_at']:.1f} in {norms['clipped_updates']} of {len(h.grad_norm)} updates")
    if report.skipped:
        health.add_row("fp16 skips", f"{report.skipped} optimizer steps skipped by the loss scaler (the scheduler was "
                       "not stepped for them, as in the Trainer)")
    capability = f", CUDA capability {device['cuda_capability']}" if device.get("cuda_capability") else ""
    health.add_row("device", f"{device['name']}{capability}; torch {device['torch']}, {device['dtype']}")
    health.add_row("peak memory", f"{_bytes(device['peak_memory_bytes'])} ({device['peak_memory_kind']})")
    speed = report.speed
    if speed.get("micro_batches_per_second") is None:
        health.add_row("speed", f"{speed['updates_per_second']:.1f} updates/s ({report.updates:,} updates in "
                       f"{speed['fine_tune_seconds']:.2f} s); {speed['wall_seconds']:.1f} s from set-up to report")
    else:
        health.add_row("speed", f"{speed['updates_per_second']:.1f} updates/s ({speed['micro_batches_per_second']:.0f} "
                       f"micro-batches/s; {report.updates:,} updates in {speed['fine_tune_seconds']:.2f} s); "
                       f"{speed['wall_seconds']:.1f} s from set-up to report, pre-training included")
    console.print(health)
    console.print()


def print_verdict(console: Console, report: Any, require_framework: bool = False) -> None:
    """The last line: what the run proved."""
    h = report.health
    if not report.ok:
        matched = " (the LR itself matched at every update)" if report.lr_matches and report.groups else ""
        console.print("[bold red]✗ verify failed[/]: " + "; ".join(report.problems()) + matched, soft_wrap=True)
        return
    worst = max((g.max_rel_error for g in report.groups), default=0.0)
    health = ("and training is healthy." if h.loss_judged else "and nothing became NaN/inf"
              + (f" (the loss is not judged under {MIN_UPDATES_FOR_LOSS} updates)." if h.judge_loss else
                 " (the loss of a tiny untrained model is shown, not judged)."))
    console.print(f"all {len(report.groups)} param groups used lrviz's predicted LR at all {report.recorded:,} updates "
                  f"(max relative error {_error(worst)}, tolerance 1e-12), {health}", soft_wrap=True)
    if report.framework_tested:
        console.print(f"[bold green]✓ {report.verdict()}[/]", soft_wrap=True)
    else:
        required = " (--require-framework: exit 3)" if require_framework else ""
        console.print(f"[bold yellow]! {report.verdict()}[/]{required}", soft_wrap=True)
