"""TLS client contexts: the system store, a CA bundle, or no verification.

``ssl`` is the largest import of all, so it is imported here only when a context is made
(the first https request): ``import soundcloud`` never loads it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    import ssl

__all__ = ["make_ssl_context"]


def make_ssl_context(verify: Union[bool, str]) -> ssl.SSLContext:
    """A client TLS context: the system store, a CA bundle path, or (``False``) no verification."""
    import ssl

    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(verify, str):
        if os.path.isdir(verify):
            context = ssl.create_default_context(capath=verify)
        else:
            context = ssl.create_default_context(cafile=verify)
    else:
        context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context
