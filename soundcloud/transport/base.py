"""The narrow seam between the client and the network: the :class:`Transport` interface.

A transport takes a :class:`~soundcloud._models.Request` and returns a
:class:`~soundcloud.transport.response.Response` whose body is still on the wire. Redirects
and authentication belong to the client; sockets, keep-alive, proxies, TLS, timeouts and
retries belong to the transport (:class:`~soundcloud.transport.http.HTTPTransport`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._models import Request

if TYPE_CHECKING:
    from .response import Response

__all__ = ["Transport"]


class Transport:
    """What a client needs from a transport (subclass it to inject another one)."""

    def handle_request(self, request: Request) -> Response:
        """Send ``request`` and return the response with its body unread."""
        raise NotImplementedError

    def close(self) -> None:
        """Release every connection."""
