"""The TCP connect: RFC 8305 "Happy Eyeballs", racing a host's addresses.

A host whose IPv6 route is broken (or one of whose addresses is down) must not make every
new connection wait out the whole connect timeout before the next address is tried, as
:func:`socket.create_connection` does (it tries the addresses one after the other, each
with the full timeout). :func:`connect_tcp` follows RFC 8305 instead:

- **Resolving.** One ``getaddrinfo`` call (``SOCK_STREAM``) gives both families at once,
  already sorted by the system's destination address selection (RFC 6724 section 6), so
  the Resolution Delay of RFC 8305 section 3 (for AAAA and A answers arriving apart) has
  nothing to wait for. The call blocks with the system resolver's own timeouts (no thread
  can cut it short), but its time counts against the connect timeout.
- **Ordering** (section 4, :func:`interleave`). The sorted list is interleaved by family:
  the first address's family first, then the other one's first address, and so on
  (a "First Address Family Count" of 1); what is left of the longer family follows in order.
- **Racing** (section 5). The first attempt starts at once; the next starts when the
  Connection Attempt Delay (250 ms, the RFC's recommended default) has passed without an
  answer, or at once when an attempt fails (refused, unreachable). Earlier attempts keep
  going meanwhile. The first attempt whose TCP handshake completes wins; every other one
  is closed, and addresses not yet tried are dropped. The attempts are non-blocking
  sockets waited on with :mod:`selectors`: no thread.
- **Bounds.** The connect timeout bounds resolving and the whole race together (the
  caller passes ``min(connect, time left before the total deadline)``, so the connect
  also ends by the deadline): when it runs out with attempts still pending, the error is
  a timeout (``socket.timeout``), as before. When every attempt failed before that, the
  error raised is the last failure's (as ``create_connection`` raises its last one):
  refused, unreachable, no such family. The caller maps it.
- **One address** (an IP literal, or a name with a single address) costs nothing more than
  ``create_connection``: one blocking connect with the time left, no selector.

The winning socket is returned blocking, with the connect timeout as its timeout (the
proxy's CONNECT answer and the TLS handshake use it); the caller then attaches it to the
total deadline's watchdog, so only the winner is ever attached.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
import time
from typing import Any, Callable, Final, List, Optional, Sequence, Tuple

__all__ = ["CONNECTION_ATTEMPT_DELAY", "connect_tcp", "interleave"]

# RFC 8305 section 8: the recommended default Connection Attempt Delay, in seconds.
CONNECTION_ATTEMPT_DELAY: Final = 0.25

# One getaddrinfo entry: (family, type, proto, canonname, sockaddr).
_AddrInfo = Tuple[int, int, int, str, Tuple[Any, ...]]

# A non-blocking connect that is under way (Windows says EWOULDBLOCK).
_IN_PROGRESS: Final = frozenset({errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN})


def interleave(infos: Sequence[_AddrInfo]) -> List[_AddrInfo]:
    """``infos`` in RFC 8305 section 4 order: families alternating, the first one's first.

    Within each family the order given (the resolver's RFC 6724 sort) is kept: IPv6
    addresses A, B, C and IPv4 addresses 1, 2 are tried as A, 1, B, 2, C.
    """
    if not infos:
        return []
    first_family = infos[0][0]
    first = [info for info in infos if info[0] == first_family]
    other = [info for info in infos if info[0] != first_family]
    if not other:
        return list(infos)
    ordered: List[_AddrInfo] = []
    for index in range(max(len(first), len(other))):
        if index < len(first):
            ordered.append(first[index])
        if index < len(other):
            ordered.append(other[index])
    return ordered


def connect_tcp(
    host: str,
    port: int,
    timeout: float,
    resolver: Callable[[str, int, int, int], Sequence[_AddrInfo]] = socket.getaddrinfo,
    delay: float = CONNECTION_ATTEMPT_DELAY,
    clock: Callable[[], float] = time.monotonic,
    socket_factory: Callable[[int, int, int], socket.socket] = socket.socket,
) -> socket.socket:
    """A connected TCP socket to ``host:port``, its addresses raced as RFC 8305 says.

    ``timeout`` bounds the connect as a whole, name resolution included (a resolver that
    alone takes longer leaves no time to connect); the socket comes back blocking, with
    ``timeout`` set. ``resolver`` is called like ``getaddrinfo(host, port, 0,
    SOCK_STREAM)``; ``delay`` is the Connection Attempt Delay; ``clock`` and
    ``socket_factory(family, type, proto)`` are what the race reads the time from and
    makes its sockets with (inject them to test without DNS).
    """
    deadline = clock() + timeout
    infos = resolver(host, port, 0, socket.SOCK_STREAM)
    if not infos:
        raise OSError("getaddrinfo returns an empty list")  # what create_connection says
    if len(infos) == 1:
        left = deadline - clock()
        if left <= 0:
            raise socket.timeout("timed out")
        family, kind, proto, _, address = infos[0]
        sock = socket_factory(family, kind, proto)
        try:
            sock.settimeout(left)
            sock.connect(address)
            sock.settimeout(timeout)
        except BaseException:
            sock.close()
            raise
        return sock
    sock = _race(interleave(infos), deadline, delay, clock, socket_factory)
    sock.settimeout(timeout)
    return sock


def _race(
    infos: List[_AddrInfo],
    deadline: float,
    delay: float,
    clock: Callable[[], float],
    socket_factory: Callable[[int, int, int], socket.socket],
) -> socket.socket:
    """The first of ``infos`` to connect by ``deadline``, attempts ``delay`` apart (section 5)."""
    selector = selectors.DefaultSelector()
    pending: List[socket.socket] = []
    winner: Optional[socket.socket] = None
    error: Optional[BaseException] = None
    index = 0
    next_start = 0.0  # the first attempt starts at once
    try:
        while winner is None:
            now = clock()
            if now >= deadline:
                raise socket.timeout("timed out")
            if index < len(infos) and (now >= next_start or not pending):
                family, kind, proto, _, address = infos[index]
                index += 1
                sock: Optional[socket.socket] = None
                try:
                    sock = socket_factory(family, kind, proto)
                    sock.setblocking(False)
                    code = sock.connect_ex(address)
                except OSError as exc:  # no such family here (IPv6 off), no route
                    if sock is not None:
                        sock.close()
                    error = exc
                    continue
                if code == 0:
                    winner = sock
                elif code in _IN_PROGRESS:
                    selector.register(sock, selectors.EVENT_WRITE, sock)
                    pending.append(sock)
                    next_start = now + delay
                else:
                    sock.close()
                    error = OSError(code, os.strerror(code))  # the errno's own subclass
                continue
            if not pending:
                break  # every address was tried and failed
            wait = deadline - now
            if index < len(infos):
                wait = min(wait, next_start - now)
            for key, _ in selector.select(max(wait, 0.0)):
                ready: socket.socket = key.data
                code = ready.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                selector.unregister(ready)
                pending.remove(ready)
                if code == 0 and winner is None:
                    winner = ready
                    continue
                ready.close()
                if code != 0:
                    error = OSError(code, os.strerror(code))
                    next_start = 0.0  # a failure starts the next attempt at once
    except BaseException:
        if winner is not None:
            winner.close()
        raise
    finally:
        for other in pending:
            other.close()
        selector.close()
    if winner is None:
        if error is None:  # pragma: no cover - every path out of the loop set one
            error = OSError("no address could be tried")
        raise error
    return winner
