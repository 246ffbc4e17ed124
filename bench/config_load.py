"""What reading a config costs: ``lrviz.configs.load`` per format, in process, and ``lrviz plot --config`` as a fresh
process against the same command without a config.

Usage (from the repository root, with lrviz installed):

    python bench/config_load.py            # a few seconds in process, about half a minute for the processes

(a) ``load(options, [path])`` for one small config of each format (best of N ``time.perf_counter`` deltas, after
    one warm-up call that pays the imports).
(b) ``lrviz plot --config FILE --json --no-file`` vs ``lrviz plot --json --no-file`` as subprocesses, run
    alternately, best of N each: the ratio is what a config adds to the start-up. Numbers are printed, never asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FILES = {
    "hf.yaml": "learning_rate: 1.0e-4\nlr_scheduler_type: cosine_with_min_lr\nlr_scheduler_kwargs: {min_lr: 1.0e-5}\n"
               "max_steps: 1000\n",
    "llamafactory.yaml": "stage: sft\nfinetuning_type: lora\ndataset: a,b\nmax_samples: 500\nval_size: 0.1\n"
                         "learning_rate: 1.0e-4\nlr_scheduler_type: cosine\nnum_train_epochs: 3.0\n",
    "trl_dpo.yaml": "model_name_or_path: m\ndataset_name: d\nbeta: 0.1\nloss_type: sigmoid\nlr_scheduler_type: cosine\n"
                    "warmup_steps: 0.1\nmax_steps: 1000\n",
    "deepspeed.json": json.dumps({"optimizer": {"type": "AdamW", "params": {"lr": 1e-4}},
                                  "scheduler": {"type": "WarmupCosineLR", "params": {"warmup_num_steps": 50,
                                                                                     "total_num_steps": 1000}}}),
    "axolotl.yaml": "base_model: m\nlearning_rate: 2e-5\nlr_scheduler: cosine\nmax_steps: 1000\n",
    "megatron.sh": "LR=3e-4\nARGS=(--lr $LR --min-lr 3e-5 --lr-decay-style cosine --train-iters 1000)\n"
                   "torchrun pretrain_gpt.py \"${ARGS[@]}\" --global-batch-size 8\n",
    "nemo.yaml": "trainer:\n  max_steps: 1000\nmodel:\n  optim:\n    lr: 1.0e-4\n    sched:\n      name: CosineAnnealing\n",
}
FLAGS = {"llamafactory.yaml": ["--dataset-size", "a=300,b=900"]}


def best(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    from lrviz.configs import load
    from lrviz.options import Options

    folder = Path(tempfile.mkdtemp())
    for name, text in FILES.items():
        (folder / name).write_text(text)
    print("(a) load() in process, best of 50")
    for name in FILES:
        flags = FLAGS.get(name, [])
        options = Options(dataset_sizes={"a": 300, "b": 900}) if flags else Options()
        path = str(folder / name)
        load(options, [path])
        print(f"    {name:18s} {best(lambda: load(options, [path]), 50) * 1e3:7.2f} ms")
    print("(b) lrviz plot --json --no-file as a process, best of 5, with --config vs without")
    base = [sys.executable, "-m", "lrviz", "plot", "--json", "--no-file"]
    for name in FILES:
        with_config = base + ["--config", str(folder / name), *FLAGS.get(name, [])]
        a, b = [], []
        for _ in range(5):
            a.append(best(lambda: subprocess.run(with_config, capture_output=True, check=True), 1))
            b.append(best(lambda: subprocess.run(base, capture_output=True, check=True), 1))
        print(f"    {name:18s} {min(a):6.3f} s vs {min(b):6.3f} s  ({min(a) / min(b):.2f}x)")


if __name__ == "__main__":
    main()
