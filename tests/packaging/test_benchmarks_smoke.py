"""The benchmark harness (benchmarks/) works: statistics, targets, tables, servers, workers,
the WAN relay.

No speed is asserted: these tests run every piece once against real loopback servers (the
raw-socket fallback server always; nginx only when installed) and check the results are the
right shape and the contenders did the work they claim. The only times checked are lower
bounds the relay guarantees (it never delivers before the link's delay and rate allow).
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
if not (BENCH / "run.py").exists():  # the suite also runs from a copy of tests/ against wheels
    pytest.skip("benchmarks/ is not next to this tests/ directory", allow_module_level=True)
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import bench_data  # noqa: E402
import bench_relay  # noqa: E402
import bench_report  # noqa: E402
import bench_servers  # noqa: E402
import run as bench_run  # noqa: E402


@functools.lru_cache(maxsize=None)
def _soundcloud_client_ready() -> bool:
    r = subprocess.run(
        [sys.executable, "-c", "import soundcloud; soundcloud.Client"],
        capture_output=True,
        env=bench_run.pure_env().environ(),
        timeout=60,
    )
    return r.returncode == 0


@functools.lru_cache(maxsize=None)
def _has_requests() -> bool:
    return bench_run.has_module(sys.executable, "requests")


# ---------------------------------------------------------------------------------------------
# statistics, targets, tables


def test_summarize_median_quartiles_and_extremes() -> None:
    s = bench_report.summarize([5, 1, 3, 2, 4])
    assert s == {"n": 5, "median": 3.0, "q1": 2.0, "q3": 4.0, "min": 1.0, "max": 5.0}
    assert bench_report.summarize([7])["q1"] == 7.0
    empty = bench_report.summarize([])
    assert empty["median"] is None


def test_ratio_and_paired_ratios() -> None:
    a = bench_report.summarize([2, 4, 6])
    b = bench_report.summarize([1, 2, 3])
    assert bench_report.ratio(a, b) == pytest.approx(2.0)
    assert bench_report.ratio(a, None) is None
    assert bench_report.ratio(a, bench_report.summarize([0, 0])) is None
    p = bench_report.paired_ratios([2, 3, 8], [1, 3, 2])
    assert (p["min"], p["median"], p["max"]) == (1.0, 2.0, 4.0)


def test_target_status() -> None:
    assert bench_report.Target("x", 1.29, "<=", 1.3).status == "PASS"
    assert bench_report.Target("x", 1.31, "<=", 1.3).status == "FAIL"
    assert bench_report.Target("x", 0.79, ">=", 0.8).status == "FAIL"
    assert bench_report.Target("x", None, ">=", 0.8).status == "N/A"


def _get_section(floor: float, sc: float, req: float) -> Dict[str, Any]:
    def c(cpu: float, wall: float) -> Dict[str, Any]:
        return {
            "cpu_us": bench_report.summarize([cpu] * 3),
            "wall_us": bench_report.summarize([wall] * 3),
            "rounds": {"cpu_us": [cpu] * 3, "wall_us": [wall] * 3},
        }

    return {"contenders": {"floor": c(floor, floor * 2), "soundcloud": c(sc, sc * 2), "requests": c(req, req * 2)}}


def test_evaluate_targets_computes_ratios_from_medians() -> None:
    sections: Dict[str, Any] = {
        "small_get": _get_section(100.0, 118.0, 400.0),
        "collection_get": _get_section(1000.0, 1300.0, 2000.0),
        "import": {
            "contenders": {
                "urllib.request": {"import_us": bench_report.summarize([10000.0])},
                "requests": {"import_us": bench_report.summarize([40000.0])},
                "soundcloud": {"import_us": bench_report.summarize([12000.0])},
            }
        },
        "upload": {
            "size_mib": 256,
            "contenders": {
                "floor": {"mb_s": bench_report.summarize([1000.0]), "rounds": {"mb_s": [1000.0]}},
                "soundcloud": {
                    "mb_s": bench_report.summarize([850.0]),
                    "rss_mib": bench_report.summarize([3.5]),
                    "rounds": {"mb_s": [850.0]},
                },
            },
        },
        "compiled": {"paths": {"enc": {"cpu_bound": True, "speedup": 1.4}, "get": {"cpu_bound": False, "speedup": 1.1}}},
    }
    got: Dict[str, Any] = {t.name: (t.value, t.status) for t in bench_report.evaluate_targets(sections)}
    assert got["small GET: client CPU vs http.client floor"] == (pytest.approx(1.18), "PASS")
    assert got["small GET: client CPU vs requests.Session"] == (pytest.approx(0.295), "PASS")
    assert got["200-track GET: client CPU vs floor"] == (pytest.approx(1.3), "FAIL")
    assert got["import soundcloud vs import urllib.request"] == (pytest.approx(1.2), "PASS")
    assert got["import soundcloud vs import requests"] == (pytest.approx(0.3), "PASS")
    assert got["upload: peak RSS increase (MiB)"] == (pytest.approx(3.5), "PASS")
    assert got["upload: throughput vs http.client floor"] == (pytest.approx(0.85), "PASS")
    assert got["mypyc speedup: enc"] == (pytest.approx(1.4), "FAIL")
    assert "mypyc speedup: get" not in got  # not a CPU-bound path: reported, not judged


def _remux_contender(mix: str, peak: float, increase: float, wall: float) -> Dict[str, Any]:
    return {
        "mix": mix,
        "wall_s": bench_report.summarize([wall]),
        "cpu_s": bench_report.summarize([wall]),
        "peak_rss_mib": bench_report.summarize([peak]),
        "rss_mib": bench_report.summarize([increase]),
        "output": {"output_bytes": 1_000_000},
        "rounds": {"wall_s": [wall]},
    }


def test_remux_targets_and_report() -> None:
    sections: Dict[str, Any] = {
        "remux": {
            "rounds": 1,
            "mixes": {"long": {"seconds": 7200.5, "bytes": 147_000_000, "segments": 7000},
                      "short": {"seconds": 600.2, "bytes": 12_000_000, "segments": 590}},
            "contenders": {
                "floor": _remux_contender("long", 17.0, 2.0, 0.05),
                "soundcloud": _remux_contender("long", 30.0, 9.0, 0.5),
                "soundcloud_short": _remux_contender("short", 21.0, 1.0, 0.04),
            },
        }
    }
    got: Dict[str, Any] = {t.name: (t.value, t.status) for t in bench_report.evaluate_targets(sections)}
    assert got["remux: peak RSS above the concatenate floor (MiB)"] == (pytest.approx(13.0), "PASS")
    assert got["remux: peak RSS growth, long mix vs short (MiB)"] == (pytest.approx(9.0), "FAIL")
    results: Dict[str, Any] = {"sections": sections,
                               "targets": [t.as_dict() for t in bench_report.evaluate_targets(sections)]}
    text = bench_report.render_report(results, "md")
    assert "## Remux, 2 h mix" in text and "10 min" in text
    assert "10.00×" in text  # remux wall time over the copy's: reported, never judged
    assert "30 MiB on the 2 h mix and 21 MiB on the 10 min one" in text
    assert bench_report.evaluate_targets({})[-1].status == "N/A"


def test_only_refuses_an_unknown_section() -> None:
    with pytest.raises(SystemExit, match="no section bogus"):
        bench_run.main(["--only", "remux,bogus"])


def test_render_table_markdown_and_rst() -> None:
    md = bench_report.render_table(["a", "bb"], [["1", "2"], ["333", ""]], "md")
    assert md.splitlines() == ["| a   | bb |", "|-----|----|", "| 1   | 2  |", "| 333 |    |"]
    rst = bench_report.render_table(["a", "bb"], [["1", "2"], ["", "x"]], "rst")
    lines = rst.splitlines()
    assert lines[0] == lines[2] == lines[-1] == "==  =="
    assert lines[4].startswith("..")  # an empty first cell would join the row above


def test_render_report_and_from_json(tmp_path: Path) -> None:
    results: Dict[str, Any] = {
        "machine": {"cpu_model": "Test CPU", "cores": 2},
        "config": {"quick": True},
        "server": {"description": "test"},
        "sections": {"small_get": {**_get_section(100.0, 140.0, 400.0), "rounds": 3, "n": 10, "body_bytes": 1}},
    }
    results["targets"] = [t.as_dict() for t in bench_report.evaluate_targets(results["sections"])]
    text = bench_report.render_report(results, "md")
    assert "Test CPU" in text and "1.40×" in text and "FAIL" in text and "PASS" in text
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    out = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--from-json", str(path), "--format", "rst"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "Test CPU" in out.stdout and "=====" in out.stdout


def test_fixture_data_shapes() -> None:
    small = json.loads(bench_data.small_body())
    assert 800 < len(bench_data.small_body()) < 2000 and small["kind"] == "track"
    coll = json.loads(bench_data.collection_body(200))
    assert len(coll["collection"]) == 200 and coll["next_href"] is None
    assert len(set(bench_data.track_titles(coll))) == 200


def test_importtime_parser_sees_top_level_modules() -> None:
    env = bench_run.nosite_env(bench_run.PyEnv(sys.executable, None, "test"))
    entries = dict(bench_run._importtime(env, "json", None))
    assert entries["json"] > 0  # top level: a cumulative time
    assert entries.get("json.decoder") == -1  # nested inside json


# ---------------------------------------------------------------------------------------------
# servers and workers


@pytest.fixture(scope="module")
def fallback() -> Iterator[bench_servers.FallbackServer]:
    srv = bench_servers.FallbackServer().start()
    try:
        yield srv
    finally:
        srv.stop()


def _one_run(setup: Dict[str, Any], n: int = 1) -> Dict[str, Any]:
    w, rep = bench_run._start(bench_run.pure_env(), None, setup, timeout=60)
    if w is None:
        if rep.get("unavailable") or "NotImplementedError" in rep.get("error", ""):
            pytest.skip(rep.get("error", "unavailable"))
        raise AssertionError(rep)
    try:
        out = w.call({"cmd": "run", "n": n}, timeout=60)
    finally:
        w.close()
    if not out["ok"] and "NotImplementedError" in out.get("error", ""):
        pytest.skip(out["error"])  # the package's part is not written yet
    assert out["ok"], out
    assert out["result_ok"] is True
    assert out["n"] == n and out["cpu"] >= 0 and out["wall"] > 0
    return out


@pytest.mark.parametrize("contender", ["floor", "urllib", "requests", "soundcloud"])
def test_get_contenders_do_the_work(fallback: bench_servers.FallbackServer, contender: str) -> None:
    if contender == "requests" and not _has_requests():
        pytest.skip("requests is not installed here")
    if contender == "soundcloud" and not _soundcloud_client_ready():
        pytest.skip("soundcloud.Client is not importable yet")
    # one worker, both scenarios in turn (a worker re-sets up in place); setup checks the
    # contender's result against the fixture titles before anything is timed
    w = bench_run.Worker(bench_run.pure_env(), None)
    try:
        for scenario in ("small_get", "collection_get"):
            rep = w.call({"cmd": "setup", "scenario": scenario, "contender": contender,
                          "url": fallback.url, "warmup": 1}, timeout=60)
            assert rep["ok"], rep
            out = w.call({"cmd": "run", "n": 2}, timeout=60)
            assert out["ok"] and out["result_ok"] is True, out
            assert out["n"] == 2 and out["cpu"] >= 0 and out["wall"] > 0
    finally:
        w.close()


@pytest.mark.parametrize("contender", ["floor", "floor_64k", "requests", "soundcloud"])
def test_upload_contenders_report_rss(fallback: bench_servers.FallbackServer, tmp_path: Path, contender: str) -> None:
    if contender == "requests" and not _has_requests():
        pytest.skip("requests is not installed here")
    if contender == "soundcloud" and not _soundcloud_client_ready():
        pytest.skip("soundcloud.Client is not importable yet")
    path = tmp_path / "up.bin"
    bench_data.make_upload_file(str(path), 300_000, block=65536)
    out = _one_run({"scenario": "upload", "contender": contender, "url": fallback.url, "file": str(path),
                    "warmup": 0, "check_first": False})
    assert isinstance(out["rss_increase_kib"], int)


def test_remux_section_runs_both_contenders_on_short_mixes(tmp_path: Path) -> None:
    # what `make bench` runs (2 h and 10 min mixes; 10 min and 1 min with --quick), on mixes
    # of seconds: each contender in a fresh process, its output checked, then deleted
    env = bench_run.pure_env()
    envs: Dict[str, Any] = {"floor": env, "soundcloud": env}
    sec = bench_run.section_remux(envs, {}, 1, 12.0, 3.0, None, tmp_root=str(tmp_path))
    assert "skipped" not in sec, sec.get("skipped")
    if "soundcloud" in sec["unavailable"]:
        pytest.skip(sec["unavailable"]["soundcloud"])
    assert sec["errors"] == {}
    long_mix, short_mix = sec["mixes"]["long"], sec["mixes"]["short"]
    assert long_mix["seconds"] >= 12.0 > short_mix["seconds"] >= 3.0
    assert long_mix["segments"] > short_mix["segments"] >= 3
    floor, remux, short = (sec["contenders"][k] for k in ("floor", "soundcloud", "soundcloud_short"))
    assert floor["output"]["output_bytes"] == long_mix["bytes"]  # a copy: the same bytes
    # the remux checked its own result (samples, duration) before reporting; a plain M4A
    # holds the same samples less the fragments' moof boxes, plus a moov and the cover
    assert 0.9 * long_mix["bytes"] < remux["output"]["output_bytes"] < long_mix["bytes"] + 65536
    assert remux["output"]["samples"] == long_mix["samples"] // 1024 and remux["output"]["cover"] is True
    assert short["mix"] == "short" and short["output"]["samples"] == short_mix["samples"] // 1024
    for c in (floor, remux, short):
        assert c["peak_rss_mib"]["median"] > c["rss_mib"]["median"] >= 0 and c["wall_s"]["median"] > 0
    assert list(tmp_path.iterdir()) == []  # mixes and outputs removed
    text = bench_report.render_report({"sections": {"remux": sec}}, "md")
    assert "concatenate: shutil.copyfileobj" in text and "soundcloud.media.m4a.remux" in text


def test_worker_refuses_a_contender_with_a_wrong_result() -> None:
    # a server whose track has another title: setup must refuse to time that contender
    wrong = dict(bench_data.make_track(0), title="something else")
    with bench_servers.FallbackServer(site={"small.json": json.dumps(wrong).encode()}) as srv:
        w, rep = bench_run._start(
            bench_run.pure_env(), None,
            {"scenario": "small_get", "contender": "floor", "url": srv.url, "warmup": 0},
            timeout=60,
        )
        if w is not None:
            w.close()
    assert w is None and rep["ok"] is False
    assert "wrong result" in rep["error"] and "something else" in rep["error"]


def test_nginx_serves_files_and_reads_whole_upload_bodies() -> None:
    nginx = bench_servers.find_nginx()
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    srv = bench_servers.NginxServer(nginx)
    tmp, body_dir = srv.tmp, srv.body_dir
    try:
        srv.start()
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        try:
            conn.request("GET", "/small.json?client_id=x")
            r = conn.getresponse()
            assert r.status == 200 and json.loads(r.read())["kind"] == "track"
            size = 3 * 1024 * 1024  # over client_body_buffer_size: spooled, still read in full
            conn.request("POST", "/tracks", body=b"x" * size, headers={"Content-Length": str(size)})
            r = conn.getresponse()
            assert r.status == 201 and json.loads(r.read()) == {"ok": True}
            conn.request("GET", "/collection.json")  # same connection: keep-alive held
            r = conn.getresponse()
            assert len(json.loads(r.read())["collection"]) == 200
        finally:
            conn.close()
        proc = srv.proc
        assert proc is not None
    finally:
        srv.stop()
    assert proc.returncode is not None  # stopped
    assert not os.path.exists(tmp) and not os.path.exists(body_dir)


def test_compiled_env_refuses_a_wheel_without_extension_modules(tmp_path: Path) -> None:
    import zipfile

    wheel = tmp_path / "soundcloud-0-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("soundcloud/__init__.py", "")
        z.writestr("soundcloud/encoding.py", "")
    cenv, penv, why = bench_run.compiled_env("auto", str(tmp_path / "work"), str(wheel))
    assert cenv is None and penv is None
    assert "is not compiled" in why
    assert bench_run.compiled_env("no", str(tmp_path), str(wheel))[2] == "disabled (--no-compiled)"


def test_small_get_cpu_target_is_1_2_times_the_floor() -> None:
    got = {t.name: t for t in bench_report.evaluate_targets({"small_get": _get_section(100.0, 125.0, 400.0)})}
    t = got["small GET: client CPU vs http.client floor"]
    assert (t.limit, t.status) == (1.2, "FAIL")  # 1.25x passed the old 1.3x target


# ---------------------------------------------------------------------------------------------
# WAN: the relay, the compressing servers, the section and its targets


def test_relay_schedule_paces_pieces_and_adds_the_delay() -> None:
    # 1 MB/s, 10 ms one way, 1000-byte pieces: 2500 bytes arriving at t=1 while the link is
    # busy until t=1.002 leave at 1.003, 1.004, 1.0045 and arrive 10 ms later
    pieces, free_at = bench_relay.schedule(1.002, 1.0, 2500, 1e6, 0.010, 1000)
    assert [n for n, _ in pieces] == [1000, 1000, 500]
    assert [due for _, due in pieces] == pytest.approx([1.013, 1.014, 1.0145])
    assert free_at == pytest.approx(1.0045)
    _, idle = bench_relay.schedule(0.0, 5.0, 100, 1e6, 0.0, 1000)  # an idle link starts now
    assert idle == pytest.approx(5.0001)
    link = bench_relay.Link(20.0, 20.0)
    assert link.bytes_per_s == 2.5e6 and link.piece == 2500  # ~1 ms of link time per piece
    assert bench_relay.Link(50.0, 5.0).piece == bench_relay.SEGMENT  # never below one segment
    assert bench_report.link_label(5, 1000) == "5 ms / 1 Gbit"
    assert bench_report.link_label(50, 5) == "50 ms / 5 Mbit"


def _read_response(sock: Any, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        data = sock.recv(1 << 20)
        assert data, f"connection closed after {len(buf)} of {n} bytes"
        buf += data
    return buf


def test_relay_delays_each_direction_caps_the_rate_and_counts_bytes(
        fallback: bench_servers.FallbackServer) -> None:
    import socket
    import time

    delay_ms, mbit = 15.0, 80.0
    body = bench_data.collection_body(200)
    answer = bench_servers._response("200 OK", body)  # what the fallback server sends, byte for byte
    request = b"GET /collection.json HTTP/1.1\r\nHost: x\r\n\r\n"
    with bench_relay.Relay(("127.0.0.1", fallback.port), delay_ms, mbit) as relay:
        with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as sock:
            for _ in range(2):  # twice on one connection: kept alive through the relay
                t0 = time.monotonic()
                sock.sendall(request)
                got = _read_response(sock, len(answer))
                elapsed = time.monotonic() - t0
                assert got == answer
                # a lower bound only: the relay never delivers early, whatever the machine's load
                assert elapsed >= 2 * delay_ms / 1000 + len(answer) * 8 / (mbit * 1e6)
        stats = relay.stats()
    assert stats == {"up": 2 * len(request), "down": 2 * len(answer), "connections": 1}


def test_relay_process_reports_counters_over_its_pipe(fallback: bench_servers.FallbackServer) -> None:
    with bench_relay.RelayProcess(("127.0.0.1", fallback.port), 1.0, 1000.0) as relay:
        assert relay.stats() == {"up": 0, "down": 0, "connections": 0}
        conn = http.client.HTTPConnection("127.0.0.1", relay.port, timeout=10)
        try:
            conn.request("GET", "/small.json")
            r = conn.getresponse()
            assert json.loads(r.read())["kind"] == "track"
        finally:
            conn.close()
        stats = relay.stats()
        proc = relay.proc
    assert stats["connections"] == 1 and stats["up"] > 30
    assert stats["down"] > len(bench_data.small_body())
    assert proc is not None and proc.returncode == 0  # stopped on "quit"


def test_accepts_gzip_reads_accept_encoding() -> None:
    assert bench_servers.accepts_gzip("gzip, deflate")
    assert bench_servers.accepts_gzip("br;q=1.0, GZIP;q=0.5")
    assert bench_servers.accepts_gzip("*")
    assert not bench_servers.accepts_gzip("identity")
    assert not bench_servers.accepts_gzip("gzip;q=0, deflate")
    assert not bench_servers.accepts_gzip("")


def _get(port: int, path: str, accept_encoding: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Accept-Encoding": accept_encoding})
    r = conn.getresponse()
    r.body = r.read()  # type: ignore[attr-defined]
    conn.close()
    return r


def _check_gzip_server(port: int) -> None:
    import zlib

    for path, body in (("/small.json", bench_data.small_body()), ("/collection.json", bench_data.collection_body(200))):
        r = _get(port, path, "gzip, deflate")
        assert r.status == 200 and r.getheader("Content-Type") == "application/json"
        assert r.getheader("Content-Encoding") == "gzip"
        assert zlib.decompress(r.body, 31) == body and len(r.body) < len(body) // 2  # type: ignore[attr-defined]
        r = _get(port, path, "identity")
        assert r.getheader("Content-Encoding") is None and r.body == body  # type: ignore[attr-defined]


def test_fallback_server_gzips_json_when_asked() -> None:
    with bench_servers.FallbackServer(gzip=True) as srv:
        _check_gzip_server(srv.port)
        assert "gzip" in srv.describe()


def test_nginx_gzips_json_when_asked() -> None:
    nginx = bench_servers.find_nginx()
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    with bench_servers.NginxServer(nginx, gzip=True) as srv:
        _check_gzip_server(srv.port)
        assert "gzip on" in srv.describe()
    with bench_servers.NginxServer(nginx) as plain:  # the loopback sections' server: never compresses
        r = _get(plain.port, "/collection.json", "gzip, deflate")
        assert r.getheader("Content-Encoding") is None
        assert r.body == bench_data.collection_body(200)  # type: ignore[attr-defined]


def test_floor_gzip_contender_asks_for_gzip_and_decodes(fallback: bench_servers.FallbackServer) -> None:
    with bench_servers.FallbackServer(gzip=True) as srv:
        for scenario in ("small_get", "collection_get"):
            _one_run({"scenario": scenario, "contender": "floor_gzip", "url": srv.url, "warmup": 0}, n=2)
    # against a server that never compresses, it reads the plain answer
    _one_run({"scenario": "collection_get", "contender": "floor_gzip", "url": fallback.url, "warmup": 0})


def test_wan_section_measures_time_and_bytes_through_the_relay() -> None:
    env = bench_run.pure_env()
    envs: Dict[str, Any] = {"floor": env, "floor_gzip": env,
                            "requests": env if _has_requests() else None,
                            "soundcloud": env if _soundcloud_client_ready() else None}
    sec = bench_run.section_wan(envs, {"requests": "not installed"}, [(1.0, 1000.0)], 1, 0,
                                prefer_nginx=False, server_cpus=None, client_cpus=None, n_override=2)
    assert "gzip" in sec["server"]
    prof = sec["profiles"]["1 ms / 1 Gbit"]
    assert (prof["delay_ms"], prof["mbit"], prof["n"]) == (1.0, 1000.0, 2)
    for scenario in ("small_get", "collection_get"):
        sub = prof[scenario]
        assert sub["errors"] == {}
        cs = sub["contenders"]
        assert set(cs) == {k for k, v in envs.items() if v is not None}
        for c in cs.values():
            assert c["wall_us"]["median"] >= 2000  # two 1 ms hops per request, at least
            assert c["new_conns"]["max"] == 0  # kept alive: connected during setup, not while timed
            assert c["wire_b"]["median"] == c["up_b"]["median"] + c["down_b"]["median"]
            assert c["up_b"]["median"] > 40
        plain, gz = cs["floor"]["down_b"]["median"], cs["floor_gzip"]["down_b"]["median"]
        assert plain > sec["body_bytes"][scenario] and gz > sec["gzip_bytes"][scenario]
        assert gz < plain and gz < sec["gzip_bytes"][scenario] + 400  # the answer gzipped, plus its head
        if "requests" in cs:  # requests asks for gzip too: the same answer
            assert cs["requests"]["down_b"]["median"] == gz
    text = bench_report.render_report({"sections": {"wan": sec}}, "rst")
    assert "WAN: simulated links" in text and "1 ms / 1 Gbit" in text and "asks gzip, deflate (floor)" in text


def _wan_contender(wall_ms: float, wire: float) -> Dict[str, Any]:
    return {"wall_us": bench_report.summarize([wall_ms * 1000] * 3),
            "wire_b": bench_report.summarize([wire]), "up_b": bench_report.summarize([150.0]),
            "down_b": bench_report.summarize([wire - 150.0]), "cpu_us": bench_report.summarize([100.0]),
            "rounds": {"wall_us": [wall_ms * 1000] * 3}}


def test_wan_targets_per_profile_and_worst_bytes() -> None:
    def prof(sc_wall: float, sc_bytes: float) -> Dict[str, Any]:
        return {scen: {"contenders": {"soundcloud": _wan_contender(sc_wall, sc_bytes),
                                      "requests": _wan_contender(40.0, 1000.0)}}
                for scen in ("small_get", "collection_get")}

    wan = {"profiles": {"5 ms / 1 Gbit": prof(39.0, 990.0), "20 ms / 20 Mbit": prof(44.0, 1010.0)}}
    got = {t.name: (t.value, t.status) for t in bench_report.evaluate_targets({"wan": wan})}
    # the worst link decides: 10 bytes more than requests on one, 10 fewer on the other
    assert got["WAN small GET: bytes on the wire beyond requests.Session's (per request)"] == (
        pytest.approx(10.0), "FAIL")
    assert got["WAN 5 ms / 1 Gbit, small GET: wall vs requests.Session"] == (pytest.approx(0.975), "PASS")
    assert got["WAN 20 ms / 20 Mbit, 200-track GET: wall vs requests.Session"] == (pytest.approx(1.1), "FAIL")
    assert got["WAN 50 ms / 5 Mbit, small GET: wall vs requests.Session"] == (None, "N/A")  # not run
    text = bench_report.render_report({"sections": {"wan": wan}}, "md")
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("|")]
    # the summary: soundcloud 44 ms against requests' 40; 1010 B against 1000
    assert ["20 ms / 20 Mbit", "200-track GET", "44", "40", "1.10×", "–", "1010", "1000", "1.01×"] in rows


def test_a_ratio_just_over_its_goal_shows_enough_digits() -> None:
    results = {"targets": [bench_report.Target("x", 1.0002, "<=", 1.0).as_dict(),
                           bench_report.Target("y", 0.9412, "<=", 1.0).as_dict()]}
    text = bench_report.render_report(results, "md")
    assert "| 1.0002×" in text and "FAIL" in text  # not a failing "1.00×"
    assert "| 0.94×" in text
