"""Where the real public configs and logs live: ``shared/real-world`` beside the repository (CI lays it there)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_WORLD = ROOT.parent / "shared" / "real-world"
REAL_CONFIGS = REAL_WORLD / "configs"
REAL_LOGS = REAL_WORLD / "logs"


def real_files(folder: Path, *patterns: str) -> list[Path]:
    """Every file under ``folder`` matching one of ``patterns`` (sorted), or [] where shared/ is absent."""
    if not folder.is_dir():
        return []
    found = {path for pattern in patterns for path in folder.rglob(pattern) if path.is_file()}
    return sorted(found)


requires_real_world = pytest.mark.skipif(not REAL_WORLD.is_dir(), reason="../shared/real-world is not beside the repository")
