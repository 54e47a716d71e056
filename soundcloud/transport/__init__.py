"""The HTTP transport: persistent ``http.client`` connections, proxies, TLS, timeouts, retries.

The boundary is narrow: :meth:`HTTPTransport.handle_request` takes a
:class:`~soundcloud._models.Request` and returns a :class:`Response` whose body is still on
the wire. Redirects and authentication belong to the client; sockets, keep-alive, proxies,
TLS, timeouts and retries belong here. Every ``OSError``, ``ssl.SSLError`` and
``http.client`` exception is translated into the package's errors in one place,
:func:`~soundcloud.transport.exceptions.map_exception`.

The modules, bottom to top (each one's docstring gives the choices made in it, where RFCs
and SoundCloud leave room):

- ``base``: :class:`Transport`, the interface a client needs (subclass it to inject another).
- ``exceptions``: failures of sockets, TLS and http.client mapped to :mod:`soundcloud.errors`.
- ``retry``: :class:`Retry`, the pure policy of what is retried and how long to wait.
- ``watchdog``: the total deadline, enforced by one thread per transport; how timeouts work.
- ``tls``: TLS contexts (``ssl`` is imported only for the first https request), and which
  sessions may be resumed.
- ``proxy``: :class:`Proxy`, explicit and environment proxies, ``NO_PROXY``.
- ``pool``: per-origin pools of idle keep-alive connections, checked before reuse, and each
  origin's last TLS session, offered when a new connection is opened (resumption).
- ``reader``: the response head read strictly (1xx, framing, fields, one read timeout);
  it derives from http.client's classes, so it comes with the first connection.
- ``eyeballs``: RFC 8305 connects: the host's addresses raced, both families interleaved,
  the next attempt 250 ms after the last (or at once when it fails), the first wins.
- ``connection``: routes, opening a connection (TCP, CONNECT tunnel, TLS), sending bodies.
- ``decoding``: ``Content-Encoding`` (gzip, deflate) decoded in bounded steps, with a size
  and a ratio guard against decompression bombs.
- ``response``: :class:`Response`, reading the body within limits and the deadline.
- ``http``: :class:`HTTPTransport`, the request path, the route cache and the retry loop.
"""

from __future__ import annotations

from .base import Transport
from .http import HTTPTransport
from .proxy import Proxy
from .response import DEFAULT_MAX_BODY_SIZE, Response
from .retry import Retry

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "HTTPTransport",
    "Proxy",
    "Response",
    "Retry",
    "Transport",
]
