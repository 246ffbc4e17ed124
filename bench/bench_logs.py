"""How long check-run takes on a 10^6-point log, against ``json.load`` of the same file, and its memory.

Writes a trainer_state.json and a LLaMA-Factory trainer_log.jsonl of N logged LRs (HF cosine, computed by lrviz's
exact schedule: this measures reading and checking, not the schedule), then times, each best of ``--repeat``:

* ``json.load`` of the file (the jsonl: ``json.loads`` of each line), the reference;
* ``read_log`` (the reader alone);
* ``lrviz check-run`` end to end in-process (read, infer the schedule, align every point, print the report).

Peak memory (tracemalloc) is reported for the reader at N and N/4, to show it grows linearly.

    PYTHONPATH=$PWD python bench/bench_logs.py            # N = 1,000,000
    PYTHONPATH=$PWD python bench/bench_logs.py --points 300000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tracemalloc

import numpy as np


def _schedule(points: int) -> np.ndarray:
    from lrviz.schedules import lr_at
    from lrviz.spec import ScheduleSpec

    spec = ScheduleSpec(scheduler="cosine", peak_lr=2e-4, total_steps=points, warmup_steps=points // 50)
    return lr_at(spec, np.arange(points, dtype=np.float64))


def write_logs(folder: str, points: int) -> tuple[str, str]:
    lr = _schedule(points)
    state = os.path.join(folder, "trainer_state.json")
    history = [{"epoch": round(s / points, 4), "grad_norm": 1.25, "learning_rate": float(lr[s]), "loss": 2.5,
                "step": s + 1} for s in range(points)]
    with open(state, "w") as handle:
        json.dump({"global_step": points, "max_steps": points, "logging_steps": 1, "log_history": history}, handle)
    jsonl = os.path.join(folder, "trainer_log.jsonl")
    with open(jsonl, "w") as handle:
        for s in range(points):
            handle.write(json.dumps({"current_steps": s + 1, "total_steps": points, "loss": 2.5, "lr": float(lr[s]),
                                     "epoch": round(s / points, 4), "percentage": round(100 * (s + 1) / points, 2),
                                     "elapsed_time": "0:00:01", "remaining_time": "0:00:01"}) + "\n")
    return state, jsonl


def best(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def load_json(path: str) -> None:
    with open(path) as handle:
        json.load(handle)


def load_jsonl(path: str) -> None:
    with open(path) as handle:
        [json.loads(line) for line in handle]


def check_run(path: str) -> None:
    from click.testing import CliRunner

    from lrviz.cli import cli

    result = CliRunner().invoke(cli, ["check-run", path])
    if result.exit_code not in (0, 1):
        raise SystemExit(f"check-run failed: {result.output[-500:]}")


def peak_memory(path: str) -> int:
    from lrviz.logs import read_log

    tracemalloc.start()
    read_log(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from lrviz.logs import read_log

    with tempfile.TemporaryDirectory() as folder:
        state, jsonl = write_logs(folder, args.points)
        rows = []
        for path, reference in ((state, load_json), (jsonl, load_jsonl)):
            base = best(lambda: reference(path), args.repeat)
            read = best(lambda: read_log(path), args.repeat)
            whole = best(lambda: check_run(path), args.repeat)
            rows.append((os.path.basename(path), os.path.getsize(path), base, read, whole))
        print(f"{args.points:,} logged LRs, best of {args.repeat} (python {sys.version.split()[0]}, numpy {np.__version__})")
        print(f"{'file':<20}{'MB':>8}{'json.load s':>13}{'read_log s':>12}{'×':>6}{'check-run s':>13}{'×':>6}")
        for name, size, base, read, whole in rows:
            print(f"{name:<20}{size / 1e6:>8.1f}{base:>13.3f}{read:>12.3f}{read / base:>6.2f}{whole:>13.3f}{whole / base:>6.2f}")
        quarter = os.path.join(folder, "quarter")
        os.mkdir(quarter)
        small_state, _ = write_logs(quarter, args.points // 4)
        big, small = peak_memory(state), peak_memory(small_state)
        print(f"read_log peak memory: {big / 1e6:.0f} MB at {args.points:,} points, {small / 1e6:.0f} MB at "
              f"{args.points // 4:,} (ratio {big / small:.2f}, linear = 4)")


if __name__ == "__main__":
    main()
