"""One client shared by many threads: nothing lost, nothing mixed up, deadlines that only
ever cut their own request's connection, and close() from another thread while requests
run. Every thread is joined with a bound; a failure in a thread fails the test. (Stale
keep-alive connections under contention are in test_keepalive.py.)"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Dict, List, Tuple

import pytest

import soundcloud
from soundcloud._models import Timeout
from soundcloud.transport import HTTPTransport

from support.faults import FaultServer
from support.transport_calls import run_threads

THREADS = 16
REQUESTS = 2000


def test_sixteen_threads_two_thousand_mixed_requests(fake: Any) -> None:
    token = fake.issue_token()
    client = soundcloud.Client(access_token=token, api_url=fake.api_url, timeout=Timeout(10), proxies={})
    verbs = ("GET", "POST", "PUT", "DELETE")
    per_thread = REQUESTS // THREADS
    results: Dict[str, Tuple[str, str]] = {}
    lock = threading.Lock()

    def work(index: int) -> None:
        for n in range(per_thread):
            # The threads start together, so their first requests open 16 connections at once
            # (the fake's listen backlog must take that burst: a reset POST is not resent).
            verb = verbs[(index + n) % len(verbs)]
            marker = "%02d-%04d-%s" % (index, n, uuid.uuid4().hex)
            if verb == "GET":
                echoed = client.get("/_test/echo", marker=marker)
            elif verb == "DELETE":
                echoed = client.delete("/_test/echo", marker=marker)
            elif verb == "POST":
                echoed = client.post("/_test/echo", marker=marker)
            else:
                echoed = client.put("/_test/echo", marker=marker)
            # The answer must be this request's own: same method, same marker.
            assert echoed.method == verb, (verb, echoed.method)
            if verb in ("GET", "DELETE"):
                assert echoed.query["marker"] == [marker]
                assert echoed.body == ""
            else:
                assert echoed.body == "marker=" + marker
            assert echoed["headers"]["authorization"] == "OAuth " + token
            with lock:
                results[marker] = (verb, echoed.method)

    try:
        run_threads(THREADS, work)
    finally:
        client.close()
    assert len(results) == REQUESTS
    # The server saw each request exactly once: none lost, none duplicated.
    seen: Dict[str, int] = {}
    for request in fake.requests_to("api"):
        if request.path != "/_test/echo":
            continue
        marker = request.query.get("marker", [""])[0] or request.body.decode().partition("=")[2]
        seen[marker] = seen.get(marker, 0) + 1
    assert len(seen) == REQUESTS
    assert set(seen.values()) == {1}
    assert set(seen) == set(results)


def test_deadlines_under_contention_only_cut_their_own_request(fault_server: FaultServer) -> None:
    # Eight threads make quick requests with a total deadline while two others hit a
    # dripping server with a short one: the watchdog cuts the drips, never a quick
    # request, even though they all share one pool.
    transport = HTTPTransport(proxies={}, max_retries=0)
    client = soundcloud.Client(client_id="threads", api_url=fault_server.url, transport=transport)
    cut: List[float] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        if index < 2:
            for _ in range(3):
                started = time.monotonic()
                with pytest.raises(soundcloud.TimeoutError, match="total deadline of 0.3 s"):
                    client.get("/drip", bytes="200", delay="0.02", timeout=Timeout(read=5, total=0.3))
                with lock:
                    cut.append(time.monotonic() - started)
        else:
            for _ in range(60):
                assert client.get("/json", timeout=Timeout(read=5, total=0.25)).ok is True

    try:
        run_threads(10, work)
    finally:
        client.close()
    assert len(cut) == 6 and all(0.25 < elapsed < 1.5 for elapsed in cut)
    assert fault_server.count("/json") == 480


def test_close_while_threads_are_busy(fault_server: FaultServer) -> None:
    # close() from another thread while requests run: they finish (reconnecting as needed).
    client = soundcloud.Client(client_id="threads", api_url=fault_server.url, timeout=Timeout(5), proxies={})
    done = threading.Event()

    def work(index: int) -> None:
        if index == 0:
            while not done.is_set():
                client.close()
                done.wait(0.005)
            return
        for _ in range(50):
            assert client.get("/json").ok is True

    def workers(index: int) -> None:
        try:
            work(index)
        finally:
            if index == 1:
                done.set()

    try:
        run_threads(5, workers)
    finally:
        done.set()
        client.close()
    assert fault_server.count("/json") == 200
