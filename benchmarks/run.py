"""Run the soundcloud benchmark suite and print its tables (``make bench``).

    python benchmarks/run.py            # full run: a few minutes on 2 cores
    python benchmarks/run.py --quick    # smoke run: under ~30 s
    python benchmarks/run.py --compiled # also build a mypyc wheel if dist/ has none
    python benchmarks/run.py --format rst --from-json benchmarks/results.json   # re-render only

What runs, side by side in one run (each contender in its own process, rounds alternating):

1. a loopback server: nginx with a generated config (or a raw-socket fallback, said so);
2. small GET, 3. 200-track collection GET: http.client floor, urllib, requests, soundcloud;
4. import time of soundcloud (``from soundcloud import Client``), urllib.request and requests
   in fresh interpreters;
5. a multipart upload of a large file: peak RSS increase and throughput;
6. mypyc-compiled vs pure-Python builds of the package on its CPU-bound paths;
7. remuxing a two-hour AAC HLS mix (its ``.part`` file) to M4A vs copying the same bytes:
   time and peak RSS, and the RSS of the remux of a 10-minute mix beside it;
8. WAN: the small and the collection GET through a relay adding a one-way delay and a
   bandwidth cap (5 ms / 1 Gbit, 20 ms / 20 Mbit, 50 ms / 5 Mbit) in front of a second nginx
   with gzip on: wall time and bytes on the wire per request, floor (plain and gzip),
   requests and soundcloud.

Results go to stdout (Markdown or RST tables) and to ``benchmarks/results.json``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import bench_data  # noqa: E402
import bench_relay  # noqa: E402
import bench_report  # noqa: E402
import bench_servers  # noqa: E402
from bench_worker import SCENARIOS, WAN_CONTENDERS  # noqa: E402

WORKER = os.path.join(HERE, "bench_worker.py")
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "soundcloud-bench")
PROXY_VARS = (
    "http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY",
    "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE",
    "SSL_CERT_DIR", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONPROFILEIMPORTTIME",
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# How busy the machine was: what else ran alongside the benchmark


def _cpu_ticks() -> Optional[Tuple[float, float]]:
    """(busy, steal) seconds summed over all CPUs since boot, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    v = [int(x) for x in fields[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    user, nice, system, idle, iowait, irq, softirq = v[:7]
    steal = v[7] if len(v) > 7 else 0
    return (user + nice + system + irq + softirq) / hz, steal / hz


def _own_cpu() -> float:
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # workers, nginx: all reaped by then
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def machine_noise(start: Optional[Tuple[float, float]], own_start: float, elapsed: float) -> Dict[str, Any]:
    """CPU that other processes (and the hypervisor, as steal) took during the run."""
    end = _cpu_ticks()
    out: Dict[str, Any] = {"loadavg_start": None}
    if start is None or end is None or elapsed <= 0:
        return out
    busy = end[0] - start[0]
    ours = _own_cpu() - own_start
    out["other_cpu_s"] = round(max(busy - ours, 0.0), 2)
    out["other_cpu_pct_of_one_core"] = round(max(busy - ours, 0.0) / elapsed * 100, 1)
    out["steal_s"] = round(end[1] - start[1], 2)
    return out


# ---------------------------------------------------------------------------------------------
# Environments: which interpreter and sys.path each contender runs with


class PyEnv:
    """An interpreter plus the PYTHONPATH it runs with."""

    def __init__(self, python: str, pythonpath: Optional[str], desc: str) -> None:
        self.python = python
        self.pythonpath = pythonpath
        self.desc = desc

    def environ(self) -> Dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
        if self.pythonpath:
            env["PYTHONPATH"] = self.pythonpath
        env["PYTHONHASHSEED"] = "0"
        return env


def pure_env() -> PyEnv:
    return PyEnv(sys.executable, REPO, f"source tree {REPO} on {sys.executable}")


def has_module(python: str, module: str) -> bool:
    r = subprocess.run([python, "-c", f"import {module}"], capture_output=True, timeout=60,
                       env=PyEnv(python, None, "").environ())
    return r.returncode == 0


def requests_env(allow_install: bool) -> Tuple[Optional[PyEnv], str]:
    """An interpreter that can import requests: this one, or a cached venv built from
    benchmarks/requirements.txt (requests is never a dependency of the package itself)."""
    if has_module(sys.executable, "requests"):
        return PyEnv(sys.executable, None, sys.executable), ""
    ver = f"{sys.version_info[0]}{sys.version_info[1]}"
    venv = os.path.join(CACHE, f"venv-py{ver}")
    py = os.path.join(venv, "bin", "python")
    if os.path.exists(py) and has_module(py, "requests"):
        return PyEnv(py, None, py), ""
    if not allow_install:
        return None, "requests is not installed (pip install -r benchmarks/requirements.txt)"
    log(f"creating {venv} for requests (benchmarks/requirements.txt) ...")
    try:
        subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=300)
        subprocess.run([py, "-m", "pip", "install", "-q", "-r", os.path.join(HERE, "requirements.txt")],
                       check=True, timeout=600)
    except (subprocess.SubprocessError, OSError) as e:
        return None, f"could not install requests into {venv}: {e}"
    return PyEnv(py, None, py), ""


# ---------------------------------------------------------------------------------------------
# Workers


class WorkerError(RuntimeError):
    pass


class Worker:
    """A ``bench_worker.py`` process speaking one JSON line per command."""

    def __init__(self, env: PyEnv, cpus: Optional[Sequence[int]]) -> None:
        def pin() -> None:
            if cpus:
                os.sched_setaffinity(0, set(cpus))

        self.proc = subprocess.Popen(
            [env.python, WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            env=env.environ(),
            cwd=HERE,
            preexec_fn=pin,
        )

    def call(self, cmd: Dict[str, Any], timeout: float) -> Dict[str, Any]:
        p = self.proc
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write((json.dumps(cmd) + "\n").encode())
        p.stdin.flush()
        ready, _, _ = select.select([p.stdout], [], [], timeout)
        if not ready:
            self.close()
            raise WorkerError(f"worker timed out after {timeout} s on {cmd.get('cmd')}")
        line = p.stdout.readline()
        if not line:
            err = p.stderr.read().decode(errors="replace") if p.stderr else ""
            raise WorkerError(f"worker died: {err.strip()[-2000:]}")
        return dict(json.loads(line))

    def close(self) -> None:
        p = self.proc
        if p.poll() is None:
            try:
                assert p.stdin is not None
                p.stdin.write(b'{"cmd": "quit"}\n')
                p.stdin.flush()
                p.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                p.kill()
                p.wait(timeout=10)
        for f in (p.stdin, p.stdout, p.stderr):
            if f:
                f.close()


def _start(env: PyEnv, cpus: Optional[Sequence[int]], setup: Dict[str, Any],
           timeout: float = 120) -> Tuple[Optional[Worker], Dict[str, Any]]:
    w = Worker(env, cpus)
    try:
        rep = w.call({"cmd": "setup", **setup}, timeout)
    except WorkerError as e:
        w.close()
        return None, {"ok": False, "error": str(e)}
    if not rep.get("ok"):
        w.close()
        return None, rep
    return w, rep


# ---------------------------------------------------------------------------------------------
# Sections


def run_alternating(
    scenario: str,
    contenders: Dict[str, PyEnv],
    setup_extra: Dict[str, Any],
    rounds: int,
    n: int,
    warmup: int,
    cpus: Optional[Sequence[int]],
    probe: Optional[Callable[[], Dict[str, int]]] = None,
) -> Dict[str, Any]:
    """Persistent worker per contender; each round runs every contender once, order rotating.

    ``probe`` (the WAN relay's ``stats``) is read before and after each run: the growth of its
    ``up`` and ``down`` byte counters and of its ``connections`` count, per request, are
    recorded beside the times (``up_b``, ``down_b``, ``wire_b`` = both, ``new_conns``).
    """
    sec: Dict[str, Any] = {"rounds": rounds, "n": n, "contenders": {}, "unavailable": {}, "errors": {}}
    workers: Dict[str, Worker] = {}
    infos: Dict[str, Any] = {}
    try:
        for name, env in contenders.items():
            w, rep = _start(env, cpus, {"scenario": scenario, "contender": name, "warmup": warmup, **setup_extra})
            if w is None:
                key = "unavailable" if rep.get("unavailable") else "errors"
                sec[key][name] = rep.get("error", "?")
                if rep.get("traceback"):
                    log(rep["traceback"])
                continue
            workers[name] = w
            infos[name] = rep.get("info", {})
        metrics = ["cpu_us", "wall_us"] + (["up_b", "down_b", "wire_b", "new_conns"] if probe else [])
        per: Dict[str, Dict[str, List[float]]] = {k: {m: [] for m in metrics} for k in workers}
        names = list(workers)
        for r in range(rounds):
            k = r % max(len(names), 1)
            order = names[k:] + names[:k]
            for name in order:
                if name in sec["errors"]:
                    continue
                before = probe() if probe else {}
                try:
                    rep = workers[name].call({"cmd": "run", "n": n}, timeout=600)
                except WorkerError as e:
                    sec["errors"][name] = str(e)
                    continue
                if not rep.get("ok") or not rep.get("result_ok"):
                    sec["errors"][name] = rep.get("error") or "wrong result"
                    continue
                per[name]["cpu_us"].append(rep["cpu"] / rep["n"] * 1e6)
                per[name]["wall_us"].append(rep["wall"] / rep["n"] * 1e6)
                if probe:
                    # every answer was read whole before the run returned: the relay counted it
                    after = probe()
                    up, down = after["up"] - before["up"], after["down"] - before["down"]
                    per[name]["up_b"].append(up / rep["n"])
                    per[name]["down_b"].append(down / rep["n"])
                    per[name]["wire_b"].append((up + down) / rep["n"])
                    per[name]["new_conns"].append(float(after["connections"] - before["connections"]))
        for name, m in per.items():
            if name in sec["errors"] or not m["cpu_us"]:
                continue
            sec["contenders"][name] = {
                **{k: bench_report.summarize(v) for k, v in m.items()},
                "rounds": m,
                "info": infos.get(name, {}),
            }
    finally:
        for w in workers.values():
            w.close()
    return sec


def section_get(scenario: str, server: Any, envs: Dict[str, Optional[PyEnv]], reasons: Dict[str, str],
                rounds: int, n: int, warmup: int, cpus: Optional[Sequence[int]]) -> Dict[str, Any]:
    contenders = {c: envs[c] for c in SCENARIOS[scenario] if envs.get(c) is not None}
    log(f"[{scenario}] {rounds} rounds × {n} requests: {', '.join(contenders)}")
    sec = run_alternating(scenario, contenders, {"url": server.url}, rounds, n, warmup, cpus)  # type: ignore[arg-type]
    for c in SCENARIOS[scenario]:
        if envs.get(c) is None:
            sec["unavailable"][c] = reasons.get(c, "unavailable")
    body = bench_data.small_body() if scenario == "small_get" else bench_data.collection_body(200)
    sec["body_bytes"] = len(body)
    return sec


def section_wan(envs: Dict[str, Optional[PyEnv]], reasons: Dict[str, str],
                profiles: Sequence[Tuple[float, float]], rounds: int, warmup: int, prefer_nginx: bool,
                server_cpus: Optional[Sequence[int]], client_cpus: Optional[Sequence[int]],
                n_override: int = 0) -> Dict[str, Any]:
    """The small and the collection GET over simulated links: a compressing server (nginx
    with gzip on, or the fallback's gzip) behind a relay that delays each direction and caps
    its rate (``bench_relay``, pinned with the server). Per profile and request: wall and CPU
    time per request and the bytes the relay carried each way, for ``WAN_CONTENDERS`` on
    kept-alive connections (a persistent worker each, warmed up before timing)."""
    contenders = {c: envs[c] for c in WAN_CONTENDERS if envs.get(c) is not None}
    sec: Dict[str, Any] = {"rounds": rounds, "profiles": {}, "order": list(contenders),
                           "unavailable": {c: reasons.get(c, "unavailable")
                                           for c in WAN_CONTENDERS if envs.get(c) is None}}
    small, coll = bench_data.small_body(), bench_data.collection_body(200)
    sec["body_bytes"] = {"small_get": len(small), "collection_get": len(coll)}
    sec["gzip_bytes"] = {"small_get": len(bench_servers.gzip_body(small)),
                         "collection_get": len(bench_servers.gzip_body(coll))}
    server = bench_servers.start_server(prefer_nginx=prefer_nginx, cpus=server_cpus, gzip=True)
    try:
        sec["server"] = server.describe()
        for delay_ms, mbit in profiles:
            label = bench_report.link_label(delay_ms, mbit)
            n = n_override or max(1, round(60 / max(delay_ms, 1.0)))  # a run: ~120 ms of round trips
            relay = bench_relay.RelayProcess(("127.0.0.1", server.port), delay_ms, mbit, cpus=server_cpus).start()
            prof: Dict[str, Any] = {"delay_ms": delay_ms, "mbit": mbit, "n": n}
            try:
                for scenario in ("small_get", "collection_get"):
                    log(f"[wan {label}] {scenario}: {rounds} rounds × {n} requests: {', '.join(contenders)}")
                    sub = run_alternating(scenario, contenders, {"url": relay.url}, rounds, n, warmup,  # type: ignore[arg-type]
                                          client_cpus, probe=relay.stats)
                    sub.pop("unavailable", None)  # said once, for the section
                    prof[scenario] = sub
            finally:
                relay.stop()
            sec["profiles"][label] = prof
    finally:
        server.stop()
    return sec


def section_upload(server: Any, envs: Dict[str, Optional[PyEnv]], reasons: Dict[str, str], rounds: int,
                   size_mib: int, cpus: Optional[Sequence[int]]) -> Dict[str, Any]:
    sec: Dict[str, Any] = {"rounds": rounds, "size_mib": size_mib, "contenders": {}, "unavailable": {}, "errors": {}}
    names = [c for c in SCENARIOS["upload"] if envs.get(c) is not None]
    for c in SCENARIOS["upload"]:
        if envs.get(c) is None:
            sec["unavailable"][c] = reasons.get(c, "unavailable")
    tmp = tempfile.mkdtemp(prefix="scbench-upload-")
    path = os.path.join(tmp, "upload.bin")
    size = size_mib * 1024 * 1024
    log(f"[upload] {size_mib} MiB, {rounds} rounds, fresh process each: {', '.join(names)}")
    try:
        bench_data.make_upload_file(path, size)
        per: Dict[str, Dict[str, List[float]]] = {k: {"rss_mib": [], "mb_s": [], "cpu_s": []} for k in names}
        methods = set()
        for r in range(rounds):
            k = r % max(len(names), 1)
            for name in names[k:] + names[:k]:
                if name in sec["errors"] or name in sec["unavailable"]:
                    continue
                w, rep = _start(envs[name], cpus, {"scenario": "upload", "contender": name,  # type: ignore[arg-type]
                                                   "url": server.url, "file": path, "warmup": 0,
                                                   "check_first": False})
                if w is None:
                    key = "unavailable" if rep.get("unavailable") else "errors"
                    sec[key][name] = rep.get("error", "?")
                    continue
                try:
                    rep = w.call({"cmd": "run", "n": 1}, timeout=600)
                except WorkerError as e:
                    sec["errors"][name] = str(e)
                    continue
                finally:
                    w.close()
                if not rep.get("ok") or not rep.get("result_ok"):
                    sec["errors"][name] = rep.get("error") or "upload not accepted (status/body)"
                    if rep.get("traceback"):
                        log(rep["traceback"])
                    continue
                methods.add("VmHWM after clear_refs" if rep.get("clear_refs") else "ru_maxrss delta")
                per[name]["rss_mib"].append(rep["rss_increase_kib"] / 1024.0)
                per[name]["mb_s"].append(size / rep["wall"] / 1e6)
                per[name]["cpu_s"].append(rep["cpu"])
        sec["rss_method"] = ", ".join(sorted(methods)) or "?"
        for name, m in per.items():
            if name in sec["errors"] or not m["mb_s"]:
                continue
            sec["contenders"][name] = {
                "rss_mib": bench_report.summarize(m["rss_mib"]),
                "mb_s": bench_report.summarize(m["mb_s"]),
                "cpu_s": bench_report.summarize(m["cpu_s"]),
                "rounds": m,
            }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return sec


def build_mix(env: PyEnv, path: str, seconds: float) -> Dict[str, Any]:
    """Write a ``.part`` mix of ``seconds`` to ``path`` (``bench_data.py mix``, run with the
    source tree on PYTHONPATH: the fixture is ``soundcloud.testing``'s); what it holds."""
    r = subprocess.run([env.python, os.path.join(HERE, "bench_data.py"), "mix", path, repr(seconds)],
                       capture_output=True, text=True, env=env.environ(), cwd=HERE, timeout=600)
    if r.returncode != 0:
        raise RuntimeError((r.stderr.strip().splitlines() or ["?"])[-1])
    return dict(json.loads(r.stdout))


def _sync() -> None:
    """Flush dirty pages (the previous run's output) so that no run pays for another's writeback."""
    if hasattr(os, "sync"):
        os.sync()


def section_remux(envs: Dict[str, Optional[PyEnv]], reasons: Dict[str, str], rounds: int, long_s: float,
                  short_s: float, cpus: Optional[Sequence[int]], tmp_root: Optional[str] = None) -> Dict[str, Any]:
    """The ``.part`` of a long HLS download (init + fragments) remuxed to M4A, against copying it.

    Each run is a fresh worker process (its peak RSS is that run's alone); rounds rotate the
    order of: the copy floor and the remux on the long mix, and the remux on a short mix, which
    shows whether the remux's memory grows with the length. The mixes are written once, to a
    temporary directory on disk, and reused by every round; outputs are removed after each run.
    """
    sec: Dict[str, Any] = {"rounds": rounds, "contenders": {}, "unavailable": {}, "errors": {}, "mixes": {}}
    # label -> (worker contender, mix)
    jobs = {"floor": ("floor", "long"), "soundcloud": ("soundcloud", "long"),
            "soundcloud_short": ("soundcloud", "short")}
    avail: Dict[str, PyEnv] = {}
    for label, (contender, _mix) in jobs.items():
        env = envs.get(contender)
        if env is None:
            sec["unavailable"][label] = reasons.get(contender, "unavailable")
        else:
            avail[label] = env
    tmp = tempfile.mkdtemp(prefix="scbench-remux-", dir=tmp_root)
    try:
        builder = envs.get("floor") or pure_env()
        for mix, seconds in (("long", long_s), ("short", short_s)):
            path = os.path.join(tmp, f"{mix}.m4a.part")
            try:
                sec["mixes"][mix] = build_mix(builder, path, seconds)
            except (RuntimeError, subprocess.SubprocessError, OSError, ValueError) as e:
                sec["skipped"] = f"could not build the {mix} mix from soundcloud.testing's fixture: {e}"
                return sec
        log(f"[remux] {sec['mixes']['long']['bytes'] / 1e6:.0f} MB mix ({long_s:g} s) and a {short_s:g} s one, "
            f"{rounds} rounds, fresh process each: {', '.join(avail)}")
        per: Dict[str, Dict[str, List[float]]] = {
            k: {"wall_s": [], "cpu_s": [], "peak_rss_mib": [], "rss_mib": []} for k in avail}
        outputs: Dict[str, Any] = {}
        methods = set()
        names = list(avail)
        for r in range(rounds):
            k = r % max(len(names), 1)
            for label in names[k:] + names[:k]:
                if label in sec["errors"] or label in sec["unavailable"]:
                    continue
                contender, mix = jobs[label]
                facts = sec["mixes"][mix]
                out = os.path.join(tmp, f"{label}.out")
                _sync()
                w, rep = _start(avail[label], cpus, {"scenario": "remux", "contender": contender,
                                                     "file": facts["path"], "out": out, "expect": facts,
                                                     "warmup": 0, "check_first": False})
                if w is None:
                    key = "unavailable" if rep.get("unavailable") else "errors"
                    sec[key][label] = rep.get("error", "?")
                    if rep.get("traceback"):
                        log(rep["traceback"])
                    continue
                if contender == "soundcloud":
                    sec["build"] = rep.get("info", {})
                try:
                    rep = w.call({"cmd": "run", "n": 1}, timeout=600)
                except WorkerError as e:
                    sec["errors"][label] = str(e)
                    continue
                finally:
                    w.close()
                    if os.path.exists(out):
                        os.remove(out)
                if not rep.get("ok") or not rep.get("result_ok"):
                    sec["errors"][label] = rep.get("error") or f"wrong result: {rep.get('output')}"
                    if rep.get("traceback"):
                        log(rep["traceback"])
                    continue
                methods.add("VmHWM after clear_refs" if rep.get("clear_refs") else "ru_maxrss delta")
                per[label]["wall_s"].append(rep["wall"])
                per[label]["cpu_s"].append(rep["cpu"])
                per[label]["peak_rss_mib"].append(rep["maxrss_after_kib"] / 1024.0)
                per[label]["rss_mib"].append(rep["rss_increase_kib"] / 1024.0)
                outputs[label] = rep.get("output")
        sec["rss_method"] = ", ".join(sorted(methods)) or "?"
        for label, m in per.items():
            if label in sec["errors"] or not m["wall_s"]:
                continue
            contender, mix = jobs[label]
            sec["contenders"][label] = {
                "mix": mix,
                "wall_s": bench_report.summarize(m["wall_s"]),
                "cpu_s": bench_report.summarize(m["cpu_s"]),
                "peak_rss_mib": bench_report.summarize(m["peak_rss_mib"]),
                "rss_mib": bench_report.summarize(m["rss_mib"]),
                "output": outputs.get(label),
                "rounds": m,
            }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for facts in sec["mixes"].values():
        facts.pop("path", None)  # gone with tmp
    return sec


_NOSITE_PATH: Dict[str, str] = {}

#: what ``--only`` selects, in the order they run
SECTIONS = ("small", "collection", "import", "upload", "compiled", "remux", "wan")


def nosite_env(env: PyEnv) -> PyEnv:
    """The same interpreter run with ``-S``: no ``site``, so no ``.pth`` start-up hooks.

    Machines can carry ``.pth`` files that import modules at every start-up (this one has one
    importing certifi, and with it tempfile, random, typing, zipfile...), which makes any later
    import of those modules look free. Import cost is measured without ``site``; the
    interpreter's site-packages go on PYTHONPATH instead, so third-party imports still resolve.
    """
    if env.python not in _NOSITE_PATH:
        r = subprocess.run(
            [env.python, "-c", "import sysconfig as s; p = s.get_paths(); print(p['purelib']); print(p['platlib'])"],
            capture_output=True, text=True, timeout=60, env=PyEnv(env.python, None, "").environ(), check=True)
        _NOSITE_PATH[env.python] = os.pathsep.join(dict.fromkeys(r.stdout.split()))
    parts = [p for p in (env.pythonpath, _NOSITE_PATH[env.python]) if p]
    return PyEnv(env.python, os.pathsep.join(parts), env.desc)


# What an "import" row runs, where it is not ``import <module>``. ``import soundcloud`` alone
# loads none of the package's modules (PEP 562: each public name imports its module on first
# use), so it no longer says what a program pays before it can send a request: the soundcloud
# rows import the client, as such a program does. The rows keep their names.
IMPORT_STATEMENTS: Dict[str, str] = {"soundcloud": "from soundcloud import Client"}


def import_statement(module: str) -> str:
    """The statement the import rows time for ``module``."""
    return IMPORT_STATEMENTS.get(module, f"import {module}")


def _importtime(env: PyEnv, module: Optional[str], cpus: Optional[Sequence[int]]) -> List[Tuple[str, int]]:
    """One ``python -X importtime -c '<import_statement(module)>'``: (module, cumulative µs) per
    line; -1 for nested lines (their time is inside a top-level line's cumulative)."""
    return [(name, cum) for name, _, cum in _importtime_full(env, module, cpus)]


def _importtime_full(env: PyEnv, module: Optional[str], cpus: Optional[Sequence[int]]) -> List[Tuple[str, int, int]]:
    """Like :func:`_importtime`, with each module's self µs too: (module, self, cumulative)."""
    code = import_statement(module) if module else "pass"

    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, set(cpus))

    r = subprocess.run([env.python, "-S", "-X", "importtime", "-c", code], capture_output=True, text=True,
                       env=env.environ(), timeout=60, preexec_fn=pin)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "import failed")
    entries: List[Tuple[str, int, int]] = []
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line[len("import time:"):].split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2]
        top = len(name) - len(name.lstrip()) <= 1  # nested imports are indented further
        entries.append((name.strip(), int(parts[0]), int(parts[1]) if top else -1))
    return entries


def _wall_once(env: PyEnv, code: str, cpus: Optional[Sequence[int]]) -> float:
    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, set(cpus))

    t0 = time.perf_counter()
    subprocess.run([env.python, "-S", "-c", code], check=True, env=env.environ(), timeout=60,
                   stdout=subprocess.DEVNULL, preexec_fn=pin)
    return time.perf_counter() - t0


def section_import(targets: Dict[str, Optional[PyEnv]], runs: int, cpus: Optional[Sequence[int]],
                   reasons: Dict[str, str]) -> Dict[str, Any]:
    """Import cost in fresh interpreters: ``-X importtime`` sum and wall minus ``-c pass``."""
    sec: Dict[str, Any] = {"runs": runs, "contenders": {}, "unavailable": {}, "errors": {}}
    avail = {}
    for label, env in targets.items():
        if env is None:
            sec["unavailable"][label] = reasons.get(label, "unavailable")
        else:
            avail[label] = nosite_env(env)
    log(f"[import] {runs} runs each: {', '.join(avail)}")
    # modules already imported by a bare interpreter, per interpreter
    bare_mods: Dict[str, Set[str]] = {}
    for env in avail.values():
        if env.python not in bare_mods:
            bare_mods[env.python] = {name for name, _ in _importtime(env, None, cpus)}
    per: Dict[str, Dict[str, List[float]]] = {k: {"import_us": [], "wall_ms": [], "bare_ms": []} for k in avail}
    mods: Dict[str, int] = {}
    selfs: Dict[str, Dict[str, List[int]]] = {}
    labels = list(avail)
    # one warm-up each (writes .pyc files)
    for label in list(labels):
        module = label.split(" ")[0]
        try:
            _importtime(avail[label], module, cpus)
        except (RuntimeError, subprocess.SubprocessError) as e:
            sec["errors"][label] = str(e)
            labels.remove(label)
    for r in range(runs):
        k = r % max(len(labels), 1)
        for label in labels[k:] + labels[:k]:
            env = avail[label]
            module = label.split(" ")[0]
            total = 0
            count = 0
            for name, self_us, cum in _importtime_full(env, module, cpus):
                if name in bare_mods[env.python]:
                    continue
                count += 1
                selfs.setdefault(label, {}).setdefault(name, []).append(self_us)
                if cum >= 0:
                    total += cum
            mods[label] = count
            per[label]["import_us"].append(float(total))
            bare = _wall_once(env, "pass", cpus)
            full = _wall_once(env, import_statement(module), cpus)
            per[label]["bare_ms"].append(bare * 1000)
            per[label]["wall_ms"].append((full - bare) * 1000)
    # what each import adds beyond urllib.request's, heaviest first (median self µs)
    base = set(selfs.get("urllib.request", {}))
    for label, table in selfs.items():
        if label == "urllib.request" or not base:
            continue
        extra = sorted(((statistics.median(v), k) for k, v in table.items() if k not in base), reverse=True)
        sec.setdefault("extra_vs_urllib", {})[label] = {
            "total_self_us": round(sum(v for v, _ in extra)),
            "top": [[k, round(v)] for v, k in extra[:12]],
        }
    for label, m in per.items():
        if label in sec["errors"]:
            continue
        sec["contenders"][label] = {
            "statement": import_statement(label.split(" ")[0]),
            "import_us": bench_report.summarize(m["import_us"]),
            "wall_ms": bench_report.summarize(m["wall_ms"]),
            "bare_ms": bench_report.summarize(m["bare_ms"]),
            "modules": mods.get(label),
            "python": avail[label].python,
            "rounds": m,
        }
    return sec


# ---------------------------------------------------------------------------------------------
# Compiled build


def _wheel_tag() -> str:
    return f"cp{sys.version_info[0]}{sys.version_info[1]}"


def find_wheel() -> Optional[str]:
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    arch = plat.split("_", 1)[-1] if plat.startswith("linux") else plat
    cands = sorted(glob.glob(os.path.join(REPO, "dist", f"soundcloud-*-{_wheel_tag()}-*.whl")), key=os.path.getmtime)
    cands = [c for c in cands if arch in c or "manylinux" in c or "linux" in c]
    return cands[-1] if cands else None


def build_wheel(outdir: str) -> Tuple[Optional[str], str]:
    """``SOUNDCLOUD_USE_MYPYC=1 python -m build --wheel`` into ``outdir``."""
    env = dict(os.environ, SOUNDCLOUD_USE_MYPYC="1")
    log("building a mypyc wheel (SOUNDCLOUD_USE_MYPYC=1 python -m build --wheel) ...")
    errs = []
    os.makedirs(CACHE, exist_ok=True)
    log_path = os.path.join(CACHE, "last-wheel-build.log")
    with open(log_path, "w") as log_file:
        for extra in (["--no-isolation"], []):
            r = subprocess.run([sys.executable, "-m", "build", "--wheel", *extra, "--outdir", outdir, REPO],
                               capture_output=True, text=True, env=env, timeout=900)
            log_file.write(f"$ python -m build --wheel {' '.join(extra)}\n{r.stdout}\n{r.stderr}\n")
            wheels = glob.glob(os.path.join(outdir, "*.whl"))
            if r.returncode == 0 and wheels:
                return wheels[0], ""
            lines = (r.stdout + "\n" + r.stderr).splitlines()
            # the first compiler/mypyc error says more than the frontend's closing line
            first = next((ln.strip() for ln in lines if " error:" in ln or ln.startswith("error:")), None)
            errs.append(first or (lines[-1].strip() if lines else "?"))
            if first:
                break  # the code does not compile: an isolated build would fail the same way
    return None, f"wheel build failed ({errs[0]}); full log: {log_path}"


def compiled_env(mode: str, tmp: str, wheel: Optional[str] = None) -> Tuple[Optional[PyEnv], Optional[PyEnv], str]:
    """Envs importing a compiled soundcloud (dist/*.whl, or a fresh build, unpacked into tmp)
    and the very same sources pure (that wheel's .py files without its extension modules), so
    that the comparison is of one version of the code, whatever the work tree holds now."""
    if mode == "no":
        return None, None, "disabled (--no-compiled)"
    wheel = wheel or find_wheel()
    if wheel is None and mode == "yes":
        wheel, err = build_wheel(os.path.join(tmp, "dist"))
        if wheel is None:
            return None, None, err
    if wheel is None:
        return None, None, f"no dist/soundcloud-*-{_wheel_tag()}-*.whl (run `make wheels`, or pass --compiled)"
    site = os.path.join(tmp, "site")
    pure_site = os.path.join(tmp, "site-pure")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)  # a wheel is a zip of its site-packages tree: this is an install
        z.extractall(pure_site)
    for root, _dirs, files in os.walk(pure_site):
        for name in files:
            if name.endswith((".so", ".pyd")):
                os.remove(os.path.join(root, name))
    name = os.path.basename(wheel)
    env = PyEnv(sys.executable, site, f"{name} on {sys.executable}")
    penv = PyEnv(sys.executable, pure_site, "the same wheel's .py files, extension modules removed")
    for e, want_compiled in ((env, True), (penv, False)):
        probe = subprocess.run(
            [e.python, "-c", "import soundcloud.encoding as e, soundcloud; print(e.__file__)"],
            capture_output=True, text=True, env=e.environ(), timeout=60, cwd=tmp)
        if probe.returncode != 0:
            kind = "compiled wheel" if want_compiled else "wheel's pure sources"
            return None, None, f"{name}: the {kind} does not import: {probe.stderr.strip().splitlines()[-1:]}"
        if probe.stdout.strip().endswith((".so", ".pyd")) != want_compiled:
            return None, None, f"{name} is not compiled (soundcloud.encoding is {probe.stdout.strip()})"
    return env, penv, ""


CPU_PATHS = {
    "encode_params (nested)": ("cpu_encode_params", True, 2000),
    "multipart framing (200 fields)": ("cpu_multipart", True, 500),
    "Resource: wrap 200 tracks + titles": ("cpu_resource", True, 100),
    "models.Tracks: wrap 200 tracks + titles": ("cpu_models", True, 100),
    "[models.Track(d) for d] + titles": ("cpu_models_items", False, 100),
    "small GET (client-side CPU)": ("small_get", False, 1000),
}


def section_compiled(server: Any, cenv: Optional[PyEnv], penv: Optional[PyEnv], why: str, rounds: int,
                     scale: float, cpus: Optional[Sequence[int]]) -> Dict[str, Any]:
    if cenv is None or penv is None:
        return {"skipped": why}
    sec: Dict[str, Any] = {"rounds": rounds, "pure_desc": penv.desc, "compiled_desc": cenv.desc, "paths": {}}
    for label, (scenario, cpu_bound, n) in CPU_PATHS.items():
        n = max(int(n * scale), 5)
        log(f"[compiled] {label}: {rounds} rounds × {n}")
        sub = run_alternating(scenario, {"pure": penv, "compiled": cenv},
                              {"url": server.url, "contender": "soundcloud"}, rounds, n, max(n // 10, 2), cpus)
        # run_alternating names contenders by env label; the setup's contender is soundcloud
        d: Dict[str, Any] = {"cpu_bound": cpu_bound, "n": n}
        if len(sub["contenders"]) < 2:
            d["unavailable"] = "; ".join(f"{k}: {v}" for k, v in {**sub["unavailable"], **sub["errors"]}.items()) or "?"
            if cpu_bound:
                d["cpu_bound"] = False  # nothing to judge
        else:
            p, c = sub["contenders"]["pure"], sub["contenders"]["compiled"]
            d["pure"], d["compiled"] = p["cpu_us"], c["cpu_us"]
            d["speedup"] = bench_report.ratio(p["cpu_us"], c["cpu_us"])
            d["paired_speedup"] = bench_report.paired_ratios(p["rounds"]["cpu_us"], c["rounds"]["cpu_us"])
            d["compiled_info"] = c.get("info", {})
        sec["paths"][label] = d
    return sec


# ---------------------------------------------------------------------------------------------


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short smoke run (< ~30 s)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--compiled", dest="compiled", action="store_const", const="yes",
                   help="compare against a mypyc build, building a wheel if dist/ has none")
    g.add_argument("--no-compiled", dest="compiled", action="store_const", const="no",
                   help="skip the compiled-vs-pure section")
    ap.set_defaults(compiled="auto")
    ap.add_argument("--wheel", default="", help="the compiled wheel to compare (default: newest dist/*cpXY*.whl)")
    ap.add_argument("--only", default="",
                    help="comma list of sections: small,collection,import,upload,compiled,remux,wan")
    ap.add_argument("--server", choices=("auto", "nginx", "fallback"), default="auto")
    ap.add_argument("--rounds", type=int, default=0, help="override the number of rounds")
    ap.add_argument("--upload-mib", type=int, default=0, help="upload file size (default 256; 32 with --quick)")
    ap.add_argument("--mix-seconds", type=float, default=0,
                    help="length of the remux mix (default 7200; 600 with --quick)")
    ap.add_argument("--no-pin", action="store_true", help="do not pin server and client to separate cores")
    ap.add_argument("--no-install", action="store_true", help="never create the requests venv")
    ap.add_argument("--format", choices=("md", "rst"), default="md")
    ap.add_argument("--json", default=os.path.join(HERE, "results.json"), help="where to write results")
    ap.add_argument("--from-json", default="", help="only re-render the tables of a results file")
    return ap.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.from_json:
        with open(args.from_json) as f:
            print(bench_report.render_report(json.load(f), args.format), end="")
        return 0
    t_start = time.monotonic()
    ticks_start = _cpu_ticks()
    own_start = _own_cpu()
    try:
        with open("/proc/loadavg") as f:
            loadavg = f.read().split()[0]
    except OSError:
        loadavg = "?"
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        raise SystemExit(f"--only: no section {', '.join(sorted(unknown))} (sections: {','.join(SECTIONS)})")

    def want(section: str) -> bool:
        return not only or section in only

    # the HTTP sections need the loopback server (and requests); the remux needs neither
    needs_server = any(want(x) for x in ("small", "collection", "upload", "compiled"))
    needs_requests = any(want(x) for x in ("small", "collection", "import", "upload", "wan"))

    q = args.quick
    rounds = args.rounds or (3 if q else 11)
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    pin = not args.no_pin and ncpu >= 2
    server_cpus = [sorted(os.sched_getaffinity(0))[1]] if pin else None
    client_cpus = [sorted(os.sched_getaffinity(0))[0]] if pin else None

    machine = bench_report.describe_machine(REPO)
    results: Dict[str, Any] = {
        "machine": machine,
        "config": {
            "quick": q,
            "rounds": rounds,
            "pinning": f"server on CPU {server_cpus[0]}, clients on CPU {client_cpus[0]}" if pin else "none",  # type: ignore[index]
            "argv": sys.argv[1:] if argv is None else argv,
        },
        "sections": {},
    }
    log(f"machine: {machine['cpu_model']}, {machine['cores']} cores, {machine['python']}")

    penv = pure_env()
    renv, rwhy = (requests_env(allow_install=not args.no_install) if needs_requests
                  else (None, "not needed by the sections run"))
    sc_ok = subprocess.run([penv.python, "-c", "import soundcloud; soundcloud.Client"], capture_output=True,
                           text=True, env=penv.environ(), timeout=60, cwd=HERE)
    sc_why = "" if sc_ok.returncode == 0 else ("soundcloud does not import yet: " + (sc_ok.stderr.strip().splitlines() or ["?"])[-1])
    envs: Dict[str, Optional[PyEnv]] = {
        "floor": penv,
        "floor_64k": penv,
        "floor_gzip": penv,
        "urllib": penv,
        "requests": renv,
        "soundcloud": penv if not sc_why else None,
    }
    reasons = {"requests": rwhy, "soundcloud": sc_why}

    tmp = tempfile.mkdtemp(prefix="scbench-")
    server = None
    try:
        prefer = args.server != "fallback"
        if args.server == "nginx" and not bench_servers.find_nginx():
            raise SystemExit("--server nginx: nginx is not installed (apt-get install nginx-light)")
        if needs_server:
            server = bench_servers.start_server(prefer_nginx=prefer, cpus=server_cpus)
            results["server"] = {"kind": server.kind, "description": server.describe(), "url": server.url}
            log(f"server: {server.describe()} at {server.url}")
        elif want("wan"):
            results["server"] = {"kind": "none", "description": "none on loopback (the WAN section starts its own)"}
        else:
            results["server"] = {"kind": "none", "description": "none (no section run needs one)"}
        S = results["sections"]
        # many short rounds rather than few long ones: a burst of load from elsewhere then
        # spoils a few samples of every contender instead of one contender's whole median
        get_rounds = args.rounds or (3 if q else 15)
        if want("small"):
            S["small_get"] = section_get("small_get", server, envs, reasons, get_rounds,
                                         200 if q else 700, 50 if q else 300, client_cpus)
        if want("collection"):
            S["collection_get"] = section_get("collection_get", server, envs, reasons, get_rounds,
                                              15 if q else 70, 5 if q else 30, client_cpus)
        if want("import"):
            targets = {
                "urllib.request": penv,
                "requests": renv,
                "soundcloud": envs["soundcloud"],
            }
            S["import"] = section_import(targets, 5 if q else 25, client_cpus,
                                         {"requests": rwhy, "soundcloud": sc_why})
        if want("upload"):
            S["upload"] = section_upload(server, envs, reasons, 1 if q else 5,
                                         args.upload_mib or (32 if q else 256), client_cpus)
        if want("compiled"):
            if sc_why:
                S["compiled"] = {"skipped": sc_why}
            else:
                mode = args.compiled
                cenv, wpenv, why = compiled_env(mode, tmp, args.wheel or None)
                S["compiled"] = section_compiled(server, cenv, wpenv, why, 3 if q else 9, 0.2 if q else 1.0,
                                                 client_cpus)
                if cenv is not None and "import" in S:
                    imp = section_import({"soundcloud (compiled)": cenv}, 5 if q else 25, client_cpus, {})
                    S["import"]["contenders"].update(imp["contenders"])
        if want("remux"):
            long_s = args.mix_seconds or (600.0 if q else 7200.0)
            S["remux"] = section_remux(envs, reasons, args.rounds or (3 if q else 9), long_s,
                                       60.0 if q else 600.0, client_cpus)
        if want("wan"):
            # --quick: the shortest profile only, two rounds of two requests
            profiles = bench_report.WAN_PROFILES[:1] if q else bench_report.WAN_PROFILES
            S["wan"] = section_wan(envs, reasons, profiles, args.rounds or (2 if q else 15), 1 if q else 3,
                                   prefer, server_cpus, client_cpus, n_override=2 if q else 0)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    results["targets"] = [t.as_dict() for t in bench_report.evaluate_targets(results["sections"])]
    results["elapsed_s"] = round(time.monotonic() - t_start, 1)
    results["noise"] = machine_noise(ticks_start, own_start, results["elapsed_s"])
    results["noise"]["loadavg_start"] = loadavg
    print(bench_report.render_report(results, args.format), end="")
    print(f"\n(total {results['elapsed_s']} s; results written to {os.path.relpath(args.json)})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
