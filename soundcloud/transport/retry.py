"""The retry policy: which answers and failures are tried again, and how long to wait first.

:class:`Retry` is a pure value object modelled on urllib3's ``Retry`` (``util/retry.py``):
it holds the numbers and the sets and answers questions; it does no I/O and never sleeps.
:class:`~soundcloud.transport.http.HTTPTransport` keeps the loop, the clock and the total
deadline, and asks the policy at each turn.

- **Retries** (``max_retries``, default 3; 0 turns them off) for 429, 502, 503 and 504
  answers and for connection failures (refused, reset, dropped before any answer, connect
  timeouts), for GET, HEAD, PUT, DELETE and OPTIONS; a POST or PATCH only with
  ``request.retry is True``; never with ``request.retry is False``; never once a streamed
  (non-replayable) body has begun to go out. Not retried: read timeouts (a slow server
  rarely gets faster, and retrying would multiply the caller's wait), TLS certificate and
  handshake failures, unknown hosts, a proxy refusing the tunnel, malformed answers, and
  failures while the caller reads the body. The wait is the server's ``Retry-After``
  (seconds or HTTP date) or, on a 429, ``x-ratelimit-reset`` when present (SoundCloud sends
  it instead of ``Retry-After``, an epoch time or seconds), else exponential backoff
  with jitter: ``min(max_backoff, backoff_factor * 2 ** n) * (0.5 + random() / 2)`` before
  retry ``n + 1``. A server-requested wait longer than ``max_backoff`` (30 s) is not waited
  out: the 429/503 answer is returned at once, so the client raises its error (with
  ``retry_after``) and the caller decides. Retries never run past the total deadline.
  Exhausted retries return the last answer or raise the last error; ``Response.retries``
  says how many were made. ``sleep`` and ``random`` are constructor parameters of
  ``HTTPTransport``.

Attempts are counted from 0: ``attempt`` is the number of retries already made.
"""

from __future__ import annotations

import socket
from typing import Callable, Final, FrozenSet, Iterable, Mapping, Optional, Tuple

from .._models import header_value, retry_after_seconds
from .exceptions import STAGE_CONNECT, _is_dropped_connection

__all__ = [
    "DEFAULT_BACKOFF_FACTOR",
    "DEFAULT_MAX_BACKOFF",
    "DEFAULT_MAX_RETRIES",
    "IDEMPOTENT_METHODS",
    "RETRY_STATUSES",
    "Retry",
]

DEFAULT_MAX_RETRIES: Final = 3
DEFAULT_BACKOFF_FACTOR: Final = 0.5
DEFAULT_MAX_BACKOFF: Final = 30.0
# RFC 9110 section 9.2.2 (TRACE left out: nothing here sends it).
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})


class Retry:
    """How many times, on what, and after how long a request is tried again.

    ``max_retries`` retries follow the first attempt (0: none). ``statuses`` are the
    answers worth another attempt; ``methods`` those that may be sent twice without asking
    (a request's own ``retry`` flag overrides: True allows any method, False forbids).
    Never changed in place: :meth:`new` makes a changed copy.

        HTTPTransport(retry=Retry(max_retries=5, backoff_factor=1.0))
    """

    __slots__ = ("max_retries", "backoff_factor", "max_backoff", "statuses", "methods")

    def __init__(
        self,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff_factor: float = DEFAULT_BACKOFF_FACTOR,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        *,
        statuses: Iterable[int] = RETRY_STATUSES,
        methods: Iterable[str] = IDEMPOTENT_METHODS,
    ) -> None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be 0 (off) or more, not {max_retries!r}")
        if not backoff_factor >= 0 or not max_backoff >= 0:
            raise ValueError("backoff_factor and max_backoff must be 0 or more seconds")
        self.max_retries: Final[int] = max_retries
        self.backoff_factor: Final[float] = float(backoff_factor)
        self.max_backoff: Final[float] = float(max_backoff)
        self.statuses: Final[FrozenSet[int]] = frozenset(statuses)
        self.methods: Final[FrozenSet[str]] = frozenset(method.upper() for method in methods)

    def new(
        self,
        *,
        max_retries: Optional[int] = None,
        backoff_factor: Optional[float] = None,
        max_backoff: Optional[float] = None,
    ) -> Retry:
        """A copy with the given settings changed."""
        return Retry(
            self.max_retries if max_retries is None else max_retries,
            self.backoff_factor if backoff_factor is None else backoff_factor,
            self.max_backoff if max_backoff is None else max_backoff,
            statuses=self.statuses,
            methods=self.methods,
        )

    # -- what may be retried ---------------------------------------------------------------

    def is_replay_safe(self, method: str, retry: Optional[bool] = None) -> bool:
        """Whether a request may go out twice: ``retry`` not False, and True or an idempotent method.

        ``retry`` is the request's own flag (``Request.retry``). This also decides whether a
        kept-alive connection the server closed may be tried once more on a fresh one.
        """
        return retry is not False and (retry is True or method in self.methods)

    def is_retry(
        self, method: str, status: int, attempt: int, *, retry: Optional[bool] = None, replayable: bool = True
    ) -> bool:
        """Whether an answer with ``status`` after ``attempt`` retries is worth another attempt.

        ``replayable`` is False for a streamed body, which cannot be sent again.
        """
        return (
            status in self.statuses
            and attempt < self.max_retries
            and replayable
            and self.is_replay_safe(method, retry)
        )

    def is_retry_on_error(
        self,
        method: str,
        exc: BaseException,
        stage: str,
        attempt: int,
        *,
        retry: Optional[bool] = None,
        replayable: bool = True,
        body_started: bool = False,
    ) -> bool:
        """Whether an attempt that failed with ``exc`` at ``stage`` may be followed by another.

        ``body_started``: a body had begun to go out, so a non-replayable one is spent.
        """
        if attempt >= self.max_retries or not self.is_replay_safe(method, retry):
            return False
        if body_started and not replayable:
            return False
        return _is_retryable_error(exc, stage)

    def is_retryable_error(self, exc: BaseException, stage: str) -> bool:
        """Whether failing this way at ``stage`` is worth another attempt (if the request allows it)."""
        return _is_retryable_error(exc, stage)

    # -- how long to wait ------------------------------------------------------------------

    def backoff(self, attempt: int, random: Callable[[], float]) -> float:
        """The wait before retry ``attempt + 1``: exponential, capped, with jitter from ``random()``."""
        base = min(self.max_backoff, self.backoff_factor * (1 << min(attempt, 62)))
        return base * (0.5 + random() / 2)

    def wait_for(self, headers: Mapping[str, str], status: int = 429) -> Optional[float]:
        """The wait the server asked for in seconds, or None when it named none.

        ``Retry-After``; on a 429 also ``x-ratelimit-reset`` (a rate-limit reset says when
        the quota refills, not when a failing server recovers).
        """
        if status == 429:
            return retry_after_seconds(headers)  # Retry-After, else x-ratelimit-reset
        value = header_value(headers, "retry-after")
        return retry_after_seconds({"Retry-After": value}) if value is not None else None

    def status_wait(
        self, status: int, headers: Mapping[str, str], attempt: int, random: Callable[[], float]
    ) -> Optional[float]:
        """Seconds to wait before retrying an answer with ``status``; None: return it instead.

        The server's wait when it named one, else the backoff. A server-requested wait over
        ``max_backoff`` is not worth blocking the caller for: None, and the client's error
        carries ``retry_after`` instead.
        """
        wait = self.wait_for(headers, status)
        if wait is None:
            return self.backoff(attempt, random)
        if wait > self.max_backoff:
            return None
        return wait

    # -- a value -----------------------------------------------------------------------------

    def _key(self) -> Tuple[int, float, float, FrozenSet[int], FrozenSet[str]]:
        return (self.max_retries, self.backoff_factor, self.max_backoff, self.statuses, self.methods)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Retry):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Retry(max_retries={self.max_retries}, backoff_factor={self.backoff_factor},"
            f" max_backoff={self.max_backoff}, statuses={sorted(self.statuses)},"
            f" methods={sorted(self.methods)})"
        )


def _is_retryable_error(exc: BaseException, stage: str) -> bool:
    """Whether an attempt that failed this way may be sent again (if the request allows it)."""
    if type(exc).__module__ == "ssl":
        return False  # certificate and handshake failures repeat
    if stage == STAGE_CONNECT:
        if isinstance(exc, socket.gaierror):
            return False
        if str(exc).startswith("Tunnel connection failed"):
            return False
        return isinstance(exc, OSError)  # refused, unreachable, reset, connect timeout
    return _is_dropped_connection(exc)
