"""Loopback addresses for racing connects (RFC 8305): one that never answers, one that
refuses, one that accepts; fake ``getaddrinfo`` answers; a socket factory that keeps what
it made.

- :class:`BlackHole`: a TCP address on 127.0.0.1 that never completes a handshake. It is
  a listening socket with a backlog of 0 whose accept queue is filled with connections
  nobody accepts: the kernel then drops every further SYN (Linux counts them as
  ``ListenOverflows``; the client's retransmissions are dropped too), so a connect to it
  neither succeeds nor fails before its timeout. :meth:`BlackHole.stays_silent` checks it.
- :class:`Refusing`: a port bound but not listening: a SYN to it gets a RST at once.
- :class:`Accepting`: a listening socket nobody accepts on: the kernel completes the
  handshakes, and :meth:`Accepting.queued` counts the connections that arrived.
- :func:`addrinfo` builds one ``getaddrinfo`` entry; :class:`Sockets` is a socket factory
  that records the sockets it made, to check afterwards which are closed.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import time
from typing import Any, List, Optional, Tuple

import pytest

__all__ = ["Accepting", "BlackHole", "Refusing", "Sockets", "addrinfo"]

#: How long a connect to the black hole must stay unanswered while it is being filled.
FILL_WAIT = 0.2
#: Connections the accept queue may take before the black hole gives up (a backlog of 0
#: holds one on Linux; other systems round it up a little).
MAX_FILL = 64

AddrInfo = Tuple[int, int, int, str, Tuple[Any, ...]]


def addrinfo(address: Tuple[Any, ...]) -> AddrInfo:
    """The ``getaddrinfo`` entry of a TCP ``address`` ((host, port) or an IPv6 4-tuple)."""
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    return (family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", address)


class BlackHole:
    """127.0.0.1 on a port that never answers a SYN (see the module docstring)."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._fill: List[socket.socket] = []
        self.address: Tuple[str, int] = ("", 0)

    def __enter__(self) -> "BlackHole":
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self.address = self._listener.getsockname()
        for _ in range(MAX_FILL):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex(self.address)
            _, writable, _ = select.select([], [sock], [], FILL_WAIT)
            if not writable:
                sock.close()  # this SYN was dropped: the queue is full
                return self
            self._fill.append(sock)
        self.close()
        pytest.skip(f"could not fill a listening socket's accept queue with {MAX_FILL} connections")

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        for sock in self._fill:
            sock.close()
        self._fill = []
        self._listener.close()

    def stays_silent(self, seconds: float) -> bool:
        """Whether a connect to it gets neither an answer nor an error within ``seconds``."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(seconds)
            try:
                sock.connect(self.address)
            except socket.timeout:
                return True
            except OSError:
                return False
            return False


class Refusing:
    """127.0.0.1 (or ``::1``) on a port bound but not listening: connects are refused."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.bind((host, 0))
        self.address: Tuple[Any, ...] = self._sock.getsockname()

    def __enter__(self) -> "Refusing":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._sock.close()


class Accepting:
    """A listening socket on 127.0.0.1 (or ``::1``) that accepts only when asked."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.bind((host, 0))
        self._sock.listen(16)
        self.address: Tuple[Any, ...] = self._sock.getsockname()

    def __enter__(self) -> "Accepting":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._sock.close()

    def queued(self, wait: float = 0.5) -> int:
        """Accept and close every connection that arrived; how many there were.

        Waits up to ``wait`` for the first one, then takes the others without waiting.
        """
        count = 0
        deadline = time.monotonic() + wait
        while True:
            left = max(0.0, deadline - time.monotonic()) if count == 0 else 0.0
            readable, _, _ = select.select([self._sock], [], [], left)
            if not readable:
                return count
            conn, _ = self._sock.accept()
            conn.close()
            count += 1


class Sockets:
    """A ``socket_factory(family, type, proto)`` that keeps every socket it made.

    ``refuse`` lists families for which it raises instead, as a system without that
    family does (EAFNOSUPPORT).
    """

    def __init__(self, refuse: Tuple[int, ...] = ()) -> None:
        self.made: List[socket.socket] = []
        self.families: List[int] = []
        self._refuse = refuse

    def __call__(self, family: int, kind: int, proto: int) -> socket.socket:
        self.families.append(family)
        if family in self._refuse:
            raise OSError(errno.EAFNOSUPPORT, os.strerror(errno.EAFNOSUPPORT))
        sock = socket.socket(family, kind, proto)
        self.made.append(sock)
        return sock

    def open(self, keep: Optional[socket.socket] = None) -> List[socket.socket]:
        """The sockets made and still open, apart from ``keep``."""
        return [sock for sock in self.made if sock is not keep and sock.fileno() != -1]
