"""``python -m soundcloud``: the command-line tool (see :mod:`soundcloud.cli`)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
