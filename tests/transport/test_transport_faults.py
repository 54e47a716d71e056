"""Protocol faults that are neither a retry decision nor a deadline: a reset after the answer
began, truncated and close-delimited bodies, broken chunked encoding, garbage instead of
HTTP and absurd headers, each the documented exception; request bodies that fail or are
cut off mid-upload; and a client that keeps working on its pool after every one of them."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

import pytest

import soundcloud
from soundcloud._models import Timeout

from support.faults import FaultServer
from support.transport_calls import Waits, fetch, send


# -- broken answers -------------------------------------------------------------------------


def test_reset_after_headers_is_a_protocol_error_and_not_retried(
    client: soundcloud.Client, fault_server: FaultServer, waits: Waits
) -> None:
    with pytest.raises(soundcloud.ProtocolError, match="reset"):
        client.get("/reset-after-headers")
    assert fault_server.count() == 1 and waits == []


def test_close_mid_body(client: soundcloud.Client, fault_server: FaultServer) -> None:
    with pytest.raises(soundcloud.ProtocolError, match="after 10 bytes of the body, 90 more were expected"):
        client.get("/close-mid-body")
    assert fault_server.count() == 1


def test_broken_chunked_encoding(client: soundcloud.Client, fault_server: FaultServer) -> None:
    with pytest.raises(soundcloud.ProtocolError):
        client.get("/broken-chunked")
    assert fault_server.count() == 1


def test_close_delimited_body_is_read_to_the_end(client: soundcloud.Client, fault_server: FaultServer) -> None:
    assert client.get("/close-delimited").ok is True
    assert client.get("/json").ok is True
    assert fault_server.connections == 2  # the close-delimited one could not be reused


def test_garbage_instead_of_http(client: soundcloud.Client, fault_server: FaultServer, waits: Waits) -> None:
    with pytest.raises(soundcloud.ProtocolError, match="malformed HTTP response"):
        client.get("/garbage")
    assert fault_server.count() == 1 and waits == []


def test_absurd_headers(client: soundcloud.Client, fault_server: FaultServer) -> None:
    with pytest.raises(soundcloud.ResponseTooLargeError, match="headers are too large"):
        client.get("/huge-headers")
    with pytest.raises(soundcloud.ResponseTooLargeError, match="headers are too large"):
        client.get("/huge-headers", count="1", size="100000")
    assert client.get("/json").ok is True


# -- request bodies -------------------------------------------------------------------------


def test_body_iterator_errors_propagate_unchanged(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()

    def body() -> Iterator[bytes]:
        yield b"first"
        raise OSError("the file went away")

    with pytest.raises(OSError, match="the file went away") as caught:
        send(transport, "POST", fault_server.url + "/echo", body(), headers={"Content-Length": "100"}, replayable=False)
    assert not isinstance(caught.value, soundcloud.SoundCloudError)
    assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200


def test_an_interrupted_upload_propagates_and_drops_the_connection(
    make_transport: Any, fault_server: FaultServer
) -> None:
    transport, _ = make_transport()
    assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200

    def body() -> Iterator[bytes]:
        yield b"half"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        send(transport, "PUT", fault_server.url + "/echo", body(), headers={"Content-Length": "8"},
             timeout=Timeout(5, total=30))
    assert transport._watchdog._live == 0
    assert fetch(transport, "GET", fault_server.url + "/json")[0] == 200
    assert fault_server.connections == 2


def test_upload_cut_off_is_an_upload_interrupted_error(make_transport: Any, fault_server: FaultServer) -> None:
    transport, waits = make_transport()
    size = 64 * 1024 * 1024

    def body() -> Iterator[bytes]:
        chunk = b"x" * (1024 * 1024)
        for _ in range(64):
            yield chunk

    # The server resets once the head is in; the body is still going out.
    with pytest.raises(soundcloud.UploadInterruptedError, match="not retried"):
        send(
            transport, "POST", fault_server.url + "/reset-before-body", body(),
            headers={"Content-Length": str(size)}, replayable=False, retry=True,
        )
    assert fault_server.count() == 1 and waits.waits == []


# -- the pool survives every fault ----------------------------------------------------------


@pytest.mark.parametrize(
    "path, error",
    [
        ("/reset-before-headers", soundcloud.ProtocolError),
        ("/reset-after-headers", soundcloud.ProtocolError),
        ("/close-mid-body", soundcloud.ProtocolError),
        ("/broken-chunked", soundcloud.ProtocolError),
        ("/garbage", soundcloud.ProtocolError),
        ("/huge-headers", soundcloud.ResponseTooLargeError),
        ("/stall", soundcloud.TimeoutError),
        ("/stall-after-headers", soundcloud.TimeoutError),
        ("/drip-headers?bytes=400&delay=0.01", soundcloud.TimeoutError),
        (None, None),
    ],
)
def test_client_keeps_working_after_a_fault(
    client_factory: Callable[..., soundcloud.Client],
    fault_server: FaultServer,
    path: Optional[str],
    error: Optional[type],
) -> None:
    client = client_factory(max_retries=0, timeout=Timeout(connect=5, read=0.5, total=1.5))
    assert client.get("/json").hit == 1
    if path is not None and error is not None:
        with pytest.raises(error):
            client.get(path)
    for _ in range(3):
        assert client.get("/json").ok is True
    assert fault_server.count("/json") == 4
