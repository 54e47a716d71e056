"""RFC 8305 connects: a host's addresses raced, families interleaved (section 4), the next
attempt 250 ms after the last one or at once when it failed (section 5), the first to
connect kept and every other attempt closed, all within the connect timeout; failures
mapped as before. Against loopback addresses that never answer, refuse or accept
(support.eyeballs), with the resolver injected instead of DNS."""

from __future__ import annotations

import socket
import time
from typing import Any, Callable, Iterator, List, Sequence, Tuple

import pytest

import soundcloud
from soundcloud._models import Timeout
from soundcloud.errors import ConnectError, TimeoutError
from soundcloud.transport import HTTPTransport
from soundcloud.transport.exceptions import STAGE_CONNECT, map_exception
from soundcloud.transport.eyeballs import CONNECTION_ATTEMPT_DELAY, connect_tcp, interleave

from support.eyeballs import Accepting, AddrInfo, BlackHole, Refusing, Sockets, addrinfo
from support.faults import FaultServer
from support.transport_calls import FAULT_TOKEN

CONNECT_TIMEOUT = 10.0
URL = "https://api.example/tracks"


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    with BlackHole() as hole:
        yield hole


def _ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")


class Resolver:
    """A ``getaddrinfo`` that answers with fixed addresses and records what it was asked."""

    def __init__(self, *addresses: Tuple[Any, ...]) -> None:
        self.infos = [addrinfo(address) for address in addresses]
        self.asked: List[Tuple[str, int, int, int]] = []

    def __call__(self, host: str, port: int, family: int, kind: int) -> Sequence[AddrInfo]:
        self.asked.append((host, port, family, kind))
        return self.infos


def timed(connect: Callable[[], socket.socket]) -> Tuple[socket.socket, float]:
    started = time.monotonic()
    sock = connect()
    return sock, time.monotonic() - started


# -- the address that never answers -----------------------------------------------------------


def test_the_black_hole_never_answers(black_hole: BlackHole) -> None:
    # The tests below rely on it for under a second; this outlasts the first SYN retransmission.
    assert black_hole.stays_silent(1.5)


# -- racing ---------------------------------------------------------------------------------------


def test_a_silent_first_address_gives_way_to_the_next_after_the_attempt_delay(black_hole: BlackHole) -> None:
    with Accepting() as server:
        resolver = Resolver(black_hole.address, server.address)
        sockets = Sockets()
        sock, elapsed = timed(
            lambda: connect_tcp("api.example", 443, CONNECT_TIMEOUT, resolver=resolver, socket_factory=sockets)
        )
        try:
            assert sock.getpeername() == server.address
            assert CONNECTION_ATTEMPT_DELAY == 0.25
            assert 0.2 <= elapsed < 2.0  # the delay, not the 10 s connect timeout
            assert resolver.asked == [("api.example", 443, 0, socket.SOCK_STREAM)]
            # The winner comes back blocking, with the connect timeout (TLS and CONNECT use it).
            assert sock.gettimeout() == CONNECT_TIMEOUT
            # The attempt at the black hole was closed; nothing else was left open.
            assert len(sockets.made) == 2 and sockets.open(keep=sock) == [] and sockets.made[1] is sock
        finally:
            sock.close()
        assert server.queued() == 1


def test_the_delay_is_a_parameter(black_hole: BlackHole) -> None:
    with Accepting() as server:
        resolver = Resolver(black_hole.address, server.address)
        sock, elapsed = timed(lambda: connect_tcp("api.example", 443, CONNECT_TIMEOUT, resolver=resolver, delay=0.05))
        with sock:
            assert sock.getpeername() == server.address
        assert 0.04 <= elapsed < 0.2


def test_a_refused_first_address_gives_way_at_once() -> None:
    with Refusing() as refusing, Accepting() as server:
        resolver = Resolver(refusing.address, server.address)
        sockets = Sockets()
        # A 5 s delay: only the failure can start the second attempt this soon.
        sock, elapsed = timed(
            lambda: connect_tcp("api.example", 443, CONNECT_TIMEOUT, resolver=resolver, delay=5.0, socket_factory=sockets)
        )
        with sock:
            assert sock.getpeername() == server.address
            assert sockets.open(keep=sock) == []
        assert elapsed < 1.0
        assert server.queued() == 1


def test_the_first_to_connect_wins_and_no_later_address_is_tried() -> None:
    with Accepting() as first, Accepting() as second:
        sockets = Sockets()
        sock = connect_tcp(
            "api.example", 443, CONNECT_TIMEOUT, resolver=Resolver(first.address, second.address), socket_factory=sockets
        )
        with sock:
            assert sock.getpeername() == first.address
            assert len(sockets.made) == 1  # RFC 8305 section 5: addresses not yet tried are dropped
        assert (first.queued(), second.queued(wait=0.1)) == (1, 0)


@needs_ipv6
def test_a_race_across_families_on_loopback(black_hole: BlackHole) -> None:
    with Refusing("::1") as refusing, Accepting() as server:
        sock = connect_tcp("api.example", 443, CONNECT_TIMEOUT, resolver=Resolver(refusing.address, server.address))
        with sock:
            assert sock.family == socket.AF_INET and sock.getpeername() == server.address
    with Accepting("::1") as server6:
        sock, elapsed = timed(
            lambda: connect_tcp(
                "api.example", 443, CONNECT_TIMEOUT, resolver=Resolver(black_hole.address, server6.address)
            )
        )
        with sock:
            assert sock.family == socket.AF_INET6 and sock.getpeername()[:2] == server6.address[:2]
        assert 0.2 <= elapsed < 2.0


# -- failures and bounds ----------------------------------------------------------------------------


def test_every_address_failing_raises_the_last_failure_mapped_as_before() -> None:
    unsupported = ("2001:db8::1", 443, 0, 0)
    with Refusing() as refusing:
        sockets = Sockets(refuse=(socket.AF_INET6,))
        with pytest.raises(ConnectionRefusedError) as refused:
            connect_tcp("api.example", 443, CONNECT_TIMEOUT, resolver=Resolver(unsupported, refusing.address),
                        socket_factory=sockets)  # fmt: skip
        assert sockets.families == [socket.AF_INET6, socket.AF_INET] and sockets.open() == []
        error = map_exception(refused.value, "GET", URL, stage=STAGE_CONNECT)
        assert isinstance(error, ConnectError) and "refused" in str(error)
        # The other way round, the last failure is the missing family's.
        with pytest.raises(OSError) as failed:
            connect_tcp("api.example", 443, CONNECT_TIMEOUT, resolver=Resolver(refusing.address, unsupported),
                        socket_factory=Sockets(refuse=(socket.AF_INET6,)))  # fmt: skip
        assert not isinstance(failed.value, ConnectionRefusedError)
        error = map_exception(failed.value, "GET", URL, stage=STAGE_CONNECT)
        assert isinstance(error, ConnectError) and "the connection failed" in str(error)


def test_a_name_that_does_not_resolve_is_mapped_as_before() -> None:
    def unknown(host: str, port: int, family: int, kind: int) -> Sequence[AddrInfo]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(socket.gaierror) as info:
        connect_tcp("nowhere.example", 443, CONNECT_TIMEOUT, resolver=unknown)
    error = map_exception(info.value, "GET", URL, stage=STAGE_CONNECT)
    assert isinstance(error, ConnectError) and "could not be resolved" in str(error)
    with pytest.raises(OSError, match="empty list"):
        connect_tcp("nowhere.example", 443, CONNECT_TIMEOUT, resolver=lambda *asked: [])


def test_the_connect_timeout_bounds_the_whole_race(black_hole: BlackHole) -> None:
    sockets = Sockets()
    resolver = Resolver(black_hole.address, black_hole.address, black_hole.address)
    started = time.monotonic()
    with pytest.raises(socket.timeout) as info:
        connect_tcp("api.example", 443, 0.6, resolver=resolver, socket_factory=sockets)
    elapsed = time.monotonic() - started
    assert 0.55 <= elapsed < 2.0
    assert len(sockets.made) == 3  # started at 0, 0.25 and 0.5 s: one timeout for them all
    assert sockets.open() == []
    error = map_exception(info.value, "GET", URL, stage=STAGE_CONNECT, timeout=Timeout(connect=0.6, read=5))
    assert isinstance(error, TimeoutError) and "connect timeout of 0.6 s" in str(error)


class SlowResolver(Resolver):
    """Answers after ``seconds`` of a clock it moves on (no real wait)."""

    def __init__(self, seconds: float, *addresses: Tuple[Any, ...]) -> None:
        super().__init__(*addresses)
        self.seconds = seconds
        self.offset = 0.0

    def clock(self) -> float:
        return time.monotonic() + self.offset

    def __call__(self, host: str, port: int, family: int, kind: int) -> Sequence[AddrInfo]:
        self.offset += self.seconds
        return super().__call__(host, port, family, kind)


def test_the_time_resolving_counts_against_the_connect_timeout(black_hole: BlackHole) -> None:
    with Accepting() as server:
        for addresses in ([server.address], [server.address, server.address]):
            resolver = SlowResolver(CONNECT_TIMEOUT, *addresses)
            sockets = Sockets()
            with pytest.raises(socket.timeout):
                connect_tcp("api.example", 443, CONNECT_TIMEOUT, resolver=resolver, clock=resolver.clock,
                            socket_factory=sockets)  # fmt: skip
            assert sockets.made == []
        # 9.6 of the 10 s gone resolving: the race gets the 0.4 s left, so it never
        # reaches the third address (0.5 s in).
        resolver = SlowResolver(CONNECT_TIMEOUT - 0.4, black_hole.address, black_hole.address, server.address)
        sockets = Sockets()
        with pytest.raises(socket.timeout):
            connect_tcp("api.example", 443, CONNECT_TIMEOUT, resolver=resolver, clock=resolver.clock,
                        socket_factory=sockets)  # fmt: skip
        assert len(sockets.made) == 2 and sockets.open() == []
        assert server.queued(wait=0.1) == 0


def test_a_single_address_is_one_plain_connect(black_hole: BlackHole) -> None:
    sockets = Sockets()
    with pytest.raises(socket.timeout):
        connect_tcp("api.example", 443, 0.3, resolver=Resolver(black_hole.address), socket_factory=sockets)
    assert len(sockets.made) == 1 and sockets.open() == []
    with Accepting() as server:
        host, port = server.address
        with connect_tcp(host, port, CONNECT_TIMEOUT) as sock:  # an IP literal, the system resolver
            assert sock.getpeername() == server.address and sock.gettimeout() == CONNECT_TIMEOUT
        assert server.queued() == 1


# -- the order of the attempts ------------------------------------------------------------------------


def _hosts(infos: Sequence[AddrInfo]) -> List[str]:
    return [info[4][0] for info in infos]


def test_families_interleave_the_first_address_family_first() -> None:
    v6 = [addrinfo((f"2001:db8::{n}", 443, 0, 0)) for n in (1, 2, 3)]
    v4 = [addrinfo((f"192.0.2.{n}", 443)) for n in (1, 2)]
    assert _hosts(interleave(v6 + v4)) == ["2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2", "2001:db8::3"]
    assert _hosts(interleave(v4 + v6)) == ["192.0.2.1", "2001:db8::1", "192.0.2.2", "2001:db8::2", "2001:db8::3"]
    # The resolver's order within a family is kept, wherever the families fall in its list.
    mixed = [v6[0], v6[1], v4[0], v6[2], v4[1]]
    assert _hosts(interleave(mixed)) == ["2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2", "2001:db8::3"]
    assert interleave(v4) == v4 and interleave([]) == []


def test_the_attempts_follow_the_interleaved_order() -> None:
    sockets = Sockets(refuse=(socket.AF_INET6, socket.AF_INET))
    resolver = Resolver(("2001:db8::1", 443, 0, 0), ("2001:db8::2", 443, 0, 0), ("192.0.2.1", 443), ("192.0.2.2", 443))
    with pytest.raises(OSError):
        connect_tcp("api.example", 443, CONNECT_TIMEOUT, resolver=resolver, socket_factory=sockets)
    assert sockets.families == [socket.AF_INET6, socket.AF_INET, socket.AF_INET6, socket.AF_INET]


# -- through the client --------------------------------------------------------------------------------


def test_a_client_request_to_a_host_name_connects(fault_server: FaultServer) -> None:
    # "localhost" goes through the resolver (where it also names ::1, the IPv4-only server
    # refuses that and the race moves on at once); the request succeeds end to end.
    url = fault_server.url.replace("127.0.0.1", "localhost")
    with soundcloud.Client(
        api_url=url, transport=HTTPTransport(proxies={}), access_token=FAULT_TOKEN, timeout=Timeout(connect=10, read=5)
    ) as client:
        started = time.monotonic()
        assert client.get("/json").ok is True
        assert time.monotonic() - started < 2.0
    assert fault_server.connections == 1


def test_a_client_request_to_a_refusing_port_is_a_connect_error() -> None:
    with Refusing() as refusing:
        url = "http://127.0.0.1:%d" % refusing.address[1]
        transport = HTTPTransport(proxies={}, max_retries=0)
        with soundcloud.Client(api_url=url, transport=transport, access_token=FAULT_TOKEN) as client:
            with pytest.raises(ConnectError, match="refused"):
                client.get("/json")
