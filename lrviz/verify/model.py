"""A tiny GPT-style decoder, built in code (no downloads): token + position embeddings, pre-norm blocks of
causal self-attention and an MLP, a final norm and an LM head tied to the token embedding.

The optimizer sees it in three param groups, as a fine-tuning recipe would: the block weights and the
norms/biases (the Trainer's decay / no-decay split, both at the peak LR) and the embeddings at a different
LR (a per-module LR multiplier), so that every group's LR can be checked against its own prediction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the tiny decoder."""

    vocab_size: int = 32
    context: int = 16
    width: int = 32
    heads: int = 2
    layers: int = 2


# The embeddings group runs at this multiple of the peak LR (optimizer.defaults["lr"]).
EMBEDDING_LR_MULTIPLIER = 4.0


class Block(nn.Module):
    """Pre-norm causal self-attention, then a 4x MLP, each with a residual."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.heads = config.heads
        self.norm1 = nn.LayerNorm(config.width)
        self.qkv = nn.Linear(config.width, 3 * config.width)
        self.proj = nn.Linear(config.width, config.width)
        self.norm2 = nn.LayerNorm(config.width)
        self.up = nn.Linear(config.width, 4 * config.width)
        self.down = nn.Linear(4 * config.width, config.width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(width, dim=2)
        q, k, v = (t.view(batch, length, self.heads, width // self.heads).transpose(1, 2) for t in (q, k, v))
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(attended.transpose(1, 2).reshape(batch, length, width))
        return x + self.down(F.gelu(self.up(self.norm2(x))))


class TinyGPT(nn.Module):
    """A causal language model over ``vocab_size`` tokens; ``forward(tokens)`` returns logits."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.tokens = nn.Embedding(config.vocab_size, config.width)
        self.positions = nn.Embedding(config.context, config.width)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.norm = nn.LayerNorm(config.width)
        self.head = nn.Linear(config.width, config.vocab_size, bias=False)
        self.head.weight = self.tokens.weight  # tied, as in GPT-2
        nn.init.normal_(self.tokens.weight, std=0.02)  # GPT-2's initialisation of the embeddings
        nn.init.normal_(self.positions.weight, std=0.02)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.tokens(tokens) + self.positions(positions)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


def lm_loss(model: nn.Module, sequences: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy of ``sequences`` (batch, context + 1)."""
    logits = model(sequences[:, :-1])
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), sequences[:, 1:].reshape(-1))


def param_groups(model: TinyGPT, peak_lr: float) -> list[dict[str, Any]]:
    """Three groups: block weights (decay), norms and biases (no decay), embeddings (its own LR).

    The first two take the optimizer's default LR (``optimizer.defaults["lr"]`` = the peak); the
    embeddings group sets ``lr`` itself. Each dict carries a ``name`` for the report.
    """
    embeddings = [model.tokens.weight, model.positions.weight]
    taken = {id(p) for p in embeddings}
    decay, no_decay = [], []
    for parameter in model.parameters():
        if id(parameter) in taken:
            continue
        (decay if parameter.ndim >= 2 else no_decay).append(parameter)
    return [
        {"params": decay, "weight_decay": 0.01, "name": "blocks"},
        {"params": no_decay, "weight_decay": 0.0, "name": "norms+biases"},
        {"params": embeddings, "weight_decay": 0.0, "lr": peak_lr * EMBEDDING_LR_MULTIPLIER, "name": "embeddings"},
    ]
