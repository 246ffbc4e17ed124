"""NeMo YAML (NeMo 1 style): ``model.optim`` with ``lr`` and a ``sched`` block naming ``CosineAnnealing`` or one of
the ``WarmupPolicy`` schedulers (``WarmupAnnealing``, ``SquareAnnealing``, ``SquareRootAnnealing``,
``InverseSquareRootAnnealing``: ``lrviz/frameworks/nemo_warmup.py``).

Run length: ``sched.max_steps``, else ``trainer.max_steps``; with ``trainer.max_steps: -1`` NeMo counts it from the
epochs (``core/classes/modelPT.py::setup_optimization`` passes ``t_max_epochs``, ``t_accumulate_grad_batches``,
``t_limit_train_batches``, ``t_num_workers``; ``core/optim/lr_scheduler.py::compute_max_steps``):
``ceil(round(ceil(N / workers) / batch) / accumulate) * max_epochs`` with ``round`` = floor under ``drop_last``,
else ceil, and ``limit_train_batches`` applied to the batches per epoch.

Source: nemo-toolkit 3.0.0 ``nemo/core/config/schedulers.py`` (``CosineAnnealingParams``: ``warmup_steps`` |
``warmup_ratio``, ``constant_steps`` | ``constant_ratio``, ``min_lr``, ``max_steps``) and ``nemo/core/optim/
lr_scheduler.py``. ``max_steps`` may come from ``trainer.max_steps`` (directly or as the interpolation
``${trainer.max_steps}``). How NeMo's ``prepare_lr_scheduler`` plumbs every key was only partly read; lrviz takes the
dataclass fields above, rejects near-misses of them, and lists other keys as ignored.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, SpecError
from ..spec import describe_value, is_finite_number

SCHED_KEYS = ("name", "warmup_steps", "warmup_ratio", "constant_steps", "constant_ratio", "min_lr", "max_steps", "last_epoch")


@dataclass(frozen=True)
class NemoFile:
    path: str
    prefix: str  # "model.optim." or "optim."
    lr: Any
    sched: dict[str, Any]
    trainer_max_steps: Any = None
    ignored: tuple[str, ...] = field(default=(), compare=False)
    raw: dict[str, Any] = field(default_factory=dict, compare=False)  # the whole file (trainer, model.train_ds)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def where(self, key: str) -> str:
        return f"{self.name}:{self.prefix}{key}"


def _optim(data: Any) -> tuple[str, Any] | None:
    if isinstance(data, dict):
        model = data.get("model")
        if isinstance(model, dict) and isinstance(model.get("optim"), dict):
            return "model.optim.", model["optim"]
        if isinstance(data.get("optim"), dict) and "sched" in data["optim"]:
            return "optim.", data["optim"]
    return None


def looks_like_nemo(data: Any) -> bool:
    found = _optim(data)
    return found is not None and isinstance(found[1].get("sched"), dict)


def read_nemo(path: str, data: Any) -> NemoFile:
    label = f"--config {path}"
    found = _optim(data)
    if found is None or not isinstance(found[1].get("sched"), dict):
        raise ConfigError(f"{label}: no model.optim.sched block; a NeMo config names its scheduler there")
    prefix, optim = found
    sched = found[1]["sched"]
    name = sched.get("name")
    if name is None:
        raise ConfigError(f"{label}: {prefix}sched.name is missing; NeMo needs it (e.g. name: CosineAnnealing)")
    from ..frameworks.nemo_warmup import NAMES

    if name not in ("CosineAnnealing",) + NAMES:
        raise ConfigError(f"{label}: {prefix}sched.name = {name!r} is not modelled by lrviz yet; it reads "
                          f"{', '.join(('CosineAnnealing',) + NAMES)}")
    if name != "CosineAnnealing":
        for key in ("constant_steps", "constant_ratio"):
            if key in sched:
                raise ConfigError(f"{label}: {prefix}sched.{key} is not a setting of {name} (NeMo's WarmupPolicy raises "
                                  "TypeError: unexpected keyword argument); remove it")
    ignored = []
    for key in sched:
        if key not in SCHED_KEYS:
            close = difflib.get_close_matches(str(key), SCHED_KEYS, n=1, cutoff=0.8)
            if close:
                raise ConfigError(f"{label}: {prefix}sched.{key} is not a CosineAnnealing setting; did you mean {close[0]}?")
            ignored.append(f"{prefix}sched.{key}")
    trainer = data.get("trainer") if isinstance(data.get("trainer"), dict) else {}
    return NemoFile(path, prefix, optim.get("lr"), dict(sched), trainer.get("max_steps"), tuple(ignored), raw=data)


def _from_epochs(options: Any, nemo: NemoFile, label: str) -> tuple[int, str]:
    """``compute_max_steps`` as NeMo 3.0.0 runs it when ``trainer.max_steps`` is -1 (see the module)."""
    import math

    trainer = nemo.raw.get("trainer") if isinstance(nemo.raw.get("trainer"), dict) else {}
    model = nemo.raw.get("model") if isinstance(nemo.raw.get("model"), dict) else {}
    train_ds = model.get("train_ds") if isinstance(model.get("train_ds"), dict) else {}
    if options.dataset_size is None:
        raise ConfigError(f"{label}: trainer.max_steps is -1, so NeMo counts the run from the epochs and the training set: "
                          "add --dataset-size N (training examples), or --steps N")

    def given(flag: str, value: Any, key: str, where: dict[str, Any], default: Any = None) -> tuple[Any, str]:
        if value is not None:
            return value, f"flag {flag}"
        if where.get(key) is not None:
            return where[key], key
        return default, "default"

    epochs, epochs_from = given("--epochs", options.epochs, "max_epochs", trainer)
    if epochs is None or epochs == -1:
        raise ConfigError(f"{label}: trainer.max_epochs is {epochs} with trainer.max_steps -1: NeMo has no run length; "
                          "give --epochs N or --steps N")
    batch, batch_from = given("--batch-size", options.batch_size, "batch_size", train_ds)
    if batch is None:
        batch, batch_from = given("--batch-size", None, "micro_batch_size", model)
    if batch is None:
        raise ConfigError(f"{label}: no model.train_ds.batch_size (or model.micro_batch_size): NeMo's steps per epoch "
                          "divide by it; give --batch-size N")
    devices, nodes = trainer.get("devices", 1), trainer.get("num_nodes", 1)
    if options.gpus is not None:
        workers, workers_from = options.gpus, "flag --gpus"
    elif isinstance(devices, int) and isinstance(nodes, int) and devices > 0:
        workers, workers_from = devices * nodes, "trainer.devices × trainer.num_nodes"
    else:
        raise ConfigError(f"{label}: trainer.devices = {devices!r}: NeMo splits the samples over the data-parallel "
                          "workers; give --gpus N")
    accumulate, _ = given("--grad-accum", options.grad_accum, "accumulate_grad_batches", trainer, 1)
    limit = trainer.get("limit_train_batches", 1.0)
    limit = 1.0 if limit is None else limit
    drop_last, _ = given("--drop-last", options.drop_last, "drop_last", train_ds, False)
    rounding = math.floor if drop_last else math.ceil
    per_worker = math.ceil(options.dataset_size / max(1, workers))
    steps = rounding(per_worker / batch)
    if isinstance(limit, int) or limit == 0.0:
        steps = min(steps, int(limit))
    elif steps != float("inf"):
        steps = int(steps * limit)
    total = math.ceil(steps / accumulate) * int(epochs)
    text = (f"NeMo compute_max_steps: ceil({steps} batches / {accumulate}) × {epochs} epochs = {total} "
            f"(batches = {'floor' if drop_last else 'ceil'}(ceil({options.dataset_size} / {workers} workers) / {batch})"
            f"{'' if limit == 1.0 else f' limited by limit_train_batches {limit}'}; epochs from {epochs_from}, "
            f"batch from {batch_from}, workers from {workers_from})")
    if total < 1:
        raise ConfigError(f"{label}: the epochs give {total} steps ({text}); check --dataset-size and the batch size")
    return total, text


def nemo_spec(options: Any, nemo: NemoFile) -> Any:
    from ..spec import ScheduleSpec, Source

    label = f"--config {nemo.path}"
    sched = nemo.sched
    provenance: dict[str, Source] = {"framework": Source("file", nemo.where("sched.name")),
                                     "scheduler": Source("file", nemo.where("sched.name"))}

    def number(key: str, value: Any, where: str) -> float:
        if isinstance(value, str):  # OmegaConf's YAML loader reads 2e-4 (no dot) as a float, unlike PyYAML
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{label}: {where} = {str(value)[:40]!r} must be a number")
        if not is_finite_number(value):
            raise ConfigError(f"{label}: {where} = {describe_value(value)} must be a finite number")
        return value

    if options.lr is not None:
        peak = options.lr
        provenance["peak_lr"] = Source("flag", "--lr")
    elif nemo.lr is not None:
        peak = number("lr", nemo.lr, f"{nemo.prefix}lr")
        provenance["peak_lr"] = Source("file", nemo.where("lr"))
    else:
        raise ConfigError(f"{label}: {nemo.prefix}lr is missing; add the peak learning rate")
    max_steps = sched.get("max_steps")
    if options.steps is not None:
        total = options.steps
        provenance["total_steps"] = Source("flag", "--steps")
    else:
        if max_steps is None or (isinstance(max_steps, str) and "trainer.max_steps" in max_steps):
            max_steps, where = nemo.trainer_max_steps, f"{nemo.name}:trainer.max_steps"
        else:
            where = nemo.where("sched.max_steps")
        if max_steps is None or max_steps == -1:
            total, arithmetic = _from_epochs(options, nemo, label)
            provenance["total_steps"] = Source("derived", "", arithmetic)
        else:
            total = int(number("max_steps", max_steps, where.split(":", 1)[1]))
            provenance["total_steps"] = Source("file", where)
    kwargs: dict[str, Any] = {}
    warmup = 0
    for key in ("min_lr", "warmup_ratio", "constant_steps", "constant_ratio"):
        if sched.get(key) is not None:
            kwargs[key] = number(key, sched[key], f"{nemo.prefix}sched.{key}")
            provenance[f"kwargs.{key}"] = Source("file", nemo.where(f"sched.{key}"))
    if sched.get("warmup_steps") is not None:
        warmup = int(number("warmup_steps", sched["warmup_steps"], f"{nemo.prefix}sched.warmup_steps"))
        provenance["warmup_steps"] = Source("file", nemo.where("sched.warmup_steps"))
    if options.warmup_ratio is not None:
        kwargs["warmup_ratio"], warmup = options.warmup_ratio, 0
        provenance["kwargs.warmup_ratio"] = Source("flag", "--warmup-ratio")
    elif options.warmup_steps is not None:
        kwargs.pop("warmup_ratio", None)
        warmup = int(options.warmup_steps)
        provenance["warmup_steps"] = Source("flag", "--warmup-steps")
    if options.min_lr is not None or options.min_lr_rate is not None:
        kwargs["min_lr"] = options.min_lr if options.min_lr is not None else options.min_lr_rate * peak
        provenance["kwargs.min_lr"] = Source("flag", "--min-lr" if options.min_lr is not None else "--min-lr-rate")
    for key, value in (options.scheduler_kwargs or {}).items():
        kwargs[key] = value
        provenance[f"kwargs.{key}"] = Source("flag", "--scheduler-kwargs")
    provenance.setdefault("warmup_steps", Source("default", "NeMo"))
    notes = (f"{nemo.name}: keys not read: {', '.join(nemo.ignored)}",) if nemo.ignored else ()
    try:
        spec = ScheduleSpec(scheduler=str(sched["name"]), peak_lr=peak, total_steps=total, warmup_steps=warmup,
                            scheduler_kwargs=kwargs, framework="nemo", provenance=provenance, notes=notes)
    except SpecError as error:
        raise SpecError(f"{label}: {error}") from None
    from dataclasses import replace

    from ..frameworks.catalog import spec_notes

    return replace(spec, notes=notes + spec_notes(spec))


# The interface every config format module has (lrviz.configs.pipeline).
looks_like = looks_like_nemo
read = read_nemo
to_spec = nemo_spec
