"""lrviz performance ratios against fixed references, in one run (about a minute on 2 cores).

Usage (from the repository root, with lrviz installed):

    python bench/bench.py                      # print the table
    python bench/bench.py --json-out bench.json  # also write the numbers as JSON
    python bench/bench.py --quick              # fewer repeats and updates, for a smoke run

Each measurement is the best of N repeats of ``time.perf_counter`` deltas; the two sides of a ratio are
run alternately, so a change in load on the (shared) machine hits both alike. Every comparison is a ratio
against a reference measured in the same run on the same machine, so the numbers travel between machines
better than absolute times do. The targets are goals, not tests: a MISS is printed, never raised, and the
exit status is 0 either way.

  (a) lr_at(spec, np.arange(10**7)) for cosine_with_min_lr  vs  np.cos over 10**7 float64 values
      (input precomputed).                                                       target: <= 3x
  (b) lr_at over 10**5 updates  vs  stepping transformers' real get_scheduler("cosine_with_min_lr")
      LambdaLR 10**5 times (torch AdamW on one 1-element param; scheduler.step() and reading
      param_groups[0]["lr"] each update; optimizer.step() is NOT called, since it does not change
      the schedule and would only add AdamW's cost). A plain Python loop with one math.cos per update
      is timed as a floor for any per-update loop. The values are checked against transformers'
      (max relative error).                                                      target: >= 100x faster
  (c) `lrviz plot --steps 10**9`  vs  `lrviz plot --steps 10**3`, each writing a PNG to a temporary
      folder, as subprocesses of the lrviz console script.                       target: <= 1.5x
  (d) `lrviz --help`  vs  `python -c "import numpy"`, as subprocesses.           target: <= 2x
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Any, Callable

import numpy as np

from lrviz.schedules import lr_at
from lrviz.spec import ScheduleSpec

PEAK_LR = 2e-4
MIN_LR = 2e-6


def best_of(fn: Callable[[], Any], repeats: int) -> float:
    """The smallest wall time of ``repeats`` calls of ``fn``, in seconds."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def best_of_pair(fn_a: Callable[[], Any], fn_b: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Best-of-``repeats`` times of two functions, run alternately so that a change in machine load
    (2 shared cores) hits both sides of a ratio alike."""
    best_a = best_b = math.inf
    for _ in range(repeats):
        best_a = min(best_a, best_of(fn_a, 1))
        best_b = min(best_b, best_of(fn_b, 1))
    return best_a, best_b


def power_of_ten(n: int) -> str:
    exponent = round(math.log10(n))
    return f"10**{exponent}" if 10**exponent == n else f"{n:,}"


def cosine_spec(total: int) -> ScheduleSpec:
    return ScheduleSpec(
        scheduler="cosine_with_min_lr",
        peak_lr=PEAK_LR,
        total_steps=total,
        warmup_steps=math.ceil(0.03 * total),
        scheduler_kwargs={"min_lr": MIN_LR},
    )


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


# ----------------------------------------------------------------------------------- measurements


def bench_vectorized(updates: int, repeats: int) -> dict[str, Any]:
    """(a) lrviz over ``updates`` updates vs a bare np.cos over as many float64 values."""
    spec = cosine_spec(updates)
    steps = np.arange(updates)
    cos_input = np.linspace(0.0, math.pi, updates)  # float64, built outside the timed region
    lr_at(spec, steps[:1000])  # warm imports and caches
    lrviz_s, cos_s = best_of_pair(lambda: lr_at(spec, steps), lambda: np.cos(cos_input), repeats)
    ratio = lrviz_s / cos_s
    return {
        "id": "a",
        "what": f"lr_at(cosine_with_min_lr, arange({power_of_ten(updates)})) vs np.cos({power_of_ten(updates)} float64)",
        "lrviz_s": lrviz_s,
        "reference_s": cos_s,
        "ratio": ratio,
        "ratio_meaning": "lrviz time / np.cos time (lower is better)",
        "target": "<= 3x",
        "pass": ratio <= 3.0,
        "ns_per_update": lrviz_s / updates * 1e9,
    }


def _transformers_loop(updates: int) -> tuple[Callable[[], list[float]], str]:
    import torch
    from transformers import get_scheduler

    torch.set_num_threads(1)
    spec = cosine_spec(updates)

    def run() -> list[float]:
        param = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.AdamW([param], lr=PEAK_LR)
        scheduler = get_scheduler(
            "cosine_with_min_lr",
            optimizer,
            num_warmup_steps=spec.warmup_steps,
            num_training_steps=spec.total_steps,
            scheduler_specific_kwargs={"min_lr": MIN_LR},
        )
        group = optimizer.param_groups[0]
        seen = [0.0] * updates
        step = scheduler.step
        for k in range(updates):
            seen[k] = group["lr"]  # the LR the (k+1)-th optimizer.step() would use
            step()
        return seen

    import transformers

    return run, transformers.__version__


def _math_cos_loop(updates: int) -> list[float]:
    """One math.cos per update in a Python loop: the floor for any per-update loop."""
    spec = cosine_spec(updates)
    W, T = spec.warmup_steps, spec.total_steps
    rate = MIN_LR / PEAK_LR
    span = float(max(1, T - W))
    out = [0.0] * updates
    cos, pi = math.cos, math.pi
    for k in range(updates):
        if k < W:
            out[k] = PEAK_LR * (k / W)
        else:
            factor = 0.5 * (1.0 + cos(pi * 0.5 * 2.0 * ((k - W) / span)))
            out[k] = PEAK_LR * max(0, factor * (1 - rate) + rate)
    return out


def bench_transformers(updates: int, repeats: int) -> dict[str, Any]:
    """(b) lrviz vs stepping transformers' LambdaLR, plus a math.cos loop floor; values checked."""
    spec = cosine_spec(updates)
    steps = np.arange(updates)
    run_hf, hf_version = _transformers_loop(updates)
    with warnings.catch_warnings():
        # torch warns once that scheduler.step() ran before optimizer.step(): expected here.
        warnings.simplefilter("ignore")
        values_hf = np.array(run_hf())
        hf_s = best_of(run_hf, repeats)
    values_lrviz = lr_at(spec, steps)
    lrviz_s = best_of(lambda: lr_at(spec, steps), max(repeats, 20))
    loop_s = best_of(lambda: _math_cos_loop(updates), repeats)
    values_loop = np.array(_math_cos_loop(updates))

    nonzero = values_hf != 0
    rel = np.abs(values_lrviz[nonzero] - values_hf[nonzero]) / np.abs(values_hf[nonzero])
    max_rel = float(rel.max()) if rel.size else 0.0
    zero_mismatch = float(np.abs(values_lrviz[~nonzero]).max()) if (~nonzero).any() else 0.0
    loop_rel = float((np.abs(values_loop[nonzero] - values_hf[nonzero]) / np.abs(values_hf[nonzero])).max())
    speedup = hf_s / lrviz_s
    return {
        "id": "b",
        "what": f"lr_at, {power_of_ten(updates)} updates vs transformers {hf_version} LambdaLR stepped {power_of_ten(updates)}x",
        "lrviz_s": lrviz_s,
        "reference_s": hf_s,
        "ratio": speedup,
        "ratio_meaning": "transformers time / lrviz time (higher is better)",
        "target": ">= 100x",
        "pass": speedup >= 100.0,
        "math_cos_loop_s": loop_s,
        "speedup_vs_math_cos_loop": loop_s / lrviz_s,
        "transformers_vs_math_cos_loop": hf_s / loop_s,
        "us_per_transformers_step": hf_s / updates * 1e6,
        "max_rel_error_vs_transformers": max_rel,
        "max_abs_lr_where_transformers_is_0": zero_mismatch,
        "math_cos_loop_max_rel_error": loop_rel,
        "updates_compared": updates,
        "note": "scheduler.step() + reading param_groups[0]['lr'] per update; optimizer.step() not called",
    }


def _lrviz_command() -> list[str]:
    script = os.path.join(os.path.dirname(sys.executable), "lrviz")
    if os.path.exists(script):
        return [script]
    found = shutil.which("lrviz")
    if found:
        return [found]
    raise SystemExit("bench: the lrviz console script is not installed (pip install -e .)")


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command)} exited {done.returncode}: {done.stderr.strip()}")


def bench_plot_scaling(repeats: int) -> dict[str, Any]:
    """(c) `lrviz plot` at 10**9 updates vs 10**3, each writing a PNG."""
    lrviz = _lrviz_command()
    env = dict(os.environ, MPLBACKEND="Agg", COLUMNS="100")
    with tempfile.TemporaryDirectory(prefix="lrviz-bench-") as folder:

        def plot(steps: str) -> Callable[[], None]:
            out = os.path.join(folder, f"plot_{steps.replace('*', '')}.png")
            return lambda: _run([*lrviz, "plot", "--steps", steps, "-o", out], env)

        plot("10**3")()  # warm the disk cache and matplotlib's font cache
        small_s, large_s = best_of_pair(plot("10**3"), plot("10**9"), repeats)
        png_ok = all(
            open(os.path.join(folder, name), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
            for name in ("plot_103.png", "plot_109.png")
        )
    ratio = large_s / small_s
    return {
        "id": "c",
        "what": "`lrviz plot --steps 10**9 -o x.png` vs `--steps 10**3` (subprocess)",
        "lrviz_s": large_s,
        "reference_s": small_s,
        "ratio": ratio,
        "ratio_meaning": "10**9-update time / 10**3-update time (lower is better)",
        "target": "<= 1.5x",
        "pass": ratio <= 1.5,
        "png_written": png_ok,
    }


def bench_startup(repeats: int) -> dict[str, Any]:
    """(d) `lrviz --help` vs `python -c "import numpy"`."""
    lrviz = _lrviz_command()
    env = dict(os.environ)
    _run([*lrviz, "--help"], env)
    _run([sys.executable, "-c", "import numpy"], env)
    help_s, numpy_s = best_of_pair(
        lambda: _run([*lrviz, "--help"], env), lambda: _run([sys.executable, "-c", "import numpy"], env), repeats
    )
    bare_s = best_of(lambda: _run([sys.executable, "-c", "pass"], env), repeats)
    ratio = help_s / numpy_s
    return {
        "id": "d",
        "what": '`lrviz --help` vs `python -c "import numpy"` (subprocess)',
        "lrviz_s": help_s,
        "reference_s": numpy_s,
        "ratio": ratio,
        "ratio_meaning": "lrviz --help time / import numpy time (lower is better)",
        "target": "<= 2x",
        "pass": ratio <= 2.0,
        "bare_python_s": bare_s,
    }


# -------------------------------------------------------------------------------------- reporting


def print_table(results: list[dict[str, Any]]) -> None:
    rows = [("", "measurement", "lrviz", "reference", "ratio", "target", "")]
    for r in results:
        rows.append((
            f"({r['id']})",
            r["what"],
            fmt_time(r["lrviz_s"]),
            fmt_time(r["reference_s"]),
            f"{r['ratio']:.2f}x",
            r["target"],
            "PASS" if r["pass"] else "MISS",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        cells = [cell.rjust(w) if i in (2, 3, 4) else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        print("  ".join(cells).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json-out", metavar="PATH", help="also write the measurements as JSON here")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and 10x fewer updates (smoke run)")
    args = parser.parse_args(argv)

    vector_updates, loop_updates = (10**6, 10**4) if args.quick else (10**7, 10**5)
    reps = {"a": 3, "b": 2, "c": 2, "d": 3} if args.quick else {"a": 7, "b": 3, "c": 3, "d": 10}

    import transformers
    import torch

    env = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
    }
    print("lrviz benchmark: " + ", ".join(f"{k} {v}" for k, v in env.items()))
    print(f"best of N repeats (time.perf_counter): (a) {reps['a']}, (b) {reps['b']}, (c) {reps['c']}, (d) {reps['d']}")
    print()

    started = time.perf_counter()
    results = []
    for label, run in (
        ("a", lambda: bench_vectorized(vector_updates, reps["a"])),
        ("b", lambda: bench_transformers(loop_updates, reps["b"])),
        ("c", lambda: bench_plot_scaling(reps["c"])),
        ("d", lambda: bench_startup(reps["d"])),
    ):
        print(f"  running ({label}) ...", file=sys.stderr, flush=True)
        results.append(run())
    elapsed = time.perf_counter() - started

    print_table(results)
    a, b, c, d = results
    print()
    print(f"(a) {a['ns_per_update']:.1f} ns per update; ratio = lrviz / np.cos.")
    print(
        f"(b) ratio = transformers / lrviz. transformers: {b['us_per_transformers_step']:.2f} us per "
        "scheduler.step() + param_groups read (optimizer.step() not called: it does not change the LR).\n"
        f"    Python loop with one math.cos per update: {fmt_time(b['math_cos_loop_s'])} "
        f"-> lrviz is {b['speedup_vs_math_cos_loop']:.0f}x faster than that floor; "
        f"transformers' loop costs {b['transformers_vs_math_cos_loop']:.1f}x the floor.\n"
        f"    agreement over {b['updates_compared']:,} updates: max relative error lrviz vs transformers = "
        f"{b['max_rel_error_vs_transformers']:.3g}"
        f" (max |lrviz| where transformers gives 0: {b['max_abs_lr_where_transformers_is_0']:.3g}); "
        f"math.cos loop vs transformers = {b['math_cos_loop_max_rel_error']:.3g}"
    )
    print(f"(c) ratio = 10**9-update plot / 10**3-update plot; both PNGs valid: {c['png_written']}.")
    print(f"(d) ratio = lrviz --help / import numpy; bare `python -c pass` takes {fmt_time(d['bare_python_s'])}.")
    print(f"total benchmark time {elapsed:.1f} s; {sum(r['pass'] for r in results)}/{len(results)} targets met")

    if args.json_out:
        document = {"environment": env, "repeats": reps, "elapsed_s": elapsed, "results": results}
        with open(args.json_out, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1)
            handle.write("\n")
        print(f"wrote {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
