"""A deterministic synthetic corpus: arithmetic token sequences, one task to pre-train on and a shifted one to fine-tune.

Each sequence starts at a random token and repeatedly adds a stride modulo the vocabulary
(``x[t+1] = (x[t] + stride) mod V``); the model has to infer the stride from the context. Pre-training uses
strides 1, 2 and 3; the fine-tune uses strides 3 and 4, half known and half new, so its loss starts high and
has somewhere to go. Everything is drawn from a ``torch.Generator`` seeded by ``--seed``.
"""

from __future__ import annotations

import torch

PRETRAIN_STRIDES = (1, 2, 3)
FINETUNE_STRIDES = (3, 4)


def sequences(count: int, strides: tuple[int, ...], *, vocab_size: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` sequences of ``length`` tokens (int64), each with a stride drawn from ``strides``."""
    stride = torch.tensor(strides)[torch.randint(len(strides), (count,), generator=generator)]
    start = torch.randint(vocab_size, (count,), generator=generator)
    return (start[:, None] + stride[:, None] * torch.arange(length)[None, :]) % vocab_size


def describe() -> str:
    return (
        f"arithmetic sequences mod V; pre-train strides {', '.join(map(str, PRETRAIN_STRIDES))}, "
        f"fine-tune strides {', '.join(map(str, FINETUNE_STRIDES))}"
    )
