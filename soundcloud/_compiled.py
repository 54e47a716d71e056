"""The modules a compiled (mypyc) build compiles: the one list setup.py and the tests read.

Names are relative to the package (``"transport.pool"`` is ``soundcloud/transport/pool.py``).
The choice is by measurement (``make bench``): the request path, encoding and wrapping
(``Resource``, and the typed models: ``_model`` with its field readers, the generated ``models``),
and the typed API around them (``pages``, whose loop wraps every item of a collection, and the
generated ``namespaces``).
Never listed: ``__init__`` modules (re-exports), ``errors`` (its exceptions also inherit
builtin ones such as TimeoutError and ValueError, which mypyc's native classes cannot, and
they are built only on failure paths), ``media`` (I/O bound), the loopback login (a one-off
local server), ``cli``, ``__main__`` and ``testing`` (glue bound by start-up time, and the fake).

setup.py reads this file with ``runpy.run_path`` before the package can be imported, so
it imports nothing but ``typing``.
"""

from __future__ import annotations

from typing import Final, Tuple

__all__ = ["COMPILED_MODULES"]

COMPILED_MODULES: Final[Tuple[str, ...]] = (
    "_fs",
    "_model",
    "_models",
    "_redact",
    "auth.authenticator",
    "auth.oauth",
    "auth.tokens",
    "client",
    "encoding",
    "models",
    "namespaces",
    "pages",
    "resources",
    "transport.base",
    "transport.connection",
    "transport.decoding",
    "transport.exceptions",
    "transport.eyeballs",
    "transport.http",
    "transport.pool",
    "transport.proxy",
    "transport.response",
    "transport.retry",
    "transport.tls",
    "transport.watchdog",
)
