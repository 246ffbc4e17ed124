"""Regenerate ``axolotl_vectors.json``: LRs and warmup counts from Axolotl's own code (axolotl 0.19.0).

Not run by the test suite: axolotl cannot be installed here without pulling a CUDA torch, so its functions are taken
from the released wheel as text and executed as they ship. How the file was made (CPU, torch 2.13)::

    pip download --no-deps axolotl==0.19.0 -d /tmp/axo
    unzip -q /tmp/axo/axolotl-0.19.0-py3-none-any.whl 'axolotl/*' -d /tmp/axo/src
    python tests/data/make_axolotl_vectors.py /tmp/axo/src/axolotl

* LRs: ``_get_cosine_schedule_with_min_lr_lambda`` and ``_get_cosine_schedule_with_warmup_decay_constant_lr_lambda``
  (``utils/schedulers.py``, source extracted with ``ast`` and ``exec``-ed) wrapped exactly as
  ``get_cosine_schedule_with_min_lr`` / ``get_cosine_schedule_with_warmup_decay_constant`` wrap them (a real
  ``torch.optim.lr_scheduler.LambdaLR`` with ``functools.partial``), on a real ``torch.optim.AdamW`` with three
  param groups, stepped ``optimizer.step()`` then ``scheduler.step()``; plain ``cosine`` is transformers'
  ``get_cosine_schedule_with_warmup`` (what ``super().create_scheduler`` builds).
* Warmup: ``AxolotlTrainerBuilder._configure_warmup_and_logging`` (``core/builders/base.py``, extracted the same
  way) called with a ``cfg`` holding only ``warmup_steps`` / ``warmup_ratio`` / ``logging_steps``.
"""

from __future__ import annotations

import ast
import json
import math
import os
import sys
from functools import partial
from types import SimpleNamespace

import torch
import transformers

GROUP_LRS = [2e-4, 5e-5, 1e-3]


def extract(path: str, name: str, namespace: dict) -> None:
    """``exec`` the source of the function (or method) ``name`` from ``path`` into ``namespace``."""
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            exec(compile(ast.Module([node], []), path, "exec"), namespace)
            return
    raise LookupError(f"{name} not in {path}")


def record(make_lambda, updates: int) -> list[list[float]]:
    weights = [torch.nn.Parameter(torch.full((2,), 0.5 + i, dtype=torch.float64)) for i in range(len(GROUP_LRS))]
    for w in weights:
        w.grad = torch.full_like(w, 0.1)
    optimizer = torch.optim.AdamW([{"params": [w], "lr": lr} for w, lr in zip(weights, GROUP_LRS)], lr=GROUP_LRS[0])
    scheduler = make_lambda(optimizer)
    rows = []
    for _ in range(updates):
        rows.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return rows


# The schedule keys of the real Axolotl configs in ../shared/real-world/configs/axolotl/ (values transcribed, not the
# files), run for REAL_TOTAL updates (lrviz is given --steps REAL_TOTAL): (config, learning_rate, warmup cfg, kwargs).
REAL_TOTAL = 1000
AXOLOTL_REAL = [
    ("axo_archived_pythia12b.yml", 3e-5, {}, {}),
    ("axo_jamba_qlora_deepspeed.yaml", 1e-5, {"warmup_ratio": 0.1}, {}),
    ("axo_llama3_3b_qat_fsdp2.yaml", 2e-5, {"warmup_ratio": 0.1}, {"cosine_min_lr_ratio": 1.0}),
]


class Cfg(SimpleNamespace):
    def __getattr__(self, name):  # DictDefault: missing keys are None
        return None


def main(source: str) -> None:
    namespace: dict = {"math": math}
    schedulers = os.path.join(source, "utils", "schedulers.py")
    extract(schedulers, "_get_cosine_schedule_with_min_lr_lambda", namespace)
    extract(schedulers, "_get_cosine_schedule_with_warmup_decay_constant_lr_lambda", namespace)
    extract(os.path.join(source, "core", "builders", "base.py"), "_configure_warmup_and_logging", namespace)
    LambdaLR = torch.optim.lr_scheduler.LambdaLR

    cases = []
    for total, warmup, kwargs in [
        (1000, 30, {"cosine_min_lr_ratio": 0.01}),
        (1000, 30, {"cosine_min_lr_ratio": 0.01, "cosine_constant_lr_ratio": 0.8}),
        (1000, 30, {}),
        (120, 7, {"cosine_min_lr_ratio": 0.1, "cosine_constant_lr_ratio": 0.5}),
        (50, 0, {"cosine_min_lr_ratio": 0.2}),
        (40, 10, {"cosine_min_lr_ratio": 0.05, "cosine_constant_lr_ratio": 0.2}),  # C = 8 < W
    ]:
        ratio, constant = kwargs.get("cosine_min_lr_ratio"), kwargs.get("cosine_constant_lr_ratio")
        if ratio and constant:  # get_cosine_schedule_with_warmup_decay_constant
            lam = partial(namespace["_get_cosine_schedule_with_warmup_decay_constant_lr_lambda"], num_warmup_steps=warmup,
                          num_training_steps=total, constant_lr_ratio=constant, min_lr_ratio=ratio, num_cycles=0.5)
            make = lambda opt, lam=lam: LambdaLR(opt, lam, -1)  # noqa: E731
        elif ratio:  # get_cosine_schedule_with_min_lr
            lam = partial(namespace["_get_cosine_schedule_with_min_lr_lambda"], num_warmup_steps=warmup,
                          num_training_steps=total, min_lr_ratio=ratio)
            make = lambda opt, lam=lam: LambdaLR(opt, lam)  # noqa: E731
        else:  # super().create_scheduler: transformers' cosine
            make = lambda opt: transformers.get_cosine_schedule_with_warmup(opt, warmup, total)  # noqa: E731
        updates = total + max(10, (2 * total) // 5)
        cases.append({"id": f"T{total}-W{warmup}-{len(cases)}", "total": total, "warmup": warmup, "kwargs": kwargs,
                      "group_lrs": GROUP_LRS, "lrs": record(make, updates)})

    warmups = []
    for cfg, total in [({}, 938), ({}, 10000), ({}, 20), ({"warmup_ratio": 0.03}, 938), ({"warmup_ratio": 0.07}, 100),
                       ({"warmup_steps": 1}, 500), ({"warmup_steps": 0}, 500), ({"warmup_ratio": 0.001}, 1500),
                       ({"warmup_steps": 45}, 500), ({"warmup_ratio": 0.0}, 500)]:
        kwargs: dict = {}
        namespace["_configure_warmup_and_logging"](SimpleNamespace(cfg=Cfg(**cfg)), total, kwargs)
        warmups.append({"cfg": cfg, "total_num_steps": total, "warmup_steps": kwargs["warmup_steps"]})

    real = []
    for config, learning_rate, warmup_cfg, kwargs in AXOLOTL_REAL:
        found: dict = {}
        namespace["_configure_warmup_and_logging"](SimpleNamespace(cfg=Cfg(**warmup_cfg)), REAL_TOTAL, found)
        warmup = found["warmup_steps"]
        weight = torch.nn.Parameter(torch.zeros(1))
        weight.grad = torch.zeros(1)
        optimizer = torch.optim.AdamW([weight], lr=learning_rate)
        if kwargs.get("cosine_min_lr_ratio") is not None:  # get_cosine_schedule_with_min_lr
            lam = partial(namespace["_get_cosine_schedule_with_min_lr_lambda"], num_warmup_steps=warmup,
                          num_training_steps=REAL_TOTAL, min_lr_ratio=kwargs["cosine_min_lr_ratio"])
            scheduler = LambdaLR(optimizer, lam)
        else:
            scheduler = transformers.get_cosine_schedule_with_warmup(optimizer, warmup, REAL_TOTAL)
        lrs = []
        for _ in range(REAL_TOTAL):
            lrs.append(optimizer.param_groups[0]["lr"])
            scheduler.step()
        real.append({"config": config, "learning_rate": learning_rate, "total": REAL_TOTAL, "warmup": warmup, "lrs": lrs})

    document = {
        "provenance": {"axolotl": "0.19.0 (PyPI wheel), functions executed from its source text", "torch": torch.__version__,
                       "transformers": transformers.__version__, "script": "tests/data/make_axolotl_vectors.py"},
        "cases": cases,
        "warmups": warmups,
        "real": real,
    }
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "axolotl_vectors.json")
    with open(target, "w") as handle:
        json.dump(document, handle, separators=(",", ":"))
        handle.write("\n")
    print("wrote", target, len(cases), "cases", len(warmups), "warmups")


if __name__ == "__main__":
    main(sys.argv[1])
