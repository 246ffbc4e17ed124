"""LLaMA-Factory training YAML: the keys its parser accepts, and the training-set size it derives from the data.

Source: hiyouga/LLaMA-Factory at ff6d4d12eeb0 (``SOURCE`` in ``llamafactory_keys.py``), read file by file:

* ``hparams/parser.py::_parse_train_args``: ``HfArgumentParser([ModelArguments, DataArguments,
  TrainingArguments, FinetuningArguments, GeneratingArguments]).parse_dict(args, allow_extra_keys=False)``; an
  unknown key is ``ValueError: Some keys are not used by the HfArgumentParser: [...]``
  (``lrviz.configs.rejections``). The Megatron (``USE_MCA``), KTransformers and ``v1`` launchers use other
  parsers: a file with their keys is not checked key by key.
* ``data/loader.py::_load_single_dataset``: each dataset of ``dataset: a,b`` is cut to
  ``min(max_samples, len(dataset))`` (``max_samples`` is per dataset); ``_get_merged_dataset`` then
  ``data_utils.py::merge_dataset`` concatenates them (``mix_strategy: concat``, the default).
* ``data/data_utils.py::split_dataset``: ``val_size`` > 1e-6 takes the eval split out of the training set with
  ``dataset.train_test_split(test_size=int(val_size) if val_size > 1 else val_size)``; the datasets library
  (``arrow_dataset.py::Dataset.train_test_split``) makes ``n_test = ceil(test_size * n)`` for a fraction,
  ``n_test = test_size`` for a count, and trains on ``n - n_test``.
* ``hparams/parser.py``: ``packing`` defaults to ``stage == "pt"``; packed (or pre-training) examples are
  concatenated and cut into ``cutoff_len``-token blocks, so the number of training sequences depends on the
  token counts: lrviz refuses to guess it (give ``--steps``).

The run length is then the HF Trainer's (``lrviz.steps.hf_total_steps``) over that training-set size.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from ..errors import ConfigError
from ..notes import Note

# Keys of LLaMA-Factory's other launchers (Megatron-Core adapter, KTransformers, the v1 trainer): their files are
# parsed by other dataclasses, whose keys lrviz has not listed.
OTHER_LAUNCHERS = ("kt_config", "tensor_model_parallel_size", "pipeline_model_parallel_size", "use_distributed_optimizer",
                   "sequence_parallel", "expert_model_parallel_size", "dist_config", "model_class", "train_dataset")


def accepted_keys(data: Mapping[str, Any], notes: list[str], name: str) -> frozenset[str] | None:
    """The keys LLaMA-Factory's training parser takes, or None (with a note) for a file of another launcher."""
    from .llamafactory_keys import ACCEPTED_KEYS, SOURCE

    other = [key for key in OTHER_LAUNCHERS if key in data]
    if other:
        notes.append(Note("llamafactory.other_launcher",
                          f"{name}:{other[0]} belongs to another LLaMA-Factory launcher (Megatron, KTransformers or v1), "
                          f"whose parser lrviz does not list; its keys were not checked against {SOURCE}"))
        return None
    return ACCEPTED_KEYS


def dataset_names(raw: Mapping[str, Any]) -> list[str]:
    """``dataset: a, b`` as DataArguments.__post_init__ splits it (``split_arg``: comma-separated, stripped)."""
    value = raw.get("dataset")
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(item).strip() for item in value]
    return [item.strip() for item in str(value).split(",")]


def training_examples(path: str, raw: Mapping[str, Any], size: int | None, sizes: Mapping[str, int] | None,
                      flag: str = "--dataset-size") -> tuple[int, str] | None:
    """The training-set size LLaMA-Factory trains on, and the arithmetic, from ``--dataset-size`` (one size, or
    one per dataset); None when the file changes nothing (no max_samples, no val_size, one size given)."""
    label = f"--config {path}"
    names = dataset_names(raw)
    stage = str(raw.get("stage", "sft"))
    packing = raw.get("packing")
    if packing is None:
        packing = stage == "pt"
    if packing:
        why = "stage: pt packs by default" if stage == "pt" and raw.get("packing") is None else "packing: true"
        raise ConfigError(
            f"{flag}: {label} trains on packed sequences ({why}): LLaMA-Factory concatenates the examples and cuts them "
            f"into cutoff_len-token blocks, so the number of updates depends on the token counts, not on the examples; "
            "give the run length with --steps N (the max_steps of the run, or its log's)"
        )
    if raw.get("streaming"):
        raise ConfigError(f"{flag}: {label} streams its data (streaming: true): the Trainer needs max_steps then; set "
                          "max_steps in the file or give --steps N")
    strategy = raw.get("mix_strategy", "concat")
    if len(names) > 1 and strategy != "concat":
        raise ConfigError(f"{flag}: {label} mixes its datasets with mix_strategy: {strategy}, whose length depends on "
                          "sampling probabilities; lrviz models concat only: give --steps N")
    max_samples = raw.get("max_samples")
    if max_samples is not None and (isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < 1):
        raise ConfigError(f"{label}: max_samples = {max_samples!r} must be a whole number >= 1 (examples per dataset)")
    val_size = raw.get("val_size", 0.0)
    if isinstance(val_size, bool) or not isinstance(val_size, (int, float)) or not math.isfinite(val_size) or val_size < 0:
        raise ConfigError(f"{label}: val_size = {val_size!r} must be a fraction in [0, 1) or a number of examples")
    if raw.get("eval_dataset") is not None and val_size > 1e-6:
        raise ConfigError(f"{label}: val_size and eval_dataset are both set: LLaMA-Factory raises ValueError (\"Cannot "
                          "specify `val_size` if `eval_dataset` is not None.\"); keep one")

    parts: list[str] = []
    if sizes is not None:
        if not names:
            raise ConfigError(f"{flag} {_shown(sizes)}: {label} names no dataset (dataset:); give one number")
        missing = [name for name in names if name not in sizes]
        extra = [name for name in sizes if name not in names]
        if extra:
            raise ConfigError(f"{flag}: {extra[0]} is not a dataset of {label} (dataset: {', '.join(names)}); give "
                              f"{flag} " + ",".join(f"{name}=N" for name in names))
        if missing:
            raise ConfigError(f"{flag}: no size for {missing[0]} (dataset: {', '.join(names)} in {label}); give "
                              f"{flag} " + ",".join(f"{name}={sizes.get(name, 'N')}" for name in names))
        per = [(name, sizes[name]) for name in names]
    else:
        if size is None:
            return None
        if len(names) > 1 and max_samples is not None:
            raise ConfigError(
                f"{flag} {size}: {label} has max_samples: {max_samples}, which caps each of its datasets "
                f"({', '.join(names)}) separately; give each its size: {flag} " + ",".join(f"{name}=N" for name in names)
            )
        per = [(names[0] if len(names) == 1 else "the data", size)]
    total = 0
    for name, count in per:
        kept = min(max_samples, count) if max_samples is not None else count
        total += kept
        parts.append(f"{name} min({count}, max_samples {max_samples}) = {kept}" if max_samples is not None
                     else f"{name} {count}")
    arithmetic = " + ".join(parts) + (f" = {total}" if len(parts) > 1 else "")
    if val_size > 1e-6:
        if val_size > 1 or isinstance(val_size, int):  # split_dataset: int(val_size) if val_size > 1 else val_size
            test = int(val_size)
            shown = f"val_size {val_size:g} → {test} examples"
        elif val_size == 1:
            raise ConfigError(f"{label}: val_size = 1 is the whole dataset as a fraction: datasets' train_test_split "
                              "raises ValueError (test_size must lie in (0, 1)); use a fraction below 1 or a count")
        else:
            test = math.ceil(val_size * total)
            shown = f"ceil({val_size:g} × {total}) = {test}"
        if test >= total:
            raise ConfigError(f"{label}: val_size = {val_size:g} leaves no training example out of {total}: datasets' "
                              "train_test_split raises ValueError; lower val_size")
        arithmetic += f"; minus the eval split (val_size): {total} - {shown} → {total - test}"
        total -= test
    if sizes is None and max_samples is None and val_size <= 1e-6:
        return None
    return total, f"training examples: {arithmetic} (LLaMA-Factory)"


def _shown(sizes: Mapping[str, int]) -> str:
    return ",".join(f"{name}={count}" for name, count in sizes.items())
