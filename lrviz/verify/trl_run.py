"""The TRL parts of ``lrviz verify --config``: TRL's own config class and trainer, with data built in code.

A TRL config runs the trainer its config class belongs to: ``DPOConfig`` → ``trl.DPOTrainer`` (a preference
dataset of ``--dataset-size`` prompt/chosen/rejected triples; the reference model a copy of the model, as TRL
makes it from the same weights), ``SFTConfig`` → ``trl.SFTTrainer`` (a text dataset). Both subclass
``transformers.Trainer`` and train through its ``train()``, which steps the scheduler. Other TRL classes (KTO,
GRPO, ...) need data or generation that lrviz does not build: the plain Trainer runs their TrainingArguments part.
The tokenizer is a word-level ``tokenizers`` vocabulary built in code (no download); its texts are the
arithmetic sequences of ``lrviz.verify.data`` written as words.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from ..errors import EnvironmentUnavailable

# Config classes whose trainer lrviz verify builds.
BUILT = {"DPOConfig": "DPOTrainer", "SFTConfig": "SFTTrainer"}
SPECIAL_TOKENS = ("<pad>", "<eos>", "<unk>")
PROMPT_TOKENS, ANSWER_TOKENS = 6, 4


def require_trl(class_name: str) -> Any:
    """The ``trl`` module, or exit 3 naming what to install."""
    try:
        import datasets  # noqa: F401
        import trl
    except ImportError as error:
        raise EnvironmentUnavailable(
            f"the config is a TRL {class_name}, which lrviz verify trains with TRL's own trainer: {error.name} is not "
            "installed (pip install trl datasets)") from None
    return trl


def config_class(class_name: str) -> Any:
    """TRL's config class (``trl.DPOConfig``); the installed trl must still have it."""
    trl = require_trl(class_name)
    found = getattr(trl, class_name, None)
    if found is None:
        raise EnvironmentUnavailable(f"the config is a TRL {class_name}, which trl {trl.__version__} no longer has; "
                                     "install the trl release the config was written for")
    return found


def tokenizer(vocab_size: int) -> Any:
    """A word-level tokenizer over ``t0 … t{n}`` plus pad/eos/unk, ``vocab_size`` ids in all, built in code."""
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocabulary = {token: index for index, token in enumerate(SPECIAL_TOKENS)}
    for index in range(vocab_size - len(SPECIAL_TOKENS)):
        vocabulary[f"t{index}"] = len(vocabulary)
    words = Tokenizer(models.WordLevel(vocabulary, unk_token="<unk>"))
    words.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=words, pad_token="<pad>", eos_token="<eos>",
                                                unk_token="<unk>")


def _words(tokens: torch.Tensor) -> str:
    return " ".join(f"t{int(token)}" for token in tokens)


def dataset(class_name: str, size: int, vocab_size: int, seed: int) -> Any:
    """``size`` examples for the trainer of ``class_name``, drawn from ``lrviz.verify.data`` by ``seed``.

    DPO: the prompt is a sequence's start, the chosen answer its true continuation, the rejected one the
    continuation with another stride. SFT: the whole sequence as ``text``."""
    import datasets

    from . import data

    words = vocab_size - len(SPECIAL_TOKENS)
    generator = torch.Generator().manual_seed(seed + 1)
    length = PROMPT_TOKENS + ANSWER_TOKENS
    good = data.sequences(size, data.FINETUNE_STRIDES, vocab_size=words, length=length, generator=generator)
    if class_name == "SFTConfig":
        return datasets.Dataset.from_dict({"text": [_words(row) for row in good]})
    bad = (good + torch.arange(length)[None, :]) % words  # one more step of stride per token: a wrong continuation
    return datasets.Dataset.from_dict({
        "prompt": [_words(row[:PROMPT_TOKENS]) for row in good],
        "chosen": [" " + _words(row[PROMPT_TOKENS:]) for row in good],
        "rejected": [" " + _words(row[PROMPT_TOKENS:]) for row in bad],
    })


def trainer_class(class_name: str) -> type:
    return getattr(require_trl(class_name), BUILT[class_name])


def trainer_keywords(class_name: str, model: Any, vocab_size: int, size: int, seed: int) -> dict[str, Any]:
    """What the TRL trainer is built with besides ``args`` and ``callbacks``. The model's special tokens are the
    tokenizer's (TRL would align them itself, with a message)."""
    words = tokenizer(vocab_size)
    for config in (model.config, getattr(model, "generation_config", None)):
        if config is not None:
            config.pad_token_id, config.eos_token_id = words.pad_token_id, words.eos_token_id
            if hasattr(config, "bos_token_id"):
                config.bos_token_id = None
    keywords: dict[str, Any] = {"model": model, "train_dataset": dataset(class_name, size, vocab_size, seed),
                                "processing_class": words}
    if class_name == "DPOConfig":
        keywords["ref_model"] = copy.deepcopy(model)  # TRL loads the same weights again for a model given by name
    return keywords


def quiet_datasets() -> Any:
    """A context in which the datasets library draws no progress bars (TRL maps the dataset three times; the
    report is verify's own)."""
    import contextlib

    @contextlib.contextmanager
    def quiet() -> Any:
        import datasets

        shown = datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()
        try:
            yield
        finally:
            if shown:
                datasets.enable_progress_bars()

    return quiet()


def describe(class_name: str, size: int) -> str:
    if class_name == "DPOConfig":
        return (f"{size:,} preference triples built in code (prompt {PROMPT_TOKENS} tokens, chosen/rejected "
                f"{ANSWER_TOKENS}), reference model a copy of the model")
    return f"{size:,} texts of {PROMPT_TOKENS + ANSWER_TOKENS} tokens built in code"


__all__ = ["BUILT", "config_class", "dataset", "describe", "quiet_datasets", "require_trl", "tokenizer", "trainer_class",
           "trainer_keywords"]
