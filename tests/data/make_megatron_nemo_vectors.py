"""Regenerate ``megatron_nemo_vectors.json``: LRs from Megatron-core's and NeMo's own scheduler code.

Not run by the test suite: neither package installs here without its CUDA stack, so the scheduler classes are taken
from the released wheels as text (``ast``) and executed as they ship, on a real ``torch.optim.AdamW`` with two param
groups. How the file was made (CPU, torch 2.13)::

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
* NeMo: ``WarmupAnnealHoldPolicy`` + ``CosineAnnealing`` and their helper functions, stepped
  ``optimizer.step()`` then ``scheduler.step()``.
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

NEMO = [
    # (max_steps, kwargs)
    (1000, {"min_lr": 2e-6, "warmup_ratio": 0.03}),
    (1000, {"min_lr": 2e-6, "warmup_steps": 30}),
    (1000, {"min_lr": 6e-5, "warmup_steps": 30, "constant_steps": 80000}),  # the NeMo 2 wrapper's defaults
    (500, {"min_lr": 1e-6, "warmup_steps": 20, "constant_ratio": 0.1}),
    (300, {"min_lr": 0.0}),
    (100, {"min_lr": 1e-5, "warmup_ratio": 0.07}),
]


def megatron_cases(path: str) -> list[dict[str, Any]]:
    namespace = load(path, ["OptimizerParamScheduler"], {
        "math": math, "logging": __import__("logging"), "Optional": Optional, "Any": Any, "TypedDict": TypedDict,
        "TYPE_CHECKING": TYPE_CHECKING, "log_single_rank": lambda *args, **kwargs: None, "logger": None,
        "__name__": "megatron_copy"})
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


def main(megatron_path: str, nemo_path: str) -> None:
    document = {
        "provenance": {
            "megatron": "megatron-core 0.16.1 (PyPI wheel) megatron/core/optimizer_param_scheduler.py, executed from source",
            "nemo": "nemo-toolkit 3.0.0 (PyPI wheel) nemo/core/optim/lr_scheduler.py, executed from source",
            "torch": torch.__version__,
            "script": "tests/data/make_megatron_nemo_vectors.py",
        },
        "megatron": megatron_cases(megatron_path),
        "nemo": nemo_cases(nemo_path),
    }
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "megatron_nemo_vectors.json")
    with open(target, "w") as handle:
        json.dump(document, handle, separators=(",", ":"))
        handle.write("\n")
    print("wrote", target, len(document["megatron"]), "megatron and", len(document["nemo"]), "nemo cases")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
