"""Where does soundcloud's time go on a GET? A profiling companion to run.py.

    python benchmarks/profile_client.py                    # the source tree
    PYTHONPATH=/path/to/unpacked/wheel python benchmarks/profile_client.py   # a compiled build

Against the same loopback nginx as run.py, in ONE process (this is for attribution, not for
the contest between libraries):

1. layers: the http.client floor, then soundcloud's transport alone
   (``HTTPTransport.handle_request`` + ``read_all`` + ``json.loads``), then the whole
   ``Client.get`` — interleaved rounds, median CPU µs per request, so the deltas say how much
   each layer adds;
2. spot costs: micro-timings of the individual operations the profile points at;
3. cProfile of ``Client.get`` and of the floor: the functions on soundcloud's path that the
   floor's path does not call (or calls less often), by extra self time. cProfile inflates
   call-heavy code several times over: read its numbers as shares, the layer table as µs.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import os
import pstats
import select
import statistics
import sys
import time
import timeit
from typing import Any, Callable, Dict, List, Tuple
from urllib.parse import quote, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
if not os.environ.get("PYTHONPATH") and REPO not in sys.path:
    sys.path.insert(1, REPO)

import bench_servers  # noqa: E402

STDLIB = os.path.dirname(os.__file__) + os.sep


def layers(url: str, path: str, rounds: int, n: int) -> Dict[str, float]:
    import soundcloud
    from soundcloud._models import Request, Timeout
    from soundcloud.transport import HTTPTransport

    small = path == "/small.json"
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80, timeout=30)
    target = path + "?client_id=bench"

    def floor() -> Any:
        conn.request("GET", target)
        d = json.loads(conn.getresponse().read())
        return d["title"] if small else [t["title"] for t in d["collection"]]

    transport = HTTPTransport(proxies={})
    full = url + target
    client = soundcloud.Client(client_id="bench", api_url=url)
    # what the client sends (a private attribute: fall back to the documented defaults)
    headers = dict(getattr(client, "_base_headers", None) or {"Accept": "application/json", "User-Agent": "soundcloud-python"})
    timeout = Timeout()

    def transport_only() -> Any:
        resp = transport.handle_request(Request("GET", full, dict(headers), None, timeout, True))
        d = json.loads(resp.read_all())
        return d["title"] if small else [t["title"] for t in d["collection"]]

    def client_get() -> Any:
        r = client.get(path)
        return r.title if small else [t.title for t in r.collection]

    fns: Dict[str, Callable[[], Any]] = {
        "http.client + json.loads (floor)": floor,
        "soundcloud transport + json.loads": transport_only,
        "soundcloud Client.get()": client_get,
    }
    assert floor() == transport_only() == client_get()
    for f in fns.values():
        for _ in range(max(n // 5, 5)):
            f()
    res: Dict[str, List[float]] = {k: [] for k in fns}
    for r in range(rounds):
        items = list(fns.items())
        k = r % len(items)
        for name, f in items[k:] + items[:k]:
            c0 = time.process_time()
            for _ in range(n):
                f()
            res[name].append((time.process_time() - c0) / n * 1e6)
    conn.close()
    transport.close()
    client.close()
    return {k: statistics.median(v) for k, v in res.items()}


def _t(stmt: Callable[[], Any], n: int = 20000) -> float:
    return min(timeit.repeat(stmt, number=n, repeat=5)) / n * 1e6


def spot_costs(url: str) -> List[Tuple[str, float]]:
    import soundcloud
    from soundcloud.resources import Headers, Resource

    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80, timeout=30)
    conn.request("GET", "/small.json")
    resp = conn.getresponse()
    body = resp.read()
    raw_headers = b"".join(
        f"{k}: {v}\r\n".encode("latin-1") for k, v in resp.getheaders()
    ) + b"\r\n"
    sock = conn.sock
    track = Resource(json.loads(body))
    full = url + "/small.json?client_id=bench"
    out: List[Tuple[str, float]] = []
    out.append(("http.client.parse_headers() of nginx's 9 header lines (email.feedparser; floor pays it too)",
                _t(lambda: http.client.parse_headers(io.BytesIO(raw_headers)))))
    out.append(("  same lines split by a plain readline/partition loop",
                _t(lambda: [ln.partition(b":") for ln in io.BytesIO(raw_headers).readlines()])))
    out.append(("json.loads() of the 1.2 KB track (everyone pays it)", _t(lambda: json.loads(body))))
    out.append(("resp.getheaders() (email.message.items(), per response)", _t(resp.getheaders)))
    out.append(("Headers(resp.getheaders()) + get_value('content-type')",
                _t(lambda: Headers(resp.getheaders()).get_value("content-type"))))
    out.append(("urlsplit(url) + .hostname + .port (netloc parsed again per property)",
                _t(lambda: (lambda p: (p.hostname, p.port))(urlsplit(full)))))
    out.append(("quote('bench', safe='') (client_id, per request)", _t(lambda: quote("bench", safe=""))))
    if sock is not None:
        out.append(("select.select([sock], [], [], 0) (pool liveness check, one syscall)",
                    _t(lambda: select.select([sock], [], [], 0))))
        out.append(("sock.settimeout(30.0) (per request; an ioctl syscall)", _t(lambda: sock.settimeout(30.0))))
    out.append(("Resource.title via __getattr__ (pure: a failed lookup first)", _t(lambda: track.title, 200000)))
    out.append(("Resource['title'] (item access)", _t(lambda: track["title"], 200000)))
    plain = json.loads(body)
    out.append(("dict['title'] (what the floor does)", _t(lambda: plain["title"], 200000)))
    conn.close()
    del soundcloud
    return out


def _profile(f: Callable[[], Any], n: int) -> Dict[str, Tuple[float, float, float]]:
    for _ in range(50):
        f()
    pr = cProfile.Profile(time.process_time)  # CPU, so waiting on the server is not counted
    pr.enable()
    for _ in range(n):
        f()
    pr.disable()
    out: Dict[str, Tuple[float, float, float]] = {}
    for (fn, line, name), (_cc, nc, tt, ct, _callers) in pstats.Stats(pr).stats.items():  # type: ignore[attr-defined]
        key = f"{fn.replace(STDLIB, '').replace(REPO + os.sep, '')}:{line}({name})"
        out[key] = (nc / n, tt / n * 1e6, ct / n * 1e6)
    return out


def extra_calls(url: str, n: int) -> Tuple[List[Tuple[float, float, str]], float, float]:
    import soundcloud

    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80, timeout=30)

    def floor() -> Any:
        conn.request("GET", "/small.json?client_id=bench")
        return json.loads(conn.getresponse().read())["title"]

    client = soundcloud.Client(client_id="bench", api_url=url)

    def client_get() -> Any:
        return client.get("/small.json").title

    a = _profile(floor, n)
    b = _profile(client_get, n)
    rows = []
    for key, (nc, tt, _ct) in b.items():
        fa = a.get(key)
        if fa is None or nc > fa[0] + 0.01:
            rows.append((tt - (fa[1] if fa else 0.0), nc - (fa[0] if fa else 0.0), key))
    rows.sort(reverse=True)
    conn.close()
    client.close()
    return rows, sum(v[1] for v in a.values()), sum(v[1] for v in b.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--server", choices=("auto", "fallback"), default="auto")
    args = ap.parse_args()
    import soundcloud

    mods = {m: os.path.basename(getattr(sys.modules.get(f"soundcloud.{m}"), "__file__", "") or "")
            for m in ("client", "transport.http", "resources", "encoding")}
    print(f"soundcloud from {os.path.dirname(soundcloud.__file__ or '?')}: {mods}")
    srv = bench_servers.start_server(prefer_nginx=args.server == "auto")
    try:
        print(f"server: {srv.describe()}\n")
        for path, n in (("/small.json", 500), ("/collection.json", 40)):
            res = layers(srv.url, path, args.rounds, n)
            base = next(iter(res.values()))
            print(f"## layers, GET {path}: median client CPU µs per request ({args.rounds} interleaved rounds)")
            prev = base
            for name, v in res.items():
                print(f"  {v:9.1f} µs  {v / base:5.2f}× floor  (+{v - prev:6.1f} µs for this layer)  {name}")
                prev = v
            print()
        print("## spot costs (µs per call, best of 5)")
        for label, v in spot_costs(srv.url):
            print(f"  {v:8.2f}  {label}")
        print()
        rows, fa, fb = extra_calls(srv.url, 3000)
        print(f"## cProfile, small GET: on soundcloud's path, not (or more often) on the floor's "
              f"(profiled µs/request: floor {fa:.0f}, soundcloud {fb:.0f})")
        print(f"  {'extra self µs':>13} {'extra calls':>11}  function")
        for extra_self, calls, key in rows[: args.top]:
            print(f"  {extra_self:13.2f} {calls:11.1f}  {key}")
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
