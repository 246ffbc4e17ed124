"""Regenerate ``timm_vectors.json``: LRs recorded from timm's own ``CosineLRScheduler`` (timm 1.0.31).

Not run by the test suite. How the file was made (CPU, torch 2.13)::

    pip install --no-deps timm==1.0.31
    python tests/data/make_timm_vectors.py

timm's ``timm/scheduler/scheduler.py`` and ``cosine_lr.py`` are loaded from the installed package as they ship (see
``tests/test_oracle_timm.py``: ``import timm`` itself needs torchvision), built on a real ``torch.optim.AdamW`` with
three param groups and stepped per update as ``train.py --sched-on-updates`` does.
"""

from __future__ import annotations

import json
import os
import sys
from importlib.metadata import version

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from test_oracle_timm import GROUP_LRS, run_timm  # noqa: E402
from lrviz.verify.schedulers import load_timm_cosine  # noqa: E402

CASES = [
    (1000, 30, {"lr_min": 2e-6}),
    (1000, 30, {"lr_min": 2e-6, "warmup_lr_init": 1e-5}),
    (1000, 30, {"lr_min": 2e-6, "warmup_prefix": True}),
    (60, 7, {"lr_min": 1e-6, "cycle_limit": 3, "cycle_decay": 0.5, "t_initial": 15}),
    (60, 7, {"lr_min": 1e-6, "cycle_limit": 4, "cycle_mul": 2.0, "t_initial": 7}),
    (100, 0, {"k_decay": 1.5}),
]


def main() -> None:
    assert load_timm_cosine() is not None, "timm is not installed"
    cases = []
    for total, warmup, kwargs in CASES:
        updates = total + max(10, (2 * total) // 5)
        cases.append({"id": f"T{total}-W{warmup}-{len(cases)}", "total": total, "warmup_t": warmup, "kwargs": kwargs,
                      "group_lrs": list(GROUP_LRS), "lrs": run_timm(total, warmup, kwargs, updates).tolist()})
    document = {
        "provenance": {"timm": version("timm"), "torch": torch.__version__, "script": "tests/data/make_timm_vectors.py",
                       "stepping": "per update: read group LRs, optimizer.step(), step_update(num_updates)"},
        "cases": cases,
    }
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "timm_vectors.json")
    with open(target, "w") as handle:
        json.dump(document, handle, separators=(",", ":"))
        handle.write("\n")
    print("wrote", target, len(cases), "cases")


if __name__ == "__main__":
    main()
