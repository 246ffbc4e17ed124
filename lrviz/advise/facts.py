"""What the rules look at: the resolved schedule, its key points, the profile, and what the config says around
the schedule (optimizer β2, epochs, other param-group LRs, the DeepSpeed config, framework traps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from ..configs import ConfigFile
from ..keypoints import Summary, key_points
from ..options import Options
from ..resolve import HF_DEFAULTS
from ..schedules import floor_lr, wsd_phases
from ..spec import ScheduleSpec
from .deepspeed import DeepSpeedConfig
from .inputs import Trap
from .profiles import Profile

# transformers TrainingArguments.adam_beta2 default (AdamW).
DEFAULT_BETA2 = 0.999

CONSTANT_TYPES = ("constant", "constant_with_warmup")
COSINE_TYPES = ("cosine", "cosine_with_min_lr", "cosine_warmup_with_min_lr")


@dataclass(frozen=True)
class Facts:
    """Everything a rule may read. Rules are functions of this object only."""

    spec: ScheduleSpec
    summary: Summary
    profile: Profile
    profile_reason: str = ""
    beta2: float = DEFAULT_BETA2
    beta2_from: str = "transformers default"
    epochs: float | None = None  # only when the run length comes from epochs
    epochs_from: str = ""
    group_lrs: tuple[tuple[str, float], ...] = ()  # (where, initial LR) of other param groups
    traps: tuple[Trap, ...] = ()
    deepspeed: DeepSpeedConfig | None = None
    config_name: str | None = None
    transformers_version: str | None = None  # installed here, if any (named in version-dependent findings)

    # ----------------------------------------------------------------------------- derived values

    @property
    def peak(self) -> float:
        return self.spec.peak_lr

    @property
    def total(self) -> int:
        return self.spec.total_steps

    @property
    def warmup(self) -> int:
        """Warmup updates as the framework counts them (Megatron's fraction and NeMo's ratio included)."""
        from ..schedules import warmup_updates

        return warmup_updates(self.spec)

    @property
    def floor(self) -> float | None:
        """The LR the decay ends at; None for schedules without one (constant, inverse_sqrt)."""
        return floor_lr(self.spec)

    @property
    def ratio(self) -> float | None:
        floor = self.floor
        return None if floor is None else floor / self.peak

    @property
    def floor_key(self) -> str | None:
        """How the floor is spelled in the scheduler kwargs: min_lr, min_lr_rate, min_lr_ratio, lr_end, or None."""
        other = getattr(self.spec.signature, "floor_kwarg", "")  # other frameworks name it in their signature
        for key in ("min_lr", "min_lr_rate", "min_lr_ratio", "lr_end") + ((other,) if other else ()):
            if self.spec.scheduler_kwargs.get(key) is not None:
                return key
        return None

    @property
    def floor_is_absolute(self) -> bool:
        return self.floor_key in ("min_lr", "lr_end") or (self.floor_key is not None and self.spec.signature.floor == "absolute")

    @property
    def horizon(self) -> float | None:
        """The update at which the decay first reaches the floor (may lie past the run); None without a decay."""
        spec = self.spec
        W, T = spec.warmup_steps, spec.total_steps
        if spec.framework != "hf":  # another framework's names: read the horizon off its own curve and settings
            decay_iters = spec.scheduler_kwargs.get("lr_decay_iters") if spec.framework == "megatron" else None
            if decay_iters:
                return float(decay_iters)  # Megatron decays over --lr-decay-iters, which may pass --train-iters
            return None if self.summary.floor_step is None else float(self.summary.floor_step)
        if spec.scheduler in COSINE_TYPES:
            cycles = abs(float(spec.kwarg("num_cycles")))
            if cycles == 0:
                return math.inf
            start = W - 1 if spec.scheduler == "cosine_warmup_with_min_lr" else W
            return start + max(1, T - W) / (2 * cycles)
        if spec.scheduler == "warmup_stable_decay":
            warmup, stable, decay = wsd_phases(spec)
            return float(warmup + stable + decay)
        if spec.scheduler in ("linear", "polynomial", "cosine_with_restarts"):
            return float(T)
        return None

    @property
    def first_lr(self) -> float:
        return self.summary.points[0].lr

    def traps_of(self, kind: str) -> list[Trap]:
        return [trap for trap in self.traps if trap.kind == kind]


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def group_lrs_from(raw: Mapping[str, Any], name: str, peak: float, flags: tuple[float, ...] = ()) -> tuple[tuple[str, float], ...]:
    """Initial LRs of param groups other than the main one, from the config and ``--group-lr``.

    LLaMA-Factory / Axolotl ``loraplus_lr_ratio`` (LoRA+ B matrices at lr × ratio), ``loraplus_lr_embedding``
    (absolute), Axolotl ``embedding_lr`` (absolute), ``embedding_lr_scale`` (× lr) and ``lr_groups[].lr``.
    """
    groups: list[tuple[str, float]] = []
    ratio = _float(raw.get("loraplus_lr_ratio"))
    if ratio is not None and ratio > 0:
        groups.append((f"{name}:loraplus_lr_ratio = {ratio:g}", peak * ratio))
        embedding = _float(raw.get("loraplus_lr_embedding"))
        if embedding is not None and embedding > 0:
            groups.append((f"{name}:loraplus_lr_embedding", embedding))
    embedding = _float(raw.get("embedding_lr"))
    if embedding is not None and embedding > 0:
        groups.append((f"{name}:embedding_lr", embedding))
    scale = _float(raw.get("embedding_lr_scale"))
    if scale is not None and scale > 0:
        groups.append((f"{name}:embedding_lr_scale = {scale:g}", peak * scale))
    for index, group in enumerate(raw.get("lr_groups") or ()):
        value = _float(group.get("lr")) if isinstance(group, dict) else None
        if value is not None and value > 0:
            groups.append((f"{name}:lr_groups[{index}].lr", value))
    groups += [(f"--group-lr {value:g}", value) for value in flags]
    return tuple(groups)


def gather(
    spec: ScheduleSpec,
    profile: Profile,
    *,
    profile_reason: str = "",
    options: Options | None = None,
    config: ConfigFile | None = None,
    traps: tuple[Trap, ...] = (),
    deepspeed: DeepSpeedConfig | None = None,
    beta2: float | None = None,
    group_lrs: tuple[float, ...] = (),
    summary: Summary | None = None,
    transformers_version: str | None = None,
    beta2_default: tuple[float, str] | None = None,
) -> Facts:
    """The facts about ``spec`` as given on the command line and in ``config``; ``beta2_default``: another
    framework's β2 and where it came from (its config or its own default), used without --adam-beta2."""
    raw = config.raw if config is not None else {}
    name = config.where("").rstrip(":") if config is not None else ""
    beta2_from = "transformers default"
    if beta2 is not None:
        beta2_from = "--adam-beta2"
    elif _float(raw.get("adam_beta2")) is not None:
        beta2, beta2_from = _float(raw.get("adam_beta2")), f"{name}:adam_beta2"
    elif beta2_default is not None:
        beta2, beta2_from = beta2_default
    else:
        beta2 = DEFAULT_BETA2
    epochs, epochs_from = None, ""
    source = spec.provenance.get("total_steps")
    if source is not None and source.kind == "derived":
        if options is not None and options.epochs is not None:
            epochs, epochs_from = options.epochs, "--epochs"
        elif config is not None and "num_train_epochs" in config.values:
            epochs, epochs_from = config.values["num_train_epochs"].value, config.where("num_train_epochs")
        else:
            epochs, epochs_from = HF_DEFAULTS["num_train_epochs"], "transformers default"
    return Facts(
        spec=spec,
        summary=summary if summary is not None else key_points(spec),
        profile=profile,
        profile_reason=profile_reason,
        beta2=float(beta2),
        beta2_from=beta2_from,
        epochs=epochs,
        epochs_from=epochs_from,
        group_lrs=group_lrs_from(raw, name, spec.peak_lr, tuple(group_lrs)),
        traps=traps,
        deepspeed=deepspeed,
        config_name=name or None,
        transformers_version=transformers_version,
    )
