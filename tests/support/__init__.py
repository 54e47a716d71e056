"""Shared test support: purpose-built servers for the test suite (real sockets on 127.0.0.1,
nothing mocked) and the helpers the test modules share.

Tests import from the modules (``from support.faults import FaultServer``; ``tests/`` is on
``sys.path`` because ``tests/conftest.py`` lives there); this package re-exports nothing.
Each module depends only on modules listed above it:

    wire             wait_until, WireRequest, make_client_context; the HTTP/1.1 readers,
                     byte helpers and close/reset helpers the servers share
    base             SocketServer, the one server base; CLIENT, SERVER, RESET, STOPPED
    request_server   RequestServer (HTTP/1.1 keep-alive, requests recorded), FaultContext
    tls              TLSServer: HTTPS with a CA made at test time by trustme
    proxy            ForwardProxy (loopback only), ProxyRequest, PROXY_CREDENTIALS
    faults           FaultServer and FAULT_SCENARIOS, KeepAliveServer, ScriptedServer,
                     read_head
    framing          raw_answer, LateBytes, interim_flood, head: exact answer bytes for
                     FaultServer.enqueue (1xx, framing, leftovers) for tests/transport/
    fake_calls       call, form, Reply, assert_api_error, Clock: for tests/fake/
    clients          ScriptedAuthServer and the client's tests' helpers (make_client,
                     logged_in, client_for, ...): for tests/client/ and tests/unit/
    browser          landing, browse: the user's browser in login tests (urllib, no proxy)
    plugin_project   a pytester project where the pytest plugin loads through its pytest11
                     entry point, as in a user's project: for the plugin's tests
    readme           README literal blocks after a marker comment: for the tests that run them
    transport_calls  send, fetch, Waits, run_threads, ...: for tests/transport/
    cli_runs         cli_env, run_cli: the ``soundcloud`` command in an isolated subprocess
    spec             SoundCloud's OpenAPI spec plus spec/errata.json, openapi-core request and
                     answer checks, the fake's known gaps: for tests/spec/
    compressed       CompressedServer, gzip_bomb, ...: compressed answers for tests/transport/
    eyeballs         a listener that never completes a TCP handshake (RFC 8305 tests)
    audio            the AAC fixture as parts, box readers, PyAV and mutagen readers:
                     for tests/media/ and the download tests
    generators       load_generator, load_spec: the tools/ generators, for the tests that
                     prove the generated files current
    workers          run_together, WORKER_RUN, assert_one_refresh: worker processes released
                     together (a pipe, no sleep), for the tests of stores processes share
    test_servers     the servers' own tests

Like urllib3's dummyserver: every server listens on an ephemeral port of 127.0.0.1,
``start()`` returns only once the accept loop runs, every thread is a daemon, every
blocking socket operation in a server thread has a timeout, and ``stop()`` wakes blocked
threads (it shuts their sockets down and notifies waiters) and joins them within
``JOIN_TIMEOUT``. All of them are context managers::

    with FaultServer() as server:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=5)
        conn.request("GET", "/close-mid-body")
        conn.getresponse().read()   # raises http.client.IncompleteRead

Tests observe a client's connection handling from here, never from the client's private
state: ``server.connections`` (accepted), ``WireRequest.connection`` (which connection a
request came on), ``server.closed_by(n)`` / ``closed_by_client`` / ``closed_by_server``.

The servers never touch the ``soundcloud`` package: they are the peers it is tested against.
Only the client-side helpers use it: ``clients`` imports it when called (conftest imports the
server modules before any test runs, whatever state the package is in), ``transport_calls``
at the top (only the transport's tests and their conftest import it).
"""

from __future__ import annotations

__all__: list[str] = []
