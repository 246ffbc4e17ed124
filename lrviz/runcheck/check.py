"""Did a run follow its schedule? Compare a log with a config's schedule, or infer the schedule from the log, and
name what went wrong: a skipped scheduler step, a resume, a lost floor, per-micro-batch stepping, a DeepSpeed
scheduler that replaced the configured one, other settings, or a run that stopped early.

Every finding carries the logged steps it covers and the evidence (logged vs predicted values).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from ..logs import CONVENTION_TEXT, LoggedRun
from ..render import format_lr
from .align import EXACT, Alignment, Change, align, close, relative_error
from .infer import Inference, infer
from .models import DeepSpeedModel, EpochSteppedModel, HFModel, Model, SteppedModel

MAX_ACCUMULATION = 16  # gradient-accumulation factors tried when the config does not give one


@dataclass(frozen=True)
class Finding:
    """One thing check-run found about the log."""

    cause: str  # stable id: followed, skipped-step, resume-offset, floor-missing, micro-batch-stepping, ...
    severity: str  # "error" (the run did not follow its schedule), "warning", "info"
    title: str
    evidence: str
    fix: str = ""
    steps: tuple[int, int] | None = None  # the logged steps it covers, first and last

    def to_dict(self) -> dict:
        return {"cause": self.cause, "severity": self.severity, "title": self.title, "evidence": self.evidence,
                "fix": self.fix, "steps": list(self.steps) if self.steps else None}


@dataclass(frozen=True)
class Report:
    """What check-run found."""

    run: LoggedRun
    mode: str  # "compare" (a config or flags gave the schedule) or "infer"
    label: str  # where the schedule came from: a config file name, "flags", "inferred"
    model: Model | None
    convention: str
    alignment: Alignment | None
    findings: tuple[Finding, ...]
    inference: Inference | None = None  # the inferred schedule (infer mode) or what the log fits instead (compare)
    explanation: Model | None = None  # the schedule that explains the deviating points, if one does
    tol: float = EXACT
    explained: Alignment | None = None  # the log against ``explanation``

    def statuses(self) -> list[str]:
        """Per point: "on schedule", "explained" (equals what the log follows instead), "shifted" (equals another
        update of the schedule), or "deviates"."""
        if self.alignment is None:
            return []
        out = []
        for index, offset in enumerate(self.alignment.offsets):
            if offset == 0:
                out.append("on schedule")
            elif self.explained is not None and self.explained.offsets[index] == 0:
                out.append("explained")
            elif offset is not None:
                out.append("shifted")
            else:
                out.append("deviates")
        return out

    @property
    def followed(self) -> bool:
        return self.model is not None and not any(f.severity == "error" for f in self.findings)

    @property
    def max_relative_error(self) -> float | None:
        """Largest relative error of a logged LR against the prediction for its own update."""
        if self.alignment is None:
            return None
        return float(self.alignment.errors.max())

    @property
    def matched_error(self) -> float | None:
        """Largest relative error of a logged LR against the update it matched (None if some matched none)."""
        alignment = self.alignment
        if alignment is None or not alignment.explained.all():
            return None
        matched = alignment.updates + np.array([offset for offset in alignment.offsets], dtype=np.int64)
        model = self.model
        return float(relative_error(alignment.lr, model.lr(matched.astype(np.float64))).max())


# ------------------------------------------------------------------------------------------ wording


def _steps_text(run: LoggedRun, first: int, last: int) -> str:
    a, b = int(run.steps[first]), int(run.steps[last])
    return f"step {a:,}" if a == b else f"steps {a:,}–{b:,}"


def _lr(value: float) -> str:
    return format_lr(float(value), 6)


def _interval(run: LoggedRun) -> int:
    if len(run.steps) < 2:
        return 1
    return max(1, int(np.median(np.diff(run.steps))))


def _checkpoints_between(run: LoggedRun, low: int, high: int) -> list[int]:
    if not run.save_steps:
        return []
    first = -(-low // run.save_steps) * run.save_steps  # a run resumed from checkpoint-C logged step C last
    return list(range(first, high, run.save_steps))[:3]


def drift_finding(run: LoggedRun, alignment: Alignment, change: Change, model: Model) -> Finding:
    """Name an offset change: a skipped scheduler step, a restart at a resume, or another shift."""
    a, b = change.before, change.after
    # On a flat stretch (a constant phase, a stable plateau) both offsets fit: the change can lie anywhere after
    # the last point that only the old offset explains.
    while a > 0:
        at = np.array([float(alignment.updates[a] + change.new)])
        if at[0] < 0 or not close(np.array([alignment.lr[a]]), model.lr(at), alignment.tol)[0]:
            break
        a -= 1
    plateau = a != change.before
    step_a, step_b = int(run.steps[a]), int(run.steps[b])
    k_a, k_b = int(alignment.updates[a]), int(alignment.updates[b])
    index_b = k_b + change.new
    delta = change.new - change.old
    where = f"between step {step_a:,} and step {step_b:,}"
    example = (f"step {step_b:,} logged {_lr(alignment.lr[b])}, the LR of update {index_b:,}, where update {k_b:,} "
               f"should use {_lr(alignment.predicted[b])}")
    checkpoints = _checkpoints_between(run, step_a, step_b)
    checkpoint_text = (f"; checkpoint-{checkpoints[0]} (save_steps {run.save_steps}) falls in this range, so a resume "
                       "from it is as likely" if checkpoints else "")
    restart_at = k_b - index_b
    # a few steps lost right at the start read the same as a restart there: fp16 runs lose their first steps
    if change.new < 0 and k_a < restart_at <= k_b and index_b < k_b - k_a and -delta > 3:
        return Finding(
            "resume-offset", "error", f"the schedule restarted at update {restart_at:,}",
            f"up to step {step_a:,} the log follows the schedule; from step {step_b:,} on it starts over: update "
            f"{restart_at:,} used the LR of update 0 and every later update is {-change.new:,} behind ({example}). "
            "A resume that restored the weights and the step counter but not the scheduler state does this",
            "resume with trainer.train(resume_from_checkpoint=...) from a checkpoint that still has scheduler.pt",
            (step_a, step_b),
        )
    flat = (f" (from step {int(run.steps[a + 1]):,} to step {int(run.steps[change.before]):,} the LR is flat, so "
            "either reading fits there)") if plateau else ""
    if delta < 0 and -delta <= k_b - k_a:  # no more steps lost than updates ran between the two points
        count = -delta
        what = "one scheduler step" if count == 1 else f"{count} scheduler steps"
        reported = [skip for skip in run.reported_skips if step_a < skip.step <= step_b]
        reported_text = ""
        if reported:
            total = sum(skip.count for skip in reported)
            reported_text = (f"; the log itself reports {total} skipped iteration{'s' if total != 1 else ''} there "
                             f"(iteration {', '.join(str(skip.step) for skip in reported)})")
        return Finding(
            "skipped-step", "error", f"{what} went missing {where}",
            f"up to step {step_a:,} the logged LR is that of update {_shifted(change.old)}, from step {step_b:,} on that of "
            f"update {_shifted(change.new)} ({example}){flat}: the scheduler was not stepped "
            f"{'once' if count == 1 else f'{count} times'} in updates {k_a + 1:,}–{k_b:,}{reported_text}. A skipped "
            f"optimizer step does this (fp16 loss-scale overflow or inf/NaN gradients: the training loop then does not "
            f"step the scheduler, as transformers' Trainer and Megatron's train_step do){checkpoint_text}",
            f"look for loss-scale overflows or NaN gradients near that step; the schedule now ends {count} update"
            f"{'s' if count != 1 else ''} later than planned (the last updates do not reach the final LR)",
            (step_a, step_b),
        )
    direction = "behind" if delta < 0 else "ahead"
    cause = "a resume that restored another scheduler state" if checkpoints or run.save_steps else \
        "a resume from another checkpoint's scheduler state, or extra scheduler.step() calls"
    return Finding(
        "resume-offset", "error", f"the schedule jumped {abs(delta):,} update{'s' if abs(delta) != 1 else ''} {direction} {where}",
        f"up to step {step_a:,} the log matches the schedule at offset {change.old:+d}, from step {step_b:,} on at "
        f"offset {change.new:+d} ({example}); {cause} does this{checkpoint_text}",
        "resume from the checkpoint whose scheduler.pt matches its global_step, and do not call scheduler.step() "
        "outside the training loop",
        (step_a, step_b),
    )


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True."""
    out: list[tuple[int, int]] = []
    start = None
    for index, value in enumerate(mask.tolist() + [False]):
        if value and start is None:
            start = index
        elif not value and start is not None:
            out.append((start, index - 1))
            start = None
    return out


def deviation_finding(run: LoggedRun, alignment: Alignment, label: str) -> Finding | None:
    unexplained = ~alignment.explained
    if not unexplained.any():
        return None
    runs = _runs(unexplained)
    errors = alignment.errors[unexplained]
    worst_index = int(np.nonzero(unexplained)[0][int(np.argmax(np.where(np.isfinite(errors), errors, -1)))])
    spans = ", ".join(_steps_text(run, first, last) for first, last in runs[:4]) + (" …" if len(runs) > 4 else "")
    worst = alignment.errors[worst_index]
    worst_text = f"{worst:.3g}×" if not np.isfinite(worst) or worst > 10 else f"{worst:.3%}"
    return Finding(
        "deviates", "error", f"{int(unexplained.sum()):,} logged LRs match no update of {label}",
        f"{spans}: off by up to {worst_text} (step {int(run.steps[worst_index]):,} logged "
        f"{_lr(alignment.lr[worst_index])}, predicted {_lr(alignment.predicted[worst_index])})",
        "compare with the settings check-run infers without --config (run it without the schedule options)",
        (int(run.steps[runs[0][0]]), int(run.steps[runs[-1][1]])),
    )


def stopped_early(run: LoggedRun, alignment: Alignment, model: Model) -> Finding | None:
    T = model.total_steps
    if T is None:
        return None
    last = int(alignment.updates[-1])
    remaining = T - 1 - last
    if remaining <= max(2 * _interval(run), T // 100):
        return None
    lr_last = float(alignment.lr[-1])
    end = float(model.lr(np.array([float(T - 1)]))[0])
    checkpoint = ""
    title = f"the log stops {remaining:,} updates before the schedule ends"
    if run.global_step and run.total_steps and run.global_step < run.total_steps:
        if run.settings.get("should_training_stop"):
            stopper = "EarlyStoppingCallback" if run.settings.get("early_stopping_callback") else "a callback"
            title = f"the run stopped early ({stopper}) at global_step {run.global_step:,} of {run.total_steps:,}"
            checkpoint = f" ({stopper} set should_training_stop: the run ended there on purpose)"
        else:
            title = f"the log is a checkpoint copy: global_step {run.global_step:,} of max_steps {run.total_steps:,}"
            checkpoint = (f" (this trainer_state.json is from global_step {run.global_step:,} of max_steps "
                          f"{run.total_steps:,}: a checkpoint saved before the end, not the run's last state)")
    return Finding(
        "stopped-early", "warning", title,
        f"the last logged LR, at step {int(run.steps[-1]):,} (update {last:,} of {T:,}), is {_lr(lr_last)} "
        f"({lr_last / model.peak_lr:.1%} of the peak); the schedule's last update would use {_lr(end)}{checkpoint}",
        "nothing to fix if the run was stopped on purpose (early stopping, a checkpoint); otherwise the decay never "
        "finished",
        (int(run.steps[-1]), int(run.steps[-1])),
    )


# ------------------------------------------------------------------------------------------ hypotheses


def _floorless(model: HFModel) -> HFModel | None:
    spec = model.spec
    kwargs = {k: v for k, v in spec.scheduler_kwargs.items() if k not in ("min_lr", "min_lr_rate", "min_lr_ratio")}
    if spec.scheduler == "cosine_with_min_lr":
        return HFModel(replace(spec, scheduler="cosine", scheduler_kwargs={k: v for k, v in kwargs.items() if k == "num_cycles"}))
    if spec.scheduler == "cosine_warmup_with_min_lr":
        return HFModel(replace(spec, scheduler_kwargs={**kwargs, "min_lr_rate": 0.0}))
    if spec.scheduler == "warmup_stable_decay" and spec.kwarg("min_lr_ratio"):
        return HFModel(replace(spec, scheduler_kwargs={**kwargs, "min_lr_ratio": 0.0}))
    return None


def _stepped_candidates(model: Model, factor: int, updates: np.ndarray, y: np.ndarray, tol: float):
    """A scheduler stepped ``factor`` times per update: index factor·s + phase; where the epoch's micro-batches do
    not divide by ``factor``, the pattern breaks at the first epoch end, which gives the epoch length."""
    for phase in range(factor - 1, -1, -1):
        stepped = SteppedModel(model, factor, phase)
        other = align(stepped, updates, y, tol)
        yield stepped, other
        if phase != factor - 1 or other.perfect:
            continue
        matched = other.matched
        if matched.all() or not matched[0]:
            continue
        first_off = int(np.argmin(matched))
        if first_off < 2:
            continue
        low, high = int(updates[first_off - 1]) + 1, int(updates[first_off]) + 1  # the short update ends an epoch
        for per_epoch in range(max(low, 1), min(high, low + 64) + 1):
            for micro_batches in range((per_epoch - 1) * factor + 1, per_epoch * factor):
                epoch_model = EpochSteppedModel(model, factor, micro_batches)
                yield epoch_model, align(epoch_model, updates, y, tol)


def _better(candidate: Alignment, than: Alignment) -> bool:
    """A hypothesis wins when it explains every point and beats the schedule's own reading of the log."""
    return bool(candidate.explained.all()) and candidate.score() > than.score()


def _hypotheses(run: LoggedRun, model: Model, convention: str, alignment: Alignment, tol: float,
                grad_accum: int | None, label: str) -> tuple[Finding, Model, Inference | None, Alignment] | None:
    updates, y = run.updates(convention), run.lr
    deviating = ~alignment.matched
    first, last = (int(run.steps[i]) for i in np.nonzero(deviating)[0][[0, -1]])
    span = (first, last)

    if isinstance(model, HFModel):
        floorless = _floorless(model)
        if floorless is not None:
            other = align(floorless, updates, y, tol)
            if _better(other, alignment):
                floor = model.floor or 0.0
                k_last = int(updates[-1])
                return Finding(
                    "floor-missing", "error", "the floor was never applied",
                    f"from step {first:,} on the logged LRs decay towards 0, not towards the floor {_lr(floor)} of "
                    f"{label}: they equal {floorless.describe()} exactly (step {int(run.steps[-1]):,} logged "
                    f"{_lr(y[-1])}; with the floor update {k_last:,} would use {_lr(model.lr(np.array([float(k_last)]))[0])})."
                    " min_lr / min_lr_rate never reached the scheduler",
                    "use lr_scheduler_type: cosine_with_min_lr with lr_scheduler_kwargs {min_lr_rate: …} (plain cosine "
                    "has no floor), and check that your framework forwards lr_scheduler_kwargs",
                    span,
                ), floorless, None, other

        factors = [grad_accum] if grad_accum and grad_accum > 1 else []
        factors += [g for g in range(2, MAX_ACCUMULATION + 1) if g not in factors]
        for factor in factors:
            for stepped, other in _stepped_candidates(model, factor, updates, y, tol):
                if _better(other, alignment) and other.perfect:
                    T = model.total_steps
                    end = T / factor
                    if isinstance(stepped, EpochSteppedModel):
                        index_text = (f"(micro-batches done by the end of update s) − 1, with {stepped.micro_batches} "
                                      f"micro-batches per epoch (each epoch's last update has "
                                      f"{stepped.micro_batches - factor * (stepped.updates_per_epoch - 1)})")
                        last_index = int(stepped.micro_batches * (int(updates[-1]) // stepped.updates_per_epoch)
                                         + min((int(updates[-1]) % stepped.updates_per_epoch + 1) * factor, stepped.micro_batches) - 1)
                    else:
                        index_text = f"{factor}·s+{stepped.phase}"
                        last_index = factor * int(updates[-1]) + stepped.phase
                    return Finding(
                        "micro-batch-stepping", "error", f"the scheduler was stepped {factor}× per optimizer update",
                        f"from step {first:,} on, update s used the LR of scheduler index {index_text} (step "
                        f"{int(run.steps[-1]):,} logged {_lr(y[-1])} = index {last_index:,}): "
                        f"the scheduler was stepped once per micro-batch ({factor} per update, gradient accumulation "
                        f"{factor}), so the schedule ran {factor}× too fast and passed its {T:,} updates at update "
                        f"~{end:,.0f}",
                        "call scheduler.step() only after optimizer.step() (with accelerate: under "
                        "`if accelerator.sync_gradients`), or let the Trainer step it",
                        span,
                    ), stepped, None, other
            stretched = model.with_spec(total_steps=model.total_steps * factor, warmup_steps=model.warmup_steps * factor)
            other = align(stretched, updates, y, tol)
            if _better(other, alignment) and other.perfect:
                k_last = int(updates[-1])
                reached = (k_last + 1) / stretched.total_steps
                return Finding(
                    "micro-batch-lengths", "error", f"the scheduler's lengths were counted ×{factor} (in micro-batches)",
                    f"the log equals the schedule with warmup {stretched.warmup_steps:,} and total "
                    f"{stretched.total_steps:,} updates, {factor}× the {model.warmup_steps:,} and {model.total_steps:,} "
                    f"of {label}: the scheduler was built with lengths in micro-batches (gradient accumulation "
                    f"{factor}) but stepped per update, so the run ended {reached:.0%} of the way through its schedule "
                    f"at LR {_lr(y[-1])} (planned final LR {_lr(model.lr(np.array([float(model.total_steps - 1)]))[0])})",
                    "pass num_training_steps and num_warmup_steps in optimizer updates "
                    "(micro-batches / gradient_accumulation_steps)",
                    span,
                ), stretched, None, other

    deepspeed = infer(run, (convention,), tol, families=("deepspeed",))
    if deepspeed is not None and _better(deepspeed.alignment, alignment):
        ds = deepspeed.model
        configured = model.describe()
        never = "never decays" if ds.scheduler == "WarmupLR" else "decays on DeepSpeed's own terms"
        return Finding(
            "deepspeed-warmuplr" if ds.scheduler == "WarmupLR" else "deepspeed-scheduler", "error",
            f"DeepSpeed {ds.scheduler} ran instead of {label}'s schedule",
            f"the log is {ds.describe()} ({'log' if ds.warmup_type == 'log' else 'linear'}-shaped warmup: update s "
            f"uses {'ln(s)/ln(W)' if ds.warmup_type == 'log' else '(s−1)/W'} of the peak) and {never}; {configured} "
            "was expected. A ds_config \"scheduler\" block replaces lr_scheduler_type, and DeepSpeed's warmup_type "
            "defaults to log",
            "remove the \"scheduler\" block from the DeepSpeed config so the Trainer's lr_scheduler_type applies "
            "(or use WarmupCosineLR / WarmupDecayLR with \"total_num_steps\": \"auto\")",
            span,
        ), ds, deepspeed, deepspeed.alignment

    other = infer(run, (convention,), tol, families=("hf",))
    if other is not None and _better(other.alignment, alignment):
        return settings_finding(run, model, other, label, span), other.model, other, other.alignment
    return None


def settings_finding(run: LoggedRun, model: Model, other: Inference, label: str, span: tuple[int, int]) -> Finding:
    fitted = other.model
    differences = []
    if fitted.scheduler != model.scheduler or fitted.framework != model.framework:
        differences.append(f"scheduler {fitted.label} (not {model.label})")
    if fitted.peak_lr != model.peak_lr:
        differences.append(f"peak {_lr(fitted.peak_lr)} (not {_lr(model.peak_lr)})")
    if fitted.warmup_steps != model.warmup_steps:
        differences.append(f"warmup {fitted.warmup_steps:,} (not {model.warmup_steps:,})")
    if fitted.total_steps != model.total_steps and "total_steps" not in other.ranges:
        differences.append(f"total {fitted.total_steps:,} updates (not {model.total_steps:,})")
    if (fitted.floor or 0) != (model.floor or 0):
        differences.append(f"floor {_lr(fitted.floor or 0)} (not {_lr(model.floor or 0)})")
    return Finding(
        "settings-differ", "error", "the log follows other settings",
        f"the logged LRs equal {fitted.describe()}: " + ("; ".join(differences) or "the same values, computed differently"),
        "check which config the run really used (a later flag or a default may have overridden it); "
        "the inferred settings are printed below",
        span,
    )


# ------------------------------------------------------------------------------------------ entry points


def _align_best(run: LoggedRun, model: Model, conventions: Sequence[str], tol: float) -> tuple[str, Alignment]:
    best: tuple[tuple, str, Alignment] | None = None
    for convention in conventions:
        updates = run.updates(convention)
        if (updates < 0).any():
            continue
        alignment = align(model, updates, run.lr, tol)
        key = (alignment.score(), convention == "hf")
        if best is None or key > best[0]:
            best = (key, convention, alignment)
    if best is None:
        from ..logs import LogError

        raise LogError(f"{run.path}: logged step 0 cannot be read with the transformers >= 4.52 convention (step s+1 = "
                       "update s); pass --log-convention hf-legacy or update")
    return best[1], best[2]


def resume_findings(run: LoggedRun) -> list[Finding]:
    """The resumes the reader found inside the file (a second run appended to the same log)."""
    findings = []
    for resume in run.resumes:
        if resume.overlap and resume.agree == resume.overlap:
            verdict = (f"the {resume.overlap:,} steps logged by both runs carry the same LRs, so the scheduler state "
                       "was restored with the checkpoint")
            severity = "info"
        elif resume.overlap:
            verdict = (f"only {resume.agree:,} of the {resume.overlap:,} steps logged by both runs carry the same LR: "
                       "the resumed run's schedule differs from the first run's; the later values are the ones checked")
            severity = "warning"
        else:
            verdict = "no step was logged by both runs"
            severity = "info"
        findings.append(Finding(
            "resume", severity, f"the run was resumed at step {resume.first_step:,}",
            f"line {resume.line:,} starts a second run (its clock starts over) at step {resume.first_step:,}, after the "
            f"first run had logged up to step {resume.last_step_before:,}; {verdict}",
            "" if severity == "info" else "resume from the checkpoint the first run saved, with its scheduler.pt",
            (resume.first_step, resume.last_step_before),
        ))
    return findings


def _common(run: LoggedRun, model: Model, convention: str, alignment: Alignment, conventions: Sequence[str]) -> list[Finding]:
    findings: list[Finding] = resume_findings(run)
    if len(conventions) > 1 and convention != "hf":
        findings.append(Finding(
            "log-convention", "info", "each step logs the LR of the next update",
            f"the log matches with update = logged step: {CONVENTION_TEXT[convention]}; read that way, not as a "
            "one-update drift",
            "", (int(run.steps[0]), int(run.steps[-1])),
        ))
    offsets = [offset for offset in alignment.offsets if offset is not None]
    if offsets and offsets[0] < 0:
        first = next(i for i, offset in enumerate(alignment.offsets) if offset is not None)
        count = -offsets[0]
        step = int(run.steps[first])
        findings.append(Finding(
            "skipped-step", "error",
            f"{'one scheduler step' if count == 1 else f'{count} scheduler steps'} went missing before step {step:,}, "
            "the first logged",
            f"the first logged LR, at step {step:,}, is that of update {int(alignment.updates[first]) + offsets[0]:,} "
            f"where update {int(alignment.updates[first]):,} should use {_lr(alignment.predicted[first])}: the "
            f"scheduler was not stepped {count} time{'s' if count != 1 else ''} in the first updates. fp16 runs skip "
            "their first optimizer steps while the loss scale comes down from 65536 (the Trainer does not step the "
            "scheduler on a skipped step)",
            "nothing to fix for a few early fp16 skips; the schedule ends that many updates later than planned",
            (int(run.steps[0]) if first == 0 else int(run.steps[first - 1]), step),
        ))
    elif offsets and offsets[0] > 0:
        first = next(i for i, offset in enumerate(alignment.offsets) if offset is not None)
        findings.append(Finding(
            "resume-offset", "error", f"the log is {offsets[0]:,} updates ahead of the schedule from its first point",
            f"from step {int(run.steps[first]):,} the logged LR is that of update {_shifted(offsets[0])}",
            "if the run resumed from an earlier run, check-run needs the log of the whole run; otherwise check "
            "--log-convention",
            (int(run.steps[first]), int(run.steps[first])),
        ))
    findings.extend(drift_finding(run, alignment, change, model) for change in alignment.changes)
    shifted = sum(1 for offset in alignment.offsets if offset not in (0, None))
    if shifted and alignment.explained.all():
        lost = -min(0, offsets[-1]) if offsets else 0
        lost_text = (f"; {lost:,} scheduler step{'s' if lost != 1 else ''} lost in all by the last logged step"
                     if lost and all(b <= a for a, b in zip(offsets, offsets[1:])) else "")
        findings.append(Finding(
            "explained", "info", "apart from that, every logged LR is exact",
            f"{len(run) - shifted:,} logged LRs equal the schedule at their own update and {shifted:,} equal it at the "
            f"shifted update (within {alignment.tol:.0e} relative){lost_text}",
            "", (int(run.steps[0]), int(run.steps[-1])),
        ))
    return findings


def _lost_steps_only(run: LoggedRun, alignment: Alignment) -> bool:
    """Every point is on the schedule at an offset that only ever falls, a few times: the run lost scheduler steps
    (or resumed behind), which the drift findings name; another schedule that happens to fit as well (a skip at
    update 0 of a linear warmup is DeepSpeed's (s - 1) / W warmup) is the less likely reading."""
    offsets = alignment.offsets
    if not alignment.explained.all() or not offsets or offsets[0] > 0:
        return False
    falling = all(later <= earlier for earlier, later in zip(offsets, offsets[1:]))
    return falling and len(alignment.changes) <= max(3, len(run) // 20)


def check_against(run: LoggedRun, model: Model, label: str, conventions: Sequence[str] = ("hf", "hf-legacy"),
                  tol: float = EXACT, grad_accum: int | None = None) -> Report:
    """Compare the log with a given schedule; name the cause of any departure."""
    convention, alignment = _align_best(run, model, conventions, tol)
    explanation: Model | None = None
    inference: Inference | None = None
    found = None if alignment.perfect or _lost_steps_only(run, alignment) else \
        _hypotheses(run, model, convention, alignment, tol, grad_accum, label)
    if found is not None:
        finding, explanation, inference, explained = found
        findings = [f for f in _common(run, explanation, convention, explained, conventions) if f.cause != "explained"]
        findings.insert(1 if findings and findings[0].cause == "log-convention" else 0, finding)
    else:
        findings = _common(run, model, convention, alignment, conventions)
        deviation = deviation_finding(run, alignment, label)
        if deviation is not None:
            findings.append(deviation)
            inference = infer(run, (convention,), tol)
            if inference is not None and not inference.alignment.explained.all():
                inference = None
        late = stopped_early(run, alignment, model)
        if late is not None:
            findings.append(late)
    if not any(f.severity == "error" for f in findings):
        findings.insert(0, _followed(run, alignment, label))
    return Report(run, "compare", label, model, convention, alignment, tuple(findings), inference, explanation, tol,
                  explained if found is not None else None)


def _followed(run: LoggedRun, alignment: Alignment, label: str) -> Finding:
    error = float(alignment.errors.max())
    return Finding(
        "followed", "info", f"the run followed {label}",
        f"all {len(run):,} logged LRs equal the schedule at their update (max relative error {error:.3g}; "
        f"tolerance {alignment.tol:.0e})",
        "", (int(run.steps[0]), int(run.steps[-1])),
    )


def infer_run(run: LoggedRun, conventions: Sequence[str] = ("hf", "hf-legacy"), tol: float = EXACT) -> Report:
    """Infer the schedule from the log, then report on the log against it."""
    inference = infer(run, conventions, tol) if len(run) >= 3 else None
    if inference is None and len(run) < 3:
        finding = Finding(
            "too-few-points", "error", f"{len(run)} logged LR{'s' if len(run) != 1 else ''} cannot pin down a schedule",
            "inferring a schedule needs at least three logged learning rates (better: the warmup and some decay)",
            "give the schedule with --config or the schedule options, and check-run compares every point with it",
        )
        return Report(run, "infer", "inferred", None, conventions[0], None, (finding,), None, None, tol)
    if inference is None:
        finding = Finding(
            "no-fit", "error", "no schedule lrviz knows reproduces this log",
            f"tried every HF type (with the run length the file records, for those that need it) and DeepSpeed "
            f"WarmupLR/WarmupDecayLR/WarmupCosineLR, under both step conventions, at {tol:.0e} relative",
            "give the schedule with --config or the schedule options to see where the log departs from it",
        )
        return Report(run, "infer", "inferred", None, conventions[0], None, (finding,), None, None, tol)
    model, convention, alignment = inference.model, inference.convention, inference.alignment
    findings = _common(run, model, convention, alignment, conventions)
    deviation = deviation_finding(run, alignment, "the inferred schedule")
    if deviation is not None:
        findings.append(deviation)
    if isinstance(model, DeepSpeedModel) and model.scheduler == "WarmupLR":
        findings.append(Finding(
            "deepspeed-warmuplr", "warning", "DeepSpeed WarmupLR: a log-shaped warmup, then a constant LR",
            f"the log is {model.describe()}: DeepSpeed's WarmupLR with its default warmup_type 'log' (update s uses "
            "ln(s)/ln(W) of the peak); it never decays. If your config says cosine or linear, a ds_config "
            "\"scheduler\" block replaced it",
            "to decay, remove the \"scheduler\" block from the DeepSpeed config (lr_scheduler_type then applies)",
            (int(run.steps[0]), int(run.steps[-1])),
        ))
    hint = run.total_steps
    if hint and model.total_steps and model.total_steps != hint and "total_steps" not in inference.ranges:
        ratio = model.total_steps / hint
        why = (f": {round(ratio)}× the run — lengths counted in micro-batches (gradient accumulation {round(ratio)})?"
               if ratio >= 1.5 and abs(ratio - round(ratio)) < 1e-9 else "")
        findings.append(Finding(
            "total-mismatch", "error", f"the schedule is {model.total_steps:,} updates long but the run had {hint:,}",
            f"the logged LRs fit a schedule of {model.total_steps:,} updates; the run's max_steps is {hint:,}{why}",
            "give the scheduler the run's number of optimizer updates",
            (int(run.steps[0]), int(run.steps[-1])),
        ))
    late = stopped_early(run, alignment, model)
    if late is not None:
        findings.append(late)
    if not any(f.severity == "error" for f in findings):
        findings.insert(0, _followed(run, alignment, "the inferred schedule"))
    return Report(run, "infer", "inferred", model, convention, alignment, tuple(findings), inference, None, tol)


def _shifted(offset: int) -> str:
    """Update ``s`` shifted by ``offset``, as a reader writes it: ``s``, ``s+1``, ``s−2``."""
    return "s" if offset == 0 else f"s+{offset}" if offset > 0 else f"s−{-offset}"
