"""Regenerate ``deepspeed_vectors.json``: LRs recorded from the real DeepSpeed scheduler classes of several releases.

Not run by the test suite. How the file was made (CPU, torch 2.13):

    pip download --no-deps --no-build-isolation deepspeed==0.18.0 deepspeed==0.19.2 -d /tmp/dsv   # sdists
    tar xzf /tmp/dsv/deepspeed-0.18.0.tar.gz -C /tmp/dsv; tar xzf /tmp/dsv/deepspeed-0.19.2.tar.gz -C /tmp/dsv
    python tests/data/make_deepspeed_vectors.py \
        0.18.0=/tmp/dsv/deepspeed-0.18.0/deepspeed/runtime/lr_schedules.py \
        0.19.2=/tmp/dsv/deepspeed-0.19.2/deepspeed/runtime/lr_schedules.py \
        0.19.8=installed

Each release's ``deepspeed/runtime/lr_schedules.py`` is loaded as it ships (its only DeepSpeed import is
``deepspeed.utils.logger``, taken from the installed 0.19.8), the class is built on a real ``torch.optim.AdamW`` with
three param groups, and stepped as ``DeepSpeedEngine._take_model_step`` does: ``optimizer.step()`` then
``lr_scheduler.step()``. Row ``s`` holds each group's LR while the ``(s+1)``-th ``optimizer.step()`` runs.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys

import torch

GROUP_LRS = [2e-4, 5e-5, 1e-3]
CONFIGS = [
    # (type, total_num_steps, warmup_num_steps, params, updates)
    ("WarmupLR", 60, 10, {"warmup_type": "log"}, 90),
    ("WarmupLR", 60, 10, {"warmup_type": "linear", "warmup_min_lr": 1e-6, "warmup_max_lr": 3e-4}, 90),
    ("WarmupDecayLR", 60, 10, {"warmup_type": "log"}, 90),
    ("WarmupDecayLR", 60, 10, {"warmup_type": "linear", "warmup_max_lr": None}, 90),
    ("WarmupCosineLR", 60, 10, {"warmup_type": "linear", "cos_min_ratio": 0.01}, 90),
    ("WarmupCosineLR", 60, 10, {"warmup_type": "log", "cos_min_ratio": 0.1, "warmup_min_ratio": 0.05}, 150),
    ("WarmupCosineLR", 25, 30, {"warmup_type": "linear", "cos_min_ratio": 0.01}, 60),
]
LEGACY_ONLY = [  # accepted before 0.19.3 only (0 warmup is a ValueError since)
    ("WarmupCosineLR", 40, 0, {"warmup_type": "linear", "cos_min_ratio": 0.01}, 60),
    ("WarmupLR", 40, 0, {"warmup_type": "log"}, 20),
]


def load(version: str, path: str):
    if path == "installed":
        from deepspeed.runtime import lr_schedules

        return lr_schedules
    spec = importlib.util.spec_from_file_location(f"lr_schedules_{version.replace('.', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record(module, name: str, params: dict, updates: int) -> list[list[float]]:
    weights = [torch.nn.Parameter(torch.full((2,), 0.5 + i, dtype=torch.float64)) for i in range(len(GROUP_LRS))]
    optimizer = torch.optim.AdamW([{"params": [w], "lr": lr} for w, lr in zip(weights, GROUP_LRS)], lr=GROUP_LRS[0])
    scheduler = getattr(module, name)(optimizer, **params)
    rows = []
    for _ in range(updates):
        rows.append([float(group["lr"]) for group in optimizer.param_groups])
        loss = sum((w**2).sum() for w in weights)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    return rows


def main(argv: list[str]) -> None:
    logging.getLogger("DeepSpeed").setLevel(logging.ERROR)
    cases = []
    for item in argv:
        version, path = item.split("=", 1)
        module = load(version, path)
        legacy = tuple(int(p) for p in version.split(".")) < (0, 19, 3)
        for name, total, warmup, params, updates in CONFIGS + (LEGACY_ONLY if legacy else []):
            ds_params = dict(params, warmup_num_steps=warmup)
            if name != "WarmupLR":
                ds_params["total_num_steps"] = total
            cases.append({
                "id": f"{version}-{name}-T{total}-W{warmup}-{len(cases)}",
                "version": version,
                "type": name,
                "total_num_steps": total,
                "warmup_num_steps": warmup,
                "params": params,
                "group_lrs": GROUP_LRS,
                "lrs": record(module, name, ds_params, updates),
            })
    document = {
        "provenance": {
            "what": "LR of each param group at each optimizer update, recorded from DeepSpeed's own scheduler classes",
            "releases": {item.split("=", 1)[0]: "deepspeed/runtime/lr_schedules.py of the PyPI sdist" for item in argv},
            "stepping": "constructor, then per update: read group LRs, optimizer.step(), lr_scheduler.step()",
            "torch": torch.__version__,
            "script": "tests/data/make_deepspeed_vectors.py",
        },
        "cases": cases,
    }
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "deepspeed_vectors.json")
    with open(target, "w") as handle:
        json.dump(document, handle, indent=None, separators=(",", ":"))
        handle.write("\n")
    print("wrote", target, len(cases), "cases")


if __name__ == "__main__":
    main(sys.argv[1:])
