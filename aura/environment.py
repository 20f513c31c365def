"""Typed values from the environment: what aura.config reads every setting with.

An unset or empty variable takes its default, so `NAME=` in a .env file never means zero or "none".
"""

from __future__ import annotations

import os


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def env_str(name: str, default: str) -> str:
    """A setting that is unset *or empty* takes its default (an empty limit must not mean 'none')."""
    return os.environ.get(name, "").strip() or default


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}
