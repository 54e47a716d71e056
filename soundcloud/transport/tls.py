"""TLS client contexts (the system store, a CA bundle, or no verification) and sessions.

``ssl`` is the largest import of all, so it is imported here only when a context is made
(the first https request): ``import soundcloud`` never loads it.

- **Session resumption.** A reconnect to an origin offers the session of that origin's
  last handshake (a TLS 1.2 session ID or RFC 5077 ticket, a TLS 1.3 ticket: RFC 8446
  section 2.2), so the server may resume it: no certificate is sent or checked, and
  TLS 1.2 skips the key exchange too. A resumed handshake checks no host name, so a
  session must never go to another origin or through another proxy: it is kept by the
  origin's :class:`~soundcloud.transport.pool.ConnectionPool`, whose key holds the
  scheme, host, port and proxy. Only contexts that verify the certificate and the host
  name keep sessions: a resumed session stands for the verification done when it was
  made. A server that refuses the session (its cache or ticket keys are gone) simply
  makes a full handshake, whose session is kept next. TLS 1.3 sends its tickets after
  the handshake, so the pool reads a TLS 1.3 connection's session once its first answer
  has been read (:meth:`~soundcloud.transport.pool.ConnectionPool.handshake_done`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Optional, Union

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


def _verifies(context: ssl.SSLContext) -> bool:
    """Whether ``context`` checks the server's certificate and host name (its sessions may be kept)."""
    import ssl

    return context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def _resumable_session(sock: ssl.SSLSocket) -> Optional[ssl.SSLSession]:
    """The session of ``sock`` if a later handshake can offer it, else None.

    A ticket can always be offered. Without one, a TLS 1.2 session ID can (an empty ID: the
    server did not cache it); in TLS 1.3 only tickets resume, and before the first ticket
    arrives the session has neither.
    """
    session = sock.session
    if session is None:  # pragma: no cover - None only before a handshake or once closed
        return None
    if session.has_ticket:
        return session
    if session.id and sock.version() != "TLSv1.3":
        return session
    return None
