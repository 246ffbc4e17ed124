"""What a verify run found: the LR check per param group, training health, and the verdict. Pure: numpy only.

The report owns the exit code: 0 when the realized LR matches the prediction at every update of every group
(and every rank agrees) and training is healthy; 1 otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..render import format_lr
from ..schedules import lr_at
from ..spec import ScheduleSpec
from .compress import Compression

# Exactness as everywhere in lrviz (DESIGN.md): 1e-12 relative, or 1e-18 absolute near zero.
REL_TOL = 1e-12
ABS_TOL = 1e-18
# Exit code of a run that matched, but where lrviz's formula (or a stand-in class), not the framework's own
# scheduler object, drove the optimizer: distinct from 0 so that scripts cannot mistake it for the real check.
EXIT_FRAMEWORK_NOT_TESTED = 4
NOT_TESTED = "the framework was not tested"
# The loss must fall by at least this fraction: mean of the last 10% of updates vs the first 10%.
LOSS_MARGIN = 0.02
# Fewer updates than this leave a 10% window of one or two noisy updates: the loss is shown but not judged.
MIN_UPDATES_FOR_LOSS = 20


def _number(value: float) -> float | None:
    """A float for JSON: null where it is NaN or infinite (strict JSON has no such numbers)."""
    return float(value) if np.isfinite(value) else None


def _numbers(values: np.ndarray) -> list[float | None]:
    return [_number(v) for v in np.asarray(values, dtype=np.float64).tolist()]


@dataclass(frozen=True)
class GroupCheck:
    """One param group: its initial LR, the LR it used at each recorded update, and the prediction."""

    name: str
    initial_lr: float
    realized: np.ndarray
    predicted: np.ndarray

    @property
    def abs_error(self) -> np.ndarray:
        return np.abs(self.realized - self.predicted)

    @property
    def rel_error(self) -> np.ndarray:
        scale = np.abs(self.predicted)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(scale > 0, self.abs_error / np.where(scale > 0, scale, 1.0), np.where(self.abs_error > 0, np.inf, 0.0))

    @property
    def diverging(self) -> np.ndarray:
        """Updates where the realized LR is off by more than the tolerance (or is not a number)."""
        off = (self.abs_error > ABS_TOL) & (self.rel_error > REL_TOL)
        return off | ~np.isfinite(self.realized)

    @property
    def first_diverging(self) -> int | None:
        bad = np.flatnonzero(self.diverging)
        return int(bad[0]) if len(bad) else None

    @property
    def max_abs_error(self) -> float:
        return float(self.abs_error.max()) if len(self.realized) else 0.0

    @property
    def max_rel_error(self) -> float:
        finite = self.rel_error[np.abs(self.predicted) > 0]
        return float(finite.max()) if len(finite) else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "initial_lr": self.initial_lr,
            "max_abs_error": _number(self.max_abs_error),
            "max_rel_error": _number(self.max_rel_error),
            "first_diverging_update": self.first_diverging,
            "diverging_updates": int(self.diverging.sum()),
            "realized": _numbers(self.realized),
            "predicted": _numbers(self.predicted),
        }


def check_groups(spec: ScheduleSpec, names: list[str], initial_lrs: list[float], realized: np.ndarray) -> list[GroupCheck]:
    """Compare each group's recorded LRs (rows: updates 0, 1, ...) with ``lr_at(spec, s, base_lr=group LR)``."""
    steps = np.arange(realized.shape[0], dtype=np.int64)
    return [
        GroupCheck(name, float(base), np.asarray(realized[:, i], dtype=np.float64), lr_at(spec, steps, base_lr=base))
        for i, (name, base) in enumerate(zip(names, initial_lrs))
    ]


@dataclass(frozen=True)
class Health:
    """Loss and gradient health over the measured fine-tune."""

    loss: np.ndarray  # mean loss per update
    grad_norm: np.ndarray  # total gradient norm per update, before clipping
    max_grad_norm: float  # the clipping threshold
    skipped: np.ndarray | None = None  # per update: the fp16 loss scaler skipped it (inf gradients are expected there)
    judge_loss: bool = True  # False: a run that checks the schedule only (the real Trainer on a tiny untrained model)

    @property
    def _checked_norms(self) -> np.ndarray:
        return self.grad_norm if self.skipped is None else np.where(self.skipped, 0.0, self.grad_norm)

    @property
    def window(self) -> int:
        return max(1, int(np.ceil(0.1 * len(self.loss))))

    @property
    def loss_first(self) -> float:
        return float(np.mean(self.loss[: self.window]))

    @property
    def loss_last(self) -> float:
        return float(np.mean(self.loss[-self.window:]))

    @property
    def loss_change(self) -> float:
        """Relative change of the loss from the first 10% of updates to the last 10% (negative: it fell)."""
        return (self.loss_last - self.loss_first) / self.loss_first if self.loss_first else float("nan")

    @property
    def _norms_finite(self) -> np.ndarray:
        """Per update: the gradient norm is finite (all True where the run logged no norm per update, as DeepSpeed)."""
        norms = self._checked_norms
        if len(norms) != len(self.loss):
            return np.ones(len(self.loss), dtype=bool)
        return np.isfinite(norms)

    @property
    def finite(self) -> bool:
        return bool(np.all(np.isfinite(self.loss)) and np.all(self._norms_finite))

    @property
    def first_nonfinite(self) -> int | None:
        bad = np.flatnonzero(~(np.isfinite(self.loss) & self._norms_finite))
        return int(bad[0]) if len(bad) else None

    @property
    def loss_judged(self) -> bool:
        return self.judge_loss and len(self.loss) >= MIN_UPDATES_FOR_LOSS

    @property
    def loss_falls(self) -> bool:
        return self.finite and len(self.loss) >= 2 and self.loss_last <= self.loss_first * (1 - LOSS_MARGIN)

    def to_dict(self) -> dict[str, Any]:
        finite_norms = self.grad_norm[np.isfinite(self.grad_norm)]
        return {
            "loss_first_10pct": _number(self.loss_first),
            "loss_last_10pct": _number(self.loss_last),
            "loss_change": _number(self.loss_change),
            "required_fall": LOSS_MARGIN,
            "window_updates": self.window,
            "loss_falls": self.loss_falls,
            "loss_judged": self.loss_judged,  # False: fewer than MIN_UPDATES_FOR_LOSS updates, shown only
            "finite": self.finite,
            "first_nonfinite_update": self.first_nonfinite,
            "grad_norm": {
                "max": float(finite_norms.max()) if len(finite_norms) else None,
                "mean": float(finite_norms.mean()) if len(finite_norms) else None,
                "last": _number(self.grad_norm[-1]) if len(self.grad_norm) else None,
                "clip_at": self.max_grad_norm,
                "clipped_updates": int((self.grad_norm > self.max_grad_norm).sum()),
            },
            "loss": _numbers(self.loss),  # null where not finite
            "grad_norm_per_update": _numbers(self.grad_norm),
            "skipped_updates": [] if self.skipped is None else np.flatnonzero(self.skipped).tolist(),
        }


@dataclass(frozen=True)
class RankAgreement:
    """Data-parallel runs: did every rank apply the same LRs, do the same updates, and see its own shard?"""

    world_size: int
    backend: str
    same_lrs: bool
    first_disagreeing_rank: int | None
    updates_per_rank: list[int]
    sequences_per_rank: list[int]  # empty where the shards are not tracked (a TRL trainer maps its dataset first)
    shards_disjoint: bool | None  # None: not tracked
    dataset_size: int
    expected_updates: int
    arithmetic: str  # lrviz's step arithmetic for the verify run, with the world size

    @property
    def ok(self) -> bool:
        shards_ok = self.shards_disjoint is None or (self.shards_disjoint and sum(self.sequences_per_rank) == self.dataset_size)
        return self.same_lrs and shards_ok and all(u == self.expected_updates for u in self.updates_per_rank)

    def to_dict(self) -> dict[str, Any]:
        return {
            "world_size": self.world_size,
            "backend": self.backend,
            "all_ranks_same_lr": self.same_lrs,
            "first_disagreeing_rank": self.first_disagreeing_rank,
            "updates_per_rank": self.updates_per_rank,
            "sequences_per_rank": self.sequences_per_rank,
            "shards_disjoint": self.shards_disjoint,
            "dataset_size": self.dataset_size,
            "expected_updates": self.expected_updates,
            "step_arithmetic": self.arithmetic,
            "ok": self.ok,
        }


@dataclass
class VerifyReport:
    """Everything ``lrviz verify`` measured; ``exit_code`` is the verdict."""

    configured: ScheduleSpec
    spec: ScheduleSpec  # the schedule actually run (compressed if the configured run was longer)
    compression: Compression | None
    implementation: dict[str, Any]
    stepping: str
    groups: list[GroupCheck]
    scheduler_index: np.ndarray  # the scheduler's last_epoch when each optimizer.step() ran
    health: Health
    updates: int  # loop updates (Trainer global steps)
    skipped: int  # optimizer steps the fp16 loss scaler skipped (scheduler not stepped for them)
    training: dict[str, Any]
    device: dict[str, Any]
    speed: dict[str, Any]
    ranks: RankAgreement | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def recorded(self) -> int:
        return len(self.groups[0].realized) if self.groups else 0

    @property
    def first_diverging(self) -> int | None:
        firsts = [g.first_diverging for g in self.groups if g.first_diverging is not None]
        return min(firsts) if firsts else None

    @property
    def lr_matches(self) -> bool:
        return self.first_diverging is None and self.recorded == self.updates - self.skipped

    @property
    def healthy(self) -> bool:
        return self.health.finite and (self.health.loss_falls or not self.health.loss_judged)

    @property
    def framework_tested(self) -> bool:
        """Whether the framework's own scheduler object drove the optimizer (not lrviz's formula, not a stand-in)."""
        return self.implementation.get("kind") == "framework"

    @property
    def run_length_matches(self) -> bool:
        planned = self.training.get("trainer_max_steps")
        return planned is None or planned == self.spec.total_steps

    @property
    def ok(self) -> bool:
        """The LR matches at every update of every group on every rank, the run length too, and training is healthy."""
        return self.lr_matches and self.healthy and self.run_length_matches and (self.ranks is None or self.ranks.ok)

    @property
    def exit_code(self) -> int:
        """0: ok with the framework's own scheduler; 4: ok, but only against lrviz's formula or a stand-in; 1: not ok."""
        if not self.ok:
            return 1
        return 0 if self.framework_tested else EXIT_FRAMEWORK_NOT_TESTED

    def verdict(self) -> str:
        """What the run proved, in one line (the command's last line)."""
        if not self.ok:
            return "verify failed: " + "; ".join(self.problems())
        if self.framework_tested:
            package = (self.implementation.get("package") or self.implementation.get("source", "").split(".")[0]
                       or "the framework")
            return (f"verify passed: the framework's own scheduler ({package} {self.implementation.get('version')} "
                    f"{self.implementation.get('class')}) drove the optimizer and matched lrviz's prediction at every update")
        if self.implementation.get("kind") == "torch":
            return (f"stepping checked against torch's {self.implementation.get('class')} standing in for the "
                    f"framework's scheduler; {NOT_TESTED}")
        return f"stepping checked against lrviz's formula; {NOT_TESTED}"

    def divergence_sentence(self) -> str | None:
        """Where the realized LR first leaves the prediction, in one line."""
        first = self.first_diverging
        if first is None:
            return None
        group = next(g for g in self.groups if g.first_diverging == first)
        count = max(int(g.diverging.sum()) for g in self.groups)
        text = (f"the realized LR first diverges at update {first:,} (group {group.name}): "
                f"optimizer used {format_lr(float(group.realized[first]), 8)}, lrviz predicts "
                f"{format_lr(float(group.predicted[first]), 8)}; {count:,} of {self.recorded:,} updates differ")
        if len(self.scheduler_index) > first and int(self.scheduler_index[first]) != first:
            text += (f"; the scheduler was at index {int(self.scheduler_index[first]):,} instead of {first:,} "
                     "(scheduler.step() must run once per optimizer update, after optimizer.step())")
        return text

    def problems(self) -> list[str]:
        """One line per failed check."""
        found = []
        sentence = self.divergence_sentence()
        if sentence:
            found.append(sentence)
        if not self.run_length_matches:
            found.append(f"the Trainer planned {self.training['trainer_max_steps']:,} updates, lrviz predicts "
                         f"{self.spec.total_steps:,} ({self.training.get('step_arithmetic', '')})")
        if self.recorded != self.updates - self.skipped:
            found.append(f"optimizer.step() ran {self.recorded:,} times for {self.updates:,} updates "
                         f"({self.skipped:,} skipped by the loss scaler)")
        h = self.health
        if not h.finite:
            found.append(f"loss or gradient norm is NaN/inf from update {h.first_nonfinite:,}")
        elif not h.loss_falls and h.loss_judged:
            found.append(f"the loss did not fall by {LOSS_MARGIN:.0%}: {h.loss_first:.4g} (first 10% of updates) → "
                         f"{h.loss_last:.4g} (last 10%), {h.loss_change:+.1%}")
        if self.ranks is not None and not self.ranks.ok:
            r = self.ranks
            if not r.same_lrs:
                found.append(f"rank {r.first_disagreeing_rank} applied different LRs than rank 0")
            if any(u != r.expected_updates for u in r.updates_per_rank):
                found.append(f"updates per rank {r.updates_per_rank}, expected {r.expected_updates} each ({r.arithmetic})")
            if r.shards_disjoint is not None and (not r.shards_disjoint or sum(r.sequences_per_rank) != r.dataset_size):
                found.append(f"the ranks' data shards {r.sequences_per_rank} do not split the {r.dataset_size:,} "
                             "sequences between them")
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.exit_code == 0,
            "exit_code": self.exit_code,
            "framework_tested": self.framework_tested,
            "verdict": self.verdict(),
            "problems": self.problems(),
            "configured": self.configured.to_dict(),
            "verified": self.spec.to_dict(),
            "compression": self.compression.to_dict() if self.compression else None,
            "scheduler": self.implementation,
            "stepping": self.stepping,
            "lr_check": {
                "tolerance": {"relative": REL_TOL, "absolute": ABS_TOL},
                "matches": self.lr_matches,
                "updates": self.updates,
                "optimizer_steps_recorded": self.recorded,
                "skipped_by_loss_scaler": self.skipped,
                "first_diverging_update": self.first_diverging,
                "message": self.divergence_sentence(),
                "scheduler_index": self.scheduler_index.tolist(),
                "groups": [g.to_dict() for g in self.groups],
            },
            "health": self.health.to_dict(),
            "training": self.training,
            "device": self.device,
            "speed": self.speed,
            "distributed": self.ranks.to_dict() if self.ranks else None,
            "notes": list(self.notes),
        }
