"""The rules, as data: each has an id, a severity, the condition in words, its source with the strength of the
evidence, and a check that reads ``Facts`` and returns hits (a message naming the numbers, and a fix naming the
value to use instead). Rules never print; ``evaluate`` turns hits into findings.

Every source is one a user can open: a paper with its arXiv id and section, a framework's file and function at a
release, a recipe's repository file, or a public issue (owner/repo#number). Strength of the evidence: strong,
consensus, weak, contested; plus ``logic`` (arithmetic about the schedule itself) and ``framework`` (what the
framework's own code does, read from its source).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from ..signatures import FLOOR_MIN_LR_OR_RATE, FLOOR_ZERO, SIGNATURES
from .facts import CONSTANT_TYPES, COSINE_TYPES, Facts
from .numbers import REL_TOL, at_least, at_most, count, fraction, lr, nice, percent, yaml_float

SEVERITIES = ("error", "warning", "info")

# The bands of the three rules users asked for.
RATIO_HIGH = 1 / 10
RATIO_LOW = 1 / 100
ABS_LOW, ABS_HIGH = 1e-6, 1e-5


@dataclass(frozen=True)
class Hit:
    """What a rule found: the message (with the numbers) and the fix (the value to use instead)."""

    message: str
    fix: str
    severity: str | None = None  # for rules whose severity depends on the profile; default: the rule's


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str  # the highest severity it reports
    topic: str  # floor, warmup, decay, peak, epochs, framework
    condition: str
    source: str
    strength: str
    check: Callable[[Facts], list[Hit]]

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "severity": self.severity, "topic": self.topic,
                "condition": self.condition, "source": self.source, "strength": self.strength}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    title: str
    message: str
    fix: str
    source: str
    strength: str
    topic: str

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "severity": self.severity, "title": self.title, "message": self.message,
                "fix": self.fix, "source": self.source, "strength": self.strength}


# ------------------------------------------------------------------------------------------ helpers


def ratio_band(peak: float) -> tuple[float, float]:
    """Floors the ratio rules (F07, F08) accept."""
    return peak * RATIO_LOW, peak * RATIO_HIGH


def absolute_band_fits(peak: float) -> bool:
    """Whether some floor meets both the absolute band (F09) and the ratio rules at this peak."""
    lo, hi = ratio_band(peak)
    return at_most(max(lo, ABS_LOW), min(hi, ABS_HIGH))


def _last(f: Facts) -> float:
    return f.summary.last_lr


def _share_of_peak(f: Facts, value: float) -> str:
    return percent(value / f.peak)


# How each framework spells a setting in its own config (rules write their fixes in the framework's terms).
_WARMUP_KEY = {"megatron": "--lr-warmup-iters", "nemo": "model.optim.sched.warmup_steps", "deepspeed": "warmup_num_steps"}


def _spelled(f: Facts, key: str, value: str) -> str:
    """``key: value`` as the spec's framework writes it: a Megatron flag, a NeMo sched key, a DeepSpeed param."""
    framework = f.spec.framework
    if framework == "megatron":
        return f"--{key.replace('_', '-')} {value}" if not key.startswith("--") else f"{key} {value}"
    if framework == "nemo":
        return f"{key}: {value}" if key.startswith("model.") else f"model.optim.sched.{key}: {value}"
    if framework == "deepspeed":
        return f'"{key}": {value} in scheduler.params'
    return f"{key}: {value}"


def _warmup_words(f: Facts, steps: int) -> str:
    """A warmup of ``steps`` updates in the framework's own key."""
    return _spelled(f, _WARMUP_KEY.get(f.spec.framework, "warmup_steps"), str(steps))


def _beta2_words(f: Facts) -> str:
    framework = f.spec.framework
    if framework == "megatron":
        return "--adam-beta2 0.95"
    if framework == "nemo":
        return "model.optim.betas: [0.9, 0.95]"
    if framework == "deepspeed":
        return "\"betas\": [0.9, 0.95] in optimizer.params"
    return "adam_beta2: 0.95"


def _floor_words(f: Facts, value: float) -> str:
    """How to write a floor of ``value`` for this schedule's own floor setting."""
    key = f.floor_key
    sig = f.spec.signature
    value = float(f"{value:.6g}")
    if sig.floor == FLOOR_MIN_LR_OR_RATE:
        if key == "min_lr_rate":
            return f"min_lr_rate: {_plain(value / f.peak)}"
        return f"min_lr: {yaml_float(value)}"
    if key == "min_lr_ratio" or f.spec.scheduler == "warmup_stable_decay":
        return f"min_lr_ratio: {_plain(value / f.peak)}"
    if key == "lr_end" or f.spec.scheduler == "polynomial":
        return f"lr_end: {yaml_float(value)}"
    other = getattr(sig, "floor_kwarg", "")  # other frameworks: an absolute or ratio floor setting
    if other and sig.floor == "absolute":
        return _spelled(f, other, yaml_float(value) if f.spec.framework != "megatron" else lr(value))
    if other and sig.floor == "ratio":
        return _spelled(f, other, _plain(value / f.peak))
    return f"lr_scheduler_type: cosine_with_min_lr with min_lr: {yaml_float(value)}"


def _yaml_lr(value: float) -> str:
    """An LR for a fix, rounded to 6 significant digits and written as YAML reads it."""
    return yaml_float(float(f"{value:.6g}"))


def _plain(value: float) -> str:
    return f"{value:.6g}"


def _suggest_warmup(f: Facts) -> int:
    """A warmup the warmup rules accept: the profile's usual share, within a quarter of the run."""
    T = f.total
    target = math.ceil(f.profile.warmup_ratio * T)
    high = max(0, min(T - 1, math.floor(0.25 * T)))
    low = 1 if f.profile.name == "pretrain" else 0
    if f.profile.name == "pretrain" and f.beta2 < 1:
        low = max(low, math.ceil(2 / (1 - f.beta2) * (1 - REL_TOL)))
    return max(min(target, high), min(low, high))


# ------------------------------------------------------------------------------------- floor rules


def _f01(f: Facts) -> list[Hit]:
    floor = f.floor
    if floor is None or not at_least(floor, f.peak):
        return []
    lo, hi = ratio_band(f.peak)
    fix = f"lower the floor below the peak: {_floor_words(f, hi)} (1/10 of the peak), or anything down to {lr(lo)} (1/100)"
    if floor > f.peak * (1 + REL_TOL):
        return [Hit(f"floor {lr(floor)} is above the peak {lr(f.peak)} ({fraction(floor / f.peak)} the peak): "
                    f"transformers accepts it and the 'decay' climbs from {lr(f.peak)} to {lr(floor)}", fix)]
    return [Hit(f"floor {lr(floor)} equals the peak {lr(f.peak)}: after warmup the LR stays at {lr(f.peak)}; nothing decays", fix)]


def _f06(f: Facts) -> list[Hit]:
    if f.floor is None or f.floor != 0:
        return []
    lo, hi = ratio_band(f.peak)
    if f.spec.signature.floor == FLOOR_ZERO:
        what = f"{f.spec.scheduler} decays to 0 (it has no floor setting)"
        fix = (f"lr_scheduler_type: cosine_with_min_lr with min_lr between {_yaml_lr(lo)} and {_yaml_lr(hi)} "
               "(1/100 – 1/10 of the peak); or keep 0 on purpose: it often gives the lower final loss")
    else:
        named = getattr(f.spec.signature, "floor_kwarg", "") or f.spec.signature.floor
        setting = f"{f.floor_key} = 0" if f.floor_key else f"{named} = 0, the default"
        what = f"{f.spec.scheduler} is set to decay to 0 ({setting})"
        fix = f"{_floor_words(f, lo)} (1/100 of the peak) up to {_floor_words(f, hi)} (1/10); or keep 0 on purpose"
    return [Hit(f"{what}; the last update uses {lr(_last(f))}", fix)]


def _f07(f: Facts) -> list[Hit]:
    ratio = f.ratio
    if ratio is None or f.floor <= 0 or at_least(f.floor, f.peak) or at_most(ratio, RATIO_HIGH):
        return []
    hi = f.peak * RATIO_HIGH
    message = (f"floor {lr(f.floor)} is {fraction(ratio)} of the peak {lr(f.peak)}: {count(ratio / RATIO_HIGH)}× above the "
               f"1/10 bound ({lr(hi)})")
    if ratio > 0.2:
        message += "; Chinchilla found a decay of only 5× 'clearly worse' than 10×"
    return [Hit(message, f"lower the floor to {_floor_words(f, hi)} (1/10 of the peak) or below")]


def _f08(f: Facts) -> list[Hit]:
    ratio = f.ratio
    if ratio is None or f.floor <= 0 or at_least(ratio, RATIO_LOW):
        return []
    lo = f.peak * RATIO_LOW
    return [Hit(f"floor {lr(f.floor)} is {fraction(ratio)} of the peak {lr(f.peak)}: {count(RATIO_LOW / ratio)}× below the "
                f"1/100 bound ({lr(lo)})",
                f"raise the floor to {_floor_words(f, lo)} (1/100 of the peak) or above")]


def _f09(f: Facts) -> list[Hit]:
    if not f.profile.finetune or f.floor is None or f.floor <= 0:
        return []
    floor = f.floor
    if at_least(floor, ABS_LOW) and at_most(floor, ABS_HIGH):
        return []
    if floor < ABS_LOW:
        where = f"below 1e-6, the low end of the 1e-6 – 1e-5 band often quoted for LLM fine-tuning ({count(ABS_LOW / floor)}× below)"
    else:
        where = f"above 1e-5, the top of the 1e-6 – 1e-5 band often quoted for LLM fine-tuning ({count(floor / ABS_HIGH)}× above)"
    message = f"floor {lr(floor)} is {where}"
    lo, hi = ratio_band(f.peak)
    if absolute_band_fits(f.peak):
        low, high = max(lo, ABS_LOW), min(hi, ABS_HIGH)
        target = nice(min(max(floor, low), high), low, high)
        return [Hit(message, f"{_floor_words(f, target)} (inside both this band and 1/100 – 1/10 of the peak: "
                             f"{lr(low)} – {lr(high)})")]
    message += (f"; at the peak {lr(f.peak)} no floor meets both this band and the ratio rules "
                f"(1/100 – 1/10 of the peak = {lr(lo)} – {lr(hi)}), and the ratio rules win: the absolute band has no "
                "primary source, the ratio evidence does")
    return [Hit(message, f"follow the ratio rules: a floor of {lr(lo)} – {lr(hi)}", severity="info")]


def _f04(f: Facts) -> list[Hit]:
    ratio = f.ratio
    if f.profile.name != "pretrain" or ratio is None or not (ratio > RATIO_LOW * (1 + REL_TOL) and at_most(ratio, RATIO_HIGH)):
        return []
    return [Hit(f"floor {lr(f.floor)} is {fraction(ratio)} of the peak: the standard GPT-3/LLaMA/Pythia/OLMo floor; "
                "loss-level evidence favours decaying lower (linear to 0, or a final anneal to 0 as in Llama 3 and OLMo), "
                "downstream effects are contested",
                f"sweep the floor if you can: {lr(f.floor)} vs {lr(f.peak * RATIO_LOW)} (1/100) vs 0")]


# ------------------------------------------------------------------------------------ warmup rules


def _w01(f: Facts) -> list[Hit]:
    if f.warmup < f.total:
        return []
    suggested = _suggest_warmup(f)
    return [Hit(f"warmup {f.warmup:,} updates is not shorter than the run ({f.total:,} updates): the LR never reaches the "
                f"peak {lr(f.peak)} (the last update uses {lr(_last(f))}) and never decays",
                f"{_warmup_words(f, suggested)} ({percent(suggested / f.total)} of the run)")]


def _w02(f: Facts) -> list[Hit]:
    if f.warmup >= f.total or f.warmup / f.total <= 0.25:
        return []
    suggested = _suggest_warmup(f)
    return [Hit(f"warmup {f.warmup:,} of {f.total:,} updates is {percent(f.warmup / f.total)} of the run, over 25%; "
                "published recipes warm up for 0.1–10%",
                f"{_warmup_words(f, suggested)} ({percent(suggested / f.total)} of the run)")]


def _w03(f: Facts) -> list[Hit]:
    if not 0 <= f.beta2 < 1 or f.warmup >= f.total:
        return []
    needed = 2 / (1 - f.beta2)
    if f.warmup >= needed * (1 - REL_TOL):
        return []
    steps = math.ceil(needed * (1 - REL_TOL))
    message = (f"warmup {f.warmup:,} updates is shorter than 2/(1−β2) = {count(needed)} updates at β2 = {f.beta2:g} "
               f"({f.beta2_from}), Adam's second-moment time constant")
    if f.profile.name == "pretrain":
        if steps <= 0.25 * f.total:
            fix = f"{_warmup_words(f, steps)} or more"
            if f.beta2 > 0.95:
                fix += f"; or {_beta2_words(f)} as pretraining recipes use (then 40 updates suffice)"
        else:
            fix = (f"{_beta2_words(f)} as pretraining recipes use (40 updates suffice; {steps} would be over a quarter "
                   "of this run)")
        return [Hit(message, fix, severity="warning")]
    return [Hit(message, "fine-tuning recipes warm up 3–10% with β2 = 0.999 (Alpaca, QLoRA) without trouble; "
                         "lengthen the warmup only if the loss spikes early", severity="info")]


def _w04(f: Facts) -> list[Hit]:
    if f.profile.name != "pretrain" or f.warmup != 0:
        return []
    return [Hit("no warmup in a pretraining run; every cited pretraining recipe warms up (375M tokens to 8000 steps)",
                _warmup_words(f, _suggest_warmup(f)))]


def _w05(f: Facts) -> list[Hit]:
    return [Hit(f"{trap.where} = {trap.value} and warmup_steps = {trap.detail['warmup_steps']} are both set: transformers 4.x "
                "uses warmup_steps, 5.0–5.8 let warmup_ratio overwrite it, 5.24 rejects warmup_ratio; the warmup depends "
                f"on the version (lrviz used {f.warmup:,} updates)",
                f"keep one key: warmup_steps: {f.warmup}")
            for trap in f.traps_of("both_warmup_keys")]


# ------------------------------------------------------------------------------------- decay rules


def _d01(f: Facts) -> list[Hit]:
    horizon = f.horizon
    if f.floor is None or horizon is None or not horizon > 1.25 * f.total or f.warmup >= f.total:
        return []
    spec = f.spec
    if spec.scheduler in COSINE_TYPES:
        cause, fix = f"num_cycles {spec.kwarg('num_cycles'):g} stretches the cosine", "num_cycles: 0.5 (the decay ends with the run)"
    else:
        cause = "warmup + stable + decay is longer than the run"
        fix = f"drop num_stable_steps (transformers then fills the run) or make warmup + stable + decay = {f.total:,}"
    reach = ("never reaches the floor" if math.isinf(horizon)
             else f"reaches the floor at update {horizon:,.0f}, {count(horizon / f.total)}× the run's {f.total:,} updates")
    return [Hit(f"the decay {reach}: {cause}; the last update uses {lr(_last(f))} "
                f"({_share_of_peak(f, _last(f))} of the peak), so the final checkpoint is under-annealed", fix)]


def _plateau(f: Facts) -> tuple[int, float] | None:
    s = f.summary
    if f.floor is None or s.floor_step is None or not s.floor_plateau or s.floor_share <= 0.1:
        return None
    return s.floor_step, s.floor_share


def _decay_fix(f: Facts) -> str:
    if f.spec.scheduler == "warmup_stable_decay":
        return f"drop num_stable_steps (transformers then fills the run) or make warmup + stable + decay = {f.total:,}"
    return f"make the decay end at the last update ({f.total:,})"


def _d02(f: Facts) -> list[Hit]:
    plateau = _plateau(f)
    if plateau is None or f.floor != 0:
        return []
    step, share = plateau
    return [Hit(f"the LR is 0 from update {step:,} on: the last {percent(share)} of the run ({f.total - step:,} updates) "
                "changes nothing", _decay_fix(f))]


def _d03(f: Facts) -> list[Hit]:
    plateau = _plateau(f)
    if plateau is None or f.floor == 0:
        return []
    step, share = plateau
    return [Hit(f"the LR sits at the floor {lr(f.floor)} from update {step:,} on, the last {percent(share)} of the run; "
                "gains there are small (GPT-3 did this by design)", _decay_fix(f))]


def _d04(f: Facts) -> list[Hit]:
    never_anneals = f.spec.scheduler in CONSTANT_TYPES or (f.floor is None and f.summary.last_lr >= f.peak * (1 - 1e-12))
    if f.profile.name != "pretrain" or not never_anneals:
        return []
    return [Hit(f"{f.spec.scheduler} never anneals: most of the final loss drop of a pretraining run happens during the decay",
                f"lr_scheduler_type: cosine_with_min_lr (floor 1/10 of the peak), or warmup_stable_decay with "
                f"num_decay_steps: {math.ceil(0.2 * f.total)} (a 20% cooldown)")]


def _wsd_share(f: Facts) -> float | None:
    if f.spec.scheduler != "warmup_stable_decay":
        return None
    return f.spec.kwarg("num_decay_steps") / f.total


def _d05(f: Facts) -> list[Hit]:
    share = _wsd_share(f)
    if share is None or share >= 0.05:
        return []
    return [Hit(f"the decay phase is {f.spec.kwarg('num_decay_steps'):,} of {f.total:,} updates ({percent(share)}); "
                "a 2.5% decay 'falls short' (MiniCPM)",
                f"num_decay_steps: {math.ceil(0.2 * f.total)} (20% of the run; 10% is the least MiniCPM found sufficient)")]


def _d06(f: Facts) -> list[Hit]:
    share = _wsd_share(f)
    if share is None or share <= 0.3:
        return []
    return [Hit(f"the decay phase is {percent(share)} of the run; cooldown gains plateau around 20%, and a longer decay "
                "spends time below the peak", f"num_decay_steps: {math.ceil(0.2 * f.total)} (20% of the run)")]


def _d07(f: Facts) -> list[Hit]:
    if f.floor is None or f.warmup >= f.total:
        return []
    horizon = f.horizon
    if horizon is not None and horizon > 1.25 * f.total:
        return []  # D01 says it
    last = _last(f)
    limit = max(1.5 * f.floor, 0.2 * f.peak)
    if last <= limit:
        return []
    spec = f.spec
    cycles = spec.kwarg("num_cycles") if spec.signature.kwarg("num_cycles") is not None else None
    regular = (spec.scheduler in COSINE_TYPES and cycles == 0.5) or (spec.scheduler == "cosine_with_restarts" and cycles == int(cycles))
    if spec.scheduler in COSINE_TYPES + ("cosine_with_restarts",) and not regular:
        cause = f"num_cycles {cycles:g} ends the cosine away from its floor"
        fix = "num_cycles: 0.5" if spec.scheduler != "cosine_with_restarts" else "a whole number of cycles (num_cycles: 1, 2, ...)"
    elif spec.scheduler in COSINE_TYPES + ("cosine_with_restarts", "linear", "polynomial"):
        decay = f.total - f.warmup
        cause = f"the decay has only {decay:,} update(s) after the warmup, too few to come down"
        fix = "a shorter warmup or a longer run"
    else:
        cause, fix = "the decay does not finish within the run", _decay_fix(f)
    return [Hit(f"the last update uses {lr(last)} ({_share_of_peak(f, last)} of the peak, floor {lr(f.floor)}): {cause}", fix)]


# -------------------------------------------------------------------------------------- peak rules


def _peak(profile: str, test: Callable[[float], bool], text: Callable[[Facts], str], fix: Callable[[Facts], str]) -> Callable[[Facts], list[Hit]]:
    def check(f: Facts) -> list[Hit]:
        if f.profile.name != profile or not test(f.peak):
            return []
        return [Hit(text(f), fix(f))]

    return check


def _typical(f: Facts) -> str:
    return f"learning_rate: {yaml_float(f.profile.typical_peak)}"


# -------------------------------------------------------------------------------------- epochs rules


def _epochs(profiles: tuple[str, ...], recipes: str) -> Callable[[Facts], list[Hit]]:
    def check(f: Facts) -> list[Hit]:
        if f.profile.name not in profiles or f.epochs is None or f.epochs <= 3:
            return []
        return [Hit(f"{f.epochs:g} epochs ({f.epochs_from}); {recipes}", "num_train_epochs: 3 or fewer; watch the eval loss for overfitting")]

    return check


# --------------------------------------------------------------------------------- framework traps


def _t01(f: Facts) -> list[Hit]:
    hits = []
    for trap in f.traps_of("both_floors"):
        min_lr, rate = trap.detail["min_lr"], trap.value
        hits.append(Hit(
            f"{trap.detail['min_lr_where']} ({min_lr}) and {trap.where} ({rate}) are both set: transformers raises "
            "ValueError('Only one of min_lr or min_lr_rate should be set') when it creates the scheduler "
            "(the advice below uses min_lr)",
            f"keep one: min_lr: {yaml_float(min_lr)} or min_lr_rate: {_plain(min_lr / f.peak)} (= {lr(min_lr)} / {lr(f.peak)})"))
    return hits


def _t02(f: Facts) -> list[Hit]:
    return [Hit(f"{trap.detail['scheduler']} needs min_lr or min_lr_rate in lr_scheduler_kwargs and {trap.where.split(':')[0]} "
                "sets neither: transformers raises ValueError('One of min_lr or min_lr_rate should be set through the "
                f"`lr_scheduler_kwargs`') when it creates the scheduler (the advice below assumes min_lr_rate: "
                f"{trap.detail['assumed_rate']:g})",
                f"lr_scheduler_kwargs: {{min_lr: {yaml_float(f.peak * trap.detail['assumed_rate'])}}} "
                f"(or min_lr_rate: {trap.detail['assumed_rate']:g})")
            for trap in f.traps_of("no_floor")]


def _t03(f: Facts) -> list[Hit]:
    hits = []
    for trap in f.traps_of("bad_kwarg"):
        scheduler, key, value = trap.detail["scheduler"], trap.key, trap.value
        if trap.detail["reason"] == "trainer":
            hits.append(Hit(f"{trap.where} = {value!r}: the Trainer passes {key} itself, so transformers raises TypeError "
                            "(got multiple values for keyword argument)",
                            f"remove {key} from lr_scheduler_kwargs (set it with warmup_steps / max_steps)"))
            continue
        message = (f"{trap.where} = {value!r} is not a keyword of {scheduler}: transformers raises TypeError "
                   f"(unexpected keyword argument '{key}') when it creates the scheduler")
        hint = trap.detail.get("hint")
        number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        shown = yaml_float(number) if isinstance(number, float) else repr(value)
        if hint:
            message += (f" (the advice below reads it as {hint})" if trap.detail.get("translated")
                        else f" (ignored below: {hint} is set too)")
            fix = f"write {hint}: {shown} instead" if trap.detail.get("translated") else f"remove {key}; {hint} is already set"
        elif trap.detail.get("floor_like"):
            signature = SIGNATURES["hf"].get(scheduler)
            if signature is not None and signature.kwarg("min_lr_ratio") is not None and number is not None:
                fix = f"{scheduler} takes a ratio: min_lr_ratio: {_plain(number / f.peak)} (= {lr(number)} / {lr(f.peak)})"
            else:
                message += f"; {scheduler} has no floor setting: it decays to 0"
                absolute = key in ("eta_min", "lr_min", "final_lr", "min_lr", "end_lr", "lr_end", "warmup_min_lr")
                fix = ("lr_scheduler_type: cosine_with_min_lr with "
                       + (f"min_lr: {shown}" if absolute else f"min_lr_rate: {shown}"))
        else:
            signature = SIGNATURES["hf"].get(scheduler)
            accepted = ", ".join(signature.kwarg_names) if signature and signature.kwarg_names else "none"
            fix = f"remove {key}; {scheduler} accepts: {accepted}"
        hits.append(Hit(message, fix))
    return hits


def _t04(f: Facts) -> list[Hit]:
    hits = []
    for trap in f.traps_of("text_number"):
        text, fixed = str(trap.value), yaml_float(float(trap.value))
        if trap.detail.get("quoted"):
            hits.append(Hit(f"{trap.where} is the string '{text}': transformers passes it on unchanged and fails "
                            "(TypeError: unsupported operand type(s) for /: 'str' and 'float')",
                            f"write the number without quotes: {fixed}"))
        elif trap.detail.get("flavor") == "llamafactory":
            hits.append(Hit(f"{trap.where} is written {text}: LLaMA-Factory (OmegaConf) reads it as {float(text)!r}, but "
                            "PyYAML (Axolotl, HfArgumentParser.parse_yaml_file) reads the string '{0}'".format(text),
                            f"write {fixed}", severity="warning"))
        else:
            hits.append(Hit(f"{trap.where} is written {text}: PyYAML reads a number without a dot in the mantissa as the "
                            f"string '{text}', and transformers keeps the string and fails",
                            f"write {fixed}"))
    return hits


def _t05(f: Facts) -> list[Hit]:
    hits = []
    from ..configs.hf import warmup_ratio_finding

    for trap in f.traps_of("warmup_ratio_key"):
        installed = f.transformers_version
        # the pipeline's wording (plot, verify and check-run show it as a note), plus what is installed here
        message, fix = warmup_ratio_finding(trap.where, trap.value, trap.detail.get("flavor"), f.warmup)
        if installed:
            message += f"; installed here: transformers {installed}"
        hits.append(Hit(message, fix))
    return hits


_DS_BEHAVIOUR = {
    "WarmupLR": "WarmupLR warms up to warmup_max_lr and then holds it: the LR never decays",
    "WarmupDecayLR": "WarmupDecayLR decays linearly to warmup_min_lr (0 with \"auto\")",
    "WarmupCosineLR": "WarmupCosineLR's cos_min_ratio defaults to 1e-4",
    "OneCycle": "OneCycle cycles the LR between cycle_min_lr and cycle_max_lr",
}


def _t06(f: Facts) -> list[Hit]:
    ds = f.deepspeed
    if ds is None:
        return []
    if ds.problem is not None:
        return [Hit(f"{ds.where} = {ds.reference}: could not check it ({ds.problem}); if it has a \"scheduler\" block, "
                    f"DeepSpeed's scheduler replaces lr_scheduler_type: {f.spec.scheduler}",
                    "run lrviz from the folder you launch training in, or check the file for a \"scheduler\" block by hand",
                    severity="info")]
    if ds.scheduler is None:
        return []
    kind = str(ds.scheduler.get("type", "?"))
    params = ds.scheduler.get("params") if isinstance(ds.scheduler.get("params"), dict) else {}
    name = ds.path or f"{ds.where} {ds.reference}"
    message = (f"{name} has a \"scheduler\" block ({kind}): DeepSpeed's scheduler replaces lr_scheduler_type: "
               f"{f.spec.scheduler}, so the schedule analysed here is not what runs")
    if kind in _DS_BEHAVIOUR:
        message += f"; {_DS_BEHAVIOUR[kind]}"
    if kind.startswith("Warmup") and "warmup_type" not in params:
        message += "; warmup_type is not set, so the warmup is log-shaped (DeepSpeed's default)"
    fix = (f"delete the \"scheduler\" block from {name}: the HF scheduler then runs under DeepSpeed "
           "(or use the DeepSpeed block of the recommendation)")
    return [Hit(message, fix, severity="error" if kind == "WarmupLR" else "warning")]


def _t07(f: Facts) -> list[Hit]:
    if not f.floor_is_absolute or f.floor is None or f.floor <= 0:
        return []
    others = [(where, value) for where, value in f.group_lrs if abs(value - f.peak) > REL_TOL * f.peak]
    if not others:
        return []
    key = f.floor_key
    ratio = f.floor / f.peak
    ends = "; ".join(f"{where} (LR {lr(value)}) ends at {lr(value * ratio)}" for where, value in others)
    rate_key = "min_lr_rate" if key == "min_lr" else "a ratio"
    return [Hit(f"{key} {lr(f.floor)} is absolute, but transformers turns it into {fraction(ratio)} of optimizer.defaults['lr'] "
                f"({lr(f.peak)}) and applies that ratio to every param group: {ends}, not {lr(f.floor)}",
                f"write {rate_key}: {_plain(ratio)} so the config says what runs (every group ends at {fraction(ratio)} of its own LR)")]


def _t08(f: Facts) -> list[Hit]:
    if f.total < 2 or f.first_lr != 0 or f.warmup == 0:
        return []
    if f.spec.framework == "deepspeed" and f.spec.kwarg("warmup_type") == "log":
        # deepspeed lr_schedules.py: the constructor sets the LR at last_batch_iteration -1 (0 here), and the log warmup
        # is log(i + 1) / log(W) with i = s - 1, so update 1 is log(1) = 0 too; half the peak at i + 1 = sqrt(W)
        from ..frameworks.deepspeed import warmup_length

        W = warmup_length(f.spec)
        half = math.ceil(math.sqrt(W))
        return [Hit(f"updates 0 and 1 run at LR 0 (DeepSpeed's {f.spec.scheduler}: the constructor's LR, then its "
                    f"log-shaped warmup log(i + 1) / log({W}) is 0 at i = 0), and the warmup never climbs linearly: it is about "
                    f"at half the peak by update {half} of {W} and spends the rest creeping up to it",
                    "\"warmup_type\": \"linear\" in scheduler.params for a linear climb (updates 0 and 1 still run at 0)")]
    alternative = ""
    if f.spec.scheduler == "cosine_with_min_lr":
        alternative = f"; cosine_warmup_with_min_lr starts at peak/W ({lr(f.peak / max(1, f.warmup))}) instead"
    return [Hit(f"update 0 runs at LR 0 ({f.spec.scheduler}'s warmup starts at 0): the first of {f.total:,} updates changes "
                "nothing", "harmless in most runs" + alternative)]


def _t09(f: Facts) -> list[Hit]:
    # the pipeline's own wording (lrviz.configs.rejections), so plot, verify and check-run say the same
    return [Hit(f"{trap.where.split(':')[0]}: {trap.detail['message']}", trap.detail["fix"]) for trap in f.traps_of("rejected")]


# ------------------------------------------------------------------------------------------ the rules

RULES: tuple[Rule, ...] = (
    # the rules users asked for
    Rule("F01", "floor not below the peak", "error", "floor",
         "a decaying schedule's floor ≥ its peak",
         "Logic: a floor at or above the peak makes the decay constant or climbing. transformers does not "
         "check it: transformers 5.24.0 src/transformers/optimization.py "
         "get_cosine_with_min_lr_schedule_with_warmup only computes min_lr / optimizer.defaults['lr']; "
         "Megatron-LM asserts max_lr >= min_lr (megatron-core 0.16.1 "
         "megatron/core/optimizer_param_scheduler.py, OptimizerParamScheduler.__init__). Users' rule: 'the "
         "floor must be below the peak'.",
         "logic", _f01),
    Rule("F06", "decays to 0", "warning", "floor",
         "the floor is 0",
         "Users' rule: 'the floor must be above 0'. Contested, so a warning, not an error: decaying to 0 "
         "gives lower loss than a 10× floor (Bergsma et al. 2025, arXiv:2502.15938 abstract; Hägele et al. "
         "2024, arXiv:2405.18392 §3.2), Llama 3 (arXiv:2407.21783 §3.4.3) and OLMo (arXiv:2402.00838 §4; OLMo "
         "2 arXiv:2501.00656 §4.1) anneal to 0, and HF linear/cosine, Megatron and torch default to 0; for a "
         "floor: Chinchilla (arXiv:2203.15556 App. D.1, fn. 9: 10× slightly better than 0) and downstream "
         "scores (arXiv:2405.18392 §3.2).",
         "contested", _f06),
    Rule("F07", "floor above 1/10 of the peak", "warning", "floor",
         "1/10 < floor / peak < 1",
         "Users' rule: floor within 1/100 – 1/10 of the peak. The 1/10 upper bound is well supported: GPT-3 "
         "(arXiv:2005.14165 App. B), Chinchilla (arXiv:2203.15556 App. B, D.1; fn. 9: a 5× decay is 'clearly "
         "worse'), LLaMA (arXiv:2302.13971 §2.2), Llama 2 (arXiv:2307.09288 §2.2), Pythia (EleutherAI/pythia "
         "models/*/pythia-*.yml: min_lr = lr / 10) and OLMo (arXiv:2402.00838 §3.2) all decay to 10%.",
         "consensus", _f07),
    Rule("F08", "floor below 1/100 of the peak", "warning", "floor",
         "0 < floor / peak < 1/100",
         "Users' rule: floor within 1/100 – 1/10 of the peak. The 1/100 lower bound is weak: only Llama 3 "
         "405B uses 1/100 (arXiv:2407.21783 §3.4.1), and decaying further, toward 0, lowers the loss "
         "(arXiv:2502.15938 abstract; arXiv:2405.18392 §3.2). Kept as a warning because users asked for it.",
         "weak", _f08),
    Rule("F09", "floor outside 1e-6 – 1e-5 (fine-tuning)", "warning", "floor",
         "profile full, lora, dpo or dpo-lora, and a floor > 0 outside [1e-6, 1e-5]",
         "Users' rule: 'min_lr should be 1e-6 to 1e-5 for LLM fine-tuning'. No paper or official recipe "
         "states an absolute floor: recipes give a ratio or decay to 0 (Alpaca: tatsu-lab/stanford_alpaca "
         "README.md; Zephyr: huggingface/alignment-handbook recipes/zephyr-7b-beta/sft/config_full.yaml; Tülu "
         "3: allenai/open-instruct scripts/train/tulu3/finetune_8b.sh), so the band only falls out of a ×0.1 "
         "floor on fine-tuning peaks of 1e-5 – 1e-4; absolute floors in real configs range from 0 to 3e-5 "
         "(OLMo-7B 3e-5, arXiv:2402.00838 Table 5). Applied to fine-tuning profiles only (pretraining floors "
         "are 1.2e-5 – 1e-4: EleutherAI/pythia models/*/pythia-*.yml); info instead of warning where it "
         "cannot be met together with the ratio rules.",
         "weak", _f09),
    Rule("F04", "standard 10× floor in pretraining", "info", "floor",
         "profile pretrain and 1/100 < floor / peak ≤ 1/10",
         "GPT-3 (arXiv:2005.14165 App. B), LLaMA (arXiv:2302.13971 §2.2), Pythia (EleutherAI/pythia "
         "models/*/pythia-*.yml) and OLMo (arXiv:2402.00838 §3.2) use 1/10; D2Z (arXiv:2502.15938 abstract) "
         "and Hägele (arXiv:2405.18392 §3.2) find lower loss decaying further, Llama 3 (arXiv:2407.21783 "
         "§3.4.3) and OLMo (arXiv:2402.00838 §4) anneal to 0; downstream effects contested (arXiv:2405.18392 "
         "§3.2).",
         "contested", _f04),
    # warmup
    Rule("W01", "warmup not shorter than the run", "error", "warmup",
         "warmup ≥ total updates",
         "The same bug, reported again and again: NVIDIA-NeMo/Megatron-Bridge#2858, pytorch/torchtitan#950, "
         "Lightning-AI/pytorch-lightning#18570, PrimeIntellect-ai/prime-rl#968 (GitHub issues): the LR never "
         "reaches the peak and never decays.",
         "strong", _w01),
    Rule("W02", "warmup over 25% of the run", "warning", "warmup",
         "warmup / total > 0.25",
         "Published recipes warm up for 0.1–10%: fine-tuning 3–10% (Alpaca: tatsu-lab/stanford_alpaca "
         "README.md, warmup_ratio 0.03; Zephyr: huggingface/alignment-handbook "
         "recipes/zephyr-7b-beta/sft/config_full.yaml, 0.1), pretraining 0.1–1% (GPT-3 arXiv:2005.14165 App. "
         "B: 375M of 300B tokens; Llama 3 arXiv:2407.21783 §3.4.1: 8,000 of 1.2M steps).",
         "consensus", _w02),
    Rule("W03", "warmup shorter than Adam's second-moment time constant", "warning", "warmup",
         "warmup < 2/(1−β2); warning for pretraining, info otherwise",
         "Ma & Yarats 2021, arXiv:1910.04209 abstract: linear warmup over 2/(1−β2) updates (40 at β2 0.95, "
         "2000 at 0.999). Studied on training from scratch; fine-tuning recipes warm up 3–10% with β2 0.999 "
         "(QLoRA: artidoro/qlora scripts/finetune_guanaco_7b.sh), hence info there.",
         "strong", _w03),
    Rule("W04", "no warmup in pretraining", "warning", "warmup",
         "profile pretrain and warmup = 0",
         "GPT-3 (arXiv:2005.14165 App. B: 375M tokens), LLaMA (arXiv:2302.13971 §2.2: 2,000 steps), Llama 3 "
         "(arXiv:2407.21783 §3.4.1: 8,000 steps) all warm up; mosaicml/llm-foundry#330: an aggressive warmup "
         "is 'partly responsible for some loss spikes'.",
         "consensus", _w04),
    Rule("W05", "warmup_ratio and warmup_steps both set", "warning", "framework",
         "the config sets both warmup_ratio and warmup_steps",
         "transformers 4.57.6 src/transformers/training_args.py TrainingArguments.get_warmup_steps: "
         "warmup_steps wins; 5.0–5.8 TrainingArguments.__post_init__: warmup_ratio overwrites warmup_steps; "
         "5.24.0: warmup_ratio is removed; huggingface/transformers#41326.",
         "framework", _w05),
    # decay
    Rule("D01", "decay horizon overshoots the run", "warning", "decay",
         "the decay reaches its floor after 1.25 × the run's updates",
         "Chinchilla (arXiv:2203.15556 App. B, D.1): overestimating the horizon by over 25% clearly hurts; "
         "Hägele (arXiv:2405.18392 §2): the cosine matching the run length is best.",
         "strong", _d01),
    Rule("D02", "LR at 0 for over 10% of the run", "warning", "decay",
         "the LR reaches a floor of 0 and stays there for more than 10% of the run",
         "deepset-ai/FARM#46 ('LR = 0 for the last few steps'); updates at LR 0 change nothing.",
         "logic", _d02),
    Rule("D03", "long tail at the floor", "info", "decay",
         "the LR stays at a floor > 0 for more than 10% of the run",
         "GPT-3 (arXiv:2005.14165 App. B: the last 40B of 300B tokens at 10%, by design); Hägele "
         "(arXiv:2405.18392 §2): the final LR is 'too low to continue making large progress'.",
         "weak", _d03),
    Rule("D04", "constant schedule in pretraining", "warning", "decay",
         "profile pretrain and a constant schedule",
         "MiniCPM (arXiv:2404.06395 §4.3); Hägele (arXiv:2405.18392 §3.2): the loss drops sharply once the "
         "decay starts.",
         "strong", _d04),
    Rule("D05", "WSD decay too short", "warning", "decay",
         "warmup_stable_decay with num_decay_steps < 5% of the run",
         "MiniCPM (arXiv:2404.06395 §4.3): a 10% decay suffices, 2.5% 'falls short'; Hägele (arXiv:2405.18392 "
         "§3.2): a 20% cooldown matches cosine.",
         "strong", _d05),
    Rule("D06", "WSD decay longer than 30%", "info", "decay",
         "warmup_stable_decay with num_decay_steps > 30% of the run",
         "Hägele (arXiv:2405.18392 §3.2): the gains of a longer cooldown plateau around 20%.",
         "weak", _d06),
    Rule("D07", "run ends far above the floor", "warning", "decay",
         "the last update's LR > max(1.5 × floor, 0.2 × peak)",
         "The schedule does not complete: Chinchilla (arXiv:2203.15556 App. B: a horizon over 25% past the "
         "run clearly hurts); huggingface/accelerate#1160, huggingface/diffusers#4387 (the LR does not reach "
         "its end).",
         "strong", _d07),
    # peak LR per phase
    Rule("P01", "full fine-tuning peak far too high", "warning", "peak",
         "profile full and peak > 1e-4",
         "Full-FT recipes for 7–70B use 5e-6 – 2e-5: Alpaca (tatsu-lab/stanford_alpaca README.md), Vicuna "
         "(lm-sys/FastChat scripts/train_vicuna_7b.sh), Llama 2-Chat (arXiv:2307.09288 §3.1), Llama 3 "
         "(arXiv:2407.21783 §4.1.3), Zephyr (huggingface/alignment-handbook "
         "recipes/zephyr-7b-beta/sft/config_full.yaml), Tülu 3 (allenai/open-instruct "
         "scripts/train/tulu3/finetune_8b.sh).",
         "consensus",
         _peak("full", lambda peak: peak > 1e-4 * (1 + REL_TOL),
               lambda f: f"peak {lr(f.peak)} is {count(f.peak / 2e-5)}× the usual full fine-tuning LR 2e-5 (recipes: 5e-6 – 2e-5)",
               _typical)),
    Rule("P02", "full fine-tuning peak outside the common band", "info", "peak",
         "profile full and peak in (3e-5, 1e-4] or below 1e-6",
         "Common full-FT band 1e-6 – 2e-5; larger models use the lower end: Alpaca 13B 1e-5 vs 7B 2e-5 "
         "(tatsu-lab/stanford_alpaca README.md), Llama 2 reward model 5e-6 for 70B vs 1e-5 (arXiv:2307.09288 "
         "§3.2.2).",
         "consensus",
         _peak("full", lambda peak: (peak > 3e-5 * (1 + REL_TOL) and at_most(peak, 1e-4)) or peak < 1e-6 * (1 - REL_TOL),
               lambda f: f"peak {lr(f.peak)} is outside the common full fine-tuning band 1e-6 – 2e-5",
               _typical)),
    Rule("P03", "LoRA peak too low", "warning", "peak",
         "profile lora and peak < 2e-5",
         "LoRA recipes use 1e-4 – 2e-4, about 10× full FT: QLoRA (artidoro/qlora "
         "scripts/finetune_guanaco_7b.sh), Zephyr QLoRA (huggingface/alignment-handbook "
         "recipes/zephyr-7b-beta/sft/config_qlora.yaml), LLaMA-Factory (hiyouga/LLaMA-Factory "
         "examples/train_lora/llama3_lora_sft.yaml); 'LoRA Without Regret' (Schulman et al. 2025, Thinking "
         "Machines).",
         "consensus",
         _peak("lora", lambda peak: peak < 2e-5 * (1 - REL_TOL),
               lambda f: f"peak {lr(f.peak)} is {count(1e-4 / f.peak)}× below 1e-4, the low end of LoRA recipes (1e-4 – 2e-4)",
               _typical)),
    Rule("P04", "LoRA peak too high", "warning", "peak",
         "profile lora and peak > 1e-3",
         "5× above the highest cited LoRA recipe LR, 2e-4: QLoRA (artidoro/qlora "
         "scripts/finetune_guanaco_7b.sh), Zephyr QLoRA (huggingface/alignment-handbook "
         "recipes/zephyr-7b-beta/sft/config_qlora.yaml).",
         "consensus",
         _peak("lora", lambda peak: peak > 1e-3 * (1 + REL_TOL),
               lambda f: f"peak {lr(f.peak)} is {count(f.peak / 2e-4)}× the highest cited LoRA recipe LR (2e-4)",
               _typical)),
    Rule("P05", "DPO peak above open recipes", "warning", "peak",
         "profile dpo (full fine-tuning) and peak > 5e-6",
         "Open DPO recipes use 5e-7 – 1e-6: Zephyr (huggingface/alignment-handbook "
         "recipes/zephyr-7b-beta/dpo/config_full.yaml), Tülu 3 (allenai/open-instruct "
         "scripts/train/tulu3/dpo_8b.sh), the DPO paper (arXiv:2305.18290 App. B) and TRL's default "
         "(huggingface/trl trl/trainer/dpo_config.py); Llama 3 used 1e-5 with an extra NLL term "
         "(arXiv:2407.21783 §4.1.4), so contested.",
         "contested",
         _peak("dpo", lambda peak: peak > 5e-6 * (1 + REL_TOL),
               lambda f: f"peak {lr(f.peak)} is {count(f.peak / 1e-6)}× the TRL DPO default 1e-6 (open recipes: 5e-7 – 1e-6; "
                         "Llama 3 used 1e-5 with an NLL term)",
               _typical)),
    Rule("P06", "LoRA DPO peak unusual", "info", "peak",
         "profile dpo-lora and peak outside [5e-7, 5e-5]",
         "LoRA DPO recipes use about 5e-6: Zephyr QLoRA (huggingface/alignment-handbook "
         "recipes/zephyr-7b-beta/dpo/config_qlora.yaml), LLaMA-Factory (hiyouga/LLaMA-Factory "
         "examples/train_lora/llama3_lora_dpo.yaml).",
         "consensus",
         _peak("dpo-lora", lambda peak: peak < 5e-7 * (1 - REL_TOL) or peak > 5e-5 * (1 + REL_TOL),
               lambda f: f"peak {lr(f.peak)} is outside 5e-7 – 5e-5; LoRA DPO recipes use about 5e-6",
               _typical)),
    Rule("P07", "pretraining peak outside every cited recipe", "info", "peak",
         "profile pretrain and peak more than 3× outside 6e-5 (175B) – 1e-3 (70M), i.e. outside [2e-5, 3e-3]",
         "GPT-3 (arXiv:2005.14165 Table 2.1), LLaMA (arXiv:2302.13971 Table 2), Llama 3 (arXiv:2407.21783 "
         "Table 3), Pythia (EleutherAI/pythia models/*/pythia-*.yml), OLMo (arXiv:2402.00838 Table 4); after "
         "a full anneal results are flat across ~2–4× (OLMo 2, arXiv:2501.00656 §4.1). Without the model size "
         "only this envelope is checked.",
         "consensus",
         _peak("pretrain", lambda peak: peak < 2e-5 * (1 - REL_TOL) or peak > 3e-3 * (1 + REL_TOL),
               lambda f: f"peak {lr(f.peak)} is more than 3× outside every cited pretraining peak (6e-5 for 175B … 1e-3 for 70M)",
               lambda f: "3e-4 at 7B, 1.5e-4 at 70B, 8e-5 at 405B (Llama 3)")),
    # epochs
    Rule("E01", "many epochs for SFT", "info", "epochs",
         "profile full or lora and epochs > 3",
         "SFT recipes use 1–3 epochs: Zephyr 1 (huggingface/alignment-handbook "
         "recipes/zephyr-7b-beta/sft/config_full.yaml), Llama 2-Chat 2 (arXiv:2307.09288 §3.1), Tülu 3 2 "
         "(allenai/open-instruct scripts/train/tulu3/finetune_8b.sh), Alpaca 3, 13B 5 "
         "(tatsu-lab/stanford_alpaca README.md).",
         "consensus", _epochs(("full", "lora"), "SFT recipes use 1–3 epochs")),
    Rule("E03", "many epochs for DPO", "info", "epochs",
         "profile dpo or dpo-lora and epochs > 3",
         "DPO recipes use 1–3 epochs: Tülu 3 1 (allenai/open-instruct scripts/train/tulu3/dpo_8b.sh), Zephyr "
         "1 (huggingface/alignment-handbook recipes/zephyr-7b-beta/dpo/config_full.yaml), Tülu 2 3 (the "
         "allenai/tulu-2-dpo-70b model card, 'Training hyperparameters').",
         "consensus", _epochs(("dpo", "dpo-lora"), "DPO recipes use 1–3 epochs")),
    # framework traps
    Rule("T01", "min_lr and min_lr_rate both set", "error", "framework",
         "cosine_with_min_lr / cosine_warmup_with_min_lr with both min_lr and min_lr_rate",
         "transformers 5.24.0 src/transformers/optimization.py get_cosine_with_min_lr_schedule_with_warmup "
         "raises ValueError('Only one of min_lr or min_lr_rate should be set').", "framework", _t01),
    Rule("T02", "no floor for a min-LR scheduler", "error", "framework",
         "cosine_with_min_lr / cosine_warmup_with_min_lr with neither min_lr nor min_lr_rate",
         "transformers 5.24.0 src/transformers/optimization.py get_cosine_with_min_lr_schedule_with_warmup "
         "raises ValueError('One of min_lr or min_lr_rate should be set through the `lr_scheduler_kwargs`'); "
         "hiyouga/LLaMA-Factory#7284.",
         "framework", _t02),
    Rule("T03", "scheduler keyword the scheduler does not take", "error", "framework",
         "lr_scheduler_kwargs holds a key the scheduler does not accept (eta_min, min_lr_ratio on cosine_with_min_lr, ...)",
         "transformers 5.24.0 src/transformers/optimization.py get_scheduler passes lr_scheduler_kwargs to "
         "the schedule function as keyword arguments, so a key it does not take is a TypeError; "
         "hiyouga/LLaMA-Factory#5548, huggingface/open-muse#144.",
         "framework", _t03),
    Rule("T04", "number that PyYAML reads as text", "error", "framework",
         "a number written like 2e-6 (no dot) in YAML, or quoted; error where PyYAML/transformers reads it, warning "
         "for LLaMA-Factory (OmegaConf reads it as a float)",
         "YAML 1.1, which PyYAML implements, reads a float only with a dot "
         "(https://yaml.org/type/float.html): '2e-6' is a string; transformers keeps strings in "
         "lr_scheduler_kwargs and transformers 5.24.0 src/transformers/optimization.py "
         "get_cosine_with_min_lr_schedule_with_warmup fails on it; LLaMA-Factory reads YAML with OmegaConf, "
         "which reads it as a float.",
         "framework", _t04),
    Rule("T05", "warmup_ratio key", "warning", "framework",
         "the config uses warmup_ratio",
         "transformers 5.24.0 src/transformers/training_args.py: TrainingArguments has no warmup_ratio field, "
         "so HfArgumentParser rejects the key; 5.0–5.8 mapped it to warmup_steps; "
         "huggingface/transformers#41326.",
         "framework", _t05),
    Rule("T06", "DeepSpeed scheduler block overrides lr_scheduler_type", "error", "framework",
         "the config's deepspeed file has a \"scheduler\" block; error for WarmupLR (never decays), warning otherwise",
         "transformers 5.24.0 src/transformers/integrations/deepspeed.py deepspeed_optim_sched: with a "
         "\"scheduler\" block the Trainer creates accelerate's DummyScheduler and DeepSpeed's scheduler runs; "
         "hiyouga/LLaMA-Factory#3100, haotian-liu/LLaVA#1433, QwenLM/Qwen-VL#183.",
         "framework", _t06),
    Rule("T07", "absolute floor with param groups of different LRs", "warning", "framework",
         "an absolute min_lr (or lr_end) and param groups whose LR differs from the peak (LoRA+, embedding LR, --group-lr)",
         "transformers 5.24.0 src/transformers/optimization.py get_cosine_with_min_lr_schedule_with_warmup "
         "turns min_lr into min_lr / optimizer.defaults['lr'], and torch.optim.lr_scheduler.LambdaLR (torch "
         "2.13 torch/optim/lr_scheduler.py) scales every group's initial LR by the same factor.",
         "framework", _t07),
    Rule("T08", "update 0 at LR 0", "info", "framework",
         "the first update's LR is 0 (warmup from 0)",
         "transformers 5.24.0 src/transformers/optimization.py: the warmup of "
         "get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup and "
         "get_cosine_with_min_lr_schedule_with_warmup is current_step / num_warmup_steps, 0 at update 0 (as "
         "in Axolotl and Megatron-LM); DeepSpeed 0.19.8 deepspeed/runtime/lr_schedules.py WarmupCosineLR "
         "spends two updates at LR 0.",
         "framework", _t08),
    Rule("T09", "the framework refuses the config at launch", "error", "framework",
         "a key the framework's argument parser does not take (a floor outside lr_scheduler_kwargs, an unknown "
         "LLaMA-Factory key), or a floor key the scheduler does not take",
         "transformers 5.25.0 src/transformers/hf_argparser.py HfArgumentParser.parse_dict raises ValueError('Some "
         "keys are not used by the HfArgumentParser'); LLaMA-Factory ff6d4d12eeb0 src/llamafactory/hparams/parser.py "
         "_parse_args calls it with allow_extra_keys=False; transformers 5.25.0 src/transformers/optimization.py "
         "get_scheduler passes lr_scheduler_kwargs to the scheduler function (TypeError on a key it does not take).",
         "framework", _t09),
)

RULES_BY_ID = {rule.id: rule for rule in RULES}


def evaluate(facts: Facts, rules: tuple[Rule, ...] = RULES) -> list[Finding]:
    """Every finding for ``facts``, errors first, then warnings, then infos (rule order within each)."""
    findings: list[Finding] = []
    for rule in rules:
        for hit in rule.check(facts):
            severity = hit.severity or rule.severity
            findings.append(Finding(rule.id, severity, rule.title, hit.message, hit.fix, rule.source, rule.strength, rule.topic))
    order = {severity: index for index, severity in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda finding: order[finding.severity])


def exit_code(findings: list[Finding], strict: bool = False) -> int:
    """1 on any error (and on any warning with ``strict``), else 0."""
    bad = {"error", "warning"} if strict else {"error"}
    return 1 if any(finding.severity in bad for finding in findings) else 0
