"""soundcloud.encoding: nested parameters, form bodies, URNs and the multipart body.

Multipart bodies are checked two independent ways: against bytes written out by hand
from RFC 7578 / RFC 2046 (with a fixed boundary), and by parsing them back with the
standard library's MIME parser (``email.parser`` with ``policy=email.policy.HTTP``) and a
strict parser written here, which refuses anything but exact framing.
"""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import io
import math
import mimetypes
import os
import re
import threading
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from soundcloud import UploadInterruptedError
from soundcloud.encoding import (
    CHUNK_SIZE,
    MAX_NESTING,
    PATH_BLOCK_SIZE,
    MultipartBody,
    encode_params,
    file_name,
    has_files,
    is_file_value,
    to_urn,
    urlencode,
)

# Every byte value, and CRLF / boundary-like sequences inside the data.
ALL_BYTES = bytes(range(256)) + b"\r\n--\r\n\r\n" + bytes(range(255, -1, -1)) + b"\r\n"

# -- independent parsers --------------------------------------------------------------------

_BCHARS = r"[0-9A-Za-z'()+_,./:=? -]"


def strict_parse(content_type: str, body: bytes) -> List[Tuple[List[Tuple[str, bytes]], bytes]]:
    """Split a multipart/form-data body exactly as RFC 2046 section 5.1.1 frames it.

    Returns ``[(headers, content)]`` with header values as raw bytes. Refuses a missing
    preamble delimiter, a missing close delimiter, parts without a blank line, and header
    lines that are not ``Name: value``.
    """
    match = re.fullmatch(r"multipart/form-data; boundary=(" + _BCHARS + r"{0,69}[^ ])", content_type)
    assert match, content_type
    delimiter = b"--" + match.group(1).encode("ascii")
    assert body.startswith(delimiter + b"\r\n"), body[:80]
    close = b"\r\n" + delimiter + b"--\r\n"
    assert body.endswith(close), body[-80:]
    inner = body[len(delimiter) + 2 : len(body) - len(close)]
    parts = []
    for raw in inner.split(b"\r\n" + delimiter + b"\r\n"):
        head, blank, content = raw.partition(b"\r\n\r\n")
        assert blank, raw[:200]
        headers = []
        for line in head.split(b"\r\n"):
            name, colon, value = line.partition(b": ")
            assert colon and re.fullmatch(rb"[A-Za-z-]+", name), line
            headers.append((name.decode("ascii"), value))
        parts.append((headers, content))
    return parts


def disposition(headers: List[Tuple[str, bytes]]) -> Dict[str, str]:
    """The quoted parameters of a Content-Disposition value (UTF-8), no unescaping."""
    values = [value for name, value in headers if name.lower() == "content-disposition"]
    assert len(values) == 1
    value = values[0]
    assert value.startswith(b"form-data; ")
    params = dict(re.findall(rb'(\w+)="([^"\r\n]*)"', value))
    rebuilt = b"form-data; " + b"; ".join(k + b'="' + v + b'"' for k, v in params.items())
    assert rebuilt == value, value  # nothing but well-formed quoted parameters
    return {k.decode("ascii"): v.decode("utf-8") for k, v in params.items()}


def email_parts(content_type: str, body: bytes) -> List[email.message.Message]:
    raw = b"Content-Type: " + content_type.encode("ascii") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    assert message.is_multipart()
    assert not message.defects, message.defects
    parts = list(message.iter_parts())
    for part in parts:
        assert not part.defects, part.defects
    return parts


def produce(body: MultipartBody) -> bytes:
    chunks = list(body)
    assert all(type(chunk) is bytes for chunk in chunks)
    data = b"".join(chunks)
    assert len(data) == body.content_length
    return data


# -- encode_params and friends --------------------------------------------------------------


def test_nested_parameters_flatten_like_rails() -> None:
    params = {
        "track": {"title": "x", "tags": ["a", "b"], "bpm": 120.5, "count": 3, "downloadable": False},
        "playlist": {"tracks": [{"id": 1}, {"id": 2}]},
        "q": "hello",
        "flag": True,
        "skipped": None,
        "nested": {"gone": None, "empty": {}, "none_in_list": [None, "kept"]},
    }
    assert encode_params(params) == [
        ("track[title]", "x"),
        ("track[tags][]", "a"),
        ("track[tags][]", "b"),
        ("track[bpm]", "120.5"),
        ("track[count]", "3"),
        ("track[downloadable]", "false"),
        ("playlist[tracks][][id]", "1"),
        ("playlist[tracks][][id]", "2"),
        ("q", "hello"),
        ("flag", "true"),
        ("nested[none_in_list][]", "kept"),
    ]


def test_tuples_are_lists_and_subclasses_are_accepted() -> None:
    class Text(str):
        pass

    class Number(int):
        pass

    assert encode_params({"ids": (1, 2), "t": Text("v"), "n": Number(7)}) == [
        ("ids[]", "1"),
        ("ids[]", "2"),
        ("t", "v"),
        ("n", "7"),
    ]


def test_file_values_are_kept_at_any_depth() -> None:
    handle = io.BytesIO(b"x")
    path = Path("a.mp3")
    params = {"track": {"asset_data": handle, "meta": {"artwork_data": path}}, "raw": b"bytes",
              "pair": ("name.mp3", b"data")}
    fields = encode_params(params)
    assert fields == [
        ("track[asset_data]", handle),
        ("track[meta][artwork_data]", path),
        ("raw", b"bytes"),
        ("pair", ("name.mp3", b"data")),
    ]
    assert has_files(fields)
    assert not has_files(encode_params({"a": "b", "c": [1]}))


def test_a_tuple_of_strings_is_a_list_not_a_file() -> None:
    assert not is_file_value(("a", "b"))
    assert encode_params({"x": ("a", "b")}) == [("x[]", "a"), ("x[]", "b")]


@pytest.mark.parametrize(
    "value, expected",
    [
        (b"", True),
        (bytearray(b"x"), True),
        (memoryview(b"x"), True),
        (Path("x"), True),
        (io.BytesIO(), True),
        (("n", io.BytesIO()), True),
        (("n", b"x", "audio/mpeg"), True),
        (("n", b"x", "a", "too long"), False),
        ((1, b"x"), False),
        ("text", False),
        (1, False),
        (None, False),
    ],
)
def test_is_file_value(value: Any, expected: bool) -> None:
    assert is_file_value(value) is expected


def test_nesting_is_bounded() -> None:
    deep: Dict[str, Any] = {"leaf": "x"}
    for _ in range(MAX_NESTING - 1):
        deep = {"k": deep}
    assert len(encode_params({"top": deep})) == 1
    too_deep: Any = "x"
    for _ in range(MAX_NESTING + 5):
        too_deep = [too_deep]
    with pytest.raises(ValueError, match="nested deeper than"):
        encode_params({"top": too_deep})
    cyclic: Dict[str, Any] = {}
    cyclic["self"] = cyclic
    with pytest.raises(ValueError, match="nested deeper than"):
        encode_params({"top": cyclic})


def test_bad_parameters_are_refused_clearly() -> None:
    with pytest.raises(TypeError, match="parameter names must be str"):
        encode_params({1: "x"})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="parameter names must be str"):
        encode_params({"a": {2: "x"}})
    with pytest.raises(TypeError, match="cannot send a parameter of type object"):
        encode_params({"a": object()})


def test_urlencode_escapes_everything_but_unreserved() -> None:
    fields = encode_params({"track": {"title": "café & co/ü=1+2"}, "q": "a b"})
    assert urlencode(fields) == "track%5Btitle%5D=caf%C3%A9%20%26%20co%2F%C3%BC%3D1%2B2&q=a%20b"
    with pytest.raises(TypeError, match="is a file"):
        urlencode([("f", b"x")])


def test_file_name() -> None:
    assert file_name(("given.mp3", b"")) == "given.mp3"
    assert file_name(Path("/some/dir/song.wav")) == "song.wav"
    assert file_name(io.BytesIO()) is None
    handle = io.BytesIO()
    handle.name = "/tmp/x/track.mp3"  # type: ignore[attr-defined]
    assert file_name(handle) == "track.mp3"
    handle.name = "<stdin>"  # type: ignore[attr-defined]
    assert file_name(handle) is None


# -- to_urn ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, value, expected",
    [
        ("tracks", 308946187, "soundcloud:tracks:308946187"),
        ("tracks", 2**40, "soundcloud:tracks:1099511627776"),
        ("tracks", "308946187", "soundcloud:tracks:308946187"),
        ("tracks", "soundcloud:tracks:308946187", "soundcloud:tracks:308946187"),
        ("users", 0, "soundcloud:users:0"),
        ("playlists", "soundcloud:playlists:12", "soundcloud:playlists:12"),
    ],
)
def test_to_urn(kind: str, value: Any, expected: str) -> None:
    assert to_urn(kind, value) == expected


@pytest.mark.parametrize(
    "kind, value, message",
    [
        ("tracks", "soundcloud:users:1", "URN for users, not tracks"),
        ("tracks", "soundcloud:tracks:", "not a tracks id or URN"),
        ("tracks", "soundcloud:tracks:12a", "not a tracks id or URN"),
        ("tracks", "soundcloud:tracks:1 ", "not a tracks id or URN"),
        ("tracks", "twelve", "not a tracks id or URN"),
        ("tracks", "", "not a tracks id or URN"),
        ("tracks", "\u0661\u0662", "not a tracks id or URN"),  # Arabic-Indic digits
        ("tracks", -1, "cannot be negative"),
        ("Tracks", 1, "URN kind"),
        ("", 1, "URN kind"),
    ],
)
def test_to_urn_refuses_clearly(kind: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        to_urn(kind, value)


@pytest.mark.parametrize("value", [True, 1.5, None, b"1"])
def test_to_urn_refuses_other_types(value: Any) -> None:
    with pytest.raises(TypeError, match="must be an int, a numeric str or a URN"):
        to_urn("tracks", value)


def test_to_urn_is_exported() -> None:
    import soundcloud.encoding

    assert "to_urn" in soundcloud.encoding.__all__
    assert "MultipartBody" in soundcloud.encoding.__all__


# -- multipart: exact bytes ---------------------------------------------------------------


def test_multipart_bytes_match_the_rfc_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "my track.mp3"
    path.write_bytes(ALL_BYTES)
    fields = encode_params(
        {
            "track": {
                "title": "Caf\u00e9 \u266b \"quoted\"\r\nsecond line",
                "asset_data": path,
                "artwork_data": ("cover.png", b"\x89PNG\r\n\x1a\n"),
                "sharing": "private",
            }
        }
    )
    body = MultipartBody(fields, boundary="b0undary")
    expected = (
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="track[title]"\r\n'
        b"\r\n"
        + "Caf\u00e9 \u266b \"quoted\"\r\nsecond line".encode("utf-8")
        + b"\r\n"
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="track[asset_data]"; filename="my track.mp3"\r\n'
        b"Content-Type: audio/mpeg\r\n"
        b"\r\n" + ALL_BYTES + b"\r\n"
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="track[artwork_data]"; filename="cover.png"\r\n'
        b"Content-Type: image/png\r\n"
        b"\r\n"
        b"\x89PNG\r\n\x1a\n\r\n"
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="track[sharing]"\r\n'
        b"\r\n"
        b"private\r\n"
        b"--b0undary--\r\n"
    )
    assert body.content_type == "multipart/form-data; boundary=b0undary"
    assert produce(body) == expected
    assert body.content_length == len(expected)


def test_non_ascii_and_special_names_are_escaped_as_browsers_do() -> None:
    # RFC 7578 section 4.2 / 5.1: UTF-8 in the quoted string; WHATWG HTML: ", CR and LF as
    # %22, %0D, %0A. A backslash is sent as it is.
    fields = [
        ("f\u00fc\u00dfe\"[x]\r\n", "v\u00e4lue \u2603"),
        ("file", ("\u00e9t\u00e9 \"live\"\r\n\\ \U0001F3B5.mp3", b"abc")),
    ]
    data = produce(MultipartBody(fields, boundary="B"))
    assert data == (
        b"--B\r\n"
        b'Content-Disposition: form-data; name="'
        + "f\u00fc\u00dfe%22[x]%0D%0A".encode("utf-8")
        + b'"\r\n\r\n'
        + "v\u00e4lue \u2603".encode("utf-8")
        + b"\r\n--B\r\n"
        b'Content-Disposition: form-data; name="file"; filename="'
        + "\u00e9t\u00e9 %22live%22%0D%0A\\ \U0001F3B5.mp3".encode("utf-8")
        + b'"\r\nContent-Type: audio/mpeg\r\n\r\nabc\r\n--B--\r\n'
    )


# -- multipart: parsed back independently ---------------------------------------------------


def test_random_boundary_and_parse_back(tmp_path: Path) -> None:
    big = os.urandom(3 * CHUNK_SIZE + 17) + ALL_BYTES
    path = tmp_path / "\u00fcml\u00e4ut s\u00f6ng.flac"
    path.write_bytes(big)
    with open(path, "rb") as handle:
        fields = encode_params(
            {
                "track": {
                    "title": "\u65e5\u672c\u8a9e\u306e\u30bf\u30a4\u30c8\u30eb",
                    "asset_data": handle,
                    "tag_list": "a \"b\" c",
                    "artwork_data": ALL_BYTES,
                },
                "ids": [1, 2],
            }
        )
        first = MultipartBody(fields)
        second = MultipartBody(fields)
        assert first.boundary != second.boundary
        assert re.fullmatch(r"[0-9a-f]{32}", first.boundary)
        data = produce(first)
        parts = strict_parse(first.content_type, data)
        assert [disposition(headers)["name"] for headers, _ in parts] == [
            "track[title]",
            "track[asset_data]",
            "track[tag_list]",
            "track[artwork_data]",
            "ids[]",
            "ids[]",
        ]
        assert parts[0][1] == "\u65e5\u672c\u8a9e\u306e\u30bf\u30a4\u30c8\u30eb".encode("utf-8")
        assert disposition(parts[1][0])["filename"] == "\u00fcml\u00e4ut s\u00f6ng.flac"
        assert parts[1][1] == big
        assert parts[2][1] == b'a "b" c'
        assert disposition(parts[3][0])["filename"] == "artwork_data"
        assert (b"Content-Type", b"application/octet-stream") in [(n.encode(), v) for n, v in parts[3][0]]
        assert parts[3][1] == ALL_BYTES
        assert [p[1] for p in parts[4:]] == [b"1", b"2"]

        mime = email_parts(first.content_type, data)
        assert [p.get_param("name", header="content-disposition") for p in mime] == [
            "track[title]",
            "track[asset_data]",
            "track[tag_list]",
            "track[artwork_data]",
            "ids[]",
            "ids[]",
        ]
        assert mime[1].get_filename() == "\u00fcml\u00e4ut s\u00f6ng.flac"
        assert mime[1].get_content_type() == (mimetypes.guess_type("x.flac")[0] or "application/octet-stream")
        assert mime[1].get_payload(decode=True) == big
        assert mime[3].get_payload(decode=True) == ALL_BYTES
        assert mime[0].get_payload(decode=True).decode("utf-8") == "\u65e5\u672c\u8a9e\u306e\u30bf\u30a4\u30c8\u30eb"

        # The same fields framed again, from the same open file: it is read from where it
        # was when the body was made, both times.
        assert strict_parse(second.content_type, produce(second))[1][1] == big


def test_file_object_is_read_from_its_current_position() -> None:
    handle = io.BytesIO(b"HEADERpayload")
    handle.seek(6)
    body = MultipartBody([("f", handle)], boundary="x")
    assert produce(body).split(b"\r\n\r\n", 1)[1] == b"payload\r\n--x--\r\n"
    # Producing it again (a second attempt) seeks back to where it started.
    assert produce(body).split(b"\r\n\r\n", 1)[1] == b"payload\r\n--x--\r\n"


def test_path_is_opened_lazily_and_closed_after(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"first")
    body = MultipartBody([("f", path)], boundary="x")
    assert body.content_length == len(produce(body))
    # Opened only while the body is produced: it can be removed now.
    path.unlink()
    with pytest.raises(UploadInterruptedError, match="could not read"):
        produce(body)


def test_path_replaced_during_the_upload_is_noticed(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"first")
    body = MultipartBody([("f", path)], boundary="x")
    replacement = tmp_path / "b.bin"
    replacement.write_bytes(b"other")
    os.replace(replacement, path)  # same size, another file
    with pytest.raises(UploadInterruptedError, match="replaced by another file"):
        produce(body)


def test_empty_files_and_empty_values() -> None:
    body = MultipartBody([("a", ""), ("f", b""), ("g", io.BytesIO())], boundary="x")
    parts = strict_parse(body.content_type, produce(body))
    assert [content for _, content in parts] == [b"", b"", b""]


def test_tuple_with_content_type_and_fileobj() -> None:
    body = MultipartBody([("f", ("song", io.BytesIO(b"abc"), "audio/x-custom"))], boundary="x")
    (headers, content), = strict_parse(body.content_type, produce(body))
    assert headers[1] == ("Content-Type", b"audio/x-custom")
    assert disposition(headers)["filename"] == "song"
    assert content == b"abc"
    with pytest.raises(ValueError, match="content type must be a non-empty ASCII str"):
        MultipartBody([("f", ("song", b"x", "audio/mpeg\r\nX-Injected: 1"))])


def test_default_file_names() -> None:
    body = MultipartBody([("track[asset_data]", b"x"), ("list[]", io.BytesIO(b"y")), ("[]", b"z")], boundary="x")
    names = [disposition(h)["filename"] for h, _ in strict_parse(body.content_type, produce(body))]
    assert names == ["asset_data", "list", "file"]


def test_bytearray_is_copied_when_the_body_is_made() -> None:
    data = bytearray(b"abc")
    body = MultipartBody([("f", data)], boundary="x")
    data[:] = b"XYZ"
    assert strict_parse(body.content_type, produce(body))[0][1] == b"abc"


def test_invalid_boundary_is_refused() -> None:
    for bad in ("", "x" * 71, "ends with space ", "semi;colon", "\u00e9"):
        with pytest.raises(ValueError, match="not a valid multipart boundary"):
            MultipartBody([("a", "b")], boundary=bad)
    assert MultipartBody([("a", "b")], boundary="x" * 70).boundary == "x" * 70


def test_large_body_is_streamed_in_bounded_chunks(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    size = 3 * PATH_BLOCK_SIZE + 5
    with open(path, "wb") as out:
        out.write(os.urandom(size))
    body = MultipartBody([("title", "t"), ("f", path)])
    sizes = [len(chunk) for chunk in body]
    assert sum(sizes) == body.content_length
    assert max(sizes) <= PATH_BLOCK_SIZE  # a path is read a block at a time
    assert len(sizes) == 1 + 4 + 1
    with open(path, "rb") as handle:
        body = MultipartBody([("title", "t"), ("f", handle)])
        sizes = [len(chunk) for chunk in body]
    assert sum(sizes) == body.content_length
    assert max(sizes) <= CHUNK_SIZE  # a file object is read CHUNK_SIZE at a time
    assert len(sizes) == 1 + math.ceil(size / CHUNK_SIZE) + 1


# -- progress -------------------------------------------------------------------------------


def test_progress_follows_the_chunks(tmp_path: Path) -> None:
    calls: List[Tuple[int, int]] = []
    handle = io.BytesIO(b"z" * (2 * CHUNK_SIZE + 100))
    body = MultipartBody(
        encode_params({"t": "x", "f": handle, "g": b"small"}), progress=lambda s, t: calls.append((s, t))
    )
    seen: List[int] = []
    sent = 0
    for chunk in body:
        sent += len(chunk)
        seen.append(sent)
    # One call per chunk, after it went out, with the running total and the total.
    assert [s for s, _ in calls] == seen
    assert all(t == body.content_length for _, t in calls)
    assert calls[-1] == (body.content_length, body.content_length)
    assert len(calls) == 5  # framing, 64 KiB, 64 KiB, 100 bytes, the rest with the inline file


# -- validation before anything is produced -------------------------------------------------


def test_text_mode_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("hello")
    with open(path, "r") as handle:
        with pytest.raises(TypeError, match=r"'track\[asset_data\]'.*text mode"):
            MultipartBody(encode_params({"track": {"asset_data": handle}}))


def test_reader_returning_str_is_refused() -> None:
    class Reader:
        def read(self, size: int = -1) -> str:
            return ""

    with pytest.raises(TypeError, match=r"'f'.*returns str"):
        MultipartBody([("f", Reader())])


def test_closed_file_is_refused(tmp_path: Path) -> None:
    handle = open(tmp_path / "c.bin", "wb+")
    handle.close()
    with pytest.raises(ValueError, match=r"'track\[asset_data\]'.*closed"):
        MultipartBody(encode_params({"track": {"asset_data": handle}}))


def test_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"'track\[asset_data\]'.*no such file") as caught:
        MultipartBody(encode_params({"track": {"asset_data": tmp_path / "missing.mp3"}}))
    assert caught.value.filename == str(tmp_path / "missing.mp3")
    with pytest.raises(ValueError, match="not a regular file"):
        MultipartBody([("f", tmp_path)])


def test_unseekable_stream_of_unknown_size_is_refused() -> None:
    read_fd, write_fd = os.pipe()
    with open(read_fd, "rb") as reader, open(write_fd, "wb") as writer:
        writer.write(b"data")
        writer.flush()
        with pytest.raises(ValueError, match=r"'f'.*cannot tell the size"):
            MultipartBody([("f", reader)])

    class OnlyRead:
        def read(self, size: int = -1) -> bytes:
            return b""

    with pytest.raises(ValueError, match="cannot tell the size"):
        MultipartBody([("f", OnlyRead())])


# -- files that change while they are sent -------------------------------------------------


def test_file_shorter_than_announced_stops_the_body(tmp_path: Path) -> None:
    path = tmp_path / "s.bin"
    path.write_bytes(b"a" * (CHUNK_SIZE + 10))
    body = MultipartBody([("f", path)], boundary="x")
    path.write_bytes(b"a" * 10)
    produced = []
    with pytest.raises(UploadInterruptedError, match=rf"'f'.*ended after 10 of the {CHUNK_SIZE + 10} bytes"):
        for chunk in body:
            produced.append(chunk)
    assert sum(map(len, produced)) < body.content_length


def test_file_longer_than_announced_stops_before_its_last_bytes(tmp_path: Path) -> None:
    path = tmp_path / "l.bin"
    path.write_bytes(b"a" * 10)
    with open(path, "rb") as handle:
        body = MultipartBody([("f", handle)], boundary="x")
        with open(path, "ab") as grow:
            grow.write(b"more")
        produced = []
        with pytest.raises(UploadInterruptedError, match="longer than the 10 bytes announced"):
            for chunk in body:
                produced.append(chunk)
    # The file's bytes never went out: the body cannot look complete to the server.
    assert b"".join(produced) == b'--x\r\nContent-Disposition: form-data; name="f"; filename="l.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'


def test_empty_file_that_grew_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.bin"
    path.write_bytes(b"")
    body = MultipartBody([("f", path)])
    path.write_bytes(b"x")
    with pytest.raises(UploadInterruptedError, match="longer than the 0 bytes"):
        produce(body)


def test_concurrent_bodies_have_distinct_boundaries() -> None:
    boundaries: List[str] = []
    lock = threading.Lock()

    def make() -> None:
        value = MultipartBody([("a", "b")]).boundary
        with lock:
            boundaries.append(value)

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(set(boundaries)) == 8
