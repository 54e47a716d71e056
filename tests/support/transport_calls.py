"""Client-side helpers shared by the transport's tests (tests/transport/): ``send`` and
``fetch`` put one request through an HTTPTransport, ``Waits`` is the injected sleep that
records backoff waits, ``closed_port`` a port that refuses connections, the tokens the
fixtures of tests/transport/conftest.py send (and ``no_token_in`` to check an error never
shows one), and ``run_threads`` starts worker threads together and joins them with a bound.

Unlike the server modules of this package, which conftest.py imports before any test runs,
this module imports ``soundcloud`` at the top: only the transport's tests and their conftest
import it."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from soundcloud._models import Request, Timeout
from soundcloud.transport import HTTPTransport, Response

from .faults import KeepAliveServer
from .wire import wait_until

__all__ = [
    "FAULT_TOKEN",
    "TIMEOUT",
    "TLS_TOKEN",
    "Waits",
    "closed_port",
    "elapsed_since",
    "fetch",
    "no_token_in",
    "run_threads",
    "send",
    "wait_closed_by_client",
]

#: The timeout of :func:`send` and of the ``clients`` fixture's clients.
TIMEOUT = Timeout(5)

#: The token of the ``client_factory`` and ``client`` fixtures (against the fault server).
FAULT_TOKEN = "fault-token-d0n0tl0g"

#: The token of the ``clients`` fixture (TLS and proxies).
TLS_TOKEN = "tls-proxy-token-never-in-clear"

#: How long :func:`run_threads` waits for its threads, in seconds.
JOIN_TIMEOUT = 120.0


class Waits(List[float]):
    """An injected ``sleep``: records the waits instead of sleeping. It is the list of them,
    and ``waits.waits`` is that same list (the spelling of the tests that get one from
    ``make_transport``)."""

    @property
    def waits(self) -> List[float]:
        return self

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def send(
    transport: HTTPTransport,
    method: str,
    url: str,
    body: Any = None,
    *,
    headers: Optional[Dict[str, str]] = None,
    timeout: Timeout = TIMEOUT,
    retry: Optional[bool] = None,
    replayable: bool = True,
) -> Response:
    headers = dict(headers or {})
    if isinstance(body, bytes):
        headers.setdefault("Content-Length", str(len(body)))
    request = Request(method, url, headers, body, timeout, replayable)
    request.retry = retry
    return transport.handle_request(request)


def fetch(transport: HTTPTransport, method: str, url: str, body: Any = None, **kwargs: Any) -> Tuple[int, bytes, int]:
    """Status, whole body and retry count."""
    response = send(transport, method, url, body, **kwargs)
    return response.status_code, response.read_all(), response.retries


def closed_port() -> int:
    """A port on 127.0.0.1 that was bound and closed: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_closed_by_client(server: KeepAliveServer, count: int) -> None:
    wait_until(lambda: server.closed_by_client >= count, message="the client closed %d connection(s)" % count)


def elapsed_since(started: float) -> float:
    return time.monotonic() - started


def no_token_in(error: BaseException) -> None:
    assert FAULT_TOKEN not in str(error) and FAULT_TOKEN not in repr(error)


def run_threads(count: int, work: Callable[[int], None]) -> None:
    """Run ``work(index)`` in ``count`` threads started together; re-raise the first failure."""
    errors: List[BaseException] = []
    start = threading.Barrier(count)

    def body(index: int) -> None:
        try:
            start.wait(10)
            work(index)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,), name="worker-%d" % i, daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "worker threads did not finish in time"
    if errors:
        raise errors[0]
