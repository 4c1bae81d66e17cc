#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What no HTTP client may do to haled: leak its descriptors by closing
kept-alive connections, hold connections open by never finishing a
request, make it buffer a request body, get a reset instead of an answer
with an oversized or malformed request head, or take its descriptors
with idle connections. After each, /health still answers and haled's
descriptors and memory are back where they were."""

import os
import re
import resource
import select
import socket
import threading
import sys
import time
import http.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import halectx  # noqa: E402
from halectx import check, check_equal, log  # noqa: E402

P = halectx.require("haled", "mkcert", "dbus-daemon", "busctl")


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start(h):
    cert = h.mkcert("current.pem", "0abc", days=30)
    env = None
    if os.environ.get("ASAN_OPTIONS") is not None:
        # Under AddressSanitizer freed memory waits in a quarantine of
        # 256 MiB, which RSS would count as buffered bodies.
        env = {"ASAN_OPTIONS": os.environ["ASAN_OPTIONS"] + ":quarantine_size_mb=1"}
    h.start_haled(lambda: h.config_text([("current", cert, "72h", "24h")]), env=env)
    return h.haled.pid


def test_closed_keepalive_connections_free_their_descriptors():
    with halectx.Hale(P, "abuse-keepalive") as h:
        pid = start(h)
        h.http_get("/health")
        before = open_fds(pid)
        # Each client asks once on a kept-alive HTTP/1.1 connection, then
        # goes away, as curl and most checkers do.
        for _ in range(300):
            c = http.client.HTTPConnection("127.0.0.1", h.health_port, timeout=5)
            c.request("GET", "/health")
            c.getresponse().read()
            c.close()
        _, took = halectx.wait_until(lambda: open_fds(pid) <= before + 2, timeout=5,
                                  what="descriptors back to %d" % before)
        log("300 closed connections: descriptors %d -> %d within %.3f s"
            % (before, open_fds(pid), took))
        status, _, _ = h.http_get("/health")
        check_equal(status, 200, "/health after the churn")
        h.stop_haled()


def test_unfinished_requests_are_dropped():
    with halectx.Hale(P, "abuse-slow") as h:
        pid = start(h)
        before = open_fds(pid)
        socks = []
        for _ in range(100):
            s = socket.create_connection(("127.0.0.1", h.health_port))
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the end
            socks.append(s)
        # libsoup accepts as the loop gets to it; most must be held open.
        halectx.wait_until(lambda: open_fds(pid) >= before + 80, timeout=15,
                           what="haled to accept the connections")
        # Meanwhile everybody else is served.
        status, _, _ = h.http_get("/health")
        check_equal(status, 200, "/health while 100 requests hang")
        _, took = halectx.wait_until(lambda: open_fds(pid) <= before + 2, timeout=20,
                                  what="unfinished requests dropped")
        log("100 unfinished requests dropped after %.1f s" % took)
        for s in socks:
            s.close()
        h.stop_haled()


def raw_exchange(port, payload, timeout=5.0):
    """Sends @payload (all of it, from a thread, as a client that does not
    wait for the answer would) and reads until haled closes. Returns
    (status or None, seconds until the answer's first byte, the bytes).
    A reset instead of an answer fails the test."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    start = time.monotonic()

    def send():
        try:
            s.sendall(payload)
        except OSError:
            pass  # answered and closed before all of it was sent: fine
    sender = threading.Thread(target=send)
    sender.start()
    data = b""
    first = None
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            if first is None:
                first = time.monotonic() - start
            data += chunk
    except ConnectionResetError:
        halectx.fail("connection reset instead of an answer (got %r)" % data[:200])
    finally:
        sender.join()
        s.close()
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", data)
    return (int(m.group(1)) if m else None), first, data


def test_oversized_heads_are_answered():
    with halectx.Hale(P, "abuse-head") as h:
        pid = start(h)
        before = open_fds(pid)
        cases = [
            ("a 200 KB header", b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: "
             + b"a" * 200000 + b"\r\n\r\n", 431),
            ("10,000 headers", b"GET /health HTTP/1.1\r\nHost: x\r\n"
             + b"".join(b"X-%d: y\r\n" % i for i in range(10000)) + b"\r\n", 431),
            ("a 100 KB path", b"GET /" + b"p" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
            ("a 9 KB header line", b"GET /health HTTP/1.1\r\nX-Long: " + b"b" * 9000
             + b"\r\n\r\n", 431),
        ]
        for what, payload, want in cases:
            status, took, data = raw_exchange(h.health_port, payload)
            log("%s: %r after %.3f s" % (what, status, took or -1))
            check_equal(status, want, what)
            check(took < 1.0, "%s: answered after %.3f s, want at once" % (what, took))
            check(b'"error":"' in data and b"Connection: close" in data,
                  "%s: answer %r" % (what, data[:400]))
        # Just under the limits is still served.
        status, _, data = raw_exchange(h.health_port, b"GET /health HTTP/1.1\r\nHost: x\r\n"
                                       + b"".join(b"X-%d: y\r\n" % i for i in range(90))
                                       + b"X-Token: " + b"t" * 8000 + b"\r\n\r\n")
        check_equal(status, 200, "90 headers and an 8 KB line")
        parsed = h.metrics()
        check_equal(halectx.one_value(parsed, "hale_http_early_refusals_total",
                                      reason="header_too_large"), 3.0, "header_too_large refusals")
        check_equal(halectx.one_value(parsed, "hale_http_early_refusals_total",
                                      reason="uri_too_long"), 1.0, "uri_too_long refusals")
        halectx.wait_until(lambda: open_fds(pid) <= before + 2, timeout=5,
                           what="descriptors back to %d" % before)
        h.stop_haled()


def test_unsupported_versions_are_answered_at_once():
    with halectx.Hale(P, "abuse-version") as h:
        start(h)
        cases = [
            ("HTTP/0.9", b"GET /health\r\n", 400),
            ("HTTP/2.0", b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            ("HTTP/1.2", b"GET /health HTTP/1.2\r\nHost: x\r\n\r\n", 505),
            ("HTTP/2 prior knowledge", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
            ("no version", b"GET /health http/1.1\r\n\r\n", 400),
            ("a bad method", b"G(T /health HTTP/1.1\r\n\r\n", 400),
        ]
        for what, payload, want in cases:
            # The client keeps its side open, as an HTTP/0.9 client would.
            status, took, data = raw_exchange(h.health_port, payload)
            log("%s: %r after %.3f s" % (what, status, took or -1))
            check_equal(status, want, what)
            check(took < 1.0, "%s: answered after %.3f s, want at once" % (what, took))
        status, _, _ = raw_exchange(h.health_port, b"GET /health HTTP/1.0\r\n\r\n")
        check_equal(status, 200, "HTTP/1.0 without Host")
        h.stop_haled()


def test_slow_loris_is_closed_after_the_header_timeout():
    with halectx.Hale(P, "abuse-loris") as h:
        start(h)
        s = socket.create_connection(("127.0.0.1", h.health_port))
        t0 = time.monotonic()
        s.sendall(b"GET /health HTTP/1.1\r\n")
        data = b""
        served = []
        # One header byte a second: every read makes progress, so only a
        # deadline for the whole head ends it.
        while True:
            r, _, _ = select.select([s], [], [], 1.0)
            if r:
                chunk = s.recv(4096)
                data += chunk
                if not chunk:
                    break
                continue
            check(time.monotonic() - t0 < 15, "slow loris still connected after 15 s")
            try:
                s.sendall(b"X")
            except OSError:
                break
            c0 = time.monotonic()
            status, _, _ = h.http_get("/health")
            served.append(time.monotonic() - c0)
            check_equal(status, 200, "/health while a slow loris trickles")
        took = time.monotonic() - t0
        s.close()
        log("slow loris closed after %.2f s; /health meanwhile in at most %.1f ms"
            % (took, max(served) * 1000))
        check(4.5 <= took <= 7.5, "closed after %.2f s, want the 5 s header timeout" % took)
        check(data.startswith(b"HTTP/1.1 408 "), "answer to the slow loris: %r" % data[:200])
        check(max(served) < 0.5, "/health took %.3f s meanwhile" % max(served))
        h.stop_haled()


def test_idle_connections_are_capped_oldest_first():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 and hard >= 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))
    with halectx.Hale(P, "abuse-idle") as h:
        cert = h.mkcert("current.pem", "0abc", days=30)
        # 600 descriptors: haled keeps at most 300 waiting connections.
        h.start_haled(lambda: h.config_text([("current", cert, "72h", "24h")]),
                      argv_prefix=["prlimit", "--nofile=600:600", "--"])
        pid = h.haled.pid
        before = open_fds(pid)
        socks = []
        for _ in range(1000):
            socks.append(socket.create_connection(("127.0.0.1", h.health_port)))
        fds, _ = halectx.wait_until(lambda: open_fds(pid) >= before + 290 and open_fds(pid),
                                    timeout=5, what="haled to accept the idle connections")
        times = []
        for _ in range(20):
            c0 = time.monotonic()
            status, _, _ = h.http_get("/health")
            times.append(time.monotonic() - c0)
            check_equal(status, 200, "/health with 1000 idle connections")
        times.sort()
        fds = open_fds(pid)
        log("1000 idle connections: haled holds %d descriptors (%d before); /health in %.1f ms "
            "median, %.1f ms max" % (fds, before, times[10] * 1000, times[-1] * 1000))
        check(fds <= before + 300 + 5, "haled holds %d descriptors, want at most %d"
              % (fds, before + 305))
        check(times[10] < 0.05, "/health median %.3f s with idle connections" % times[10])

        def closed(s):
            r, _, _ = select.select([s], [], [], 0)
            return bool(r) and s.recv(1, socket.MSG_PEEK) == b""
        old_closed = sum(closed(s) for s in socks[:600])
        new_open = sum(not closed(s) for s in socks[-250:])
        log("oldest 600: %d closed; newest 250: %d open" % (old_closed, new_open))
        check_equal(old_closed, 600, "the oldest idle connections closed")
        check_equal(new_open, 250, "the newest idle connections still open")
        parsed = h.metrics()
        evicted = halectx.one_value(parsed, "hale_http_early_refusals_total", reason="evicted")
        check(evicted >= 690, "evictions counted: %r" % evicted)
        for s in socks:
            s.close()
        check("Too many open files" not in h.stderr_text(), "haled ran out of descriptors")
        h.stop_haled()


def test_bodies_are_not_read():
    with halectx.Hale(P, "abuse-body") as h:
        pid = start(h)
        h.http_get("/health")
        before = rss_kb(pid)
        body = b"\0" * (64 * 1024 * 1024)
        for method, path, want in (("POST", "/health", 405), ("PUT", "/metrics", 405),
                                   ("GET", "/health", 413)):
            c = http.client.HTTPConnection("127.0.0.1", h.health_port, timeout=10)
            try:
                c.request(method, path, body=body)
                r = c.getresponse()
                status = r.status
                r.read()
            except (BrokenPipeError, ConnectionResetError):
                status = None  # answered and closed before the body was sent: fine
            finally:
                c.close()
            check(status in (want, None), "%s %s with a 64 MiB body: %r, want %d"
                  % (method, path, status, want))
        grown = rss_kb(pid) - before
        log("RSS grew by %d KiB after three 64 MiB bodies" % grown)
        check(grown < 16 * 1024, "haled buffered a body: RSS grew by %d KiB" % grown)
        status, _, _ = h.http_get("/health")
        check_equal(status, 200, "/health afterwards")
        h.stop_haled()


if __name__ == "__main__":
    halectx.run([test_closed_keepalive_connections_free_their_descriptors,
                 test_unfinished_requests_are_dropped,
                 test_bodies_are_not_read,
                 test_oversized_heads_are_answered,
                 test_unsupported_versions_are_answered_at_once,
                 test_slow_loris_is_closed_after_the_header_timeout,
                 test_idle_connections_are_capped_oldest_first])
