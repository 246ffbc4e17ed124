"""Shared test settings: a headless matplotlib backend and deterministic hypothesis runs."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

from hypothesis import settings  # noqa: E402

settings.register_profile("lrviz", deadline=None, derandomize=True, max_examples=200)
settings.load_profile("lrviz")
