"""TRL training configs: a TrainingArguments file with the keys of one of TRL's config classes (``DPOConfig``,
``SFTConfig``, ...), as ``trl dpo --config FILE`` reads it.

What differs from a plain TrainingArguments file, each read from TRL's source (``trl_keys.RELEASES``):

* The learning rate a file leaves out is the config class's default, not transformers' 5e-5: since TRL 0.14.0
  ``DPOConfig``/``KTOConfig``/``GRPOConfig`` default to 1e-6 and ``SFTConfig`` to 2e-5 (``trl/trainer/*_config.py``,
  ``learning_rate: float = field(default=...)``); 0.13.0 and earlier used transformers' default.
* ``trl/scripts/utils.py::TrlParser.parse_args_and_config`` sets the file's values as argparse defaults, and
  argparse converts a string default with the field's type: a top-level ``2e-6`` (text to PyYAML) becomes the float
  2e-6, unlike ``HfArgumentParser.parse_yaml_file``. Values inside ``lr_scheduler_kwargs`` stay as PyYAML read them.
* Keys no dataclass of the command takes are dropped (``trl/scripts/dpo.py``: ``fail_with_unknown_args=False``).

Which class a file is for is read from its keys (``trl_keys.KEYS``); where several classes take them all, a class
named in the file's path (``recipes/.../dpo/config_full.yaml``) decides, then the order of ``PREFERENCE``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from .trl_keys import KEYS, LEARNING_RATE, RELEASES

# The order in which equally fitting classes are taken: the trainers users run most, then the rest.
PREFERENCE = ("DPOConfig", "SFTConfig", "KTOConfig", "GRPOConfig", "RLOOConfig", "RewardConfig", "ORPOConfig",
              "CPOConfig", "OnlineDPOConfig", "DistillationConfig", "GKDConfig", "BCOConfig", "PRMConfig",
              "XPOConfig", "NashMDConfig", "IterativeSFTConfig")
ALL_KEYS = frozenset().union(*KEYS.values())
# TRL keys with names a training script's own dataclass could have too: alone, they do not make a file a TRL config
# (``--config-flavor trl`` does).
GENERIC_KEYS = frozenset({"max_length", "max_new_tokens", "temperature", "top_k", "top_p", "min_p", "repetition_penalty",
                          "trust_remote_code", "model_init_kwargs", "dataset_num_proc", "pad_token", "eos_token",
                          "pad_to_multiple_of", "label_pad_token_id", "padding_value", "truncation_mode", "alpha",
                          "delta", "epsilon", "judge", "tools"})


@dataclass(frozen=True)
class TrlClass:
    """The TRL config class a file is read as, and its learning-rate default."""

    name: str  # "DPOConfig"
    release: str  # the newest release of RELEASES that has the class
    learning_rate: float | None  # its default there (None: transformers')
    since: str | None  # the oldest release of RELEASES with that same default, if older ones differ
    keys: tuple[str, ...]  # the file's keys that made it a TRL config
    others: tuple[str, ...]  # other classes that take every one of those keys

    @property
    def trainer(self) -> str:
        return self.name[: -len("Config")] + "Trainer"

    def default_text(self) -> str:
        """How the default is described in a note."""
        if self.learning_rate is None:
            return f"transformers' default (trl {self.release} {self.name} keeps it)"
        if self.since is not None:
            return f"{self.name}'s default since trl {self.since} (older releases: transformers' 5e-5)"
        return f"{self.name}'s default in trl {self.release}, not transformers' 5e-5"


    def others_with_another_default(self) -> list[str]:
        """The other classes the file's keys fit whose learning-rate default (in the same release) differs."""
        return [name for name in self.others
                if LEARNING_RATE[name].get(self.release, self.learning_rate) != self.learning_rate]


def trl_keys(data: Mapping[str, Any]) -> list[str]:
    """The file's keys that only a TRL config class takes."""
    return [str(key) for key in data if key in ALL_KEYS]


def looks_like(data: Any) -> bool:
    """A key only TRL's config classes have, beyond the generic names of ``GENERIC_KEYS``."""
    return isinstance(data, dict) and any(key not in GENERIC_KEYS for key in trl_keys(data))


def identify(data: Mapping[str, Any], path: str) -> TrlClass:
    """The config class for a file with TRL keys (see the module docstring)."""
    found = trl_keys(data)
    fitting = [name for name in KEYS if set(found) <= KEYS[name]] or [
        max(KEYS, key=lambda name: (len(set(found) & KEYS[name]), -_rank(name)))]
    words = set(re.split(r"[^a-z0-9]+", path.lower()))
    named = [name for name in fitting if name[: -len("Config")].lower() in words]
    chosen = min(named or fitting, key=_rank)
    defaults = LEARNING_RATE[chosen]
    release = next(version for version in RELEASES if version in defaults)
    default = defaults[release]
    same = [version for version in RELEASES[RELEASES.index(release):] if version in defaults and defaults[version] == default]
    older_differ = any(defaults.get(version, default) != default for version in RELEASES[RELEASES.index(release):])
    since = same[-1] if older_differ else None
    return TrlClass(chosen, release, default, since, tuple(found), tuple(name for name in sorted(fitting, key=_rank)
                                                                           if name != chosen))


def refuse_packed(config: Any, from_dataset_size: bool) -> None:
    """SFTTrainer with ``packing: true`` concatenates the examples and cuts them into ``max_length``-token sequences
    (``trl/trainer/sft_trainer.py`` → ``trl/data_utils.py::pack_dataset``): the run length then depends on the token counts, so a
    length from ``--dataset-size`` examples would be wrong."""
    from ..errors import ConfigError

    max_steps = config.values.get("max_steps")
    if from_dataset_size and config.raw.get("packing") is True and "packing" in KEYS[config.trl.name] \
            and not (max_steps is not None and max_steps.value > 0):
        raise ConfigError(
            f"--dataset-size: --config {config.path} trains on packed sequences (packing: true): {config.trl.trainer} "
            "concatenates the examples and cuts them into max_length-token sequences, so the number of updates depends "
            "on the token counts, not on the examples; give the run length with --steps N (the max_steps of the run, "
            "or its log's)")


def _rank(name: str) -> int:
    return PREFERENCE.index(name) if name in PREFERENCE else len(PREFERENCE)


__all__ = ["ALL_KEYS", "GENERIC_KEYS", "TrlClass", "identify", "looks_like", "refuse_packed", "trl_keys"]
