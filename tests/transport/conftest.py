"""Fixtures of the transport's tests (tests/transport/). Transports and clients whose
backoff waits go to a recording ``Waits`` instead of a real sleep: ``make_transport``
builds HTTPTransports; ``waits``, ``client_factory`` and ``client`` are clients of the
``fault_server``; ``clients`` builds clients for the TLS and proxy tests. And two servers:
``keepalive_server`` (support.faults.KeepAliveServer) and ``scripted``
(support.faults.ScriptedServer, one script per connection). Everything made here is closed
or stopped at teardown."""

from __future__ import annotations

from typing import Any, Callable, Iterator, List, Tuple

import pytest

import soundcloud
from soundcloud._models import Timeout
from soundcloud.transport import HTTPTransport

from support.faults import FaultServer, KeepAliveServer, Script, ScriptedServer
from support.transport_calls import FAULT_TOKEN, TIMEOUT, TLS_TOKEN, Waits


@pytest.fixture
def make_transport() -> Iterator[Callable[..., Tuple[HTTPTransport, Waits]]]:
    """Build transports with a recording sleep and a fixed jitter; closed after the test."""
    made: List[HTTPTransport] = []

    def make(**kwargs: Any) -> Tuple[HTTPTransport, Waits]:
        waits = Waits()
        kwargs.setdefault("sleep", waits)
        kwargs.setdefault("random", lambda: 0.5)
        kwargs.setdefault("proxies", {})
        transport = HTTPTransport(**kwargs)
        made.append(transport)
        return transport, waits

    yield make
    for transport in made:
        transport.close()


@pytest.fixture
def keepalive_server() -> Iterator[KeepAliveServer]:
    with KeepAliveServer() as server:
        yield server


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def client_factory(fault_server: FaultServer, waits: Waits) -> Iterator[Callable[..., soundcloud.Client]]:
    made: List[soundcloud.Client] = []

    def make(*, max_retries: int = 3, timeout: Any = Timeout(5), **kwargs: Any) -> soundcloud.Client:
        transport = HTTPTransport(proxies={}, max_retries=max_retries, sleep=waits, random=lambda: 0.5)
        kwargs.setdefault("access_token", FAULT_TOKEN)
        client = soundcloud.Client(api_url=fault_server.url, transport=transport, timeout=timeout, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(client_factory: Callable[..., soundcloud.Client]) -> soundcloud.Client:
    return client_factory()


@pytest.fixture
def clients() -> Iterator[Callable[..., soundcloud.Client]]:
    made: List[soundcloud.Client] = []

    def make(**kwargs: Any) -> soundcloud.Client:
        kwargs.setdefault("timeout", TIMEOUT)
        kwargs.setdefault("access_token", TLS_TOKEN)
        client = soundcloud.Client(**kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def scripted() -> Iterator[Callable[[Script], ScriptedServer]]:
    servers: List[ScriptedServer] = []

    def make(script: Script) -> ScriptedServer:
        server = ScriptedServer(script).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
