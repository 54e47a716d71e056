"""Plain HTTP exchanges for the fake SoundCloud's own tests (``tests/fake/``).

- :func:`call` (and :func:`form`), :class:`Reply`, :func:`assert_api_error` and
  :class:`Clock`: one plain ``http.client`` exchange per call and an injectable clock,
  for the fake SoundCloud's own tests (``tests/fake/``), which pin the fake down byte by
  byte without the client library. (The client's tests and conftest.py share the clock.)

This module imports no other module of the package.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional
from urllib.parse import urlencode, urlsplit

__all__ = ["CALL_TIMEOUT", "Clock", "Reply", "assert_api_error", "call", "form"]

#: Socket timeout of the connections :func:`call` opens, in seconds.
CALL_TIMEOUT = 5.0


class Clock:
    """An injectable clock that tests move by hand, shared by a fake SoundCloud and the client
    under test."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Reply:
    status: int
    headers: Dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


def call(
    url: str,
    method: str = "GET",
    *,
    headers: Optional[Mapping[str, str]] = None,
    body: Optional[bytes] = None,
    token: Optional[str] = None,
    conn: Optional[http.client.HTTPConnection] = None,
) -> Reply:
    """One HTTP exchange; a fresh connection unless ``conn`` is given."""
    parts = urlsplit(url)
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"OAuth {token}"
    own = conn is None
    connection = conn or http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=CALL_TIMEOUT)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        if own:
            connection.close()


def form(url: str, fields: Mapping[str, str], **kwargs: Any) -> Reply:
    headers = dict(kwargs.pop("headers", {}))
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return call(url, "POST", headers=headers, body=urlencode(fields).encode(), **kwargs)


def assert_api_error(reply: Reply, code: int, status: str) -> Dict[str, Any]:
    assert reply.status == code
    assert reply.headers["content-type"] == "application/json; charset=utf-8"
    payload: Dict[str, Any] = reply.json()
    assert payload["code"] == code
    assert payload["message"] == status
    assert payload["status"] == status
    assert payload["link"] == "https://developers.soundcloud.com/docs/api/explorer/open-api"
    assert payload["error"] is None
    assert isinstance(payload["errors"][0]["error_message"], str)
    return payload
