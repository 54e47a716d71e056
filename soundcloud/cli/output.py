"""What the ``soundcloud`` command prints: results, status lines, errors, ``--version``.

Results go to stdout as JSON (pretty, or compact with ``--raw``; binary answers raw),
status lines to stderr unless ``-q``. An error is one line on stderr,
``soundcloud: error: ...``, never with a credential in it (:func:`describe` redacts),
and maps to an exit status (:func:`status_of`, statuses in :mod:`.exits`).

Text from the server may carry terminal control sequences (OSC 52 writes the clipboard,
CSI rewrites the screen): everything printed for people shows control characters escaped
(:func:`shown`, the package's one policy, ``soundcloud._redact.printable``), and JSON output
escapes them too (:func:`print_json`), the data unchanged.
"""

from __future__ import annotations

import argparse
import http
import json
import platform
import re
import sys
from typing import Any, Final, Optional, TextIO
from urllib.parse import urlsplit

import soundcloud

from .._redact import printable
from ..errors import HTTPError, OAuthError, TokenStoreError, TransportError, UnauthorizedError
from .config import redact
from .exits import EXIT_AUTH, EXIT_ERROR, EXIT_HTTP, EXIT_NETWORK, PROG, CLIError

__all__ = [
    "describe",
    "info",
    "jsonable",
    "print_json",
    "print_result",
    "report",
    "shown",
    "status_of",
    "version_text",
]

# What json.dumps(ensure_ascii=False) leaves as it is: anything past ASCII (it escapes the
# C0 controls itself). Of those, the ones printable() escapes become \uXXXX below.
_NON_ASCII: Final = re.compile(r"[^\x00-\x7e]")


def shown(value: Any) -> str:
    """Server text as one printable line: whitespace runs become one space, control
    characters (ESC, DEL, C1, bidi overrides) are escaped (``\\x1b``)."""
    return printable(" ".join(str(value if value is not None else "").split()))


def _json_escape(match: "re.Match[str]") -> str:
    char = match.group()
    # ensure_ascii's escape of one character: \uXXXX, or a surrogate pair past the BMP.
    return char if printable(char) == char else json.dumps(char)[1:-1]


def jsonable(result: Any) -> Any:
    """A Resource or ResourceList as plain JSON data (dicts and lists); anything else as is."""
    if isinstance(result, soundcloud.Resource):
        return result.fields()
    if isinstance(result, soundcloud.ResourceList):
        return result.items()
    return result


def print_json(data: Any, raw: bool, stream: Optional[TextIO] = None) -> None:
    """Pretty JSON (or compact with ``raw``) and a newline."""
    out = stream if stream is not None else sys.stdout
    indent = None if raw else 2
    separators = (",", ":") if raw else (",", ": ")
    # DEL, C1 controls and bidi overrides are legal raw in JSON strings, and a terminal acts
    # on them: the same JSON with them escaped (they occur inside strings only).
    text = json.dumps(data, indent=indent, separators=separators, ensure_ascii=False)
    text = _NON_ASCII.sub(_json_escape, text)
    try:
        out.write(text + "\n")
    except UnicodeEncodeError:
        # A terminal that cannot show the text: \u escapes are the same JSON.
        out.write(json.dumps(data, indent=indent, separators=separators) + "\n")
    out.flush()


def print_result(result: Any, args: argparse.Namespace) -> None:
    """A command's answer on stdout: JSON, or the bytes of a binary answer (never to a terminal)."""
    if isinstance(result, soundcloud.StreamResponse):
        with result:
            if sys.stdout.isatty():
                raise CLIError(
                    f"the answer is binary ({result.content_type or 'unknown type'}); redirect stdout"
                    " to a file, or use `soundcloud download ... -o FILE`"
                )
            sys.stdout.flush()
            for chunk in result.iter_bytes():
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
        return
    print_json(jsonable(result), bool(getattr(args, "raw", False)))


def info(args: argparse.Namespace, message: str) -> None:
    """A status line on stderr (silenced by -q)."""
    if not getattr(args, "quiet", False):
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


def status_of(exc: BaseException) -> int:
    """The exit status for an error (see the exit statuses in :mod:`.exits`)."""
    if isinstance(exc, CLIError):
        return exc.status
    if isinstance(exc, (OAuthError, UnauthorizedError, TokenStoreError)):
        return EXIT_AUTH
    if isinstance(exc, HTTPError):
        return EXIT_HTTP
    if isinstance(exc, TransportError):
        return EXIT_NETWORK
    return EXIT_ERROR


def describe(exc: BaseException) -> str:
    """An error as one line of text, credentials redacted."""
    if isinstance(exc, CLIError):
        text = exc.message
    elif isinstance(exc, HTTPError):
        reason = exc.reason
        if not reason:
            try:
                reason = http.HTTPStatus(exc.status_code).phrase
            except ValueError:
                reason = ""
        text = f"{exc.status_code} {reason}".rstrip()
        if exc.message:
            text += f": {exc.message}"
        if exc.url:
            text += f" ({exc.method} {_without_client_id(exc.url)})".replace("( ", "(")
        if isinstance(exc, UnauthorizedError):
            text += "; run `soundcloud login` (or check the client id and secret)"
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, (int, float)):
            text += f"; retry after {retry_after:.0f} s"
    elif isinstance(exc, TransportError):
        text = f"network error: {exc}"
    elif isinstance(exc, OAuthError):
        text = f"authorization failed: {exc}"
    elif isinstance(exc, OSError):
        text = f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
    else:
        text = str(exc) or type(exc).__name__
    # One line, never a credential (the library redacts; this is the second lock), and no
    # control character from the server (a reason phrase, a message, a URL) left to act.
    return printable(redact(" ".join(text.split())))


def _without_client_id(url: str) -> str:
    """The URL minus the client_id query parameter (not a secret, only noise in a message)."""
    from urllib.parse import parse_qsl, urlencode, urlunsplit

    parts = urlsplit(url)
    if "client_id=" not in parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = [(key, value) for key, value in pairs if key != "client_id"]
    return urlunsplit(parts._replace(query=urlencode(query, safe="[]:/")))


def report(exc: BaseException) -> int:
    """Print ``soundcloud: error: ...`` (one line) on stderr; return the exit status."""
    try:
        sys.stderr.write(f"{PROG}: error: {describe(exc)}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    return status_of(exc)


def version_text() -> str:
    """What ``--version`` prints."""
    compiled = "compiled with mypyc" if soundcloud.__compiled__ else "pure Python"
    return (
        f"{PROG} {soundcloud.__version__} ({compiled})\n"
        f"Python {platform.python_version()} ({platform.python_implementation()})"
        f" on {platform.system() or 'unknown'}"
    )
