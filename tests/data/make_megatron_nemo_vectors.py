"""Regenerate ``megatron_nemo_vectors.json``: LRs from Megatron-core's and NeMo's own scheduler code.

Not run by the test suite. The vectors let the tests check lrviz where neither package is installed (with them,
``tests/test_oracle_megatron_nemo.py`` runs the installed classes): the scheduler classes are taken from the released
wheels as text (``ast``) and executed as they ship, on a real ``torch.optim.AdamW`` with two param groups. How the file was made (CPU, torch 2.13)::

    pip download --no-deps megatron-core==0.16.1 nemo_toolkit==3.0.0 -d /tmp/wheels
    cd /tmp/wheels && unzip -q megatron_core-0.16.1-*.whl 'megatron/core/optimizer_param_scheduler.py' -d meg \\
        && unzip -q nemo_toolkit-3.0.0-py3-none-any.whl 'nemo/core/optim/lr_scheduler.py' -d nemo
    python tests/data/make_megatron_nemo_vectors.py /tmp/wheels/meg/megatron/core/optimizer_param_scheduler.py \\
        /tmp/wheels/nemo/nemo/core/optim/lr_scheduler.py

* Megatron: ``OptimizerParamScheduler`` (its only Megatron import, ``log_single_rank``, is replaced by a no-op),
  constructed with the sample counts Megatron-LM's ``get_optimizer_param_scheduler`` derives for an iteration-based
  run (``lr_decay_steps = lr_decay_iters * global_batch_size``; ``lr_warmup_steps = lr_warmup_fraction *
  lr_decay_steps`` or ``lr_warmup_iters * global_batch_size``) and stepped like ``train_step``:
  ``optimizer.step()`` then ``scheduler.step(increment=global_batch_size)``.
  Sample-based runs (``MEGATRON_SAMPLES``) as its sample branch derives them: ``lr_decay_steps = lr_decay_samples``
  (default ``train_samples``), ``lr_warmup_steps = lr_warmup_samples`` or ``lr_warmup_fraction * lr_decay_steps``,
  ``train_iters = train_samples // global_batch_size`` (``update_train_iters``).
* NeMo: ``WarmupAnnealHoldPolicy`` + ``CosineAnnealing`` and their helper functions, and the ``WarmupPolicy``
  schedulers (``NEMO_WARMUP``), stepped ``optimizer.step()`` then ``scheduler.step()``; ``compute_max_steps``
  (the epoch-based run length) executed on ``NEMO_EPOCHS``.
"""

from __future__ import annotations

import ast
import json
import math
import os
import sys
import warnings
from typing import TYPE_CHECKING, Any, Optional, TypedDict

import torch

GROUP_LRS = [2e-4, 5e-5]


def load(path: str, names: list[str], namespace: dict) -> dict:
    tree = ast.parse(open(path).read())
    nodes = [node for node in tree.body if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name in names]
    assert {node.name for node in nodes} == set(names), (names, [node.name for node in nodes])
    exec(compile(ast.Module(nodes, []), path, "exec"), namespace)
    return namespace


def optimizer() -> torch.optim.Optimizer:
    weights = [torch.nn.Parameter(torch.full((2,), 0.5 + i, dtype=torch.float64)) for i in range(len(GROUP_LRS))]
    for w in weights:
        w.grad = torch.full_like(w, 0.1)
    return torch.optim.AdamW([{"params": [w], "lr": lr} for w, lr in zip(weights, GROUP_LRS)], lr=GROUP_LRS[0])


MEGATRON = [
    # (style, train_iters, gbs, kwargs as lrviz spells them)
    ("cosine", 1000, 1, {"min_lr": 2e-6, "lr_warmup_fraction": 0.03}),
    ("cosine", 939, 32, {"min_lr": 2e-6, "lr_warmup_fraction": 0.03}),
    ("cosine", 400, 8, {"min_lr": 1e-6, "lr_warmup_iters": 20, "lr_warmup_init": 1e-5, "lr_decay_iters": 300}),
    ("linear", 500, 4, {"min_lr": 2e-6, "lr_warmup_iters": 25}),
    ("constant", 200, 1, {"lr_warmup_iters": 10}),
    ("inverse-square-root", 300, 2, {"min_lr": 1e-5, "lr_warmup_iters": 30}),
    ("WSD", 600, 1, {"min_lr": 2e-6, "lr_warmup_iters": 30, "lr_wsd_decay_iters": 120, "lr_wsd_decay_style": "exponential"}),
    ("WSD", 600, 2, {"min_lr": 2e-6, "lr_warmup_fraction": 0.05, "lr_wsd_decay_iters": 100, "lr_wsd_decay_style": "cosine"}),
    ("WSD", 600, 1, {"lr_warmup_iters": 30, "lr_wsd_decay_iters": 200, "lr_wsd_decay_style": "minus_sqrt"}),
    ("WSD", 600, 1, {"min_lr": 1e-6, "lr_warmup_iters": 30, "lr_wsd_decay_iters": 60, "lr_wsd_decay_style": "linear"}),
]

MEGATRON_SAMPLES = [
    # (style, train_samples, gbs, kwargs as lrviz spells them)
    ("cosine", 5_000, 32, {"min_lr": 1e-6, "lr_warmup_samples": 320}),
    ("cosine", 2_999, 16, {"min_lr": 2e-6, "lr_decay_samples": 2_400, "lr_warmup_fraction": 0.02}),
    ("linear", 1_000, 8, {"min_lr": 0.0, "lr_warmup_samples": 100}),
    ("WSD", 4_800, 24, {"min_lr": 1e-6, "lr_warmup_samples": 480, "lr_wsd_decay_samples": 960,
                        "lr_wsd_decay_style": "cosine"}),
]

NEMO_WARMUP = [
    # (name, max_steps, kwargs)
    ("WarmupAnnealing", 500, {"min_lr": 1e-5, "warmup_ratio": 0.01}),  # the T5 / UL2 configs' block
    ("WarmupAnnealing", 150, {"min_lr": 0.0, "warmup_steps": 17}),
    ("WarmupAnnealing", 100, {}),
    ("SquareAnnealing", 150, {"warmup_steps": 20}),
    ("SquareAnnealing", 150, {"min_lr": 3e-6, "warmup_ratio": 0.05}),
    ("SquareRootAnnealing", 150, {"min_lr": 1e-6, "warmup_steps": 30}),
    ("InverseSquareRootAnnealing", 150, {"warmup_steps": 40}),
]

NEMO_EPOCHS = [
    # compute_max_steps(max_epochs, accumulate_grad_batches, limit_train_batches, num_workers, num_samples, batch_size,
    #                   drop_last)
    (3, 4, 1.0, 2, 10_000, 16, False),
    (2, 1, 1.0, 8, 9_999, 4, True),
    (5, 3, 0.5, 1, 777, 10, False),
    (1, 2, 20, 4, 100_000, 8, False),
]

# The sched blocks of the real NeMo configs in ../shared/real-world/configs/nemo/ (values transcribed, not the files):
# (name, peak lr, max_steps, kwargs); recorded at REAL_UPDATES only (the runs are 100,000 updates long).
NEMO_REAL = [
    ("nemo_megatron_gpt_config.yaml", "CosineAnnealing", 2e-4, 100_000,
     {"warmup_steps": 500, "constant_steps": 0, "min_lr": 2e-5}),
    ("nemo_megatron_t5_config.yaml", "WarmupAnnealing", 1e-4, 100_000, {"min_lr": 1e-5, "warmup_ratio": 0.01}),
]
REAL_UPDATES = [0, 1, 2, 499, 500, 501, 999, 1000, 1001, 25_000, 50_000, 75_000, 99_998, 99_999]

NEMO = [
    # (max_steps, kwargs)
    (1000, {"min_lr": 2e-6, "warmup_ratio": 0.03}),
    (1000, {"min_lr": 2e-6, "warmup_steps": 30}),
    (1000, {"min_lr": 6e-5, "warmup_steps": 30, "constant_steps": 80000}),  # the NeMo 2 wrapper's defaults
    (500, {"min_lr": 1e-6, "warmup_steps": 20, "constant_ratio": 0.1}),
    (300, {"min_lr": 0.0}),
    (100, {"min_lr": 1e-5, "warmup_ratio": 0.07}),
]


def load_megatron(path: str) -> dict[str, Any]:
    """``OptimizerParamScheduler`` from megatron-core's file, with what its module imports supplied here."""
    return load(path, ["OptimizerParamScheduler"], {
        "math": math, "logging": __import__("logging"), "Optional": Optional, "Any": Any, "TypedDict": TypedDict,
        "TYPE_CHECKING": TYPE_CHECKING, "log_single_rank": lambda *args, **kwargs: None, "logger": None,
        "__name__": "megatron_copy"})


def megatron_cases(path: str) -> list[dict[str, Any]]:
    namespace = load_megatron(path)
    cases = []
    for style, train_iters, gbs, kwargs in MEGATRON:
        decay_steps = kwargs.get("lr_decay_iters", train_iters) * gbs
        if "lr_warmup_fraction" in kwargs:
            warmup_steps = kwargs["lr_warmup_fraction"] * decay_steps
        else:
            warmup_steps = kwargs.get("lr_warmup_iters", 0) * gbs
        wsd = kwargs.get("lr_wsd_decay_iters")
        opt = optimizer()
        scheduler = namespace["OptimizerParamScheduler"](
            opt, init_lr=kwargs.get("lr_warmup_init", 0.0), max_lr=GROUP_LRS[0], min_lr=kwargs.get("min_lr", 0.0),
            lr_warmup_steps=warmup_steps, lr_decay_steps=decay_steps, lr_decay_style=style, start_wd=0.0, end_wd=0.0,
            wd_incr_steps=train_iters * gbs, wd_incr_style="constant", wsd_decay_steps=wsd * gbs if wsd else None,
            lr_wsd_decay_style=kwargs.get("lr_wsd_decay_style"))
        rows = []
        for _ in range(train_iters + train_iters // 5):
            rows.append([group["lr"] for group in opt.param_groups])
            opt.step()
            scheduler.step(increment=gbs)
        cases.append({"id": f"megatron-{style}-T{train_iters}-gbs{gbs}-{len(cases)}", "style": style, "train_iters": train_iters,
                      "global_batch_size": gbs, "kwargs": kwargs, "group_lrs": GROUP_LRS, "lrs": rows})
    return cases


def nemo_cases(path: str) -> list[dict[str, Any]]:
    namespace = load(path, ["WarmupAnnealHoldPolicy", "CosineAnnealing", "_cosine_annealing",
                            "_linear_warmup_with_cosine_annealing"],
                     {"math": math, "warnings": warnings, "_LRScheduler": torch.optim.lr_scheduler._LRScheduler})
    cases = []
    for max_steps, kwargs in NEMO:
        opt = optimizer()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scheduler = namespace["CosineAnnealing"](opt, max_steps=max_steps, **kwargs)
            rows = []
            for _ in range(max_steps + max_steps // 5):
                rows.append([group["lr"] for group in opt.param_groups])
                opt.step()
                scheduler.step()
        cases.append({"id": f"nemo-T{max_steps}-{len(cases)}", "max_steps": max_steps, "kwargs": kwargs,
                      "group_lrs": GROUP_LRS, "lrs": rows})
    return cases


def megatron_sample_cases(path: str) -> list[dict[str, Any]]:
    namespace = load_megatron(path)
    cases = []
    for style, train_samples, gbs, kwargs in MEGATRON_SAMPLES:
        train_iters = train_samples // gbs
        decay_steps = kwargs.get("lr_decay_samples", train_samples)
        if "lr_warmup_fraction" in kwargs:
            warmup_steps = kwargs["lr_warmup_fraction"] * decay_steps
        else:
            warmup_steps = kwargs.get("lr_warmup_samples", 0)
        opt = optimizer()
        scheduler = namespace["OptimizerParamScheduler"](
            opt, init_lr=kwargs.get("lr_warmup_init", 0.0), max_lr=GROUP_LRS[0], min_lr=kwargs.get("min_lr", 0.0),
            lr_warmup_steps=warmup_steps, lr_decay_steps=decay_steps, lr_decay_style=style, start_wd=0.0, end_wd=0.0,
            wd_incr_steps=train_samples, wd_incr_style="constant", wsd_decay_steps=kwargs.get("lr_wsd_decay_samples"),
            lr_wsd_decay_style=kwargs.get("lr_wsd_decay_style"))
        rows = []
        for _ in range(train_iters + train_iters // 5):
            rows.append([group["lr"] for group in opt.param_groups])
            opt.step()
            scheduler.step(increment=gbs)
        cases.append({"id": f"megatron-samples-{style}-N{train_samples}-gbs{gbs}-{len(cases)}", "style": style,
                      "train_samples": train_samples, "global_batch_size": gbs, "kwargs": kwargs,
                      "group_lrs": GROUP_LRS, "lrs": rows})
    return cases


def nemo_warmup_cases(path: str) -> list[dict[str, Any]]:
    names = ["WarmupPolicy", "WarmupAnnealing", "SquareAnnealing", "SquareRootAnnealing", "InverseSquareRootAnnealing",
             "_square_annealing", "_squareroot_annealing"]
    namespace = load(path, names, {"math": math, "warnings": warnings, "_LRScheduler": torch.optim.lr_scheduler._LRScheduler})
    cases = []
    for name, max_steps, kwargs in NEMO_WARMUP:
        opt = optimizer()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scheduler = namespace[name](opt, max_steps=max_steps, **kwargs)
            rows = []
            for _ in range(max_steps + max_steps // 5):
                rows.append([group["lr"] for group in opt.param_groups])
                opt.step()
                scheduler.step()
        cases.append({"id": f"nemo-{name}-T{max_steps}-{len(cases)}", "name": name, "max_steps": max_steps,
                      "kwargs": kwargs, "group_lrs": GROUP_LRS, "lrs": rows})
    return cases


def nemo_real_cases(path: str) -> list[dict[str, Any]]:
    names = ["WarmupPolicy", "WarmupAnnealing", "WarmupAnnealHoldPolicy", "CosineAnnealing", "_cosine_annealing",
             "_linear_warmup_with_cosine_annealing"]
    namespace = load(path, names, {"math": math, "warnings": warnings, "_LRScheduler": torch.optim.lr_scheduler._LRScheduler})
    cases = []
    for config, name, lr, max_steps, kwargs in NEMO_REAL:
        weight = torch.nn.Parameter(torch.zeros(1))
        weight.grad = torch.zeros(1)
        opt = torch.optim.AdamW([weight], lr=lr)
        wanted, rows = set(REAL_UPDATES), {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scheduler = namespace[name](opt, max_steps=max_steps, **kwargs)
            for update in range(max(REAL_UPDATES) + 1):
                if update in wanted:
                    rows[update] = opt.param_groups[0]["lr"]
                scheduler.step()  # the LR only: optimizer.step() does not change it
        cases.append({"config": config, "name": name, "lr": lr, "max_steps": max_steps, "kwargs": kwargs,
                      "lrs": {str(update): rows[update] for update in REAL_UPDATES}})
    return cases


def nemo_epoch_cases(path: str) -> list[dict[str, Any]]:
    namespace = load(path, ["compute_max_steps"], {"math": math, "logging": __import__("logging")})
    keys = ("max_epochs", "accumulate_grad_batches", "limit_train_batches", "num_workers", "num_samples", "batch_size",
            "drop_last")
    return [dict(zip(keys, case), max_steps=namespace["compute_max_steps"](*case)) for case in NEMO_EPOCHS]


def main(megatron_path: str, nemo_path: str) -> None:
    document = {
        "provenance": {
            "megatron": "megatron-core 0.16.1 (PyPI wheel) megatron/core/optimizer_param_scheduler.py, executed from source",
            "nemo": "nemo-toolkit 3.0.0 (PyPI wheel) nemo/core/optim/lr_scheduler.py, executed from source",
            "torch": torch.__version__,
            "script": "tests/data/make_megatron_nemo_vectors.py",
        },
        "megatron": megatron_cases(megatron_path),
        "megatron_samples": megatron_sample_cases(megatron_path),
        "nemo": nemo_cases(nemo_path),
        "nemo_warmup": nemo_warmup_cases(nemo_path),
        "nemo_epochs": nemo_epoch_cases(nemo_path),
        "nemo_real": nemo_real_cases(nemo_path),
    }
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "megatron_nemo_vectors.json")
    with open(target, "w") as handle:
        json.dump(document, handle, separators=(",", ":"))
        handle.write("\n")
    print("wrote", target, len(document["megatron"]), "megatron and", len(document["nemo"]), "nemo cases")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
