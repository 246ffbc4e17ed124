"""Training phases (profiles): which bands the phase-specific rules use, and how ``--profile auto`` picks one.

Numbers come from the published recipes named after each range (the rules P01–P07, W02, W04, E01 and E03 cite
their papers and repository files).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class Profile:
    """A training phase and what the evidence says about its schedule."""

    name: str  # the --profile value
    label: str
    finetune: bool  # LLM fine-tuning: the absolute 1e-6..1e-5 floor band (rule F09) applies
    warmup_ratio: float  # the warmup share recommended when the warmup has to change
    typical_peak: float | None  # the peak recommended when a warning-level peak band rule fires
    peak_text: str  # the recipe range, for the phase table
    warmup_text: str
    floor_text: str
    epochs_text: str
    evidence: str


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "full", "full fine-tuning (SFT)", True, 0.03, 2e-5,
            "5e-6 – 2e-5 (7–70B; larger models lower)", "3–10%", "1/10 – 1/100 of the peak, or 0", "1–3",
            "Alpaca, Vicuna, Llama 2-Chat (arXiv:2307.09288 §3.1), Zephyr, Tülu 3, LLaMA-Factory; see P01, E01",
        ),
        Profile(
            "lora", "LoRA / QLoRA fine-tuning", True, 0.03, 2e-4,
            "1e-4 – 2e-4 (~10× full FT)", "3–10%", "1/10 – 1/100 of the peak, or 0", "1–3",
            "QLoRA (arXiv:2305.14314), Zephyr QLoRA, LLaMA-Factory, Unsloth; see P03, E01",
        ),
        Profile(
            "dpo", "DPO, full fine-tuning", True, 0.1, 1e-6,
            "5e-7 – 1e-6 (Llama 3: 1e-5 with an NLL term; contested)", "10%", "1/10 – 1/100 of the peak, or 0", "1–3",
            "DPO paper (arXiv:2305.18290 App. B), Zephyr, Tülu 2/3, TRL DPOConfig; see P05, E03",
        ),
        Profile(
            "dpo-lora", "DPO with LoRA", True, 0.1, 5e-6,
            "about 5e-6", "10%", "1/10 – 1/100 of the peak, or 0", "1–3",
            "Zephyr QLoRA DPO, LLaMA-Factory LoRA DPO, Unsloth; see P06",
        ),
        Profile(
            "pretrain", "pretraining / continued pretraining", False, 0.01, None,
            "6e-5 – 1e-3 by size (3e-4 at 7B, 1.5e-4 at 70B)", "0.1–1%, and ≥ 2/(1−β2) updates",
            "1/10 of the peak (lower or 0 may be better; contested)", "-",
            "GPT-3 (arXiv:2005.14165), LLaMA 1/2/3, Pythia, OLMo, Chinchilla (arXiv:2203.15556); see P07, F04, W04",
        ),
        Profile(
            "generic", "LLM training, phase not given", False, 0.03, None,
            "-", "3–10% (fine-tuning), ~1% (pretraining)", "1/10 – 1/100 of the peak", "-",
            "pass --profile full|lora|dpo|dpo-lora|pretrain for the phase-specific rules",
        ),
    )
}

PROFILE_CHOICES = ("auto", "full", "lora", "dpo", "dpo-lora", "pretrain")

_ADAPTERS = ("lora", "qlora", "oft", "dora")


def _text(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value).strip().lower()


def infer_profile(raw: Mapping[str, Any] | None, flavor: str | None, name: str | None) -> tuple[Profile, str]:
    """The profile for ``--profile auto`` from a config's keys, and why it was chosen.

    LLaMA-Factory: ``stage`` (pt, sft, rm, dpo, kto, ppo; default sft) and ``finetuning_type`` (lora, oft,
    freeze, full; default lora). Axolotl: ``adapter`` (lora, qlora) and ``rl`` (dpo, ipo, kto, orpo, ...).
    """
    if raw is None:
        return PROFILES["generic"], "auto: no --config, so no phase-specific rules"
    where = name or "the config"
    if flavor == "trl":
        return _trl_profile(raw, where)
    llamafactory = flavor == "llamafactory"
    stage = _text(raw, "stage") or ("sft" if llamafactory else None)
    finetuning = _text(raw, "finetuning_type") or ("lora" if llamafactory else None)
    adapter = _text(raw, "adapter")
    rl = _text(raw, "rl")
    loraplus = raw.get("loraplus_lr_ratio") is not None
    uses_adapter = (finetuning in _ADAPTERS) or (adapter in _ADAPTERS) or loraplus
    shown = ", ".join(
        f"{key}: {value}" for key, value in (("stage", _text(raw, "stage")), ("finetuning_type", _text(raw, "finetuning_type")),
                                             ("adapter", adapter), ("rl", rl),
                                             ("loraplus_lr_ratio", _text(raw, "loraplus_lr_ratio"))) if value
    )
    implied = "" if shown else " (LLaMA-Factory defaults: stage sft, finetuning_type lora)"
    because = f"auto: {where} has {shown}{implied}" if shown else f"auto: {where}{implied}"
    if rl not in (None, "", "false", "none") or stage in ("dpo", "kto", "orpo", "simpo"):
        return PROFILES["dpo-lora" if uses_adapter else "dpo"], because
    if stage == "pt":
        return PROFILES["pretrain"], because
    if stage == "ppo":
        return PROFILES["generic"], because + " (PPO: no peak band in lrviz's evidence; use --profile to choose)"
    if uses_adapter:
        return PROFILES["lora"], because
    if finetuning in ("full", "freeze") or stage in ("sft", "rm"):
        return PROFILES["full"], because
    return PROFILES["generic"], f"auto: {where} has no stage, finetuning_type, adapter or rl key; pass --profile for the phase rules"


# TRL config classes of preference optimisation (an offline or online pair/preference loss against a reference).
_TRL_PREFERENCE = ("DPOConfig", "KTOConfig", "ORPOConfig", "CPOConfig", "BCOConfig", "OnlineDPOConfig", "XPOConfig",
                   "NashMDConfig")


def _trl_profile(raw: Mapping[str, Any], where: str) -> tuple[Profile, str]:
    """A TRL config: its config class names the phase; ``use_peft`` (TRL's ModelConfig) the adapter."""
    from ..configs.trl import identify

    name = identify(raw, where).name
    peft = raw.get("use_peft") is True
    because = f"auto: {where} is a TRL {name}" + (" with use_peft: true" if peft else "")
    if name in _TRL_PREFERENCE:
        return PROFILES["dpo-lora" if peft else "dpo"], because
    if name == "SFTConfig":
        return PROFILES["lora" if peft else "full"], because
    return PROFILES["generic"], because + " (no phase-specific rules for it; pass --profile to choose)"


def pick_profile(choice: str, raw: Mapping[str, Any] | None, flavor: str | None, name: str | None) -> tuple[Profile, str]:
    """``--profile``: a named profile, or the one inferred from the config."""
    if choice == "auto":
        return infer_profile(raw, flavor, name)
    return PROFILES[choice], f"--profile {choice}"
