"""``lrviz verify``: a short real fine-tune in which the framework's own scheduler drives the optimizer.

With a Trainer config (HF, LLaMA-Factory, Axolotl) it is the real ``transformers.Trainer.train()``
(``lrviz.verify.trainer``); the prediction comes from ``lrviz.verify.predict``, the one place verify and the guard
(``lrviz.integrations.LrGuard``) turn their input into a ``ScheduleSpec``. Without one, a tiny GPT-style decoder
(built in code) is pre-trained briefly on a synthetic corpus, then fine-tuned on a shifted task with
``torch.optim.AdamW`` in three param groups and the scheduler the framework itself builds
(``transformers.get_scheduler`` for ``hf``), stepped the way its trainer steps it. The LR every group used at every
``optimizer.step()`` is recorded and compared with lrviz's prediction; the loss, the gradients, the device and the
speed are reported. Works under ``torchrun`` (DDP; gloo on CPU, NCCL on CUDA).

This package (and ``lrviz.integrations``) is the only part of lrviz that imports torch, and only when a run
starts: importing ``lrviz.verify`` itself is cheap, and ``require_torch`` turns a missing PyTorch into exit code 3.

    >>> from lrviz import ScheduleSpec
    >>> from lrviz.verify import VerifyOptions, run_verify
    >>> spec = ScheduleSpec(scheduler="cosine_with_min_lr", peak_lr=2e-4, total_steps=1000,
    ...                     warmup_steps=30, scheduler_kwargs={"min_lr_rate": 0.1})
    >>> report = run_verify(spec, VerifyOptions(steps=100, device="cpu"))   # doctest: +SKIP
    >>> report.exit_code, report.first_diverging                            # doctest: +SKIP
    (0, None)
"""

from __future__ import annotations

from typing import Any

from ..errors import EnvironmentUnavailable
from .compress import Compression, compress

INSTALL_HINT = 'pip install "lrviz[verify]"'

__all__ = ["INSTALL_HINT", "Compression", "VerifyOptions", "compress", "require_torch", "run_verify"]


def require_torch() -> Any:
    """Import torch, or raise EnvironmentUnavailable (exit 3) with the command that installs it."""
    try:
        import torch
    except ImportError:
        raise EnvironmentUnavailable(f"lrviz verify needs PyTorch, which is not installed; install it with: {INSTALL_HINT}") from None
    except OSError as error:  # a broken install, e.g. a missing shared library
        raise EnvironmentUnavailable(f"lrviz verify needs PyTorch, which failed to load ({error}); reinstall it with: "
                                     f"{INSTALL_HINT}") from None
    return torch


def __getattr__(name: str) -> Any:
    if name in ("run_verify", "VerifyOptions"):
        require_torch()
        from . import run

        return getattr(run, name)
    raise AttributeError(f"module 'lrviz.verify' has no attribute {name!r}")
