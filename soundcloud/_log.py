"""Logging that costs nothing until the application uses it.

``import logging`` is a sizeable share of a bare ``import soundcloud``, and records sent
before the application has imported ``logging`` could reach no handler anyway. So the
package imports it only once the application has (``'logging' in sys.modules``) and then
logs through ``logging.getLogger("soundcloud")`` with a ``NullHandler`` installed, as
libraries should.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Final, Optional

if TYPE_CHECKING:
    import logging

__all__ = ["LOGGER_NAME", "get_logger"]

LOGGER_NAME: Final = "soundcloud"


_logger: Optional[logging.Logger] = None


def get_logger() -> Optional[logging.Logger]:
    """The package's logger, or None while the application has not imported ``logging``."""
    global _logger
    logger = _logger
    if logger is not None:
        return logger
    if "logging" not in sys.modules:
        return None
    import logging

    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(handler, logging.NullHandler) for handler in logger.handlers):
        logger.addHandler(logging.NullHandler())
    _logger = logger
    return logger


def debug(message: str, *args: object) -> None:
    """Log ``message % args`` at DEBUG, when anyone could see it."""
    logger = get_logger()
    if logger is not None and logger.isEnabledFor(10):  # logging.DEBUG
        logger.debug(message, *args)


def warning(message: str, *args: object) -> None:
    """Log ``message % args`` at WARNING, when anyone could see it."""
    logger = get_logger()
    if logger is not None:
        logger.warning(message, *args)
