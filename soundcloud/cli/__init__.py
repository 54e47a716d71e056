"""The ``soundcloud`` command: the API from a shell, built on :class:`soundcloud.Client`.

    $ soundcloud login                       # once: browser login, token kept in ~/.config
    $ soundcloud me
    $ soundcloud get /tracks q=ambient limit=2
    $ soundcloud upload tone.wav --title "A tone" --private
    $ soundcloud download https://soundcloud.com/forss/flickermood -o flickermood.mp3
    $ soundcloud demo                        # the whole tour against a built-in fake SoundCloud

Run ``soundcloud --help`` (or ``python -m soundcloud --help``) for every command. This
package is never compiled with mypyc and is not imported by ``import soundcloud``.

Modules, from the bottom up:

- :mod:`.exits`: exit statuses and :class:`~.exits.CLIError`.
- :mod:`.environment`: every option also from ``$SOUNDCLOUD_<LONG_NAME>``.
- :mod:`.config`: config and token paths, credentials, building the Client, the
  credentials kept out of output.
- :mod:`.params`: ``name=value`` / ``name@path`` arguments into request parameters.
- :mod:`.output`: printing results and status lines, error reports, ``--version``.
- :mod:`.progress`: progress bars on stderr.
- :mod:`.commands`: get/post/put/delete, me, resolve, search, upload, download, login, logout.
- :mod:`.demo`: ``soundcloud demo``, the tour against the fake SoundCloud.
- :mod:`.parser`: the argument parser and help texts.
- here: :func:`main`, the entry point (``soundcloud`` script, ``python -m soundcloud``).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Optional, Sequence

from ..errors import SoundCloudError
from .config import ENV_CLIENT_SECRET
from .environment import parse_with_environment
from .exits import EXIT_ERROR, EXIT_INTERRUPTED, PROG, CLIError
from .output import report
from .parser import build_parser

__all__ = ["main"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parse_with_environment(parser, argv, os.environ)
    except CLIError as exc:  # a bad $SOUNDCLOUD_* value
        return report(exc)
    handler: Callable[[argparse.Namespace], int] = args.handler
    if args.client_secret and "client_secret" not in args.from_environment:
        # Any local user can read a process's arguments (ps, /proc/PID/cmdline); not its
        # environment (/proc/PID/environ is readable by its owner only).
        sys.stderr.write(
            f"{PROG}: warning: --client-secret on the command line is visible to other users"
            f" of this computer; use --client-secret-file PATH or ${ENV_CLIENT_SECRET} instead\n"
        )
    try:
        return handler(args)
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `soundcloud search x | head -1`: the reader left; stay quiet (no traceback at exit).
        _silence_stdout()
        return EXIT_ERROR
    except (SoundCloudError, CLIError, OSError) as exc:
        return report(exc)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
