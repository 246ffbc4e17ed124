"""Putting it together: input → traps → spec → facts → findings → recommendation → snippets."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from ..configs import ConfigFile
from ..notes import code_of
from ..options import Options
from ..resolve import resolve
from ..spec import ScheduleSpec
from .deepspeed import referenced_deepspeed
from .facts import Facts, gather
from .inputs import prepare
from .profiles import PROFILES, Profile, pick_profile
from .recommend import Recommendation, recommend
from .rules import RULES_BY_ID, Finding, evaluate, exit_code
from .snippets import RunLength, Snippet, run_length, snippets

# Note codes (lrviz.notes) that a finding already says, with the rule that says it.
_NOTES_COVERED = {
    "hf.warmup_ratio_key": "T05",
    "hf.both_warmup_keys": "W05",
    "hf.deepspeed_unread": "T06",
    "llamafactory.text_number": "T04",
    "floor_above_peak": "F01",
    "warmup_not_shorter": "W01",
}


@dataclass(frozen=True)
class Advice:
    """What ``lrviz advise`` found and recommends for one schedule."""

    facts: Facts
    findings: list[Finding]
    recommendation: Recommendation
    snippets: list[Snippet]
    notes: tuple[str, ...] = ()  # resolver notes no finding covers

    def exit_code(self, strict: bool = False) -> int:
        return exit_code(self.findings, strict)

    def counts(self) -> dict[str, int]:
        return {severity: sum(f.severity == severity for f in self.findings) for severity in ("error", "warning", "info")}

    def to_dict(self) -> dict[str, Any]:
        rec = self.recommendation
        return {
            "profile": {"name": self.facts.profile.name, "label": self.facts.profile.label, "why": self.facts.profile_reason},
            "schedule": self.facts.spec.to_dict() | {"key_points": self.facts.summary.to_dict()},
            "findings": [f.to_dict() for f in self.findings],
            "counts": self.counts(),
            "notes": list(self.notes),
            "recommendation": {
                "schedule": rec.spec.to_dict() | {"key_points": rec.facts.summary.to_dict()},
                "changes": [c.to_dict() for c in rec.changes],
                "conflicts": list(rec.conflicts),
                "floor_range": list(rec.floor_range) if rec.floor_range else None,
                "open_findings": [f.to_dict() for f in rec.open_findings],
                "snippets": {s.target: s.to_dict() for s in self.snippets},
            },
            "rules": [RULES_BY_ID[rule_id].to_dict() for rule_id in sorted({f.rule for f in self.findings})],
        }


def _transformers_version() -> str | None:
    try:
        return version("transformers")  # metadata only: transformers is not imported
    except PackageNotFoundError:
        return None


def advise(spec: ScheduleSpec, profile: str | Profile = "generic", *, beta2: float | None = None,
           group_lrs: tuple[float, ...] = ()) -> Advice:
    """Advice for a schedule built in Python (no config file): findings, recommendation, snippets.

    >>> from lrviz import ScheduleSpec
    >>> advice = advise(ScheduleSpec("cosine_with_min_lr", 2e-4, 1000, 30, {"min_lr": 1e-8}), "lora")
    >>> [f.rule for f in advice.findings if f.severity == "warning"]
    ['F08', 'F09']
    """
    chosen = profile if isinstance(profile, Profile) else PROFILES[profile]
    facts = gather(spec, chosen, profile_reason="given", beta2=beta2, group_lrs=group_lrs,
                   transformers_version=_transformers_version())
    return _finish(facts, RunLength(max_steps=spec.total_steps), ())


def advise_options(options: Options, config: ConfigFile | None, *, profile: str = "auto", beta2: float | None = None,
                   group_lrs: tuple[float, ...] = ()) -> Advice:
    """Advice for command-line options and an optional config file (what ``lrviz advise`` runs).

    ``config`` is any format ``lrviz.configs.read`` returns; its spec comes from the same pipeline as in every other
    command (``lrviz.configs.to_spec``), in the framework's own semantics.
    """
    from ..configs.pipeline import flavor_of, to_spec

    if config is not None and not isinstance(config, ConfigFile):
        spec = to_spec(options, config)
        chosen, why = _profile_of(profile, config, flavor_of(config))
        facts = gather(spec, chosen, profile_reason=why, options=options, beta2=beta2, group_lrs=group_lrs,
                       transformers_version=_transformers_version(), beta2_default=_framework_beta2(config))
        return _finish(facts, RunLength(max_steps=spec.total_steps), spec.notes)
    prepared = prepare(options, config)
    deepspeed = referenced_deepspeed(config)
    if deepspeed is not None and deepspeed.scheduler is not None:
        # The one place advise departs from the pipeline's spec: DeepSpeed's block replaces the Trainer's scheduler
        # (T06 says so and how to remove it), and the advice is on the schedule the config asks for.
        spec = resolve(prepared.options, prepared.config)
    else:
        spec = to_spec(prepared.options, prepared.config, strict=False)
    chosen, why = pick_profile(profile, config.raw if config else None, config.flavor if config else None,
                               config.where("").rstrip(":") if config else None)
    facts = gather(spec, chosen, profile_reason=why, options=prepared.options, config=prepared.config, traps=prepared.traps,
                   deepspeed=deepspeed, beta2=beta2, group_lrs=group_lrs,
                   transformers_version=_transformers_version())
    notes = tuple(note for note in spec.notes if code_of(note) not in _NOTES_COVERED)
    return _finish(facts, run_length(spec, prepared.options, prepared.config), notes)


def _framework_beta2(config: Any) -> tuple[float, str] | None:
    """Adam's β2 as the framework of a non-TrainingArguments config gets it: from the file, else its own default."""
    from ..configs.pipeline import flavor_of

    flavor, raw = flavor_of(config), getattr(config, "raw", {}) or {}
    if flavor == "axolotl" and isinstance(raw.get("adam_beta2"), (int, float)):
        return float(raw["adam_beta2"]), config.where("adam_beta2")
    if flavor == "nemo":
        optim = (raw.get("model") or {}).get("optim") if isinstance(raw.get("model"), dict) else raw.get("optim")
        betas = optim.get("betas") if isinstance(optim, dict) else None
        if isinstance(betas, (list, tuple)) and len(betas) == 2 and isinstance(betas[1], (int, float)):
            return float(betas[1]), config.where("betas")
        return 0.999, "torch AdamW default (no model.optim.betas)"
    if flavor == "megatron":
        value = config.values.get("--adam-beta2")
        return (float(value), config.where("--adam-beta2")) if value is not None else (0.999, "Megatron default (--adam-beta2)")
    if flavor == "deepspeed":
        return 0.999, "torch AdamW default"
    return None


_FORMAT_NAMES = {"deepspeed": "a DeepSpeed config", "axolotl": "an Axolotl config", "megatron": "a Megatron-LM launch",
                 "nemo": "a NeMo config"}


def _profile_of(profile: str, config: Any, flavor: str | None) -> tuple[Profile, str]:
    """``--profile`` for a config that is not a TrainingArguments file: Axolotl names its phase (adapter, rl);
    a Megatron-LM launch is pretraining; DeepSpeed and NeMo files name none."""
    raw = getattr(config, "raw", None)
    if flavor == "axolotl" and raw:
        return pick_profile(profile, raw, flavor, config.name)
    chosen, why = pick_profile(profile, None, None, None)
    if profile != "auto":
        return chosen, why
    if flavor == "megatron":
        return PROFILES["pretrain"], f"auto: {config.name} is {_FORMAT_NAMES[flavor]} (Megatron-LM pretrains)"
    return chosen, f"auto: {config.name} is {_FORMAT_NAMES.get(flavor or '', 'a config')}, which names no training phase"


def _finish(facts: Facts, run: RunLength, notes: tuple[str, ...]) -> Advice:
    findings = evaluate(facts)
    rec = recommend(facts, findings)
    return Advice(facts, findings, rec, snippets(rec.spec, run), notes)
