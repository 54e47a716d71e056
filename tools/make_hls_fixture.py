"""Make the AAC HLS fixture that ``soundcloud.testing`` serves (run by hand; needs PyAV).

    python tools/make_hls_fixture.py

SoundCloud serves audio as HLS of fragmented MP4 (CMAF): an init segment (``ftyp`` +
``moov`` with an ``mp4a`` AAC-LC sample entry and ``mvex``) and media fragments
(``moof`` + ``mdat``). This script encodes four seconds of a two-tone chord with PyAV's
AAC encoder at 160 and 96 kbit/s, muxes each as fragmented MP4 with one-second fragments
(``empty_moov+default_base_moof``, as CMAF packagers do) and splits the result into files::

    soundcloud/testing/fixtures/aac_160/init.mp4, seg-1.m4s ... seg-4.m4s
    soundcloud/testing/fixtures/aac_96/...
    soundcloud/testing/fixtures/preview.mp3     30 s, mono (what /stream now gives)
    soundcloud/testing/fixtures/artwork.jpg     a 16x16 JPEG (a track's cover, as i1.sndcdn.com
    soundcloud/testing/fixtures/artwork.png     serves it), and the same as PNG
    soundcloud/testing/fixtures/fixture.json    per rendition: sample rate, channels, the
                                                media timescale (mdhd), each segment's duration
                                                in seconds and in samples (whole AAC frames,
                                                from its trun), and end_trim: how many samples
                                                short of its frames the last segment's timeline
                                                is (the encoder's padding, trimmed by a short
                                                last sample duration)

The output is checked in; run this again only to change the fixture. Encoders are not
bit-exact across FFmpeg versions, so a rerun changes the bytes, never the shape.
"""

from __future__ import annotations

import io
import json
import math
import struct
from fractions import Fraction
from pathlib import Path
from typing import Dict, List, Tuple

import av  # test/dev only: never imported by the package
import numpy as np

HERE = Path(__file__).resolve().parent.parent / "soundcloud" / "testing" / "fixtures"
RATE = 44100
SECONDS = 4.0
FRAME = 1024  # AAC-LC samples per frame


def chord(seconds: float, rate: int, channels: int) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    fade = np.minimum(1.0, np.minimum(t, seconds - t) * 20)
    left = 0.25 * np.sin(2 * math.pi * 440 * t) + 0.15 * np.sin(2 * math.pi * 660 * t)
    right = 0.25 * np.sin(2 * math.pi * 550 * t) + 0.15 * np.sin(2 * math.pi * 330 * t)
    rows = [left * fade, right * fade][:channels]
    return np.ascontiguousarray(np.stack(rows).astype(np.float32))


def encode(codec: str, fmt: str, rate: int, layout: str, bit_rate: int, samples: np.ndarray,
           options: Dict[str, str]) -> Tuple[bytes, List[int]]:
    """Encode ``samples`` and return the file and each packet's duration in samples."""
    buf = io.BytesIO()
    out = av.open(buf, "w", format=fmt, options=options)
    stream = out.add_stream(codec, rate=rate, layout=layout)
    stream.bit_rate = bit_rate
    durations: List[int] = []
    pos = 0
    frame_size = FRAME if codec == "aac" else 1152
    while pos < samples.shape[1]:
        chunk = np.ascontiguousarray(samples[:, pos : pos + frame_size])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate = rate
        frame.pts = pos
        for packet in stream.encode(frame):
            durations.append(int(packet.duration or 0))
            out.mux(packet)
        pos += frame_size
    for packet in stream.encode(None):
        durations.append(int(packet.duration or 0))
        out.mux(packet)
    out.close()
    return buf.getvalue(), durations


def top_boxes(data: bytes) -> List[Tuple[bytes, int, int]]:
    out = []
    offset = 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        out.append((kind, offset, size))
        offset += size
    return out


def mdhd_timescale(init: bytes) -> int:
    where = init.find(b"mdhd")
    version = init[where + 4]
    offset = where + 8 + (16 if version == 1 else 8)  # after creation and modification times
    return int(struct.unpack(">I", init[offset : offset + 4])[0])


def image(codec: str, pix_fmt: str) -> bytes:
    """A 16x16 gradient encoded as one still image (``mjpeg``: a JPEG, ``png``: a PNG)."""
    context = av.CodecContext.create(codec, "w")
    context.width = context.height = 16
    context.pix_fmt = pix_fmt
    context.time_base = Fraction(1, 25)
    pixels = np.zeros((16, 16, 3), dtype=np.uint8)
    pixels[:, :, 0] = np.arange(16, dtype=np.uint8)[None, :] * 16
    pixels[:, :, 1] = np.arange(16, dtype=np.uint8)[:, None] * 8
    pixels[:, :, 2] = 200
    frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format=pix_fmt)
    frame.pts = 0
    return b"".join(bytes(packet) for packet in context.encode(frame) + context.encode(None))


def trun_samples(moof: bytes) -> int:
    where = moof.find(b"trun")
    return struct.unpack(">I", moof[where + 8 : where + 12])[0]


def trun_ticks(moof: bytes) -> int:
    """The fragment's media duration (ISO/IEC 14496-12 8.8.8): per-sample durations when the
    trun has them, else its sample count times the tfhd default (FRAME here)."""
    where = moof.find(b"trun") - 4
    flags = int.from_bytes(moof[where + 9 : where + 12], "big")
    count = struct.unpack(">I", moof[where + 12 : where + 16])[0]
    if not flags & 0x100:
        return count * FRAME
    offset = where + 16 + (4 if flags & 0x1 else 0) + (4 if flags & 0x4 else 0)
    row = 4 * sum(1 for bit in (0x100, 0x200, 0x400, 0x800) if flags & bit)
    return sum(struct.unpack(">I", moof[offset + i * row : offset + i * row + 4])[0] for i in range(count))


def split(data: bytes, rate: int) -> Tuple[bytes, List[bytes], List[float]]:
    boxes = top_boxes(data)
    init = b"".join(data[o : o + s] for kind, o, s in boxes if kind in (b"ftyp", b"moov"))
    segments: List[bytes] = []
    durations: List[float] = []
    pending = b""
    for kind, offset, size in boxes:
        if kind == b"moof":
            pending = data[offset : offset + size]
        elif kind == b"mdat" and pending:
            segments.append(pending + data[offset : offset + size])
            durations.append(trun_samples(pending) * FRAME / rate)
            pending = b""
    return init, segments, durations


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    meta: Dict[str, object] = {}
    samples = chord(SECONDS, RATE, 2)
    options = {"movflags": "empty_moov+default_base_moof", "frag_duration": "1000000"}
    for name, bit_rate in (("aac_160", 160_000), ("aac_96", 96_000)):
        data, _ = encode("aac", "mp4", RATE, "stereo", bit_rate, samples, options)
        init, segments, durations = split(data, RATE)
        last_moof = segments[-1][: struct.unpack(">I", segments[-1][:4])[0]]
        # The encoder trims its padding from the stream's last frame (a shorter last sample
        # duration): the media timeline ends that many samples before the decoded frames do.
        end_trim = trun_samples(last_moof) * FRAME - trun_ticks(last_moof)
        folder = HERE / name
        folder.mkdir(exist_ok=True)
        for old in folder.glob("*"):
            old.unlink()
        (folder / "init.mp4").write_bytes(init)
        for index, segment in enumerate(segments, 1):
            (folder / f"seg-{index}.m4s").write_bytes(segment)
        timescale = mdhd_timescale(init)
        assert timescale == RATE, "the fake's tfdt arithmetic counts in samples"
        meta[name] = {
            "sample_rate": RATE,
            "channels": 2,
            "codec": "aac",
            "timescale": timescale,
            "segments": [round(d, 6) for d in durations],
            "segment_samples": [int(round(d * RATE)) for d in durations],
            "samples": int(round(sum(durations) * RATE)),
            "end_trim": end_trim,
        }
    preview, _ = encode("libmp3lame", "mp3", 22050, "mono", 32_000, chord(30.0, 22050, 1), {})
    (HERE / "preview.mp3").write_bytes(preview)
    meta["preview"] = {"sample_rate": 22050, "channels": 1, "codec": "mp3", "seconds": 30.0}
    (HERE / "artwork.jpg").write_bytes(image("mjpeg", "yuvj420p"))
    (HERE / "artwork.png").write_bytes(image("png", "rgb24"))
    meta["artwork"] = {"width": 16, "height": 16}
    (HERE / "fixture.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
