"""CSV export speed and YAML load speed, as ratios measured in one run on one machine.

Usage (from the repository root):

    python bench/bench_export.py              # 10**7 updates, all real configs
    python bench/bench_export.py --quick      # 10**6 updates, fewer repeats (a smoke run)

  (a) ``lrviz.output.write_csv`` of a cosine_with_min_lr run of 10**7 updates to a file (the schedule is computed
      inside the timed region)  vs  ``numpy.savetxt`` of the same two columns, already computed
      (``fmt=("%d", "%.17g")``), to a file. The CSV's LRs are checked to be ``repr`` of the float64 values
      (shortest round-trip).                                                             target: <= 3x
  (b) YAML load of every real config in ../shared/real-world/configs, and of a generated 2.7 MB file with
      200,000 keys, through ``lrviz.textfile.parse_yaml`` with libyaml's ``CSafeLoader`` vs the pure-Python
      ``SafeLoader`` (the same node graph and objects; the checks for depth, aliases and huge integers included).

Each time is the best of N repeats of ``time.perf_counter``; the two sides of a ratio alternate, so load on the
shared machine hits both alike. Targets are goals, not tests: the exit status is 0 either way.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lrviz.errors import ConfigError  # noqa: E402
from lrviz.output import write_csv  # noqa: E402
from lrviz.spec import ScheduleSpec  # noqa: E402
from lrviz.textfile import parse_yaml  # noqa: E402
from lrviz.trajectory import trajectory  # noqa: E402


def best(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def csv_export(updates: int, repeats: int, folder: str) -> None:
    spec = ScheduleSpec(scheduler="cosine_with_min_lr", peak_lr=2e-4, total_steps=updates, warmup_steps=updates // 33,
                        scheduler_kwargs={"min_lr_rate": 0.1})
    whole = trajectory(spec, 0, updates)
    columns = np.column_stack((whole.step, whole.lr))
    ours_path, numpy_path = os.path.join(folder, "lrviz.csv"), os.path.join(folder, "numpy.csv")

    def ours() -> None:
        with open(ours_path, "w", encoding="utf-8", newline="") as stream:
            write_csv(stream, spec)

    def reference() -> None:
        np.savetxt(numpy_path, columns, fmt=("%d", "%.17g"), delimiter=",", header="step,lr", comments="")

    times = {"lrviz": [], "numpy": []}
    for _ in range(repeats):
        times["lrviz"].append(best(ours, 1))
        times["numpy"].append(best(reference, 1))
    lrviz_s, numpy_s = min(times["lrviz"]), min(times["numpy"])
    with open(ours_path, encoding="utf-8") as stream:
        next(stream)
        texts = [line.rstrip("\n").split(",")[1] for line in stream]
    exact = all(text == repr(value) for text, value in zip(texts, whole.lr.tolist())) and len(texts) == updates
    ratio = lrviz_s / numpy_s
    print(f"(a) CSV export of {updates:,} updates: lrviz {lrviz_s:.2f} s ({os.path.getsize(ours_path) / 1e6:.0f} MB), "
          f"numpy.savetxt {numpy_s:.2f} s ({os.path.getsize(numpy_path) / 1e6:.0f} MB): ratio {ratio:.2f}x "
          f"(target <= 3x: {'ok' if ratio <= 3 else 'MISS'}); LRs in repr precision: {exact}")


def yaml_load(repeats: int, folder: str) -> None:
    import yaml

    if not getattr(yaml, "__with_libyaml__", False):
        print("(b) PyYAML without libyaml here: only the pure loader runs")
        return
    configs = ROOT.parent / "shared" / "real-world" / "configs"
    files = sorted(p for p in configs.rglob("*") if p.suffix in (".yaml", ".yml")) if configs.is_dir() else []
    wide = Path(folder) / "wide.yaml"
    wide.write_text("learning_rate: 1.0e-4\nmax_steps: 100\n" + "".join(f"key_{i}: {i}\n" for i in range(200_000)))
    total = {"c": 0.0, "pure": 0.0}
    for path in files + [wide]:
        text = path.read_text(encoding="utf-8-sig")
        runs = 1 if path == wide else repeats
        seconds = {}
        for name, loader in (("c", yaml.CSafeLoader), ("pure", yaml.SafeLoader)):
            seconds[name] = best(lambda: parse_yaml(text, label=path.name, error=ConfigError, loader=loader), runs)
        if path == wide:
            print(f"(b) {path.name} ({len(text) / 1e6:.1f} MB, 200,000 keys): CSafeLoader {seconds['c']:.2f} s, "
                  f"SafeLoader {seconds['pure']:.2f} s: {seconds['pure'] / seconds['c']:.1f}x faster")
        else:
            total["c"] += seconds["c"]
            total["pure"] += seconds["pure"]
    if files:
        print(f"(b) {len(files)} real configs ({sum(p.stat().st_size for p in files) / 1e3:.0f} KB): CSafeLoader "
              f"{total['c'] * 1e3:.1f} ms, SafeLoader {total['pure'] * 1e3:.1f} ms in all: "
              f"{total['pure'] / total['c']:.1f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10**6 updates and fewer repeats")
    parser.add_argument("--updates", type=int, default=None, help="updates to export (default 10**7)")
    args = parser.parse_args()
    updates = args.updates or (10**6 if args.quick else 10**7)
    repeats = 2 if args.quick else 3
    with tempfile.TemporaryDirectory() as folder:
        csv_export(updates, 1 if updates >= 10**7 else repeats, folder)
        yaml_load(repeats * 3, folder)


if __name__ == "__main__":
    main()
