"""Loopback servers for the benchmarks: nginx when installed, else a small raw-socket server.

Both serve the same three things on 127.0.0.1:

* ``GET /small.json``       one track (about 1.2 KB)
* ``GET /collection.json``  ``{"collection": [200 tracks], "next_href": null}``
* ``POST /tracks``          reads the WHOLE request body, then answers ``201 {"ok":true}``

JSON is served as ``application/json``. With ``gzip=True`` (the WAN benchmark's server) a JSON
answer of 256 bytes or more is gzip-compressed when the request's ``Accept-Encoding`` allows
it: nginx's ``gzip on; gzip_types application/json; gzip_min_length 256;`` at its default
level 1 (a chunked answer), or the fallback's precomputed level-1 gzip (with Content-Length).

nginx answers a POST to ``return`` (and a 405 turned into 201 by ``error_page``) *before* it has
read the body, draining it afterwards; an upload benchmark against that would time the client
writing into socket buffers, not a received upload. So ``/tracks`` uses the echo module's
``echo_read_request_body`` (Debian's nginx-light ships it), or, without the module, a
``proxy_pass`` with request buffering on, which also reads the whole body before answering.
The body is spooled to a temp dir on tmpfs (``/dev/shm``) when there is one, so the server
side costs memory bandwidth, not disk.

Run as a script it starts the fallback server in the foreground and prints ``PORT <n>``::

    python benchmarks/bench_servers.py --root DIR
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List, Optional, Sequence

import bench_data

__all__ = ["FallbackServer", "NginxServer", "find_nginx", "start_server", "write_site"]

ECHO_MODULE_PATHS = (
    "/usr/lib/nginx/modules/ngx_http_echo_module.so",
    "/usr/share/nginx/modules/ngx_http_echo_module.so",
)
UPLOAD_REPLY = b'{"ok":true}'
GZIP_MIN_LENGTH = 256
# the WAN benchmark's server: compress JSON when the client asks (as SoundCloud's API does)
GZIP = (
    "  gzip on;\n"
    "  gzip_types application/json;\n"
    f"  gzip_min_length {GZIP_MIN_LENGTH};\n"
)


def write_site(root: str) -> None:
    """Write the static files the servers serve into ``root``."""
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "small.json"), "wb") as f:
        f.write(bench_data.small_body())
    with open(os.path.join(root, "collection.json"), "wb") as f:
        f.write(bench_data.collection_body(200))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: "subprocess.Popen[bytes]", deadline_s: float = 10.0) -> None:
    """Return once something accepts connections on ``port``; raise if ``proc`` dies first."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)  # polling a port for readiness, not synchronising test logic
    raise RuntimeError(f"server did not listen on port {port} within {deadline_s} s")


def find_nginx() -> Optional[str]:
    """Path of the nginx binary, or None."""
    for cand in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def _pin(cpus: Optional[Sequence[int]]):  # type: ignore[no-untyped-def]
    if not cpus:
        return None

    def pre() -> None:
        os.sched_setaffinity(0, set(cpus))

    return pre


class NginxServer:
    """nginx (one worker) on a free loopback port, with a generated config in a temp dir."""

    kind = "nginx"

    def __init__(self, nginx: str, cpus: Optional[Sequence[int]] = None, gzip: bool = False) -> None:
        self.nginx = nginx
        self.cpus = cpus
        self.gzip = gzip
        self.tmp = tempfile.mkdtemp(prefix="scbench-nginx-")
        shm = "/dev/shm"
        if os.path.isdir(shm) and os.access(shm, os.W_OK):
            self.body_dir = tempfile.mkdtemp(prefix="scbench-body-", dir=shm)
        else:
            self.body_dir = os.path.join(self.tmp, "body")
            os.makedirs(self.body_dir)
        self.root = os.path.join(self.tmp, "www")
        write_site(self.root)
        # nginx's worker runs as an unprivileged user when started as root: let it read the site
        os.chmod(self.tmp, 0o755)
        os.chmod(self.root, 0o755)
        for name in os.listdir(self.root):
            os.chmod(os.path.join(self.root, name), 0o644)
        self.proc: Optional["subprocess.Popen[bytes]"] = None
        self.port = 0
        self.sink = ""
        self.version = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def describe(self) -> str:
        gz = "gzip on for application/json >= 256 B (level 1), " if self.gzip else ""
        return f"{self.version} (1 worker, keep-alive, {gz}access_log off; POST sink: {self.sink})"

    def config(self, port: int, echo_module: Optional[str]) -> str:
        t = self.tmp
        if echo_module:
            load = f"load_module {echo_module};"
            sink = (
                "location = /tracks {\n"
                "      default_type application/json;\n"
                "      client_body_buffer_size 1m;\n"
                "      echo_read_request_body;\n"
                "      echo_status 201;\n"
                "      echo -n '{\"ok\":true}';\n"
                "    }"
            )
            self.sink = "echo_read_request_body (whole body read before the 201)"
            extra = ""
        else:
            load = ""
            up = free_port()
            sink = (
                "location = /tracks {\n"
                f"      proxy_pass http://127.0.0.1:{up}/ok;\n"
                "      proxy_request_buffering on;\n"
                "      proxy_http_version 1.1;\n"
                "      client_body_buffer_size 1m;\n"
                "    }"
            )
            extra = (
                f"  server {{ listen 127.0.0.1:{up}; default_type application/json;\n"
                "    location = /ok { return 201 '{\"ok\":true}'; } }\n"
            )
            self.sink = "proxy_pass with proxy_request_buffering on (whole body read first)"
        return f"""{load}
daemon off;
master_process on;
worker_processes 1;
pid {t}/nginx.pid;
error_log {t}/error.log error;
events {{ worker_connections 256; }}
http {{
  access_log off;
  sendfile on;
  tcp_nodelay on;
  keepalive_timeout 120s;
  keepalive_requests 10000000;
  client_max_body_size 0;
  client_body_temp_path {self.body_dir};
  proxy_temp_path {t}/proxy;
  fastcgi_temp_path {t}/fastcgi;
  uwsgi_temp_path {t}/uwsgi;
  scgi_temp_path {t}/scgi;
  types {{ application/json json; }}
  default_type application/octet-stream;
{GZIP if self.gzip else ""}  server {{
    listen 127.0.0.1:{port} backlog=512;
    root {self.root};
    {sink}
  }}
{extra}}}
"""

    def start(self) -> "NginxServer":
        out = subprocess.run([self.nginx, "-v"], capture_output=True, text=True, timeout=10)
        self.version = (out.stderr or out.stdout).strip().replace("nginx version: ", "")
        echo = next((p for p in ECHO_MODULE_PATHS if os.path.exists(p)), None)
        last: Optional[Exception] = None
        for _ in range(3):  # a free port can be taken between probing and binding
            self.port = free_port()
            conf = os.path.join(self.tmp, "nginx.conf")
            with open(conf, "w") as f:
                f.write(self.config(self.port, echo))
            self.proc = subprocess.Popen(
                [self.nginx, "-p", self.tmp, "-c", conf, "-e", os.path.join(self.tmp, "error.log")],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                preexec_fn=_pin(self.cpus),
            )
            try:
                wait_listening(self.port, self.proc)
                return self
            except RuntimeError as e:
                last = e
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                last = RuntimeError(f"{e}: {err.strip()}")
                self._kill()
        raise RuntimeError(f"nginx failed to start: {last}")

    def _kill(self) -> None:
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            p.terminate()  # SIGTERM to the master we started: fast shutdown of it and its worker
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        if p.stderr:
            p.stderr.close()
        self.proc = None

    def stop(self) -> None:
        """Stop nginx and remove its files."""
        try:
            self._kill()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
            shutil.rmtree(self.body_dir, ignore_errors=True)

    def __enter__(self) -> "NginxServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FallbackServer:
    """The raw-socket server below, run in its own process (used when nginx is missing)."""

    kind = "fallback"

    def __init__(self, cpus: Optional[Sequence[int]] = None, site: Optional[Dict[str, bytes]] = None,
                 gzip: bool = False) -> None:
        self.cpus = cpus
        self.gzip = gzip
        self.tmp = tempfile.mkdtemp(prefix="scbench-fallback-")
        self.root = os.path.join(self.tmp, "www")
        write_site(self.root)
        for name, content in (site or {}).items():  # overrides, for the harness's own tests
            with open(os.path.join(self.root, name), "wb") as f:
                f.write(content)
        self.proc: Optional["subprocess.Popen[str]"] = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def describe(self) -> str:
        gz = ", gzip for JSON >= 256 B (level 1)" if self.gzip else ""
        return f"fallback raw-socket Python server (nginx not installed){gz}: wall times are pessimistic"

    def start(self) -> "FallbackServer":
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--root", self.root, *(["--gzip"] if self.gzip else [])],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=_pin(self.cpus),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until the child has bound its socket
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"fallback server failed to start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def stop(self) -> None:
        """Stop the server process and remove its files."""
        p = self.proc
        try:
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=10)
            if p is not None and p.stdout:
                p.stdout.close()
        finally:
            self.proc = None
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "FallbackServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(prefer_nginx: bool = True, cpus: Optional[Sequence[int]] = None,  # type: ignore[no-untyped-def]
                 gzip: bool = False):
    """Start nginx if available (and wanted), else the fallback server; caller must ``stop()``."""
    nginx = find_nginx() if prefer_nginx else None
    if nginx:
        srv = NginxServer(nginx, cpus, gzip=gzip)
        try:
            return srv.start()
        except Exception:
            srv.stop()
            raise
    return FallbackServer(cpus, gzip=gzip).start()


# ---------------------------------------------------------------------------------------------
# The fallback server itself: a thread per connection, precomputed responses, keep-alive,
# Content-Length and chunked request bodies read in full before answering.


def _response(status: str, body: bytes, ctype: str = "application/json", encoding: str = "") -> bytes:
    enc = f"Content-Encoding: {encoding}\r\n" if encoding else ""
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n{enc}"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode("latin-1") + body


def gzip_body(body: bytes) -> bytes:
    """``body`` gzip-compressed at level 1 (nginx's default ``gzip_comp_level``)."""
    import zlib

    c = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: a gzip wrapper (mtime 0)
    return c.compress(body) + c.flush()


def accepts_gzip(value: str) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (a ``gzip`` or ``*`` token, q > 0)."""
    for item in value.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = params.strip().lower()
        if q.startswith("q="):
            try:
                if float(q[2:]) == 0:
                    continue
            except ValueError:
                continue
        return True
    return False


class _Conn:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def fill(self) -> bool:
        data = self.sock.recv(1 << 20)
        if not data:
            return False
        self.buf += data
        return True

    def read_until(self, sep: bytes) -> Optional[bytes]:
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + len(sep) :]
                return out
            if len(self.buf) > 65536 or not self.fill():
                return None

    def discard(self, n: int) -> bool:
        take = min(n, len(self.buf))
        self.buf = self.buf[take:]
        n -= take
        while n > 0:
            data = self.sock.recv(min(n, 1 << 20))
            if not data:
                return False
            n -= len(data)
        return True


def _serve_conn(sock: socket.socket, routes: Dict[str, bytes], gz_routes: Dict[str, bytes]) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c = _Conn(sock)
    not_found = _response("404 Not Found", b'{"error":"not found"}')
    created = _response("201 Created", UPLOAD_REPLY)
    try:
        while True:
            head = c.read_until(b"\r\n\r\n")
            if head is None:
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for ln in lines[1:]:
                k, _, v = ln.partition(":")
                headers[k.strip().lower()] = v.strip()
            if headers.get("expect", "").lower() == "100-continue":
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            if "content-length" in headers:
                if not c.discard(int(headers["content-length"])):
                    return
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    size_line = c.read_until(b"\r\n")
                    if size_line is None:
                        return
                    size = int(size_line.split(b";")[0], 16)
                    if not c.discard(size + 2):
                        return
                    if size == 0:
                        break
            path = target.split("?", 1)[0]
            if method == "POST" and path == "/tracks":
                sock.sendall(created)
            elif method in ("GET", "HEAD") and path in routes:
                resp = routes[path]
                if path in gz_routes and accepts_gzip(headers.get("accept-encoding", "")):
                    resp = gz_routes[path]
                if method == "HEAD":
                    resp = resp[: resp.index(b"\r\n\r\n") + 4]
                sock.sendall(resp)
            else:
                sock.sendall(not_found)
            if headers.get("connection", "").lower() == "close":
                return
    except (OSError, ValueError):
        return
    finally:
        sock.close()


def serve_forever(root: str, port: int = 0, ready=None, gzip: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Serve ``root``'s JSON files and the upload sink on 127.0.0.1 until the process ends."""
    routes: Dict[str, bytes] = {}
    gz_routes: Dict[str, bytes] = {}
    for name in os.listdir(root):
        with open(os.path.join(root, name), "rb") as f:
            body = f.read()
        routes["/" + name] = _response("200 OK", body)
        if gzip and len(body) >= GZIP_MIN_LENGTH:
            gz_routes["/" + name] = _response("200 OK", gzip_body(body), encoding="gzip")
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(512)
    if ready is not None:
        ready(lsock.getsockname()[1])
    while True:
        s, _ = lsock.accept()
        threading.Thread(target=_serve_conn, args=(s, routes, gz_routes), daemon=True).start()


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--gzip", action="store_true", help="gzip JSON of 256 bytes or more when asked")
    args = ap.parse_args(argv)

    def ready(port: int) -> None:
        print(f"PORT {port}", flush=True)

    serve_forever(args.root, args.port, ready, args.gzip)


if __name__ == "__main__":
    main()
