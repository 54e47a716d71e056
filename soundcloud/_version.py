"""The package version, kept apart so every layer can read it without cycles."""

from __future__ import annotations

from typing import Final

__all__ = ["__version__"]

__version__: Final = "1.0.0"
