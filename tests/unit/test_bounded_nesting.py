"""Nesting is bounded wherever untrusted JSON is decoded or walked: soundcloud._json.loads
turns RecursionError into ValueError, and the walks of decoded data (redacting a repr)
stop at MAX_NESTING instead of recursing (compiled code would crash, not raise). Also the
escaping of control characters that errors apply to what they show."""

from __future__ import annotations

import pickle
from typing import Any, List

import pytest

import soundcloud
from soundcloud import _json
from soundcloud._redact import REDACTED, printable, redact_json


def nested(depth: int, leaf: Any) -> Any:
    """``depth`` levels of lists and dicts around ``leaf``, built without recursion."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def depth_of(value: Any) -> int:
    depth = 0
    while isinstance(value, (list, dict)):
        depth += 1
        value = value[0] if isinstance(value, list) else next(iter(value.values()))
    return depth


@pytest.mark.parametrize("document", [b"[" * 200_000 + b"]" * 200_000, b'{"a":' * 200_000 + b"1" + b"}" * 200_000])
def test_loads_refuses_deep_documents_with_value_error(document: bytes) -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        _json.loads(document)


@pytest.mark.parametrize("document", [b"\xff\xfe{", b'{"access_token": "\xff"}'])
def test_loads_names_bad_bytes_without_quoting_them(document: bytes) -> None:
    with pytest.raises(ValueError) as caught:
        _json.loads(document)
    assert "access_token" not in str(caught.value) and "\\xff" not in str(caught.value)


def test_loads_decodes_what_json_decodes() -> None:
    assert _json.loads(b'{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    assert _json.loads('{"a": "\u00e9"}'.encode("utf-16")) == {"a": "\u00e9"}
    assert _json.loads('["x"]') == ["x"]
    with pytest.raises(ValueError):
        _json.loads(b"{")


def test_redact_json_stops_at_the_nesting_bound() -> None:
    deep = nested(100_000, {"access_token": "s3cret"})
    shown = redact_json(deep)
    assert depth_of(shown) == _json.MAX_NESTING
    shallow = nested(10, {"access_token": "s3cret", "n": 1})
    assert "s3cret" not in repr(redact_json(shallow)) and REDACTED in repr(redact_json(shallow))


def test_repr_of_a_deep_resource_is_bounded() -> None:
    resource = soundcloud.Resource(nested(100_001, 1))  # a dict outermost
    text = repr(resource)
    assert text.startswith("Resource(") and len(text) < 10_000
    items = soundcloud.ResourceList(nested(100_000, 1))  # a list outermost
    assert repr(items).startswith("ResourceList(")


def test_nested_reads_and_pickles_stay_within_decoded_documents() -> None:
    doc = _json.loads(b'{"a":' * 50 + b'{"b": 2}' + b"}" * 50)
    resource = soundcloud.Resource(doc)
    inner: Any = resource
    for _ in range(50):
        inner = inner.a
    assert inner.b == 2
    assert pickle.loads(pickle.dumps(resource)) == resource


CONTROLS: List[str] = [chr(c) for c in list(range(0x20)) + list(range(0x7F, 0xA0))]


def test_printable_escapes_every_control_character() -> None:
    text = "".join(CONTROLS) + "\u202e\u2028 ok \u00e9"
    shown = printable(text)
    assert not any(c in shown for c in CONTROLS) and "\u202e" not in shown and "\u2028" not in shown
    assert shown.endswith(" ok \u00e9") and "\\x1b" in shown and "\\x9b" in shown and "\\u202e" in shown
    assert printable("plain text") == "plain text"
