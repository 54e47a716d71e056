"""How the transport reads where an answer starts and ends (RFC 9112 sections 4 to 6), against
a real server writing exact bytes: interim 1xx answers are skipped, however many come, and
never taken for the answer; bytes left on a kept-alive connection (a late body after a HEAD,
more than Content-Length) are never read as the next answer; an invalid or conflicting
Content-Length, a header field with a NUL, a bare CR, obsolete line folding or no colon is a
ProtocolError and the connection is closed; and the whole head (1xx included) must arrive
within one read timeout (a proxy's CONNECT answer within the connect timeout), while a body
keeps a read timeout per chunk."""

from __future__ import annotations

import io
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, List

import pytest

import soundcloud
from soundcloud._models import Timeout

from support.base import CLIENT
from support.faults import FaultServer, read_head
from support.framing import LateBytes, head, interim_flood, raw_answer
from support.transport_calls import fetch, send
from support.wire import wait_until

OK = head("HTTP/1.1 200 OK", "Content-Type: application/json", "Content-Length: 11") + b'{"ok":true}'
HINTS = head("HTTP/1.1 103 Early Hints", "Link: </style.css>; rel=preload")


def _next_answer_is_its_own(transport: Any, server: FaultServer) -> None:
    status, body, _ = fetch(transport, "GET", server.url + "/json")
    assert status == 200 and b'"path":"/json"' in body


# -- interim (1xx) answers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "interim",
    [
        [HINTS],
        [head("HTTP/1.1 100 Continue")],
        [head("HTTP/1.1 100 Continue"), head("HTTP/1.1 102 Processing"), HINTS, HINTS, head("HTTP/1.1 199 Odd")],
    ],
    ids=["103", "100", "five"],
)
@pytest.mark.parametrize("pause", [0.0, 0.02], ids=["one-write", "apart"])
def test_interim_answers_are_skipped_and_the_connection_stays_in_step(
    make_transport: Any, fault_server: FaultServer, interim: List[bytes], pause: float
) -> None:
    transport, _ = make_transport()
    fault_server.enqueue(raw_answer(*interim, OK, pause=pause))
    assert fetch(transport, "GET", fault_server.url + "/hinted")[:2] == (200, b'{"ok":true}')
    _next_answer_is_its_own(transport, fault_server)
    assert fault_server.connections == 1


def test_a_download_after_early_hints_saves_the_body(
    client_factory: Callable[..., soundcloud.Client], fault_server: FaultServer, tmp_path: Path
) -> None:
    client = client_factory()
    audio = head("HTTP/1.1 200 OK", "Content-Type: audio/mpeg", "Content-Length: 5") + b"audio"
    fault_server.enqueue(raw_answer(HINTS, audio))
    target = tmp_path / "track.mp3"
    assert client.download(fault_server.url + "/media/track.mp3", target) == 5
    assert target.read_bytes() == b"audio"
    assert client.get("/json").ok is True


@pytest.mark.parametrize(
    "interim",
    [
        head("HTTP/1.1 103 Early Hints", *("Link: </%d.css>" % i for i in range(101))),
        head("HTTP/1.1 103 Early Hints", "Link: " + "x" * 70000),
    ],
    ids=["101-fields", "long-line"],
)
def test_interim_answers_have_the_limits_of_a_head(
    make_transport: Any, fault_server: FaultServer, interim: bytes
) -> None:
    transport, _ = make_transport()
    fault_server.enqueue(raw_answer(interim, OK))
    with pytest.raises(soundcloud.ResponseTooLargeError, match="headers are too large"):
        send(transport, "GET", fault_server.url + "/hinted")
    _next_answer_is_its_own(transport, fault_server)


def test_101_is_final_and_its_connection_is_never_reused(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    fault_server.enqueue(raw_answer(head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade")))
    assert fetch(transport, "GET", fault_server.url + "/upgrade")[:2] == (101, b"")
    _next_answer_is_its_own(transport, fault_server)
    assert fault_server.connections == 2


def test_a_flood_of_interim_answers_is_bounded_by_the_read_timeout(
    make_transport: Any, fault_server: FaultServer
) -> None:
    transport, waits = make_transport()
    fault_server.enqueue(interim_flood(0.02))
    started = time.monotonic()
    with pytest.raises(soundcloud.TimeoutError, match="no response within the read timeout of 0.3 s"):
        send(transport, "GET", fault_server.url + "/hinted", timeout=Timeout(connect=5, read=0.3))
    assert time.monotonic() - started < 2
    assert waits.waits == []  # a read timeout is not retried


# -- bytes left on a kept-alive connection ---------------------------------------------------


STALE = head("HTTP/1.1 200 OK", "Content-Length: 5") + b"stale"


@pytest.mark.parametrize(
    "method, answer, late",
    [
        ("HEAD", head("HTTP/1.1 200 OK", "Content-Length: 5"), b"hello"),
        ("HEAD", head("HTTP/1.1 200 OK", "Content-Length: 5"), STALE),
        ("GET", head("HTTP/1.1 200 OK", "Content-Length: 2") + b"ok", STALE),
        ("GET", head("HTTP/1.1 204 No Content"), STALE),
    ],
    ids=["head-late-body", "head-late-answer", "past-content-length", "after-204"],
)
def test_bytes_left_on_a_connection_are_never_read_as_the_next_answer(
    make_transport: Any, fault_server: FaultServer, method: str, answer: bytes, late: bytes
) -> None:
    transport, waits = make_transport()
    leftover = LateBytes(answer, late)
    fault_server.enqueue(leftover)
    assert send(transport, method, fault_server.url + "/first").read_all() in (b"", b"ok")
    fault_server.release()
    assert leftover.sent.wait(5), "the server sent the late bytes"
    _next_answer_is_its_own(transport, fault_server)
    assert fault_server.connections == 2
    wait_until(lambda: fault_server.closed_by(1) == CLIENT, message="the client closed connection 1")
    assert waits.waits == []


# -- Content-Length and Transfer-Encoding ----------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        ["Content-Length: abc"],
        ["Content-Length: -1"],
        ["Content-Length: +2"],
        ["Content-Length: 0x2"],
        ["Content-Length: 1_0"],
        ["Content-Length: \xb2"],  # superscript two: str.isdigit() says yes
        ["Content-Length: "],
        ["Content-Length: 2 2"],
        ["Content-Length: 2, 3"],
        ["Content-Length: 2", "Content-Length: 3"],
        ["Content-Length: " + "9" * 5000],
    ],
    ids=["abc", "-1", "+2", "hex", "underscore", "superscript", "empty", "two-numbers", "list", "two-fields", "huge"],
)
def test_an_invalid_or_conflicting_content_length_is_a_protocol_error(
    make_transport: Any, fault_server: FaultServer, fields: List[str]
) -> None:
    transport, waits = make_transport()
    fault_server.enqueue(raw_answer(head("HTTP/1.1 200 OK", *fields) + b"ok"))
    with pytest.raises(soundcloud.ProtocolError, match="Content-Length"):
        send(transport, "GET", fault_server.url + "/framed", timeout=Timeout(connect=5, read=1))
    wait_until(lambda: fault_server.closed_by(1) == CLIENT, message="the client closed the connection")
    _next_answer_is_its_own(transport, fault_server)
    assert waits.waits == []  # malformed answers are not retried


@pytest.mark.parametrize(
    "fields",
    [["Content-Length: 2, 2"], ["Content-Length: 2", "Content-Length: 2"], ["Content-Length: 002"]],
    ids=["list", "two-fields", "leading-zeros"],
)
def test_repeated_identical_content_lengths_are_one(
    make_transport: Any, fault_server: FaultServer, fields: List[str]
) -> None:
    transport, _ = make_transport()
    fault_server.enqueue(raw_answer(head("HTTP/1.1 200 OK", *fields) + b"ok"))
    assert fetch(transport, "GET", fault_server.url + "/framed", timeout=Timeout(connect=5, read=1))[:2] == (200, b"ok")
    _next_answer_is_its_own(transport, fault_server)
    assert fault_server.connections == 1


def test_chunked_with_a_content_length_is_read_chunked_and_never_reused(
    make_transport: Any, fault_server: FaultServer
) -> None:
    transport, _ = make_transport()
    answer = head("HTTP/1.1 200 OK", "Content-Length: 100", "Transfer-Encoding: chunked") + b"2\r\nok\r\n0\r\n\r\n"
    fault_server.enqueue(raw_answer(answer))
    assert fetch(transport, "GET", fault_server.url + "/framed")[:2] == (200, b"ok")
    _next_answer_is_its_own(transport, fault_server)
    assert fault_server.connections == 2


def test_a_transfer_coding_other_than_chunked_is_a_protocol_error(
    make_transport: Any, fault_server: FaultServer
) -> None:
    transport, _ = make_transport()
    answer = head("HTTP/1.1 200 OK", "Transfer-Encoding: gzip, chunked") + b"2\r\nok\r\n0\r\n\r\n"
    fault_server.enqueue(raw_answer(answer))
    with pytest.raises(soundcloud.ProtocolError, match="Transfer-Encoding"):
        send(transport, "GET", fault_server.url + "/framed", timeout=Timeout(connect=5, read=1))
    _next_answer_is_its_own(transport, fault_server)


def test_a_204_has_no_body_whatever_its_fields_say(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    fault_server.enqueue(raw_answer(head("HTTP/1.1 204 No Content", "Transfer-Encoding: chunked")))
    assert fetch(transport, "GET", fault_server.url + "/empty", timeout=Timeout(connect=5, read=1))[:2] == (204, b"")
    _next_answer_is_its_own(transport, fault_server)


# -- header fields a strict reader refuses ---------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "X-Bad: a\x00b",
        "X-Folded: a\r\n b",
        "X-Folded: a\r\n\tb",
        "X-Bad: a\rb",
        "no colon here",
        "Content-Length : 2",
        ": no name",
        " X-Leading: space",
    ],
    ids=["nul", "fold-space", "fold-tab", "bare-cr", "no-colon", "space-before-colon", "no-name", "leading-space"],
)
def test_a_malformed_header_field_is_a_protocol_error(
    make_transport: Any, fault_server: FaultServer, line: str
) -> None:
    transport, waits = make_transport()
    fault_server.enqueue(raw_answer(head("HTTP/1.1 200 OK", line, "Content-Length: 2") + b"ok"))
    with pytest.raises(soundcloud.ProtocolError, match="malformed HTTP response"):
        send(transport, "GET", fault_server.url + "/fields", timeout=Timeout(connect=5, read=1))
    wait_until(lambda: fault_server.closed_by(1) == CLIENT, message="the client closed the connection")
    _next_answer_is_its_own(transport, fault_server)
    assert waits.waits == []


def test_values_are_kept_as_sent_less_surrounding_whitespace(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport()
    answer = head("HTTP/1.1 200 OK", "X-Spaced: \t a  b \t", "X-Empty:", "X-Latin: caf\xe9", "Content-Length: 2")
    fault_server.enqueue(raw_answer(answer + b"ok"))
    response = send(transport, "GET", fault_server.url + "/fields")
    assert response.headers.raw_items()[:3] == [("X-Spaced", "a  b"), ("X-Empty", ""), ("X-Latin", "caf\xe9")]
    assert response.read_all() == b"ok"


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\nContent-Length: 2\n\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\n\n\r\n",
        b"HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\n\n\n",
    ],
    ids=["lf", "mixed", "crlf-then-lf-body"],
)
@pytest.mark.parametrize("pause", [0.0, 0.02], ids=["one-write", "byte-by-byte"])
def test_bare_line_feeds_end_lines_and_the_head_ends_at_the_first_empty_line(
    make_transport: Any, fault_server: FaultServer, answer: bytes, pause: float
) -> None:
    # RFC 9112 section 2.2: a recipient may take a bare LF for a line's end. The body here
    # starts with what would also end a head.
    transport, _ = make_transport()
    pieces = [answer[i : i + 1] for i in range(len(answer))] if pause else [answer]
    fault_server.enqueue(raw_answer(*pieces, pause=pause / 10))
    status, body, _ = fetch(transport, "GET", fault_server.url + "/lf")
    assert (status, body) == (200, answer[-2:])
    _next_answer_is_its_own(transport, fault_server)
    assert fault_server.connections == 1


# -- how long a head may take ----------------------------------------------------------------


def test_a_dripping_head_is_bounded_by_the_read_timeout(make_transport: Any, fault_server: FaultServer) -> None:
    transport, _ = make_transport(max_retries=0)
    started = time.monotonic()
    # About 90 bytes of head, 0.05 s apart: each byte comes well within the read timeout.
    with pytest.raises(soundcloud.TimeoutError, match="no response within the read timeout of 0.3 s"):
        send(transport, "GET", fault_server.url + "/drip-headers?bytes=11&delay=0.05", timeout=Timeout(connect=5, read=0.3))
    assert time.monotonic() - started < 1.5


def test_a_head_in_many_pieces_within_the_read_timeout_is_read_whole(
    make_transport: Any, fault_server: FaultServer
) -> None:
    transport, _ = make_transport()
    status, body, _ = fetch(transport, "GET", fault_server.url + "/drip-headers?bytes=40&delay=0.001")
    assert status == 200 and body == b'{"drip":"' + b"x" * 29 + b'"}'


def test_the_body_keeps_a_read_timeout_per_chunk(make_transport: Any, fault_server: FaultServer) -> None:
    # The head comes in two pieces (the reader's slow path), then the body drips for
    # longer than one read timeout: the body is not held to the head's bound.
    transport, _ = make_transport()
    answer = head("HTTP/1.1 200 OK", "Content-Length: 20")
    fault_server.enqueue(raw_answer(answer[:20], answer[20:], *[b"x"] * 20, pause=0.04))
    response = send(transport, "GET", fault_server.url + "/slow-body", timeout=Timeout(connect=5, read=0.4))
    started = time.monotonic()
    assert response.read() == b"x" * 20
    assert time.monotonic() - started > 0.4


def test_a_dripping_connect_answer_is_bounded_by_the_connect_timeout(
    clients: Callable[..., soundcloud.Client], scripted: Any, tls_server: Any
) -> None:
    def slow_proxy(conn: socket.socket, stop: threading.Event) -> None:
        read_head(conn)
        answer = b"HTTP/1.1 200 Connection established\r\nX-Slow: " + b"y" * 200 + b"\r\n\r\n"
        for index in range(len(answer)):
            conn.sendall(answer[index : index + 1])
            if stop.wait(0.02):
                return

    server = scripted(slow_proxy)
    client = clients(
        api_url=tls_server.url,
        proxies={"https": "127.0.0.1:%d" % server.port},
        verify_ssl=tls_server.ca_path,
        timeout=Timeout(connect=0.3, read=5),
        max_retries=0,
    )
    started = time.monotonic()
    with pytest.raises(soundcloud.TimeoutError, match="connect timeout of 0.3 s"):
        client.get("/json")
    assert time.monotonic() - started < 1.5
    assert tls_server.requests == []


def test_an_answer_that_is_not_http_fails_at_its_first_line(make_transport: Any, fault_server: FaultServer) -> None:
    # An SSH banner and then silence: no need to wait for the end of a head that never comes.
    transport, _ = make_transport(max_retries=0)
    fault_server.enqueue(raw_answer(b"SSH-2.0-OpenSSH_9.6\r\n", b"", pause=5.0))
    started = time.monotonic()
    with pytest.raises(soundcloud.ProtocolError, match="malformed HTTP response"):
        send(transport, "GET", fault_server.url + "/banner", timeout=Timeout(connect=5, read=3))
    assert time.monotonic() - started < 1.5


def test_bytes_left_inside_tls_are_never_read_as_the_next_answer(
    clients: Callable[..., soundcloud.Client], scripted: Any, tls_ca: Any
) -> None:
    # The body's last TLS record carries filler and a stale answer after it. The client's
    # 8 KiB read buffer takes the body's end and the filler (dropped with the response);
    # the stale answer stays decrypted inside the TLS layer, where polling the socket
    # cannot see it.
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_ca.issue_cert("localhost").configure_cert(context)
    body = b"x" * 200
    filler = b"f" * (io.DEFAULT_BUFFER_SIZE - 100)

    answered: List[bytes] = []

    def serve(conn: socket.socket, stop: threading.Event) -> socket.socket:
        tls = context.wrap_socket(conn, server_side=True)
        while not stop.is_set():
            request = read_head(tls)
            if not request:
                break
            answered.append(request.split(b" ", 2)[1])
            if len(answered) == 1:
                tls.sendall(head("HTTP/1.1 200 OK", "Content-Length: %d" % len(body)) + body[:100])
                tls.sendall(body[100:] + filler + STALE)  # one TLS record
            else:
                tls.sendall(OK)
        return tls

    server = scripted(serve)
    with tls_ca.cert_pem.tempfile() as ca_file:
        client = clients(api_url="https://localhost:%d" % server.port, verify_ssl=ca_file)
        response = client.transport.handle_request(soundcloud.Request("GET", client.api_url + "/first", {}))
        assert response.read_all() == body
        assert client.get("/json").ok is True
        client.close()
    assert answered == [b"/first", b"/json"] and server.connections == 2
