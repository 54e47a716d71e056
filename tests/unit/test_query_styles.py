"""Query styles and JSON parameters on their own: :func:`encode_query` writes the lists the
operation table names comma-separated (or exploded) and everything else as
:func:`encode_params` does; :func:`json_params` gives the JSON body of a JSON-only operation
the same values a form would carry."""

from __future__ import annotations

import io
import pathlib
from typing import Any, Dict

import pytest

from soundcloud._spec import STYLE_COMMA, STYLE_FORM
from soundcloud.encoding import MAX_NESTING, encode_params, encode_query, json_params, urlencode


def test_without_styles_it_is_the_plain_query() -> None:
    params: Dict[str, Any] = {"q": "a b", "ids": [1, 2], "bpm": {"from": 1}, "x": None, "on": True}
    assert encode_query(params, {}) == urlencode(encode_params(params))


def test_comma_lists() -> None:
    styles = {"urns": STYLE_COMMA, "tags": STYLE_COMMA}
    assert encode_query({"urns": ["soundcloud:tracks:1", 2]}, styles) == "urns=soundcloud%3Atracks%3A1,2"
    assert encode_query({"tags": ("a,b", "é", 1.5, False)}, styles) == "tags=a%2Cb,%C3%A9,1.5,false"
    # A string is sent as it is (its commas escaped, as before): the caller joined it.
    assert encode_query({"urns": "a,b"}, styles) == "urns=a%2Cb"
    assert encode_query({"urns": []}, styles) == ""
    assert encode_query({"urns": [None]}, styles) == ""


def test_exploded_lists() -> None:
    assert encode_query({"access": ["playable", "preview"]}, {"access": STYLE_FORM}) == "access=playable&access=preview"


def test_order_is_kept_around_comma_lists() -> None:
    styles = {"urns": STYLE_COMMA}
    query = encode_query({"a": 1, "urns": [1, 2], "b": [3], "c": {"d": 4}}, styles)
    assert query == "a=1&urns=1,2&b%5B%5D=3&c%5Bd%5D=4"


@pytest.mark.parametrize("item", [[1], (1,), {"a": 1}, b"raw", io.BytesIO(b"x"), pathlib.Path("f")], ids=repr)
def test_comma_items_must_be_scalars(item: Any) -> None:
    with pytest.raises(TypeError, match="comma-separated"):
        encode_query({"urns": [item]}, {"urns": STYLE_COMMA})


def test_names_must_be_str() -> None:
    with pytest.raises(TypeError, match="parameter names must be str"):
        encode_query({1: "x"}, {})  # type: ignore[dict-item]


def test_json_params() -> None:
    assert json_params({"comment": {"body": "nice", "timestamp": 1200}}) == {
        "comment": {"body": "nice", "timestamp": 1200}
    }
    assert json_params({"p": {"t": ({"urn": "u"}, None), "n": None, "b": False, "f": 0.5}, "z": None}) == {
        "p": {"t": [{"urn": "u"}], "b": False, "f": 0.5}
    }
    assert json_params({}) == {}


@pytest.mark.parametrize("value", [b"x", io.BytesIO(b"x"), pathlib.Path("f"), ("a.png", b"x")], ids=repr)
def test_json_params_refuse_files(value: Any) -> None:
    with pytest.raises(TypeError, match=r"'playlist\[artwork_data\]' is a file.*data="):
        json_params({"playlist": {"artwork_data": value}})


def test_json_params_refuse_other_types() -> None:
    with pytest.raises(TypeError, match="cannot send a parameter of type object"):
        json_params({"a": object()})
    with pytest.raises(TypeError, match="parameter names must be str"):
        json_params({"a": {1: 2}})


def test_json_params_are_bounded() -> None:
    deep: Dict[str, Any] = {}
    node = deep
    for _ in range(MAX_NESTING + 5):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(ValueError, match="nested deeper"):
        json_params(deep)
