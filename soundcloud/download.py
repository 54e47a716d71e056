"""Streaming downloads to disk (stub: replaced by the download work)."""

from __future__ import annotations

from typing import Any

__all__ = ["download"]


def download(client: Any, source: Any, target: Any, *, progress: Any = None, resume: bool = True) -> int:
    """Stream ``source`` to ``target``."""
    raise NotImplementedError
