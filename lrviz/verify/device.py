"""Device, precision and process-group set-up, and what the report says about the hardware."""

from __future__ import annotations

import os
import platform
import sys
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import torch

from ..errors import EnvironmentUnavailable, LrvizError

DEVICES = ("auto", "cuda", "cpu", "mps")
DTYPES = ("auto", "fp32", "bf16", "fp16")
TORCH_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class Runtime:
    """Where the run happens: device, precision, and the data-parallel group."""

    device: torch.device
    dtype: str  # "fp32", "bf16" (autocast), "fp16" (autocast + GradScaler)
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None  # "gloo" / "nccl" when distributed
    notes: list[str] = field(default_factory=list)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def autocast(self) -> Any:
        if self.dtype == "fp32":
            return nullcontext()
        return torch.autocast(self.device.type, dtype=TORCH_DTYPES[self.dtype])


def _cpu_only_build() -> bool:
    return torch.version.cuda is None and getattr(torch.version, "hip", None) is None


def _cuda_missing_message() -> str:
    if _cpu_only_build():
        return (f"--device cuda: torch {torch.__version__} is a CPU-only build, so there is no CUDA; use --device cpu, "
                "or install a CUDA build of PyTorch (https://pytorch.org/get-started/locally/)")
    return (f"--device cuda: torch {torch.__version__} (CUDA {torch.version.cuda}) finds no usable CUDA device; "
            "check the driver with nvidia-smi and CUDA_VISIBLE_DEVICES, or use --device cpu")


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def pick_device(requested: str, local_rank: int = 0, local_world_size: int = 1) -> torch.device:
    """The torch device for ``--device``; EnvironmentUnavailable (exit 3) when it is not there."""
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu"
    if requested == "cuda":
        if not torch.cuda.is_available():
            raise EnvironmentUnavailable(_cuda_missing_message())
        # several ranks on fewer GPUs share them round-robin (e.g. 2 ranks on 1 GPU)
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if requested == "mps":
        if not _mps_available():
            raise EnvironmentUnavailable(
                f"--device mps: torch {torch.__version__} finds no Apple-silicon GPU (MPS) here; use --device cpu")
        return torch.device("mps")
    return torch.device("cpu")


def pick_dtype(requested: str, device: torch.device) -> str:
    """``--dtype``: auto is bf16 autocast on a CUDA GPU that supports it, fp32 elsewhere."""
    if requested == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return "bf16"
        return "fp32"
    if requested == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        name = torch.cuda.get_device_name(device)
        raise EnvironmentUnavailable(f"--dtype bf16: {name} does not support bfloat16; use --dtype fp16 or fp32")
    if requested == "fp16" and device.type == "mps":
        raise LrvizError("--dtype fp16 needs a loss scaler, which lrviz verify supports on cuda and cpu; use fp32 on mps")
    return requested


def start(requested_device: str, requested_dtype: str) -> Runtime:
    """Pick the device and precision, and join the process group when started by torchrun."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world_size)))
    device = pick_device(requested_device, local_rank, local_world)
    dtype = pick_dtype(requested_dtype, device)
    runtime = Runtime(device=device, dtype=dtype, rank=rank, world_size=world_size, local_rank=local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.cuda.reset_peak_memory_stats(device)
    if world_size > 1:
        import torch.distributed as dist

        if not dist.is_available():
            raise EnvironmentUnavailable(f"torch {torch.__version__} was built without torch.distributed; run one process")
        backend = "gloo"
        if device.type == "cuda" and torch.cuda.device_count() >= local_world and dist.is_nccl_available():
            backend = "nccl"
        elif device.type == "cuda":
            runtime.notes.append(f"{local_world} ranks share {torch.cuda.device_count()} GPU(s): NCCL needs one GPU per "
                                 "rank, so the gradients are all-reduced with gloo")
        dist.init_process_group(backend=backend, timeout=timedelta(minutes=5))
        runtime.backend = backend
    return runtime


def stop(runtime: Runtime, *, finished: bool = True) -> None:
    """Leave the process group; after a finished run, only once every rank has got here."""
    if runtime.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            if finished:  # no rank tears down its connections while another still finishes the last collective
                dist.barrier()
            dist.destroy_process_group()


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def describe(runtime: Runtime) -> dict[str, Any]:
    """Device name, torch version, CUDA capability, CPU threads."""
    device = runtime.device
    info: dict[str, Any] = {
        "type": device.type,
        "torch": torch.__version__,
        "dtype": runtime.dtype,
        "cuda_capability": None,
        "cuda": torch.version.cuda,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }
    if device.type == "cuda":
        major, minor = torch.cuda.get_device_capability(device)
        info["name"] = torch.cuda.get_device_name(device)
        info["cuda_capability"] = f"{major}.{minor}"
    elif device.type == "mps":
        info["name"] = f"Apple GPU (MPS) on {platform.machine()}"
    else:
        info["name"] = f"{_cpu_name()} ({os.cpu_count()} logical cores)"
    return info


def peak_memory(runtime: Runtime) -> tuple[int | None, str]:
    """The peak memory of the run in bytes, and what was measured."""
    device = runtime.device
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device)), "torch.cuda.max_memory_allocated"
    if device.type == "mps":
        return int(torch.mps.driver_allocated_memory()), "torch.mps.driver_allocated_memory"
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None, "unavailable"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024), "peak resident set size of the process"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
