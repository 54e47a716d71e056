"""The retry policy on its own: a pure value object, tested without sockets or sleeping."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from email.utils import formatdate
from typing import Any, Callable, Dict, cast

import pytest

from soundcloud._models import Headers
from soundcloud.transport import HTTPTransport, Retry
from soundcloud.transport.exceptions import STAGE_BODY, STAGE_CONNECT, STAGE_RESPONSE, STAGE_SEND
from soundcloud.transport.retry import (
    DEFAULT_BACKOFF_FACTOR,
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_RETRIES,
    IDEMPOTENT_METHODS,
    RETRY_STATUSES,
)


def constant(value: float) -> Callable[[], float]:
    return lambda: value


class Draws:
    """An injected ``random``: hands out the given values and counts the calls."""

    def __init__(self, *values: float) -> None:
        self.values = list(values)
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return self.values.pop(0)


# -- the value -----------------------------------------------------------------------------


def test_defaults() -> None:
    retry = Retry()
    assert (retry.max_retries, retry.backoff_factor, retry.max_backoff) == (3, 0.5, 30.0)
    assert (DEFAULT_MAX_RETRIES, DEFAULT_BACKOFF_FACTOR, DEFAULT_MAX_BACKOFF) == (3, 0.5, 30.0)
    assert retry.statuses == RETRY_STATUSES == frozenset({429, 502, 503, 504})
    assert retry.methods == IDEMPOTENT_METHODS == frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


def test_value_semantics() -> None:
    assert Retry() == Retry(3, 0.5, 30)
    assert hash(Retry()) == hash(Retry(3, 0.5, 30))
    assert Retry() != Retry(max_retries=2)
    assert Retry() != Retry(statuses={503})
    assert Retry() != "Retry()"
    assert repr(Retry(2, 1, 4, statuses={503, 429}, methods={"get"})) == (
        "Retry(max_retries=2, backoff_factor=1.0, max_backoff=4.0, statuses=[429, 503], methods=['GET'])"
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_retries": -1}, "max_retries"),
        ({"backoff_factor": -0.1}, "backoff_factor"),
        ({"max_backoff": -1}, "max_backoff"),
        ({"backoff_factor": float("nan")}, "backoff_factor"),
    ],
)
def test_invalid_settings_are_refused(kwargs: Dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Retry(**kwargs)


@pytest.mark.parametrize("max_retries", [1.5, "3", None])
def test_a_count_that_is_not_an_int_is_refused(max_retries: Any) -> None:
    # ValueError from the pure module; the compiled one refuses the type at the call.
    with pytest.raises((TypeError, ValueError)):
        Retry(max_retries)


def test_new_changes_a_copy() -> None:
    retry = Retry(statuses={503}, methods={"GET"})
    changed = retry.new(max_retries=7)
    assert (changed.max_retries, changed.backoff_factor, changed.max_backoff) == (7, 0.5, 30.0)
    assert changed.statuses == frozenset({503}) and changed.methods == frozenset({"GET"})
    assert retry.max_retries == 3  # the original stays as it was
    assert retry.new(backoff_factor=2, max_backoff=5) == Retry(3, 2, 5, statuses={503}, methods={"GET"})
    assert retry.new(max_retries=0).max_retries == 0  # 0 is a value, not "unchanged"
    with pytest.raises(ValueError, match="max_retries"):
        retry.new(max_retries=-1)


def test_custom_statuses_and_methods() -> None:
    retry = Retry(statuses=[500], methods=["get", "Post"])
    assert retry.methods == frozenset({"GET", "POST"})
    assert retry.is_retry("POST", 500, 0)
    assert not retry.is_retry("GET", 503, 0)
    assert not retry.is_retry("PUT", 500, 0)


# -- which answers are retried ---------------------------------------------------------------


@pytest.mark.parametrize("method", sorted(IDEMPOTENT_METHODS))
@pytest.mark.parametrize("status", sorted(RETRY_STATUSES))
def test_idempotent_methods_retry_the_retry_statuses(method: str, status: int) -> None:
    assert Retry().is_retry(method, status, 0)
    assert Retry().is_retry(method, status, 2)


@pytest.mark.parametrize("status", [200, 201, 301, 400, 401, 404, 408, 500, 501, 505])
def test_other_statuses_are_not_retried(status: int) -> None:
    assert not Retry().is_retry("GET", status, 0)
    assert not Retry().is_retry("POST", status, 0, retry=True)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_post_and_patch_only_when_the_request_asks(method: str) -> None:
    retry = Retry()
    assert not retry.is_retry(method, 503, 0)
    assert not retry.is_retry(method, 503, 0, retry=None)
    assert retry.is_retry(method, 503, 0, retry=True)
    assert not retry.is_retry(method, 503, 0, retry=False)


def test_retry_false_forbids_every_method() -> None:
    for method in sorted(IDEMPOTENT_METHODS):
        assert not Retry().is_retry(method, 503, 0, retry=False)
        assert not Retry().is_replay_safe(method, False)


def test_replay_safety() -> None:
    retry = Retry()
    assert retry.is_replay_safe("GET") and retry.is_replay_safe("DELETE", None)
    assert not retry.is_replay_safe("POST")
    assert retry.is_replay_safe("POST", True)
    assert not retry.is_replay_safe("GET", False)


def test_a_streamed_body_is_never_resent_after_an_answer() -> None:
    assert not Retry().is_retry("PUT", 503, 0, replayable=False)
    assert not Retry().is_retry("POST", 429, 0, retry=True, replayable=False)


def test_attempts_stop_at_max_retries() -> None:
    retry = Retry(max_retries=2)
    assert retry.is_retry("GET", 503, 1)
    assert not retry.is_retry("GET", 503, 2)
    assert not retry.is_retry("GET", 503, 3)
    assert not Retry(max_retries=0).is_retry("GET", 503, 0)


# -- which failures are retried --------------------------------------------------------------


@pytest.mark.parametrize(
    "exc, stage",
    [
        (ConnectionRefusedError(), STAGE_CONNECT),
        (socket.timeout(), STAGE_CONNECT),  # a connect timeout
        (ConnectionResetError(), STAGE_CONNECT),
        (OSError(101, "Network is unreachable"), STAGE_CONNECT),
        (http.client.RemoteDisconnected("closed"), STAGE_RESPONSE),
        (ConnectionResetError(), STAGE_RESPONSE),
        (BrokenPipeError(), STAGE_SEND),
        (ConnectionAbortedError(), STAGE_SEND),
        (http.client.BadStatusLine("''"), STAGE_RESPONSE),  # an empty status line: dropped
    ],
)
def test_retryable_failures(exc: BaseException, stage: str) -> None:
    retry = Retry()
    assert retry.is_retryable_error(exc, stage)
    assert retry.is_retry_on_error("GET", exc, stage, 0)


@pytest.mark.parametrize(
    "exc, stage",
    [
        (socket.timeout(), STAGE_RESPONSE),  # a read timeout: a slow server rarely gets faster
        (socket.timeout(), STAGE_SEND),
        (socket.gaierror(-2, "Name or service not known"), STAGE_CONNECT),
        (OSError("Tunnel connection failed: 403 Forbidden"), STAGE_CONNECT),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), STAGE_CONNECT),
        (ssl.SSLError(1, "handshake failure"), STAGE_CONNECT),
        (http.client.BadStatusLine("garbage"), STAGE_RESPONSE),  # a malformed answer
        (http.client.LineTooLong("header line"), STAGE_RESPONSE),
        (http.client.IncompleteRead(b"abc", 10), STAGE_BODY),
        (ValueError("odd"), STAGE_SEND),
    ],
)
def test_failures_not_retried(exc: BaseException, stage: str) -> None:
    retry = Retry()
    assert not retry.is_retryable_error(exc, stage)
    assert not retry.is_retry_on_error("GET", exc, stage, 0)


def test_failure_retries_follow_the_request_and_the_count() -> None:
    retry = Retry(max_retries=1)
    refused = ConnectionRefusedError()
    assert retry.is_retry_on_error("GET", refused, STAGE_CONNECT, 0)
    assert not retry.is_retry_on_error("GET", refused, STAGE_CONNECT, 1)
    assert not retry.is_retry_on_error("POST", refused, STAGE_CONNECT, 0)
    assert retry.is_retry_on_error("POST", refused, STAGE_CONNECT, 0, retry=True)
    assert not retry.is_retry_on_error("GET", refused, STAGE_CONNECT, 0, retry=False)
    assert not Retry(max_retries=0).is_retry_on_error("GET", refused, STAGE_CONNECT, 0)


def test_a_started_streamed_body_is_never_resent_after_a_failure() -> None:
    retry = Retry()
    reset = BrokenPipeError()
    assert not retry.is_retry_on_error("PUT", reset, STAGE_SEND, 0, replayable=False, body_started=True)
    # Not yet started, or bytes that can go out again: the retry may follow.
    assert retry.is_retry_on_error("PUT", reset, STAGE_SEND, 0, replayable=False, body_started=False)
    assert retry.is_retry_on_error("PUT", reset, STAGE_SEND, 0, replayable=True, body_started=True)


# -- how long to wait -----------------------------------------------------------------------


def test_backoff_grows_exponentially_with_jitter() -> None:
    retry = Retry(backoff_factor=0.5, max_backoff=30)
    # random() == 0 halves the base, random() -> 1 keeps it whole.
    assert [retry.backoff(n, constant(0.0)) for n in range(5)] == [0.25, 0.5, 1.0, 2.0, 4.0]
    assert [retry.backoff(n, constant(1.0)) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert retry.backoff(1, constant(0.5)) == pytest.approx(0.75)


def test_backoff_is_capped_by_max_backoff() -> None:
    retry = Retry(backoff_factor=1, max_backoff=4)
    assert [retry.backoff(n, constant(1.0)) for n in range(5)] == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert retry.backoff(10_000, constant(0.0)) == 2.0  # no overflow for absurd counts
    assert Retry(backoff_factor=0).backoff(3, constant(1.0)) == 0.0


def test_backoff_draws_random_once() -> None:
    draws = Draws(0.2)
    assert Retry(backoff_factor=1).backoff(0, draws) == pytest.approx(0.6)
    assert draws.calls == 1


def test_wait_for_reads_retry_after() -> None:
    retry = Retry()
    assert retry.wait_for({"Retry-After": "7"}) == 7.0
    assert retry.wait_for(Headers([("retry-after", " 12 ")]), 503) == 12.0
    assert retry.wait_for({}) is None
    assert retry.wait_for({"Retry-After": "soon"}, 503) is None
    later = formatdate(time.time() + 60, usegmt=True)
    wait = retry.wait_for({"Retry-After": later}, 503)
    assert wait is not None and 55 <= wait <= 61


def test_x_ratelimit_reset_counts_on_a_429_only() -> None:
    retry = Retry()
    assert retry.wait_for({"x-ratelimit-reset": "20"}, 429) == 20.0
    reset = retry.wait_for(Headers([("X-RateLimit-Reset", str(int(time.time()) + 40))]), 429)
    assert reset is not None and 35 <= reset <= 41
    assert retry.wait_for({"x-ratelimit-reset": "20"}, 503) is None
    # Retry-After comes first.
    assert retry.wait_for({"x-ratelimit-reset": "20", "Retry-After": "3"}, 429) == 3.0


def test_status_wait_prefers_the_server_and_falls_back_to_backoff() -> None:
    retry = Retry(backoff_factor=1, max_backoff=30)
    draws = Draws(1.0)
    assert retry.status_wait(503, {"Retry-After": "5"}, 0, draws) == 5.0
    assert draws.calls == 0  # no jitter drawn when the server named the wait
    assert retry.status_wait(503, {}, 2, draws) == 4.0
    assert draws.calls == 1
    assert retry.status_wait(429, {"Retry-After": "0"}, 0, draws) == 0.0
    assert retry.status_wait(502, {"x-ratelimit-reset": "9"}, 0, constant(0.0)) == 0.5


def test_a_long_server_wait_is_not_waited_out() -> None:
    retry = Retry(max_backoff=30)
    assert retry.status_wait(429, {"Retry-After": "30"}, 0, constant(0.5)) == 30.0
    assert retry.status_wait(429, {"Retry-After": "31"}, 0, constant(0.5)) is None
    assert retry.status_wait(429, {"x-ratelimit-reset": "3600"}, 0, constant(0.5)) is None
    assert retry.status_wait(503, {"Retry-After": "31"}, 0, constant(0.5)) is None
    assert Retry(max_backoff=60).status_wait(503, {"Retry-After": "31"}, 0, constant(0.5)) == 31.0


# -- the transport takes the policy ---------------------------------------------------------


def test_transport_builds_the_policy_from_its_keywords() -> None:
    transport = HTTPTransport(proxies={}, max_retries=5, backoff_factor=2, max_backoff=8)
    try:
        assert transport.retry == Retry(5, 2, 8)
        assert (transport.max_retries, transport.backoff_factor, transport.max_backoff) == (5, 2.0, 8.0)
        transport.max_retries = 1
        assert transport.retry == Retry(1, 2, 8) and transport.max_retries == 1
        transport.backoff_factor = 0.25
        transport.max_backoff = 2
        assert transport.retry == Retry(1, 0.25, 2)
    finally:
        transport.close()


def test_transport_takes_a_policy() -> None:
    policy = Retry(max_retries=0, statuses={500})
    transport = HTTPTransport(proxies={}, retry=policy)
    try:
        assert transport.retry is policy and transport.max_retries == 0
    finally:
        transport.close()
    with pytest.raises(ValueError, match="either retry"):
        HTTPTransport(proxies={}, retry=policy, max_retries=5)
    with pytest.raises(TypeError):
        HTTPTransport(proxies={}, retry=cast(Any, 3))
    with pytest.raises(ValueError, match="max_retries"):
        HTTPTransport(proxies={}, max_retries=-1)

