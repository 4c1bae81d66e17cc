#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What no HTTP client may do to haled: leak its descriptors by closing
kept-alive connections, hold connections open by never finishing a
request, or make it buffer a request body. After each, /health still
answers and haled's descriptors and memory are back where they were."""

import os
import socket
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
                 test_bodies_are_not_read])
