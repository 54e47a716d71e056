"""Exit statuses of the ``soundcloud`` command and :class:`CLIError`, the error it reports.

Every failure ends as one line on stderr and one of these statuses (see the
"exit status" part of ``soundcloud --help``). The bottom of the CLI package: it imports
nothing else from it.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "EXIT_AUTH",
    "EXIT_ERROR",
    "EXIT_HTTP",
    "EXIT_INTERRUPTED",
    "EXIT_NETWORK",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "CLIError",
]


PROG: Final = "soundcloud"

# Exit statuses. 2 is argparse's own for usage errors, so everything else stays clear of it.
EXIT_OK: Final = 0
EXIT_ERROR: Final = 1  # anything else: a local file, a bad response body, a redirect loop
EXIT_USAGE: Final = 2
EXIT_NETWORK: Final = 3  # no usable HTTP response: refused, timed out, cut off
EXIT_HTTP: Final = 4  # the API answered 4xx/5xx (other than 401)
EXIT_AUTH: Final = 5  # no credentials, a 401, the authorization server refused, login unfinished
EXIT_INTERRUPTED: Final = 130  # Ctrl-C, as shells report SIGINT


class CLIError(Exception):
    """An error the CLI reports as one line with a chosen exit status."""

    def __init__(self, message: str, status: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
