"""``lrviz verify``: turn the options into a spec and a run, show progress, print the results, write the figure."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from typing import Any, Callable

from rich.console import Console
from rich.table import Table

from .. import __version__
from ..output import IMAGE_FORMATS, OutputError, check_destination, format_for, save_figure
from ..render import format_lr
from ..schedules import floor_lr
from ..spec import ScheduleSpec, Source
from ..verify.report import MIN_UPDATES_FOR_LOSS

DEFAULT_STEPS = 100  # updates of the measured fine-tune
DEFAULT_BATCH_SIZE = 8  # sequences per micro-batch
DEFAULT_GRAD_ACCUM = 2  # micro-batches per update: the default run exercises gradient accumulation

STEPPING_TEXT = {
    "trainer": "as transformers.Trainer: {micro} → clip_grad_norm_(1.0) → optimizer.step() → scheduler.step() "
               "(not when the optimizer step was skipped) → zero_grad()",
    "per-micro-batch": "WRONG ON PURPOSE (testing): scheduler.step() after every one of the {G} micro-batches",
    "before-optimizer": "WRONG ON PURPOSE (testing): scheduler.step() before optimizer.step()",
}


def verify_inputs(params: dict[str, Any], build_curves: Callable[..., list[Any]] | None = None) -> tuple[ScheduleSpec, int, int]:
    """The configured schedule (compression comes later) and the micro-batch size and accumulation to train with.

    The configured run length comes from ``--config`` (``max_steps``) or ``--dataset-size``; then ``--steps`` is
    only the length of the verify run. Without either, ``--steps`` is the run length itself (verified whole),
    and without ``--steps`` too it is lrviz's default 1000 updates. ``--batch-size`` and ``--grad-accum`` (or the
    config's values) are what the fine-tune uses, defaulting to 8 and 2. The spec comes from the same pipeline
    as every other command (``lrviz.configs.load``); ``build_curves`` is accepted for older callers and unused.
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
    if output == "-":
        raise OutputError("-o - is not available for lrviz verify: the report figure is an image; use --json for data")
    fmt = format_for(output, None)
    if fmt not in IMAGE_FORMATS:
        raise OutputError(f"-o {output}: lrviz verify writes a figure (.png, .svg or .pdf); use --json for the data")
    check_destination(output)


def run_verify_command(spec: ScheduleSpec, *, steps: int | None, device: str, dtype: str, seed: int, batch_size: int,
                       grad_accum: int, stepping: str, output: str | None, as_json: bool) -> int:
    """Run ``lrviz verify`` and report; returns the exit code (every rank of a torchrun job returns the same)."""
    from ..verify import require_torch

    check_output(output)
    require_torch()
    from ..verify.run import VerifyOptions, run_verify

    options = VerifyOptions(steps=steps or DEFAULT_STEPS, device=device, dtype=dtype, seed=seed, batch_size=batch_size,
                            grad_accum=grad_accum, stepping=stepping)
    main_rank = int(os.environ.get("RANK", "0")) == 0
    errors = Console(stderr=True, highlight=False)
    if main_rank:
        for note in spec.notes:
            errors.print(f"[yellow]warning:[/] {note}", soft_wrap=True)
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
    if not main_rank:
        return report.exit_code
    if output is not None:
        from ..verify.figure import report_figure

        save_figure(report_figure(report), output, format_for(output, None))
    if as_json:
        document = {"lrviz_version": __version__, "command": "verify", "output": output, **report.to_dict()}
        sys.stdout.write(json.dumps(document, indent=1) + "\n")
    else:
        console = Console(highlight=False)
        print_report(console, report)
        if output is not None:
            console.print(f"wrote {output}")
    return report.exit_code


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


def print_report(console: Console, report: Any) -> None:
    """The setup, the per-group LR check, health, and the verdict."""
    spec, training, device = report.spec, report.training, report.device
    setup = _key_values(f"lrviz verify: {spec.scheduler} on {device['type']} ({device['dtype']})")
    floor = floor_lr(spec)
    setup.add_row("schedule", f"{spec.framework}:{spec.scheduler}, peak {format_lr(spec.peak_lr)}"
                  + (f" → floor {format_lr(floor)}" if floor is not None else "")
                  + f", {spec.total_steps:,} updates, warmup {spec.warmup_steps:,}")
    if report.compression is not None:
        setup.add_row("compressed", report.compression.sentence())
    implementation = report.implementation
    if implementation["kind"] == "framework":
        built = f"transformers {implementation['version']} get_scheduler({spec.scheduler!r}, ...)"
    else:
        built = f"torch {implementation['version']} {implementation['source'].removeprefix('torch.optim.lr_scheduler.')}"
    setup.add_row("scheduler", f"{built} → {implementation['class']} drives the optimizer")
    G, B = training["grad_accum"], training["batch_size"]
    micro = f"{G} micro-batches of {B}" if G > 1 else f"1 batch of {B}"
    setup.add_row("stepping", STEPPING_TEXT[report.stepping].format(G=G, micro=micro))
    world = training["world_size"]
    setup.add_row("data", f"global batch {training['batch_size']} × {training['grad_accum']} × {world} "
                  f"process{'es' if world > 1 else ''} = {training['global_batch']} sequences; 1 epoch of "
                  f"{training['dataset_size']:,}: {training['step_arithmetic']}")
    setup.add_row("model", f"{training['model']} ({training['parameters']:,} parameters), pre-trained "
                  f"{training['pretrain_updates']} updates, then fine-tuned on a shifted task ({training['corpus']})")
    console.print(setup)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}", soft_wrap=True)
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
        console.print(f"{r.world_size} ranks ({r.backend}): {same}; updates per rank {r.updates_per_rank}; data shards "
                      f"{r.sequences_per_rank} sequences, {'disjoint' if r.shards_disjoint else '[red]overlapping[/]'}; "
                      f"expected {r.expected_updates} updates ({r.arithmetic})", soft_wrap=True)
    console.print()

    h = report.health
    health = _key_values("Health")
    mark = lambda ok: "[green]✓[/]" if ok else "[red]✗[/]"  # noqa: E731
    if h.loss_judged:
        verdict = f"must fall by at least 2%) {mark(h.loss_falls)}"
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
    health.add_row("speed", f"{speed['updates_per_second']:.1f} updates/s ({speed['micro_batches_per_second']:.0f} "
                   f"micro-batches/s; {report.updates:,} updates in {speed['fine_tune_seconds']:.2f} s); "
                   f"{speed['wall_seconds']:.1f} s from set-up to report, pre-training included")
    console.print(health)
    console.print()
    if report.exit_code == 0:
        worst = max((g.max_rel_error for g in report.groups), default=0.0)
        console.print(f"[bold green]✓ verify passed[/]: all {len(report.groups)} param groups used lrviz's predicted LR "
                      f"at all {report.recorded:,} updates (max relative error {_error(worst)}, tolerance 1e-12), "
                      + ("and training is healthy." if h.loss_judged else
                         f"and nothing became NaN/inf (the loss is not judged under {MIN_UPDATES_FOR_LOSS} updates)."),
                      soft_wrap=True)
    else:
        matched = " (the LR itself matched at every update)" if report.lr_matches and report.groups else ""
        console.print("[bold red]✗ verify failed[/]: " + "; ".join(report.problems()) + matched, soft_wrap=True)
