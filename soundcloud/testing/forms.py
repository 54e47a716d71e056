"""Write bodies as the API reads them: form-encoded, multipart or JSON, as flat form fields.

Write bodies may be form-encoded, multipart (RFC 7578: a part is a file when it names
one or declares a non-text type) or JSON (``{"track": {...}}``); they land in the same
fields (``track[title]``), so the handlers read one shape. Repeated form keys and JSON
lists of ``{"urn": ...}`` objects become comma lists; an empty JSON list is kept as an
explicit ``prefix[]`` field. Anything else answers 400.
"""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import email.utils
import json
from typing import Any, Dict, Mapping, Tuple
from urllib.parse import parse_qsl

from .http import RecordedRequest, _api_error, _Fail, _media_type
from .store import UploadedFile

__all__ = ["_nested", "_parse_form"]


def _parse_multipart(content_type: str, body: bytes) -> Tuple[Dict[str, str], Dict[str, UploadedFile]]:
    # email.parser understands multipart/form-data once it sees the Content-Type
    # header (with its boundary) in front of the body; payloads come back byte-exact.
    raw = b"Content-Type: " + content_type.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    if not message.is_multipart() or message.get_boundary() is None:
        raise _Fail(_api_error(400, "malformed multipart body"))
    fields: Dict[str, str] = {}
    files: Dict[str, UploadedFile] = {}
    for part in message.get_payload():
        assert isinstance(part, email.message.Message)
        raw_name = part.get_param("name", header="content-disposition")
        if raw_name is None:
            raise _Fail(_api_error(400, "multipart part without a name"))
        name = email.utils.collapse_rfc2231_value(raw_name)
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        # RFC 7578: a part is a file when it names one, or declares a non-text type.
        if filename is not None or ("content-type" in part and part.get_content_type() != "text/plain"):
            files[name] = UploadedFile(name, filename, part.get_content_type(), data)
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields, files


def _flatten(prefix: str, value: Any, out: Dict[str, str]) -> None:
    # JSON bodies ({"track": {"title": ...}}) become the form names the API also
    # accepts (track[title]), so handlers read one shape.
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}[{key}]" if prefix else str(key), item, out)
    elif isinstance(value, list):
        if not value:
            out[f"{prefix}[]"] = ""  # an explicit empty list, e.g. a playlist emptied
        for item in value:
            if isinstance(item, dict) and set(item) <= {"urn", "id"}:
                for key, sub in item.items():
                    name = f"{prefix}[][{key}]"
                    out[name] = f"{out[name]},{sub}" if name in out else str(sub)
            else:
                out[f"{prefix}[]"] = str(item)
    elif isinstance(value, bool):
        out[prefix] = "true" if value else "false"
    elif value is None:
        out[prefix] = ""
    else:
        out[prefix] = str(value)


def _parse_form(request: RecordedRequest) -> Tuple[Dict[str, str], Dict[str, UploadedFile]]:
    """Read a write body: form-encoded, multipart or JSON, as flat form fields."""
    media = _media_type(request)
    if not request.body and media != "multipart/form-data":
        return {}, {}
    if media == "application/x-www-form-urlencoded":
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise _Fail(_api_error(400, "form body is not UTF-8")) from None
        fields: Dict[str, str] = {}
        for key, value in parse_qsl(text, keep_blank_values=True):
            # Repeated keys (playlist[tracks][][urn]=..&...) become a comma list.
            fields[key] = f"{fields[key]},{value}" if key in fields else value
        return fields, {}
    if media == "multipart/form-data":
        return _parse_multipart(request.header("content-type") or "", request.body)
    if media == "application/json":
        try:
            data = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise _Fail(_api_error(400, "body is not valid JSON")) from None
        if not isinstance(data, dict):
            raise _Fail(_api_error(400, "JSON body must be an object"))
        flat: Dict[str, str] = {}
        _flatten("", data, flat)
        return flat, {}
    raise _Fail(_api_error(400, f"unsupported Content-Type {media or '(none)'}"))


def _nested(fields: Mapping[str, str], prefix: str) -> Dict[str, str]:
    """Pick ``prefix[name]`` fields out of a form, keyed by ``name``."""
    out: Dict[str, str] = {}
    start = prefix + "["
    for key, value in fields.items():
        if key.startswith(start) and key.endswith("]") and "[" not in key[len(start) : -1]:
            out[key[len(start) : -1]] = value
    return out
