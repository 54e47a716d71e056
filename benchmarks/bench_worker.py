"""One benchmark contender, run in its own process and driven over stdin/stdout.

The parent (``run.py``) starts ``python bench_worker.py`` and writes one JSON command per line;
the worker answers each with one JSON line:

    {"cmd": "setup", "scenario": "small_get", "contender": "floor", "url": "http://..."}
        -> {"ok": true, "info": {...}}     (or {"ok": false, "error": "..."}; the worker stays up)
    {"cmd": "run", "n": 1000}
        -> {"ok": true, "n": 1000, "cpu": <s>, "wall": <s>, ...}
    {"cmd": "quit"}

``setup`` builds the operation, runs it once and checks its result against the fixture data, so
every contender provably does the same work; then ``warmup`` more calls happen before timing.
``cpu`` is ``time.process_time()`` of this process only (the server is another process);
``wall`` is ``time.perf_counter()``.

Only the standard library is imported at module level: a contender's own imports happen in its
setup, so each process holds just what its contender needs.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import resource
import sys
import time
import traceback
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import bench_data

__all__ = ["SCENARIOS", "WAN_CONTENDERS", "main", "setup"]

# scenario -> contenders in display order
SCENARIOS: Dict[str, Tuple[str, ...]] = {
    "small_get": ("floor", "urllib", "requests", "soundcloud"),
    "collection_get": ("floor", "urllib", "requests", "soundcloud"),
    "upload": ("floor", "floor_64k", "requests", "soundcloud"),
    # a long HLS download's .part file to a plain M4A; the floor copies the same bytes once
    "remux": ("floor", "soundcloud"),
    # CPU-bound paths of the package alone (pure vs compiled): the contender is "soundcloud"
    "cpu_encode_params": ("soundcloud",),
    "cpu_multipart": ("soundcloud",),
    "cpu_resource": ("soundcloud",),
    "cpu_models": ("soundcloud",),
    "cpu_models_items": ("soundcloud",),
}
# the WAN section (run.py section_wan) runs small_get and collection_get through a delaying,
# rate-capping relay with these contenders: the floor without and with compression
WAN_CONTENDERS: Tuple[str, ...] = ("floor", "floor_gzip", "requests", "soundcloud")
# what requests sends by default, and so what the compressing floor asks for
ACCEPT_ENCODING = "gzip, deflate"

SMALL_TITLE = bench_data.make_track(0)["title"]
COLLECTION_TITLES = [bench_data.make_track(i)["title"] for i in range(200)]
UPLOAD_CHUNK = 256 * 1024  # what the http.client floor sends per write
UPLOAD_CHUNK_SMALL = 64 * 1024  # the floor_64k contender: shows what the chunk size alone costs
COPY_BLOCK = 1024 * 1024  # the remux floor's shutil.copyfileobj block (soundcloud's remux copies <= 1 MiB)
# the cover the remux writes: the fake's artwork fixture (read from the tree, no package import)
ARTWORK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "soundcloud", "testing", "fixtures", "artwork.jpg")
# scenarios whose workers measure the peak RSS of a run (a fresh process per run)
RSS_SCENARIOS = ("upload", "remux")
CLIENT_ID = "bench"

Op = Callable[[], Any]


class Unavailable(Exception):
    """The contender cannot run here (library missing, API not written yet)."""


# ---------------------------------------------------------------------------------------------
# Memory probes


def _status_kib(field: str) -> Optional[int]:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------
# soundcloud adapters: the only place that knows the package's API shape


def _sc_client(url: str) -> Any:
    import soundcloud

    return soundcloud.Client(client_id=CLIENT_ID, api_url=url)


def _sc_info() -> Dict[str, Any]:
    import soundcloud

    mods = {}
    for name in ("client", "transport.http", "encoding", "resources", "media.m4a", "media.fmp4"):
        m = sys.modules.get(f"soundcloud.{name}")
        if m is not None:
            mods[name] = os.path.basename(getattr(m, "__file__", "") or "")
    compiled = any(f.endswith((".so", ".pyd")) for f in mods.values())
    return {
        "soundcloud_file": getattr(soundcloud, "__file__", None),
        "soundcloud_version": getattr(soundcloud, "__version__", None),
        "modules": mods,
        "compiled": compiled,
    }


def _find_multipart() -> Callable[[List[Tuple[str, Any]]], Op]:
    """Return ``make(fields) -> op`` where ``op()`` frames the whole multipart body.

    The multipart API of ``soundcloud.encoding`` is probed by name so this benchmark follows
    the package as it grows; ``Unavailable`` when no known shape exists.
    """
    import io

    from soundcloud import encoding

    def drain(obj: Any) -> int:
        # a (content_type, length, iterator) tuple, an object with __iter__, or bytes
        if isinstance(obj, (bytes, bytearray)):
            return len(obj)
        if isinstance(obj, tuple):
            for part in obj:
                if hasattr(part, "__iter__") and not isinstance(part, (str, bytes)):
                    obj = part
                    break
        total = 0
        for chunk in obj:
            total += len(chunk)
        return total

    body_cls = getattr(encoding, "MultipartBody", None)
    if body_cls is not None:
        # MultipartBody(fields) with content_type, content_length and chunk iteration
        def make_body(fields: List[Tuple[str, Any]], cls: Any = body_cls) -> Op:
            def op() -> int:
                body = cls(fields)
                n = drain(body)
                if n != body.content_length:
                    raise AssertionError(f"framed {n} bytes, announced {body.content_length}")
                return n

            return op

        return make_body
    for name in ("MultipartStream", "MultipartEncoder", "Multipart"):
        cls = getattr(encoding, name, None)
        if cls is not None:

            def make_cls(fields: List[Tuple[str, Any]], cls: Any = cls) -> Op:
                def op() -> int:
                    fs = [(k, io.BytesIO(v) if isinstance(v, bytes) else v) for k, v in fields]
                    try:
                        stream = cls(fs)
                    except TypeError:
                        stream = cls(fields=fs)
                    return drain(stream)

                return op

            return make_cls
    for name in ("encode_multipart", "multipart_body", "iter_multipart", "multipart_stream"):
        fn = getattr(encoding, name, None)
        if fn is not None:

            def make_fn(fields: List[Tuple[str, Any]], fn: Any = fn) -> Op:
                def op() -> int:
                    fs = [(k, io.BytesIO(v) if isinstance(v, bytes) else v) for k, v in fields]
                    return drain(fn(fs))

                return op

            return make_fn
    raise Unavailable("soundcloud.encoding has no multipart API yet")


# ---------------------------------------------------------------------------------------------
# Contenders


def _split(url: str) -> Tuple[str, int]:
    from urllib.parse import urlsplit

    u = urlsplit(url)
    return u.hostname or "127.0.0.1", u.port or 80


def setup_get(scenario: str, contender: str, url: str) -> Tuple[Op, Callable[[Any], bool]]:
    """Build the op for ``small_get`` / ``collection_get``."""
    path = "/small.json" if scenario == "small_get" else "/collection.json"
    full = f"{url}{path}?client_id={CLIENT_ID}"
    if scenario == "small_get":

        def check(v: Any) -> bool:
            return bool(v == SMALL_TITLE)

    else:

        def check(v: Any) -> bool:
            return bool(v == COLLECTION_TITLES)

    small = scenario == "small_get"
    if contender == "floor":
        import http.client
        import json as _json

        host, port = _split(url)
        conn = http.client.HTTPConnection(host, port, timeout=30)
        target = f"{path}?client_id={CLIENT_ID}"
        loads = _json.loads

        def op() -> Any:
            conn.request("GET", target)
            r = conn.getresponse()
            d = loads(r.read())
            if small:
                return d["title"]
            return [t["title"] for t in d["collection"]]

        return op, check
    if contender == "floor_gzip":
        # the floor asking for compression as requests does, decoding it with zlib in one call
        import http.client
        import json as _json
        import zlib

        host, port = _split(url)
        conn = http.client.HTTPConnection(host, port, timeout=30)
        target = f"{path}?client_id={CLIENT_ID}"
        loads = _json.loads
        headers = {"Accept-Encoding": ACCEPT_ENCODING}  # replaces http.client's "identity"

        def op() -> Any:
            conn.request("GET", target, headers=headers)
            r = conn.getresponse()
            raw = r.read()
            enc = (r.getheader("Content-Encoding") or "").strip().lower()
            if enc in ("gzip", "x-gzip"):
                raw = zlib.decompress(raw, 31)
            elif enc == "deflate":  # zlib-wrapped as RFC 9110 says, or raw as some servers send
                try:
                    raw = zlib.decompress(raw)
                except zlib.error:
                    raw = zlib.decompress(raw, -15)
            elif enc and enc != "identity":
                raise ValueError(f"unexpected Content-Encoding {enc!r}")
            d = loads(raw)
            if small:
                return d["title"]
            return [t["title"] for t in d["collection"]]

        return op, check
    if contender == "urllib":
        import json as _json
        import urllib.request

        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        def op() -> Any:
            with opener.open(full, timeout=30) as r:
                d = _json.loads(r.read())
            if small:
                return d["title"]
            return [t["title"] for t in d["collection"]]

        return op, check
    if contender == "requests":
        try:
            import requests
        except ImportError as e:
            raise Unavailable(f"requests not importable: {e}") from None
        s = requests.Session()

        def op() -> Any:
            d = s.get(full, timeout=30).json()
            if small:
                return d["title"]
            return [t["title"] for t in d["collection"]]

        return op, check
    if contender == "soundcloud":
        client = _sc_client(url)

        def op() -> Any:
            res = client.get(path)
            if small:
                return res.title
            return [t.title for t in res.collection]

        return op, check
    raise ValueError(f"unknown contender {contender!r}")


def _multipart_floor_parts(title: str, filename: str, size: int) -> Tuple[bytes, bytes, str]:
    boundary = "scbench" + os.urandom(8).hex()
    pre = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="track[title]"\r\n\r\n'
        f"{title}\r\n"
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="track[asset_data]"; filename="{filename}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    post = f"\r\n--{boundary}--\r\n".encode()
    return pre, post, boundary


def setup_upload(contender: str, url: str, path: str) -> Tuple[Op, Callable[[Any], bool]]:
    """Build the op for ``upload``: one multipart POST of the file at ``path``."""
    size = os.path.getsize(path)
    title = "bench upload"
    fname = os.path.basename(path)

    def check(v: Any) -> bool:
        return bool(v)

    if contender in ("floor", "floor_64k"):
        import http.client

        host, port = _split(url)
        chunk_size = UPLOAD_CHUNK if contender == "floor" else UPLOAD_CHUNK_SMALL

        def op() -> Any:
            pre, post, boundary = _multipart_floor_parts(title, fname, size)

            def body() -> Iterator[bytes]:
                yield pre
                with open(path, "rb") as f:
                    read = f.read
                    while True:
                        chunk = read(chunk_size)
                        if not chunk:
                            break
                        yield chunk
                yield post

            conn = http.client.HTTPConnection(host, port, timeout=120)
            try:
                conn.request(
                    "POST",
                    f"/tracks?client_id={CLIENT_ID}",
                    body=body(),
                    headers={
                        "Content-Type": f"multipart/form-data; boundary={boundary}",
                        "Content-Length": str(len(pre) + size + len(post)),
                    },
                )
                r = conn.getresponse()
                return r.status == 201 and json.loads(r.read()) == {"ok": True}
            finally:
                conn.close()

        return op, check
    if contender == "requests":
        try:
            import requests
        except ImportError as e:
            raise Unavailable(f"requests not importable: {e}") from None
        s = requests.Session()

        def op() -> Any:
            with open(path, "rb") as f:
                r = s.post(
                    f"{url}/tracks?client_id={CLIENT_ID}",
                    data={"track[title]": title},
                    files={"track[asset_data]": (fname, f, "application/octet-stream")},
                    timeout=120,
                )
            return r.status_code == 201 and r.json() == {"ok": True}

        return op, check
    if contender == "soundcloud":
        client = _sc_client(url)
        # The floor and requests load their HTTP modules here, in setup; soundcloud loads
        # http.client (with ssl and email) on its first connection. Load it now as well, so
        # the peak RSS measured is the upload's own, not a module import's.
        importlib.import_module("http.client")

        def op() -> Any:
            with open(path, "rb") as f:
                res = client.post("/tracks", track={"title": title, "asset_data": f})
            return getattr(res, "status_code", 201) == 201 and res["ok"] is True

        return op, check
    raise ValueError(f"unknown contender {contender!r}")


def setup_remux(contender: str, path: str, out: str, expect: Dict[str, Any]) -> Tuple[Op, Callable[[Any], bool]]:
    """Build the op for ``remux``: the ``.part`` file at ``path`` (init segment + fragments,
    as the HLS fetcher stores it) to ``out``. The floor copies it as it is (what
    concatenating the segments costs: the same bytes read and written once); soundcloud
    remuxes it to a tagged M4A. ``expect`` is what the mix holds (``bench_data.make_mix_file``).
    """
    size = os.path.getsize(path)
    if size != expect["bytes"]:
        raise AssertionError(f"{path} is {size} bytes, the mix was {expect['bytes']}")
    if contender == "floor":
        import shutil

        def op() -> Any:
            with open(path, "rb") as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, COPY_BLOCK)
            return {"output_bytes": os.path.getsize(out)}

        return op, lambda v: v["output_bytes"] == size
    if contender == "soundcloud":
        try:
            from soundcloud.media.m4a import remux
            from soundcloud.media.m4a_tags import Tags
        except ImportError as e:
            raise Unavailable(f"soundcloud.media.m4a is not importable: {e}") from None
        cover: Optional[bytes] = None
        if os.path.exists(ARTWORK):
            with open(ARTWORK, "rb") as f:
                cover = f.read()
        tags = Tags(title="Two-hour mix", artist="bench", comment="https://soundcloud.com/bench/mix", cover=cover)
        frames = expect["samples"] // 1024  # AAC-LC: 1024 samples per frame, one frame per MP4 sample

        def op() -> Any:
            with open(path, "rb") as src, open(out, "wb") as dst:
                res = remux(src, dst, tags)
            return {"output_bytes": os.path.getsize(out), "written": res.size, "samples": res.samples,
                    "seconds": res.duration_seconds, "cover": cover is not None}

        def check(v: Any) -> bool:
            return bool(v["written"] == v["output_bytes"] and v["samples"] == frames
                        and abs(v["seconds"] - expect["seconds"]) < 0.1)

        return op, check
    raise ValueError(f"unknown contender {contender!r}")


def setup_cpu(scenario: str) -> Tuple[Op, Callable[[Any], bool]]:
    """Build the op for the package-only CPU paths (encode params, multipart, resources, models)."""
    if scenario == "cpu_encode_params":
        from soundcloud import encoding

        params = bench_data.nested_params()
        encode = getattr(encoding, "encode_params", None)
        if encode is None:
            raise Unavailable("soundcloud.encoding.encode_params does not exist yet")
        expected = len(encode(params))

        def op() -> Any:
            return encode(params)

        return op, lambda v: len(v) == expected and expected > 20
    if scenario == "cpu_multipart":
        make = _find_multipart()
        fields: List[Tuple[str, Any]] = [(f"track[tag_{i}]", f"value number {i}") for i in range(200)]
        fields.append(("track[asset_data]", b"x" * 1024))
        op = make(fields)
        first = op()
        return op, lambda v: v == first and first > 200 * 20
    if scenario == "cpu_resource":
        from soundcloud import resources

        body = bench_data.collection_body(200)
        Resource = resources.Resource
        # json.loads (C code, identical in both builds) happens outside the timed region:
        # the worker parses a fresh document, then times only wrapping + reading every title.
        docs: List[Any] = []

        def prepare(n: int) -> None:
            docs[:] = [json.loads(body) for _ in range(n)]

        def op() -> Any:
            res = Resource(docs.pop())
            return [t.title for t in res.collection]

        op.prepare = prepare  # type: ignore[attr-defined]
        return op, lambda v: v == COLLECTION_TITLES
    if scenario in ("cpu_models", "cpu_models_items"):
        # The typed models beside the Resource path above (issue #13: no slower than it), on the
        # same fresh document: cpu_models wraps the page as Resource does (models.Tracks, whose
        # .collection wraps each item as a Track), cpu_models_items wraps each item from Python
        # ([Track(d) for d in ...]); both read every title through its property.
        try:
            from soundcloud.models import Track, Tracks
        except ImportError:
            raise Unavailable("soundcloud.models does not exist in this build") from None

        body = bench_data.collection_body(200)
        pages: List[Any] = []

        def prepare_pages(n: int) -> None:
            pages[:] = [json.loads(body) for _ in range(n)]

        def wrap_page() -> Any:
            return [track.title for track in Tracks(pages.pop()).collection]

        def wrap_items() -> Any:
            tracks = [Track(item) for item in pages.pop()["collection"]]
            return [track.title for track in tracks]

        wrap = wrap_page if scenario == "cpu_models" else wrap_items
        wrap.prepare = prepare_pages  # type: ignore[attr-defined]
        return wrap, lambda v: v == COLLECTION_TITLES
    raise ValueError(f"unknown scenario {scenario!r}")


def setup(cmd: Dict[str, Any]) -> Tuple[Op, Callable[[Any], bool]]:
    """Dispatch a ``setup`` command to the scenario's builder."""
    scenario = cmd["scenario"]
    contender = cmd["contender"]
    if scenario in ("small_get", "collection_get"):
        return setup_get(scenario, contender, cmd["url"])
    if scenario == "upload":
        return setup_upload(contender, cmd["url"], cmd["file"])
    if scenario == "remux":
        return setup_remux(contender, cmd["file"], cmd["out"], cmd["expect"])
    if scenario.startswith("cpu_"):
        return setup_cpu(scenario)
    raise ValueError(f"unknown scenario {scenario!r}")


# ---------------------------------------------------------------------------------------------
# Timing loop


# Ops with a prepare() step (the Resource path) get fresh input each call, prepared untimed
# right before it: as in a real response, the document is young when it is wrapped. (A batch
# of pre-parsed documents would make every timed gen-0 collection traverse all of them.)
PREPARE_BATCH = 1


def run(op: Op, n: int, measure_rss: bool) -> Dict[str, Any]:
    """Call ``op`` ``n`` times; return CPU and wall seconds (and RSS growth when asked)."""
    out: Dict[str, Any] = {"n": n}
    prepare = getattr(op, "prepare", None)
    if measure_rss:
        gc.collect()
        out["clear_refs"] = _reset_peak_rss()
        out["rss_before_kib"] = _status_kib("VmRSS")
        out["maxrss_before_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu = wall = 0.0
    last: Any = None
    done = 0
    while done < n:
        k = min(n - done, PREPARE_BATCH) if prepare is not None else n - done
        if prepare is not None:
            prepare(k)
        c0 = time.process_time()
        w0 = time.perf_counter()
        for _ in range(k):
            last = op()
        w1 = time.perf_counter()
        c1 = time.process_time()
        cpu += c1 - c0
        wall += w1 - w0
        done += k
    out["cpu"] = cpu
    out["wall"] = wall
    out["result_ok"] = None  # filled by the caller
    if measure_rss:
        out["hwm_after_kib"] = _status_kib("VmHWM")
        out["maxrss_after_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if out["clear_refs"] and out["hwm_after_kib"] is not None and out["rss_before_kib"]:
            out["rss_increase_kib"] = out["hwm_after_kib"] - out["rss_before_kib"]
        else:
            out["rss_increase_kib"] = out["maxrss_after_kib"] - out["maxrss_before_kib"]
    out["_last"] = last
    return out


def main() -> None:
    """Serve commands from stdin until ``quit`` or EOF."""
    op: Optional[Op] = None
    check: Optional[Callable[[Any], bool]] = None
    scenario = ""
    for line in sys.stdin:
        cmd = json.loads(line)
        reply: Dict[str, Any]
        try:
            if cmd["cmd"] == "quit":
                break
            if cmd["cmd"] == "setup":
                scenario = cmd["scenario"]
                try:
                    op, check = setup(cmd)
                    prepare = getattr(op, "prepare", None)
                    if prepare is not None:
                        prepare(1 + int(cmd.get("warmup", 0)))
                    if cmd.get("check_first", True):
                        first = op()
                        if not check(first):
                            raise AssertionError(f"wrong result from contender: {first!r:.200}")
                    for _ in range(int(cmd.get("warmup", 0))):
                        op()
                    info: Dict[str, Any] = {"python": sys.version.split()[0], "pid": os.getpid()}
                    if "soundcloud" in sys.modules:
                        info.update(_sc_info())
                    reply = {"ok": True, "info": info}
                except Unavailable as e:
                    op = None
                    reply = {"ok": False, "unavailable": True, "error": str(e)}
            elif cmd["cmd"] == "run":
                if op is None or check is None:
                    raise RuntimeError("run before a successful setup")
                res = run(op, int(cmd["n"]), scenario in RSS_SCENARIOS)
                last = res.pop("_last")
                res["result_ok"] = bool(check(last))
                if scenario == "remux":
                    res["output"] = last  # sizes, samples: the report prints them
                reply = {"ok": True, **res}
            else:
                raise ValueError(f"unknown command {cmd['cmd']!r}")
        except Exception as e:  # report, keep serving: the parent decides
            reply = {
                "ok": False,
                "error": f"{type(e).__name__}: {e}",
                "traceback": traceback.format_exc(limit=8),
            }
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
