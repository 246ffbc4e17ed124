"""``lrviz verify --config``: the real ``transformers.Trainer.train()`` with the user's training arguments.

The config (HF TrainingArguments JSON/YAML, LLaMA-Factory YAML, Axolotl YAML) becomes ``TrainingArguments`` as its
framework builds them (``training_arguments``); the Trainer trains a tiny causal LM built in code (or ``--model DIR``,
a local folder) on a synthetic dataset of ``--dataset-size`` examples, in a temporary output folder with saving
and reporting off. A callback records the LR of every param group at every optimizer step (``on_pre_optimizer_step``,
just before ``optimizer.step()``), with the scheduler's own index; the comparison with the pipeline's prediction
is ``report.check_groups``. Which object drives the optimizer is the Trainer's own choice, except where the
framework's scheduler is not installed (Axolotl's cosine variants): then a labelled stand-in does, and the verdict
says the framework was not tested.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError, EnvironmentUnavailable
from ..spec import ScheduleSpec
from .compress import Compression, compress
from .report import Health, RankAgreement, VerifyReport, check_groups
from .implementation import KIND_FRAMEWORK, Implementation, package_version
from .schedulers import scheduler_index

# Optimizers whose packages are part of torch: the LR the Trainer sets does not depend on the optimizer class,
# so an optimizer this machine cannot build (bitsandbytes, apex, ...) is replaced by adamw_torch, with a note.
BUILT_IN_OPTIMIZERS = ("adamw_torch", "adamw_torch_fused", "adafactor", "sgd", "adagrad", "rmsprop", "adamw_torch_4bit")
# Keys set for every verify run: a temporary folder, no checkpoints, no reporting, a log line per update.
RUN_OVERRIDES: dict[str, Any] = {
    "save_strategy": "no", "report_to": [], "logging_steps": 1, "logging_strategy": "steps", "disable_tqdm": True,
    "push_to_hub": False, "eval_strategy": "no", "load_best_model_at_end": False, "dataloader_num_workers": 0,
    "torch_compile": False, "resume_from_checkpoint": None,
}
# Floor keys that belong in lr_scheduler_kwargs: at the top level of a config, the launcher refuses them.
FLOOR_KEYS = ("min_lr", "min_lr_rate", "warmup_lr_rate")
DEFAULT_CONTEXT = 16
TINY_VOCAB = 32


@dataclass
class TrainerPlan:
    """The TrainingArguments keywords for the verify run, and what was changed on the way."""

    framework: str  # "HF TrainingArguments", "LLaMA-Factory", "Axolotl", "TRL DPOConfig"
    arguments: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # keys of the file that are not TrainingArguments fields
    engine: Any = None  # the DeepSpeed config (path or mapping) to run the real DeepSpeed engine with, if any
    trl: Any = None  # a TRL config's class (lrviz.configs.trl.TrlClass): it builds the arguments, its trainer runs

    @property
    def trl_class(self) -> str | None:
        return self.trl.name if self.trl is not None else None


def _fields(arguments_class: Any = None) -> set[str]:
    import transformers

    return {f.name for f in dataclasses.fields(arguments_class or transformers.TrainingArguments)}


def _flavor_label(config: Any) -> str:
    from ..configs.axolotl import AxolotlFile

    if isinstance(config, AxolotlFile):
        return "Axolotl"
    if getattr(config, "trl", None) is not None:
        return f"TRL {config.trl.name}"
    return "LLaMA-Factory" if getattr(config, "flavor", "hf") == "llamafactory" else "HF TrainingArguments"


def is_trainer_config(config: Any) -> bool:
    """HF TrainingArguments, LLaMA-Factory and Axolotl configs train with transformers.Trainer."""
    from ..configs import ConfigFile
    from ..configs.axolotl import AxolotlFile

    return isinstance(config, (ConfigFile, AxolotlFile))


def file_max_steps(config: Any) -> int | None:
    """The file's own ``max_steps`` (> 0), if it gives one."""
    values = getattr(config, "values", {}) or {}
    value = values.get("max_steps")
    value = getattr(value, "value", value)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None


def plan_arguments(config: Any, spec: ScheduleSpec) -> TrainerPlan:
    """TrainingArguments keywords for ``config`` as its framework builds them (before lrviz's run overrides).

    HF and LLaMA-Factory: the file's keys that are TrainingArguments fields (LLaMA-Factory's own keys stay with
    it), with the schedule values as the pipeline read them; a schedule key the installed transformers no longer
    has (``warmup_ratio`` in 5.x) is passed on, so that TrainingArguments refuses it as the launch would.
    Axolotl: ``core/builders`` maps ``lr_scheduler`` → ``lr_scheduler_type``, ``micro_batch_size`` →
    ``per_device_train_batch_size``, ``num_epochs`` → ``num_train_epochs``, and passes its own ``max_steps`` and
    warmup count (lrviz's Axolotl arithmetic: ``spec.total_steps``, ``spec.warmup_steps``).
    """
    from ..configs import SCHEDULE_KEYS
    from ..configs.axolotl import AxolotlFile

    trl_class = getattr(config, "trl", None)
    if trl_class is not None:
        from .trl_run import config_class

        fields = _fields(config_class(trl_class.name))  # exit 3 without trl: its class sets its own defaults
    else:
        fields = _fields()
    label = _flavor_label(config)
    if isinstance(config, AxolotlFile):
        import yaml

        with open(config.path, encoding="utf-8") as handle:
            whole = yaml.safe_load(handle) or {}  # as Axolotl reads it; the reader kept only the schedule keys
        raw = {**whole, **config.values}
        arguments: dict[str, Any] = {
            "learning_rate": spec.peak_lr,
            "lr_scheduler_type": "cosine" if spec.scheduler == "cosine" else spec.scheduler,
            "max_steps": spec.total_steps,
            "warmup_steps": spec.warmup_steps,
            "per_device_train_batch_size": int(raw.get("micro_batch_size") or 1),
            "gradient_accumulation_steps": int(raw.get("gradient_accumulation_steps") or 1),
            "num_train_epochs": float(raw.get("num_epochs") or 1),
        }
        kwargs = raw.get("lr_scheduler_kwargs")
        if spec.scheduler != "cosine" and isinstance(kwargs, dict) and kwargs:
            arguments["lr_scheduler_kwargs"] = dict(kwargs)
        if raw.get("optimizer"):
            arguments["optim"] = raw["optimizer"]  # core/builders: training_arguments_kwargs["optim"] = cfg.optimizer
        for key in ("weight_decay", "max_grad_norm", "adam_beta1", "adam_beta2", "adam_epsilon", "seed", "bf16", "fp16"):
            if raw.get(key) is not None and key in fields:
                arguments[key] = raw[key]
        return TrainerPlan(label, arguments)
    raw = dict(config.raw)
    for key in FLOOR_KEYS:
        if key in raw and key not in fields:
            where = "LLaMA-Factory's argument parser" if label == "LLaMA-Factory" else "TrainingArguments"
            raise ConfigError(f"--config {config.path}: {key} at the top level is refused by {where} (not an argument); "
                              f"put it in lr_scheduler_kwargs: {{\"{key}\": {raw[key]}}}")
    arguments = {key: value for key, value in raw.items() if key in fields}
    if label == "LLaMA-Factory":  # OmegaConf reads 2e-6 as a number, PyYAML (raw) as text
        from ..configs.hf import _PYYAML_STRING_FLOAT

        for key, value in arguments.items():
            if isinstance(value, str) and _PYYAML_STRING_FLOAT.match(value.strip()):
                arguments[key] = float(value)
    for key, value in config.values.items():  # the schedule values as the pipeline read them (2e-6 as a number)
        if key in fields:
            arguments[key] = value.value
    if config.scheduler_kwargs:
        arguments["lr_scheduler_kwargs"] = {key: value.value for key, value in config.scheduler_kwargs.items()}
    stale = [key for key in raw if key in SCHEDULE_KEYS and key not in fields]
    for key in stale:
        arguments[key] = raw[key]  # TrainingArguments refuses it below, with its own message
    ignored = sorted(key for key in raw if key not in fields and key not in stale)
    return TrainerPlan(label, arguments, ignored=ignored, trl=trl_class)


def compressed_arguments(plan: TrainerPlan, compressed: ScheduleSpec, compression: Compression) -> None:
    """Shorten the run to ``compressed``: ``max_steps`` and the warmup count, and the kwargs lengths it scaled."""
    plan.arguments["max_steps"] = compressed.total_steps
    plan.arguments["warmup_steps"] = compressed.warmup_steps
    if compression.scaled:
        kwargs = dict(plan.arguments.get("lr_scheduler_kwargs") or {})
        for key in compression.scaled:
            kwargs[key] = compressed.scheduler_kwargs[key]
        plan.arguments["lr_scheduler_kwargs"] = kwargs


def build_training_arguments(plan: TrainerPlan, output_dir: str, device: str, dtype: str) -> Any:
    """``TrainingArguments(**keywords)``; a refusal is bad input (exit 2) with transformers' own reason."""
    import transformers

    arguments = dict(plan.arguments)
    arguments.pop("output_dir", None)
    deepspeed = arguments.pop("deepspeed", None)
    if deepspeed and plan.engine is not None:
        arguments["deepspeed"] = plan.engine  # the real DeepSpeed engine (on a GPU)
    elif deepspeed:
        plan.notes.append("the deepspeed config is not passed to the verify run's Trainer (DeepSpeed's engine runs on "
                          "--device cuda); its scheduler block, if any, is verified with DeepSpeed's own class")
    for key in ("fsdp", "fsdp_config", "hub_model_id", "logging_dir", "run_name"):
        arguments.pop(key, None)
    optim = str(arguments.get("optim", "adamw_torch"))
    if optim not in BUILT_IN_OPTIMIZERS:
        plan.notes.append(f"optim {optim} is replaced by adamw_torch for the verify run (the Trainer sets the LR of "
                          "every param group the same way for any optimizer)")
        arguments["optim"] = "adamw_torch"
    if device == "cpu":
        arguments["use_cpu"] = True
        if arguments.get("bf16") or arguments.get("fp16"):
            plan.notes.append("bf16/fp16 of the config are off on cpu; the schedule does not depend on them")
        arguments["bf16"] = arguments["fp16"] = False
    if dtype in ("bf16", "fp16"):
        arguments["bf16"], arguments["fp16"] = dtype == "bf16", dtype == "fp16"
    elif dtype == "fp32":
        arguments["bf16"] = arguments["fp16"] = False
    if os.environ.get("WORLD_SIZE", "1") != "1" and device == "cpu":
        arguments.setdefault("ddp_backend", "gloo")
    arguments.update(RUN_OVERRIDES)
    arguments_class, owner = transformers.TrainingArguments, f"transformers {transformers.__version__}"
    if plan.trl_class is not None:
        from .trl_run import config_class

        arguments_class, owner = config_class(plan.trl_class), f"trl {package_version('trl')} {plan.trl_class}"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            args = arguments_class(output_dir=output_dir, **arguments)
    except (TypeError, ValueError) as error:
        reason = " ".join(str(error).split())
        raise ConfigError(f"{owner} refuses these training arguments: {reason}") from None
    plan.notes.extend(sorted({" ".join(str(w.message).split()) for w in caught if "deprecated" not in str(w.message)}))
    return args


def tiny_causal_lm(seed: int) -> tuple[Any, str]:
    """A tiny Llama (2 layers, width 32, vocabulary 32), built in code: no download."""
    import transformers

    torch.manual_seed(seed)
    config = transformers.LlamaConfig(vocab_size=TINY_VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64)
    model = transformers.LlamaForCausalLM(config)
    return model, f"LlamaForCausalLM built in code: 2 layers, width 32, vocabulary {TINY_VOCAB}"


def local_model(path: str) -> tuple[Any, str]:
    """A Hugging Face model folder on this machine; anything else is bad input (exit 2). Never downloads."""
    import transformers

    if not os.path.isdir(path) or not os.path.isfile(os.path.join(path, "config.json")):
        raise ConfigError(f"--model {path}: not a Hugging Face model folder (it needs a config.json and the weights); "
                          "give a local folder saved with save_pretrained, or leave --model out for the built-in tiny model")
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError) as error:
        reason = " ".join(str(error).split())
        raise ConfigError(f"--model {path}: transformers cannot load it as a causal LM ({reason[:300]})") from None
    return model, f"{type(model).__name__} from {path}"


class SyntheticSet(torch.utils.data.Dataset):
    """``size`` arithmetic token sequences (``lrviz.verify.data``), as input_ids and labels."""

    def __init__(self, size: int, vocab_size: int, seed: int) -> None:
        from . import data

        generator = torch.Generator().manual_seed(seed + 1)
        self.tokens = data.sequences(size, data.FINETUNE_STRIDES, vocab_size=vocab_size, length=DEFAULT_CONTEXT,
                                     generator=generator)
        self.served: list[int] = []  # the indices this process's dataloader fetched, in order

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        self.served.append(int(index))
        return {"input_ids": self.tokens[index], "labels": self.tokens[index]}


def _recorder_class() -> type:
    import transformers

    class LrRecorder(transformers.TrainerCallback):
        """Every param group's LR just before each ``optimizer.step()``, the scheduler's index, loss and grad norm."""

        def __init__(self) -> None:
            self.rows: list[list[float]] = []
            self.index: list[int] = []
            self.initial: list[float] = []
            self.loss: dict[int, float] = {}
            self.grad_norm: dict[int, float] = {}
            self.scheduler: Any = None
            self.first_step = 0

        def on_train_begin(self, args, state, control, optimizer=None, lr_scheduler=None, **kwargs):
            from ..integrations.guard import initial_lrs, innermost_optimizer

            self.scheduler = lr_scheduler
            self.first_step = state.global_step
            self.initial = initial_lrs(optimizer, float(args.learning_rate))
            # the torch optimizer's own step: under DeepSpeed it runs inside backward, not at Trainer's optimizer.step()
            self.hook = innermost_optimizer(optimizer).register_step_pre_hook(self._record)

        def _record(self, optimizer: Any, args: Any, kwargs: Any) -> None:
            self.rows.append([float(group["lr"]) for group in optimizer.param_groups])
            self.index.append(scheduler_index(self.scheduler))

        def on_train_end(self, args, state, control, **kwargs):
            self.hook.remove()

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.loss[state.global_step] = float(logs["loss"])
            if logs and logs.get("grad_norm") is not None:
                self.grad_norm[state.global_step] = float(logs["grad_norm"])

    return LrRecorder


def _own_scheduler_trainer(base: type, build: Any) -> type:
    """A Trainer subclass whose ``create_scheduler`` builds ``build(optimizer)`` (a scheduler object) instead of
    ``get_scheduler``; the Trainer still steps it after every optimizer step that was not skipped."""

    class OwnSchedulerTrainer(base):  # type: ignore[misc, valid-type]
        def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
            if self.lr_scheduler is None:
                self.lr_scheduler = build(optimizer if optimizer is not None else self.optimizer)
                self._created_lr_scheduler = True
            return self.lr_scheduler

    return OwnSchedulerTrainer


def deepspeed_engine_config(config: Any) -> Any:
    """The DeepSpeed config a Trainer config names, for the real engine: its path (resolved as lrviz found it) or
    mapping; None when there is none or deepspeed does not import."""
    value = (getattr(config, "raw", None) or {}).get("deepspeed")
    if not value:
        return None
    try:
        import deepspeed  # noqa: F401
    except Exception:  # noqa: BLE001 - not installed or broken: the scheduler class is verified without the engine
        return None
    if isinstance(value, str) and not value.strip().startswith("{"):
        from ..configs.deepspeed import follow_reference

        reference = follow_reference(config.path, value)
        found = getattr(reference.file, "path", None)
        return os.path.abspath(found) if found else None
    return value


def scheduler_builder(spec: ScheduleSpec) -> tuple[Any, dict[str, Any]]:
    """For a schedule that ``get_scheduler`` does not build: a function optimizer → scheduler, and a holder that
    receives its ``Implementation`` when it runs.

    DeepSpeed's scheduler block: DeepSpeed's own ``lr_schedules`` class, which the Trainer steps after every
    optimizer step as ``DeepSpeedEngine`` would (the engine itself needs deepspeed's ops and a GPU). Anything
    else (Axolotl's own cosine without axolotl): ``LambdaLR`` over lrviz's formula, labelled."""
    from .schedulers import _deepspeed, _fallback

    holder: dict[str, Any] = {}

    def build(optimizer: Any) -> Any:
        built = _deepspeed(spec, optimizer) if spec.framework == "deepspeed" else needs_stand_in(spec)
        if isinstance(built, str):
            scheduler, implementation, _ = _fallback(spec, optimizer, built)
        else:
            scheduler, implementation, _ = built
            implementation = Implementation(
                implementation.kind, implementation.source.replace("as DeepSpeedEngine steps it (engine not used)",
                                                                   "by Trainer.train(), as DeepSpeedEngine steps it"),
                implementation.class_name, implementation.version,
                "the DeepSpeed engine is not used (it needs deepspeed's compiled ops and a GPU): the DeepSpeed config's "
                f"scheduler block builds deepspeed's own {implementation.class_name}, which the Trainer steps after "
                "each optimizer step, as the engine does")
        holder["implementation"] = implementation
        return scheduler

    return build, holder


def needs_stand_in(spec: ScheduleSpec) -> str | None:
    """Why the framework's own scheduler cannot drive this run here (None: it can)."""
    if spec.framework == "axolotl":
        from ..frameworks.axolotl import route

        if route(spec) != "cosine":
            try:
                import axolotl  # noqa: F401
            except ImportError:
                return ("axolotl is not installed, so its own cosine scheduler (cosine_min_lr_ratio) cannot be built: "
                        "LambdaLR over lrviz's formula drives the optimizer inside the real Trainer")
            return ("lrviz does not build Axolotl's own trainer: LambdaLR over lrviz's formula drives the optimizer "
                    "inside the real transformers Trainer")
    if spec.framework not in ("hf", "axolotl", "deepspeed"):
        return f"the {spec.framework} scheduler is not a transformers scheduler: LambdaLR over lrviz's formula drives it"
    return None


@dataclass(frozen=True)
class TrainerOptions:
    """How to run the real Trainer."""

    steps: int = 100
    full: bool = False
    device: str = "cpu"
    dtype: str = "auto"
    seed: int = 0
    model: str | None = None
    dataset_size: int = 256
    overrides: dict[str, Any] = field(default_factory=dict)  # TrainingArguments values given as flags
    deepspeed_engine: str = "cuda"  # where a DeepSpeed config runs the real engine: "cuda", or "any" device


def run_trainer_verify(spec: ScheduleSpec, config: Any, options: TrainerOptions) -> VerifyReport:
    """Train with the real Trainer and compare every group's LR at every optimizer step with ``spec``.

    What the Trainer, accelerate and DeepSpeed print on stdout while it runs (DeepSpeed's logger: "Setting
    accelerator to CPU") is kept out of the way: stdout is the report's, and a refused config is one line of error."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        return _run_trainer_verify(spec, config, options)


def _run_trainer_verify(spec: ScheduleSpec, config: Any, options: TrainerOptions) -> VerifyReport:
    import accelerate
    import transformers

    from . import device as devices

    wall_start = time.perf_counter()
    picked = devices.pick_device(options.device, int(os.environ.get("LOCAL_RANK", "0")))
    dtype = devices.pick_dtype(options.dtype, picked)
    verified, compression = (spec, None) if options.full else compress(spec, options.steps)
    plan = plan_arguments(config, spec)
    plan.arguments.update(options.overrides)
    if compression is not None:
        compressed_arguments(plan, verified, compression)
    use_engine = picked.type == "cuda" or options.deepspeed_engine == "any"
    plan.engine = deepspeed_engine_config(config) if use_engine else None
    environment = dict(os.environ)  # the engine's set-up writes ACCELERATE_USE_DEEPSPEED and friends: restored after
    single = plan.engine is not None and "WORLD_SIZE" not in os.environ
    if single:  # one process: DeepSpeed still wants a rendezvous
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        for name, value in (("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", str(port)), ("RANK", "0"),
                            ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0"), ("LOCAL_WORLD_SIZE", "1")):
            os.environ.setdefault(name, value)
    own = (verified.framework == "deepspeed" and plan.engine is None) or needs_stand_in(verified) is not None
    threads = torch.get_num_threads()
    if picked.type == "cpu":
        torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory(prefix="lrviz-verify-") as output_dir:
            args = build_training_arguments(plan, output_dir, picked.type, dtype)
            model, model_text = local_model(options.model) if options.model else tiny_causal_lm(options.seed)
            vocab = int(getattr(model.config, "vocab_size", TINY_VOCAB))
            base, keywords, data_text = _trainer_parts(plan, model, vocab, options)
            trainer_class: type = base
            holder: dict[str, Any] = {}
            if own:
                build, holder = scheduler_builder(verified)
                trainer_class = _own_scheduler_trainer(base, build)
            recorder = _recorder_class()()
            with warnings.catch_warnings(record=True) as caught, _quiet(plan):
                warnings.simplefilter("always")
                try:
                    trainer = trainer_class(args=args, callbacks=[recorder], **keywords)
                    trainer.remove_callback(transformers.PrinterCallback)  # the report goes to stdout, not log lines
                    started = time.perf_counter()
                    trainer.train()
                    seconds = time.perf_counter() - started
                except (TypeError, ValueError) as error:  # e.g. adam_epsilon: 1e-8, which PyYAML reads as text
                    reason = " ".join(str(error).split())
                    raise ConfigError(f"transformers {transformers.__version__} Trainer failed with these training "
                                      f"arguments: {type(error).__name__}: {reason[:400]}") from None
            state = trainer.state
            scheduler = trainer.lr_scheduler
            world = args.world_size
            rank = args.process_index
            dataset = keywords["train_dataset"]
            base_name = f"{base.__module__.split('.')[0]}.{base.__name__}"  # transformers.Trainer, trl.DPOTrainer
            first_epoch = -(-len(dataset) // world)  # what one rank fetches in its first epoch
            served = getattr(dataset, "served", None)  # None: a TRL trainer's dataset, mapped before it is served
            mine = {"realized": recorder.rows, "index": recorder.index, "updates": state.global_step,
                    "max_steps": state.max_steps, "rank": rank, "shard": None if served is None else served[:first_epoch]}
            everyone = _gather(mine, world)
            if world > 1 and torch.distributed.is_initialized():
                torch.distributed.destroy_process_group()  # a clean exit: gloo's threads can abort a process that skips it
    finally:
        torch.set_num_threads(threads)
        if plan.engine is not None:
            _leave_deepspeed(environment, single)
    realized = np.array(recorder.rows, dtype=np.float64).reshape(-1, len(recorder.initial) or 1)
    names = [f"group {i} (weight_decay {g.get('weight_decay', 0):g})" for i, g in enumerate(trainer.optimizer.param_groups)]
    inner = getattr(scheduler, "scheduler", scheduler)
    implementation = holder.get("implementation")
    why = implementation.note if implementation is not None else ""
    if implementation is None and plan.engine is not None:
        import deepspeed

        built = "the config's scheduler block" if verified.framework == "deepspeed" else "the Trainer's get_scheduler"
        implementation = Implementation(
            KIND_FRAMEWORK, f"deepspeed.DeepSpeedEngine with {built}, set up by Trainer.train() through accelerate",
            type(inner).__name__, deepspeed.__version__)
    if implementation is None:
        implementation = Implementation(
            KIND_FRAMEWORK, f"transformers.Trainer.create_scheduler → get_scheduler({verified.scheduler!r}, ...)",
            type(inner).__name__, transformers.__version__)
    loss = np.array([recorder.loss.get(step, np.nan) for step in range(recorder.first_step + 1, state.global_step + 1)])
    logged = range(recorder.first_step + 1, state.global_step + 1)
    norms = np.array([recorder.grad_norm[step] for step in logged] if all(s in recorder.grad_norm for s in logged) else [])
    ranks = None
    if world > 1:
        reference = everyone[0]["realized"]
        disagreeing = next((i for i, r in enumerate(everyone) if r["realized"] != reference), None)
        ranks = RankAgreement(world_size=world, backend=str(getattr(args, "ddp_backend", None) or "gloo"),
                              same_lrs=disagreeing is None, first_disagreeing_rank=disagreeing,
                              updates_per_rank=[r["updates"] for r in everyone],
                              sequences_per_rank=[len(set(r["shard"])) for r in everyone] if served is not None else [],
                              shards_disjoint=_disjoint([set(r["shard"]) for r in everyone], len(dataset))
                              if served is not None else None,
                              dataset_size=len(dataset), expected_updates=verified.total_steps,
                              arithmetic=_arithmetic(verified))
    batch, accumulation = args.per_device_train_batch_size, args.gradient_accumulation_steps
    notes = ([why] if why else []) + plan.notes + sorted({" ".join(str(w.message).split()) for w in caught
                                                          if "lr_scheduler.step()" in str(w.message)})
    if plan.ignored:
        shown = ", ".join(plan.ignored[:8]) + (", ..." if len(plan.ignored) > 8 else "")
        if plan.trl_class is not None:
            notes.append(f"{len(plan.ignored)} key(s) of the file are not {plan.trl_class} fields; TRL's command line reads "
                         f"them into its script and model arguments (or drops them) and they do not reach the trainer: {shown}")
        else:
            notes.append(f"{len(plan.ignored)} key(s) of the file are not TrainingArguments fields; {plan.framework} reads "
                         f"them itself and they do not reach the Trainer: {shown}")
    return VerifyReport(
        configured=spec,
        spec=verified,
        compression=compression,
        implementation=implementation.to_dict(),
        stepping="trainer",
        groups=check_groups(verified, names, recorder.initial, realized),
        scheduler_index=np.array(recorder.index, dtype=np.int64),
        health=Health(loss=loss, grad_norm=norms, max_grad_norm=float(args.max_grad_norm), judge_loss=False),
        updates=state.global_step - recorder.first_step,
        skipped=0,
        training={
            "runner": f"{base_name}.train()" if base is transformers.Trainer else f"{base_name}.train() (a transformers.Trainer)",
            "trainer_class": trainer_class.__name__ if not own else f"{trainer_class.__name__}({base_name})",
            "trl": package_version("trl") if plan.trl_class is not None else None,
            "transformers": transformers.__version__,
            "accelerate": accelerate.__version__,
            "config_framework": plan.framework,
            "model": model_text,
            "parameters": sum(p.numel() for p in model.parameters()),
            "dataset_size": len(dataset),
            "data": data_text,
            "batch_size": batch,
            "grad_accum": accumulation,
            "world_size": world,
            "global_batch": batch * accumulation * world,
            "trainer_max_steps": state.max_steps,
            "expected_updates": verified.total_steps,
            "step_arithmetic": _arithmetic(verified),
            "training_arguments": {k: _plain(getattr(args, k)) for k in (
                "learning_rate", "lr_scheduler_type", "lr_scheduler_kwargs", "warmup_steps", "max_steps",
                "num_train_epochs", "per_device_train_batch_size", "gradient_accumulation_steps",
                "dataloader_drop_last", "max_grad_norm", "optim", "bf16", "fp16")},
            "param_groups": [{"name": n, "initial_lr": lr} for n, lr in zip(names, recorder.initial)],
            "seed": options.seed,
            "ranks": [{"rank": r["rank"], "updates": r["updates"], "max_steps": r["max_steps"],
                       "scheduler_index": r["index"]} for r in everyone] if world > 1 else None,
        },
        device={**devices.describe(devices.Runtime(device=picked, dtype=dtype)), "peak_memory_bytes": None,
                "peak_memory_kind": "not measured"},
        speed={"fine_tune_seconds": seconds, "updates_per_second": state.global_step / seconds if seconds else None,
               "micro_batches_per_second": None, "sequences_per_second": None,
               "wall_seconds": time.perf_counter() - wall_start},
        ranks=ranks,
        notes=notes,
    )


def _trainer_parts(plan: TrainerPlan, model: Any, vocab: int, options: TrainerOptions) -> tuple[type, dict[str, Any], str]:
    """The trainer class, its keywords besides ``args`` and ``callbacks``, and the data it trains on, in words.

    transformers.Trainer on the synthetic token set; a TRL config's own trainer where lrviz builds it
    (``trl_run.BUILT``); any other TRL class: transformers.Trainer with that class's arguments, noted."""
    import transformers

    from . import data
    from .trl_run import BUILT, describe, trainer_class, trainer_keywords

    if plan.trl_class in BUILT:
        return (trainer_class(plan.trl_class), trainer_keywords(plan.trl_class, model, vocab, options.dataset_size,
                                                                options.seed), describe(plan.trl_class, options.dataset_size))
    if plan.trl is not None:
        trainer = plan.trl.trainer
        plan.notes.append(f"lrviz verify builds the data of {', '.join(BUILT.values())} only: transformers.Trainer "
                          f"(which {trainer} subclasses) trains with trl's own {plan.trl.name} instead of {trainer}")
    dataset = SyntheticSet(options.dataset_size, min(vocab, TINY_VOCAB), options.seed)
    return transformers.Trainer, {"model": model, "train_dataset": dataset}, f"{options.dataset_size:,} {data.describe()}"


def _quiet(plan: TrainerPlan) -> Any:
    import contextlib

    from .trl_run import BUILT, quiet_datasets

    return quiet_datasets() if plan.trl_class in BUILT else contextlib.nullcontext()


def _plain(value: Any) -> Any:
    value = getattr(value, "value", value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def _arithmetic(spec: ScheduleSpec) -> str:
    source = spec.provenance.get("total_steps")
    if source is None:
        return f"total = {spec.total_steps}"
    return source.detail or str(source)


def _leave_deepspeed(environment: dict[str, str], single: bool) -> None:
    """Undo what the DeepSpeed engine's set-up left in this process: environment, accelerate's shared state,
    transformers' global DeepSpeed config, and the one-process group it created."""
    from accelerate.state import AcceleratorState, PartialState
    from transformers.integrations.deepspeed import unset_hf_deepspeed_config

    unset_hf_deepspeed_config()
    os.environ.clear()
    os.environ.update(environment)
    if single:
        AcceleratorState._reset_state(reset_partial_state=True)
        PartialState._reset_state()
        import deepspeed.comm as deepspeed_comm
        import torch.distributed as dist

        if dist.is_initialized():
            deepspeed_comm.destroy_process_group()  # also drops DeepSpeed's cached groups, so a later engine starts clean


def _disjoint(shards: list[set[int]], size: int) -> bool:
    return all(a.isdisjoint(b) for i, a in enumerate(shards) for b in shards[i + 1:]) and set().union(*shards) == set(range(size))


def _gather(mine: dict[str, Any], world: int) -> list[dict[str, Any]]:
    if world <= 1:
        return [mine]
    import torch.distributed as dist

    if not dist.is_initialized():
        raise EnvironmentUnavailable("the Trainer ran with several processes but torch.distributed is not initialised")
    everyone: list[Any] = [None] * world
    dist.all_gather_object(everyone, mine)
    return everyone


__all__ = ["TrainerOptions", "is_trainer_config", "plan_arguments", "run_trainer_verify"]
