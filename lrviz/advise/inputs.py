"""Before a schedule can be judged, the input is read the way the framework would read it, and every trap the
framework would trip on is recorded instead of stopping lrviz: a floor key the scheduler does not accept,
``min_lr`` and ``min_lr_rate`` both set or neither, a number PyYAML reads as text, the ``warmup_ratio`` key.

``prepare`` returns cleaned options and config (what the run would be once the trap is fixed, so that the rest
of the advice still applies) together with the traps, which the framework-trap rules turn into findings.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field, replace
from typing import Any

from ..configs import ConfigFile, ConfigValue
from ..options import Options
from ..resolve import HF_DEFAULTS, LRVIZ_DEFAULTS
from ..signatures import FLOOR_MIN_LR_OR_RATE, KWARG_HINTS, SIGNATURES, TRAINER_SUPPLIED_KWARGS, Signature

# Floor spellings of other schedulers and frameworks that are absolute LRs (the rest are ratios).
ABSOLUTE_FLOOR_KEYS = ("min_lr", "eta_min", "lr_min", "final_lr", "lr_end", "end_lr", "warmup_min_lr")
FLOOR_LIKE_KEYS = ABSOLUTE_FLOOR_KEYS + ("min_lr_rate", "min_lr_ratio", "cos_min_ratio", "cosine_min_lr_ratio")

ASSUMED_FLOOR_RATE = LRVIZ_DEFAULTS["min_lr_rate"]


@dataclass(frozen=True)
class Trap:
    """One framework trap found in the input.

    kind: ``both_floors``, ``no_floor``, ``bad_kwarg``, ``text_number``, ``warmup_ratio_key``, ``both_warmup_keys``.
    where: the file and key, or the flag, it was found at.
    """

    kind: str
    where: str
    key: str = ""
    value: Any = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Prepared:
    options: Options
    config: ConfigFile | None
    traps: tuple[Trap, ...]
    scheduler: str  # the scheduler the run will use (before any fix)


def effective_scheduler(options: Options, config: ConfigFile | None) -> str:
    if options.scheduler is not None:
        return options.scheduler
    if config is not None:
        item = config.values.get("lr_scheduler_type")
        return item.value if item is not None else HF_DEFAULTS["lr_scheduler_type"]
    return LRVIZ_DEFAULTS["scheduler"]


def _number(value: Any) -> float | None:
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _translation(signature: Signature, key: str) -> str | None:
    """The key the scheduler accepts that the user most likely meant."""
    accepted = signature.kwarg_names
    hint = KWARG_HINTS.get(key)
    if hint in accepted:
        return hint
    if key in FLOOR_LIKE_KEYS and signature.floor == FLOOR_MIN_LR_OR_RATE:
        return "min_lr" if key in ABSOLUTE_FLOOR_KEYS else "min_lr_rate"
    if key in FLOOR_LIKE_KEYS and "min_lr_ratio" in accepted and key not in ABSOLUTE_FLOOR_KEYS:
        return "min_lr_ratio"
    close = difflib.get_close_matches(key, list(accepted), n=1, cutoff=0.75)
    return close[0] if close else None


def _apply_rejection_fixes(options: Options, config: ConfigFile, traps: list[Trap]) -> ConfigFile:
    """What the framework refuses at launch (``lrviz.configs.rejections``), each a trap; the config as its fix
    writes it, so that the rest of the advice is about the run that will start."""
    from ..configs.pipeline import rejections

    values, kwargs = dict(config.values), dict(config.scheduler_kwargs)
    for found in rejections(options, config):
        traps.append(Trap("rejected", found.where, found.code, None, {"message": found.message, "fix": found.fix}))
        if found.scheduler is not None and found.scheduler != effective_scheduler(options, config):
            values["lr_scheduler_type"] = ConfigValue(found.scheduler, "lr_scheduler_type (as the T09 fix writes it)")
        if found.code == "misplaced_floor":
            for key, value in (found.kwargs or {}).items():
                if key not in kwargs:
                    kwargs[key] = ConfigValue(value, f"{found.where.split(':', 1)[1]} (moved to lr_scheduler_kwargs)")
    return replace(config, values=values, scheduler_kwargs=kwargs)


def prepare(options: Options, config: ConfigFile | None) -> Prepared:
    """Clean ``options`` and ``config`` of framework traps, recording each one."""
    traps: list[Trap] = []
    if config is not None:
        config = _apply_rejection_fixes(options, config, traps)
    scheduler = effective_scheduler(options, config)
    signature = SIGNATURES.get(options.framework or "hf", {}).get(scheduler)
    flavor = config.flavor if config is not None else None

    if config is not None:
        for key, text in config.text_numbers.items():
            traps.append(Trap("text_number", config.where(key), key, text, {"flavor": flavor, "quoted": False}))
        if "warmup_ratio" in config.values:
            ratio = config.values["warmup_ratio"].value
            traps.append(Trap("warmup_ratio_key", config.where("warmup_ratio"), "warmup_ratio", ratio, {"flavor": flavor}))
            if "warmup_steps" in config.values:
                steps = config.values["warmup_steps"].value
                traps.append(Trap("both_warmup_keys", config.where("warmup_ratio"), "warmup_ratio", ratio, {"warmup_steps": steps}))

    config_kwargs: dict[str, ConfigValue] = dict(config.scheduler_kwargs) if config is not None else {}
    flag_kwargs: dict[str, Any] = dict(options.scheduler_kwargs or {})
    if signature is None:  # an unknown scheduler: resolve names it, with the fix
        return Prepared(options, config, tuple(traps), scheduler)

    def where_of(key: str, in_config: bool) -> str:
        return config.where(config_kwargs[key].key) if in_config else f"--scheduler-kwargs {key}"

    # numbers written as text inside lr_scheduler_kwargs ('2e-6' quoted, or from a JSON string)
    for in_config, kwargs in ((True, config_kwargs), (False, flag_kwargs)):
        for key in list(kwargs):
            value = kwargs[key].value if in_config else kwargs[key]
            accepted = signature.kwarg(key) or signature.kwarg(_translation(signature, key) or "")
            if isinstance(value, str) and accepted is not None and accepted.kind in ("float", "int") and _number(value) is not None:
                traps.append(Trap("text_number", where_of(key, in_config), key, value, {"flavor": flavor if in_config else None, "quoted": True}))
                number = _number(value)
                if accepted.kind == "int" and math.isfinite(number) and number == int(number):
                    number = int(number)
                if in_config:
                    kwargs[key] = ConfigValue(number, kwargs[key].key)
                else:
                    kwargs[key] = number

    # keys the scheduler does not take: transformers raises TypeError at scheduler creation
    if signature.kwargs_forwarded:
        for in_config, kwargs in ((True, config_kwargs), (False, flag_kwargs)):
            for key in list(kwargs):
                if signature.kwarg(key) is not None:
                    continue
                value = kwargs[key].value if in_config else kwargs[key]
                where = where_of(key, in_config)
                if key in TRAINER_SUPPLIED_KWARGS:
                    traps.append(Trap("bad_kwarg", where, key, value, {"scheduler": scheduler, "reason": "trainer"}))
                    del kwargs[key]
                    continue
                target = _translation(signature, key)
                translate = target is not None and not (key in ABSOLUTE_FLOOR_KEYS and target in ("min_lr_rate", "min_lr_ratio"))
                translated = translate and target not in config_kwargs and target not in flag_kwargs
                traps.append(Trap("bad_kwarg", where, key, value,
                                  {"scheduler": scheduler, "reason": "unknown", "hint": target if translate else None,
                                   "translated": translated, "floor_like": key in FLOOR_LIKE_KEYS}))
                del kwargs[key]
                if translated:
                    if in_config:
                        kwargs[target] = ConfigValue(value, f"lr_scheduler_kwargs.{key}")
                    else:
                        kwargs[target] = value

    # cosine_with_min_lr & co: exactly one of min_lr / min_lr_rate (floor flags replace both)
    if signature.floor == FLOOR_MIN_LR_OR_RATE and options.min_lr is None and options.min_lr_rate is None:
        present = {key: (config_kwargs[key].value, where_of(key, True)) for key in ("min_lr", "min_lr_rate")
                   if key in config_kwargs and config_kwargs[key].value is not None}
        present.update({key: (flag_kwargs[key], where_of(key, False)) for key in ("min_lr", "min_lr_rate")
                        if flag_kwargs.get(key) is not None})
        if len(present) == 2:
            traps.append(Trap("both_floors", present["min_lr_rate"][1], "min_lr_rate", present["min_lr_rate"][0],
                              {"min_lr": present["min_lr"][0], "min_lr_where": present["min_lr"][1], "scheduler": scheduler}))
            config_kwargs.pop("min_lr_rate", None)
            flag_kwargs.pop("min_lr_rate", None)
        elif not present and config is not None:
            traps.append(Trap("no_floor", config.where("lr_scheduler_kwargs"), "lr_scheduler_kwargs", None,
                              {"scheduler": scheduler, "assumed_rate": ASSUMED_FLOOR_RATE}))
            config_kwargs["min_lr_rate"] = ConfigValue(ASSUMED_FLOOR_RATE, "lr_scheduler_kwargs.min_lr_rate (assumed by lrviz advise)")

    if config is not None:
        config = replace(config, scheduler_kwargs=config_kwargs)
    if options.scheduler_kwargs is not None or flag_kwargs:
        options = replace(options, scheduler_kwargs=flag_kwargs)
    return Prepared(options, config, tuple(traps), scheduler)
