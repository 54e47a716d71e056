"""Deterministic fixture data for the benchmarks: track JSON shaped like SoundCloud's API,
upload files, and the ``.part`` file of a long AAC HLS download (the remux scenario).

Run as a script, ``python bench_data.py mix PATH SECONDS`` writes that ``.part`` file and
prints what is in it as JSON (``run.py`` runs it with the source tree on PYTHONPATH, since
the mix is built from ``soundcloud.testing``'s fixture).
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List

__all__ = [
    "collection_body",
    "make_track",
    "make_mix_file",
    "make_upload_file",
    "nested_params",
    "small_body",
]


def make_track(i: int) -> Dict[str, Any]:
    """One track object with the fields ``GET /tracks/{urn}`` returns (about 1.2 KB of JSON)."""
    tid = 308946187 + i
    uid = 12345 + i % 97
    return {
        "kind": "track",
        "urn": f"soundcloud:tracks:{tid}",
        "title": f"Night Drive (Extended Mix) #{i}",
        "artwork_url": f"https://i1.sndcdn.com/artworks-{tid:012d}-large.jpg",
        "bpm": 120.0 + i % 30,
        "comment_count": 4 + i % 11,
        "commentable": True,
        "created_at": "2019/01/15 15:40:49 +0000",
        "description": "Recorded live at the warehouse.",
        "download_count": i % 7,
        "downloadable": False,
        "duration": 240000 + i * 1000,
        "favoritings_count": 271 + i,
        "genre": "Electronic",
        "label_name": "some label",
        "license": "all-rights-reserved",
        "permalink_url": f"https://soundcloud.com/artist-{uid}/night-drive-{i}",
        "playback_count": 8027 + i * 3,
        "release_day": 22,
        "release_month": 8,
        "release_year": 2019,
        "reposts_count": 18,
        "sharing": "public",
        "stream_url": f"https://api.soundcloud.com/tracks/soundcloud:tracks:{tid}/stream",
        "streamable": True,
        "tag_list": "electronic \"night drive\" synthwave",
        "uri": f"https://api.soundcloud.com/tracks/soundcloud:tracks:{tid}",
        "user": {
            "avatar_url": "https://i1.sndcdn.com/avatars-000-large.jpg",
            "id": uid,
            "urn": f"soundcloud:users:{uid}",
            "kind": "user",
            "permalink_url": f"https://soundcloud.com/artist-{uid}",
            "uri": f"https://api.soundcloud.com/users/soundcloud:users:{uid}",
            "username": f"artist-{uid}",
            "permalink": f"artist-{uid}",
        },
        "user_favorite": False,
        "user_playback_count": 1,
        "waveform_url": f"https://wave.sndcdn.com/{tid}_m.png",
        "access": "playable",
    }


def small_body() -> bytes:
    """The body of ``small.json``: one track."""
    return json.dumps(make_track(0), separators=(",", ":")).encode()


def collection_body(n: int = 200) -> bytes:
    """The body of ``collection.json``: ``{"collection": [n tracks], "next_href": null}``."""
    doc = {"collection": [make_track(i) for i in range(n)], "next_href": None}
    return json.dumps(doc, separators=(",", ":")).encode()


def nested_params(width: int = 8, depth: int = 3) -> Dict[str, Any]:
    """Deeply nested request parameters, like a track update with nested lists and dicts."""

    def level(d: int) -> Any:
        if d == 0:
            return {f"f{j}": (j if j % 3 == 0 else f"value {j}") for j in range(width)}
        return {
            f"k{j}": (level(d - 1) if j % 2 == 0 else [f"item {j}-{x}" for x in range(3)])
            for j in range(width // 2)
        }

    return {"track": {"title": "Night Drive", "sharing": "public", "extra": level(depth)}}


def make_upload_file(path: str, size: int, block: int = 1 << 20) -> None:
    """Write ``size`` bytes of incompressible data to ``path`` (one random MiB, repeated)."""
    data = os.urandom(block)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, block)
            f.write(data[:n])
            left -= n


def make_mix_file(path: str, seconds: float, rendition: str = "aac_160") -> Dict[str, Any]:
    """Write the ``<target>.part`` of an HLS download at least ``seconds`` long to ``path``.

    That is what the HLS fetcher stores before remuxing: the fixture's init segment, then
    its four fragments cycled as one continuous stream, ``mfhd`` sequence numbers and
    ``tfdt`` decode times renumbered (``soundcloud.testing.hls.stream_bytes``). Only the
    process that builds the file holds the whole mix in memory (``run.py`` runs this as a
    script), never a measured one. Returns the facts a remux must reproduce: segments,
    bytes, media seconds, decoded samples.
    """
    from soundcloud.testing import hls  # the source tree: only in the process that builds the file

    facts = hls.hls_fixture(rendition)
    segments = 1
    while facts.duration(segments) < seconds:
        segments += 1
    data, ranges = hls.stream_bytes(rendition, segments)
    if len(ranges) != segments or ranges[-1][0] + ranges[-1][1] != len(data):
        raise ValueError(f"stream_bytes gave {len(ranges)} segments in {len(data)} bytes, {segments} were asked")
    with open(path, "wb") as f:
        f.write(data)
    size = len(data)
    del data
    return {
        "path": path,
        "rendition": rendition,
        "segments": segments,
        "bytes": size,
        "seconds": facts.duration(segments),
        "samples": facts.samples(segments),
        "media_samples": facts.media_samples(segments),
    }


def track_titles(doc: Dict[str, Any]) -> List[str]:
    """Every title in a collection document (what the floor contenders compute)."""
    return [t["title"] for t in doc["collection"]]


if __name__ == "__main__":  # pragma: no cover - run.py's mix builder; else a check of the sizes
    import sys

    if len(sys.argv) == 4 and sys.argv[1] == "mix":
        print(json.dumps(make_mix_file(sys.argv[2], float(sys.argv[3]))))
    else:
        print(len(small_body()), len(collection_body()))
