"""What drives the optimizer in a verify run, and which package it comes from (no torch here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KIND_FRAMEWORK = "framework"  # the framework's own scheduler object
KIND_TORCH = "torch"  # a torch scheduler class that expresses the same schedule
KIND_LRVIZ = "lrviz-lambda"  # LambdaLR over lrviz's own formula


@dataclass(frozen=True)
class Implementation:
    """Which object drives the optimizer, and how much a match with the prediction proves."""

    kind: str
    source: str  # how it was built, e.g. "transformers.get_scheduler('cosine_with_min_lr', ...)"
    class_name: str
    version: str  # of the package that provides it
    note: str = ""
    package: str = ""  # the distribution, where it is not the source's first module (megatron-core, nemo_toolkit)

    @property
    def is_framework(self) -> bool:
        return self.kind == KIND_FRAMEWORK

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source, "class": self.class_name, "version": self.version, "note": self.note,
                "package": self.package or self.source.split(".")[0]}


def package_version(package: str) -> str:
    """The installed version of a distribution (``megatron-core``, ``nemo_toolkit``), or "unknown"."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"
